"""central.toml: the few settings a city sets once, kept next to the database.

Everything else (catalogue, calendar, staff, directory) is records; these are the facts a
record cannot hold because central needs them before it can read any record: which network it
is, where the public pages are reached from, and where the SMS gateway listens.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

CARD_THRESHOLD_FEN = 50_000_000
"""500,000 yuan: a project investing at least this much gets a free service card (DOMAIN.md)."""


@dataclass(frozen=True)
class CentralConfig:
    network: str = "rugao"
    place_name: str = "如皋市行政服务中心"
    public_base_url: str = "http://127.0.0.1:8080"
    card_threshold_fen: int = CARD_THRESHOLD_FEN
    sms_gateway_url: str = ""
    """Where the SMS adapter POSTs messages; empty: messages wait in the outbox."""
    sms_interval_seconds: int = 30
    red_card_grace_days: int = 3
    """Working days after the due date before an overdue case gets a red card (yellow at expiry)."""
    due_soon_days: int = 2
    """Working days before the due date at which the board shows a case in yellow."""
    monthly_report_due_workday: int = 5
    """A month's report from a service point is due by this working day of the following month
    (1-15), judged by central's receipt time (central.report_submissions)."""
    review_rectify_days: int = 5
    """Working days from central's receipt of a bad review (差评) to its due rectification (GB/T 39734)."""
    sms_inbound_secret: str = ""
    """Shared with the SMS gateway: it signs each reply it posts to /sms/inbound with HMAC-SHA256 of
    the body under this secret (header X-Bianmin-Signature: sha256=<hex>); empty: replies refused."""
    sms_invitation_days: int = 7
    """Days after the "ready" text during which a reply from that phone rates that case."""
    sms_reason_hours: int = 48
    """Hours to wait for the reason asked after a bad SMS rating; then it is recorded without one."""
    kiosk_addresses: str = ""
    """Client addresses of the touch-screen kiosks in the hall, comma-separated: a kiosk is one
    address for every visitor, so it gets `kiosk_tries` status questions per 10 minutes instead of
    the 10 a single person's device gets."""
    kiosk_tries: int = 200
    plain_bundles_until: str = ""
    """The last day (YYYY-MM-DD, China time) an OLD USB bundle whose scans are not sealed (made by a
    service point before its upgrade) is still accepted, with a warning; empty: refused, and the
    service point exports again once upgraded (nothing is lost: its records and scans wait on its
    PC). Set it only while service points are being upgraded (sync/bundle.py)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def is_kiosk(self, address: str) -> bool:
        return address in {a.strip() for a in self.kiosk_addresses.split(",") if a.strip()}


def _quote(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def save(config: CentralConfig, path: Path) -> None:
    lines = ["# central's own settings (bianmin central init wrote this file; edit and restart)"]
    for name, value in asdict(config).items():
        if name != "extra":
            lines.append(f"{name} = {_quote(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load(path: Path) -> CentralConfig:
    """Read central.toml; unknown keys are kept in `extra` (a newer version's settings survive)."""
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    known = {f.name for f in fields(CentralConfig)} - {"extra"}
    values = {k: v for k, v in data.items() if k in known}
    return CentralConfig(**values, extra={k: v for k, v in data.items() if k not in known})
