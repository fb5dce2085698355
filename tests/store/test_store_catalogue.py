"""Configuration projections: catalogue versions, calendar years, staff accounts, the directory.

Central signs the records (store.config_records builds the bodies); a town centre's file gets
them by ingesting central's records, as a pull would deliver them.
(Named test_store_catalogue.py: tests/casework/test_catalogue.py already takes the module name.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from casework.calendar import CalendarDataError, WorkCalendar
from casework.catalogue import Catalogue, load
from store import accounts, calendar, catalogue, config_records, directory, projections
from sync.envelope import sign_record
from sync.keys import NodeKey
from sync.logstore import LogStore

NET = "test"
CENTRAL = NodeKey.generate()
TOWN_KEY = NodeKey.generate()
TOWN = "T0101"


@pytest.fixture(scope="module")
def packaged() -> Catalogue:
    return load()


@pytest.fixture
def central(tmp_path: Path) -> LogStore:
    log = LogStore.open(tmp_path / "central.sqlite", network=NET, origin="C", signer=CENTRAL)
    projections.register_all(log)
    log.append("node.enrolled", {"node": TOWN, "tier": "town", "name": "如城街道便民服务中心",
                                 "public_key": TOWN_KEY.public.hex(), "key": TOWN_KEY.key_id, "from_seq": 1})
    return log


@pytest.fixture
def town(tmp_path: Path) -> LogStore:
    log = LogStore.open(tmp_path / "town.sqlite", network=NET, origin=TOWN, signer=TOWN_KEY,
                        central_public=CENTRAL.public)
    projections.register_all(log)
    return log


def pull(central: LogStore, town: LogStore) -> None:
    """What a pull does: central's records, in central's order, into the town's file."""
    result = town.ingest([s.record for s in central.records_after(0, origins=["C"], limit=100_000)])
    assert result.ok, result.refused


def smaller(full: Catalogue, drop: int) -> Catalogue:
    """The packaged catalogue without its last `drop` items (a later, edited version)."""
    data = full.to_data()
    kept = data["items"][: len(data["items"]) - drop]
    codes = {i["code"] for i in kept}
    for ptype in data["project_types"]:
        for step in ptype["steps"]:
            step["items"] = [c for c in step["items"] if c in codes]
    data["items"] = kept
    return Catalogue.from_data(data)


# --- catalogue ---------------------------------------------------------------------------------

def test_published_catalogue_versions_and_history(central: LogStore, town: LogStore, packaged: Catalogue) -> None:
    db = central.db
    assert catalogue.current_catalogue(db) is None and config_records.next_catalogue_version(db) == 1
    first = central.append(config_records.CATALOGUE_PUBLISHED, config_records.catalogue_body(packaged, 1))
    current = catalogue.current_catalogue(db)
    assert current is not None and current.to_data() == packaged.to_data()
    assert catalogue.current_catalogue(db) is current  # parsed once, then cached
    assert config_records.next_catalogue_version(db) == 2

    edited = smaller(packaged, 1)
    central.append(config_records.CATALOGUE_PUBLISHED, config_records.catalogue_body(edited, 2))
    assert catalogue.current_version(db) == 2
    assert len(catalogue.current_catalogue(db).items) == len(packaged.items) - 1  # type: ignore[union-attr]
    assert catalogue.catalogue_version(db, 1).to_data() == packaged.to_data()  # type: ignore[union-attr]
    assert catalogue.catalogue_version(db, 7) is None
    history = catalogue.catalogue_history(db)
    assert [(v.version, v.items) for v in history] == [(2, len(packaged.items) - 1), (1, len(packaged.items))]
    assert history[1].record_id == first.id

    pull(central, town)
    assert catalogue.current_version(town.db) == 2
    assert catalogue.current_catalogue(town.db).to_data() == edited.to_data()  # type: ignore[union-attr]


def test_a_bad_or_unauthorised_catalogue_is_listed_and_never_used(central: LogStore, town: LogStore,
                                                                   packaged: Catalogue) -> None:
    central.append(config_records.CATALOGUE_PUBLISHED, config_records.catalogue_body(packaged, 1))
    data = packaged.to_data()
    data["items"][0]["department"] = "nope"
    broken = central.append("catalogue.published", {"version": 2, "data": data})
    assert catalogue.current_version(central.db) == 1
    assert [p["record_id"] for p in projections.problems(central.db)] == [broken.id]
    assert "catalogue.published 2" in projections.problems(central.db)[0]["problem"]
    # a town signs a catalogue of its own: stored in its log (its chain), never used
    pull(central, town)
    forged = town.append("catalogue.published", {"version": 99, "data": packaged.to_data()})
    assert catalogue.current_version(town.db) == 1
    assert forged.id in {p["record_id"] for p in projections.problems(town.db)}
    with pytest.raises(ValueError):
        config_records.catalogue_body(packaged, 0)


