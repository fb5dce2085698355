"""Central's sealing key: the X25519 key the scans in the nodes' USB bundles are sealed to.

Why central has one (sync/sealing.py, sync/bundle.py): a bundle on a stick travels by bus, often
through a town that relays it; its records may be read on the way, its scans (ID cards,
household registers) may not. Each node seals them to this key's public half; only central,
holding the private half, opens them.

- The private half is `sealing.key` in central's data folder, beside the signing key `bianmin.key`
  and under the same rules: 0600 (refused if others may read it), never in the database, a backup
  or git. `ensure` makes it on the first start that lacks it: a data folder made before sealing
  existed gets its key on its next start, and nothing else changes.
- The public half is published as central's signed `sealing.key` record (routed to every node,
  central.routing), so a node learns it by the path it already trusts: its next sync, or the reply
  to its bundle. The enrolment answer carries the same record (sync.server), so a node that never
  had a link seals its first bundle. If the key file is lost (a disk restored without it), the
  next start makes a new one and publishes it; bundles sealed to the old one are refused with a
  message saying to import the latest reply and export again (the scans wait on the node).
"""

from __future__ import annotations

import datetime as dt
import logging

from central.config import CentralConfig
from central.runtime import Central
from sync.sealing import KIND, Recipient, SealingKey, newest, record_body

log = logging.getLogger(__name__)


def published(central: Central) -> Recipient | None:
    """The sealing key central last published (its newest `sealing.key` record), or None."""
    return newest(*(Recipient.from_record(record) for record, _at in central.records_of_kind(KIND)))


def ensure(central: Central) -> SealingKey:
    """Central's sealing key, made (0600) and published on the first start that lacks either."""
    key, created = SealingKey.load_or_create(central.data.sealing_key)
    if created:
        log.info("a sealing key was made for the scans in USB bundles (key %s)", key.key_id)
    current = published(central)
    if current is None or current.public != key.public:
        central.sign(KIND, record_body(key, "C"))
    return key


def plain_until(config: CentralConfig) -> dt.date | None:
    """The last day old plain bundles are accepted (central.toml `plain_bundles_until`), or None.
    A date that cannot be read counts as none (refused): the safe reading of a typo."""
    text = (config.plain_bundles_until or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        log.warning("central.toml: plain_bundles_until %r is not a date (YYYY-MM-DD): old bundles are refused", text)
        return None
