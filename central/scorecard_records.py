"""Signing scorecard versions: the first from the packaged TOML, later ones from the supervisor's page.

The scorecard is configuration, so it is a record central signs (`assessment.scorecard`, body in
central.scorecard_store), like the catalogue: revising its clauses needs no code release, and a
quarter scored or published under one version keeps that version whatever is loaded later.

The packaged `casework/data/assessment/scorecard.toml` only seeds version 1 (`seed`): `bianmin
central init` signs it, and so does the first start of a central made before this release, in
force from the start, so the quarters it already holds are shown against the scorecard they were
scored with then. After that the TOML is never read again for scoring.
"""

from __future__ import annotations

from typing import Any

from casework.assessment import Scorecard, packaged, parse_scorecard
from central import assessment_records, scorecard_store
from central.quarters import Quarter
from central.runtime import Central
from sync.canonical import nfc

SEED_NOTE = "packaged scorecard"
"""The note of version 1 (the pages show it in the reader's language)."""
SEED_STAFF = "system"


class ScorecardRefusedError(ValueError):
    """A version that may not be signed; `.code` says why (the page words it)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def body(card: Scorecard, *, version: int, from_quarter: str, note: str, staff: str) -> dict[str, Any]:
    """A checked `assessment.scorecard` body (ValueError for a bug in the caller)."""
    made = {"version": version, "from": from_quarter, "data": nfc(card.to_data()), "note": nfc(note.strip()),
            "staff": staff}
    found = scorecard_store.problems(made)
    if found:
        raise ValueError("assessment.scorecard: " + "; ".join(found))
    return made


def earliest_from(central: Central) -> Quarter:
    """The first quarter the page offers for a new version: the one after the last published quarter
    (a published quarter keeps its version); with none published, the quarter just ended, which
    may still be being scored."""
    with central.log._lock:
        published = scorecard_store.latest_published(central.log.db)
    now = Quarter.of(central.today())
    if published is None:
        return now.previous()
    return Quarter.parse(published).next()


def publish(central: Central, card: Scorecard, *, from_quarter: Quarter, note: str, staff: str,
            expected_version: int | None = None) -> int:
    """Sign the next version, in force from `from_quarter`; returns its number.

    Raises ScorecardRefusedError: `published` (the quarter or a later one is published: its figures stand),
    `changed_meanwhile` (someone signed a version since `expected_version` was read), `unchanged`
    (the same as the version already in force from that quarter)."""
    card = parse_scorecard(card.to_data())  # the data exactly as it will be read back
    with assessment_records.SIGNING:
        db = central.log.db
        with central.log._lock:
            version = scorecard_store.current_version(db) + 1
            published = scorecard_store.latest_published(db)
            in_force = scorecard_store.in_force(db, from_quarter.text)
        if expected_version is not None and version != expected_version:
            raise ScorecardRefusedError("changed_meanwhile", version=version - 1)
        if published is not None and from_quarter.text <= published:
            raise ScorecardRefusedError("published", quarter=published)
        if in_force is not None and in_force.card == card:
            raise ScorecardRefusedError("unchanged", version=in_force.version)
        central.sign(scorecard_store.KIND, body(card, version=version, from_quarter=from_quarter.text, note=note,
                                                staff=staff))
    return version


def seed(central: Central) -> int | None:
    """Version 1 from the packaged TOML when the central holds no version yet; its number, or None
    when there was one already (every start calls this: it signs once in a central's life)."""
    with assessment_records.SIGNING:
        with central.log._lock:
            if scorecard_store.current_version(central.log.db):
                return None
        central.sign(scorecard_store.KIND, body(packaged(), version=1, from_quarter=scorecard_store.FROM_THE_START,
                                                note=SEED_NOTE, staff=SEED_STAFF))
    return 1


def scorecard_for(central: Central, quarter: Quarter) -> tuple[Scorecard, int]:
    """The scorecard a quarter is scored with and its version (0: none signed yet, the packaged one:
    only for a central that has not started since it was made or upgraded)."""
    with central.log._lock:
        found = scorecard_store.for_quarter(central.log.db, quarter.text)
    return (found.card, found.version) if found is not None else (packaged(), 0)