# --- calendar ----------------------------------------------------------------------------------

def test_calendar_years_overlay_the_packaged_ones(central: LogStore, town: LogStore) -> None:
    db = central.db
    before = calendar.work_calendar(db)
    assert 2026 in before.known_years and 2031 not in before.known_years
    assert calendar.work_calendar(db) is before  # cached by stamp
    year = {"year": 2031, "holidays": ["2031-01-01"], "workdays": [], "names": {"2031-01-01": "元旦"},
            "source": "测试"}
    central.append(config_records.CALENDAR_YEAR, config_records.calendar_year_body(year))
    after = calendar.work_calendar(db)
    assert after is not before and 2031 in after.known_years
    import datetime as dt

    assert not after.is_working_day(dt.date(2031, 1, 1)) and after.is_working_day(dt.date(2031, 1, 2))
    corrected = {**year, "holidays": ["2031-01-01", "2031-01-02"], "names": {"2031-01-01": "元旦", "2031-01-02": "元旦"}}
    central.append(config_records.CALENDAR_YEAR, config_records.calendar_year_body(corrected))
    assert not calendar.work_calendar(db).is_working_day(dt.date(2031, 1, 2))
    assert [y["year"] for y in calendar.published_years(db)] == [2031]

    bad = central.append("calendar.year", {"year": 2032, "holidays": ["2031-05-01"], "workdays": [], "names": {},
                                           "source": "x"})
    assert 2032 not in calendar.work_calendar(db).known_years
    assert bad.id in {p["record_id"] for p in projections.problems(db)}
    with pytest.raises(CalendarDataError):
        config_records.calendar_year_body({"year": 2032, "holidays": ["2031-05-01"], "workdays": [], "names": {},
                                           "source": "x"})
    pull(central, town)
    assert not calendar.work_calendar(town.db).is_working_day(dt.date(2031, 1, 2))
    assert WorkCalendar.packaged().known_years == before.known_years  # the packaged data is untouched


# --- staff -------------------------------------------------------------------------------------

def test_staff_accounts_reach_the_town(central: LogStore, town: LogStore) -> None:
    body = config_records.staff_account_body(username=" LiSi ", display_name="李四", password_hash="scrypt:1$a$b",
                                             roles=["town_clerk"], places=[TOWN],
                                             version=config_records.next_staff_version(central.db, "lisi"))
    assert body["username"] == "lisi" and body["version"] == 1
    central.append(config_records.STAFF_ACCOUNT, body)
    assert config_records.next_staff_version(central.db, "LISI") == 2
    central.append(config_records.STAFF_ACCOUNT, config_records.staff_account_body(
        username="lisi", display_name="李四", password_hash="scrypt:1$a$c", roles=["town_clerk"], places=[TOWN],
        version=2, active=False))
    pull(central, town)
    found = accounts.find(town.db, "lisi")
    assert found is not None and found.version == 2 and not found.active and found.acts_for(TOWN)
    # a node cannot make itself an administrator
    forged = town.append("staff.account", {**body, "username": "evil", "roles": ["admin"], "places": ["*"]})
    assert accounts.find(town.db, "evil") is None
    assert forged.id in {p["record_id"] for p in projections.problems(town.db)}
    with pytest.raises(accounts.AccountError):
        config_records.staff_account_body(username="x", display_name="X", password_hash="h", roles=["pope"],
                                          places=[], version=1)


# --- directory ---------------------------------------------------------------------------------

def test_directory_lists_nodes_keys_and_last_contact(central: LogStore) -> None:
    nodes = {n.node: n for n in directory.list_nodes(central.db)}
    town = nodes[TOWN]
    assert (town.tier, town.name, town.key_ids, town.current_key, town.status, town.last_seq) == (
        "town", "如城街道便民服务中心", (TOWN_KEY.key_id,), TOWN_KEY.key_id, "active", None)
    assert nodes["C"].last_seq == 1 and nodes["C"].last_contact
    record = sign_record(TOWN_KEY, net=NET, origin=TOWN, seq=1, prev=None, kind="case.note_added",
                         body={"text": "hello"}, time="2026-03-02T10:00:00+08:00")
    assert central.ingest([record]).ok
    town = directory.get_node(central.db, TOWN)  # type: ignore[assignment]
    assert town is not None and town.last_seq == 1 and town.last_contact is not None
    assert directory.node_name(central.db, TOWN) == "如城街道便民服务中心"
    assert directory.node_name(central.db, "V999999") == "V999999"
    central.append("node.revoked", {"node": TOWN, "key": TOWN_KEY.key_id, "compromised_at": 5, "reason": "PC stolen"})
    assert directory.get_node(central.db, TOWN).status == "revoked"  # type: ignore[union-attr]
    assert [n.node for n in directory.list_nodes(central.db, status="revoked")] == [TOWN]
    assert [n.node for n in directory.list_nodes(central.db, tier="town")] == [TOWN]
