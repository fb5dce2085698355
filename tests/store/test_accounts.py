"""store.accounts: the staff projection (highest version wins) and login-failure counters."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlite_utils import Database

from store import accounts
from store.db import open_db


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "app.sqlite")
    accounts.ensure_schema(database)
    return database


def body(version: int = 1, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "username": "ZhangSan",
        "display_name": "张三",
        "password_hash": f"scrypt:32768:8:1$salt$v{version}",
        "roles": ["village_clerk"],
        "places": ["V000123"],
        "active": True,
        "version": version,
    }
    data.update(changes)
    return data


def test_project_and_find(db: Database) -> None:
    assert accounts.project(db, body()) is True
    found = accounts.find(db, " zhangsan ")
    assert found is not None
    assert found.username == "zhangsan"
    assert found.display_name == "张三"
    assert found.roles == ("village_clerk",)
    assert found.has_role("admin", "village_clerk")
    assert not found.has_role("admin")
    assert found.acts_for("V000123") and not found.acts_for("V000124")
    assert accounts.find(db, "lisi") is None


def test_highest_version_wins_in_any_order(tmp_path: Path) -> None:
    bodies = [body(v, display_name=f"张三{v}", active=v != 3) for v in range(1, 6)]
    results = []
    for seed in range(5):
        database = open_db(tmp_path / f"{seed}.sqlite")
        accounts.ensure_schema(database)
        shuffled = bodies + bodies  # replays are harmless
        random.Random(seed).shuffle(shuffled)
        for b in shuffled:
            accounts.project(database, b)
        results.append(accounts.find(database, "zhangsan"))
    assert {r.version for r in results if r} == {5}
    assert len(set(results)) == 1
    assert results[0] is not None and results[0].display_name == "张三5"


def test_older_or_equal_version_changes_nothing(db: Database) -> None:
    accounts.project(db, body(2, display_name="新"))
    assert accounts.project(db, body(1, display_name="旧")) is False
    assert accounts.project(db, body(2, display_name="别的")) is False
    found = accounts.find(db, "zhangsan")
    assert found is not None and found.display_name == "新"


def test_malformed_body_is_refused_with_every_problem(db: Database) -> None:
    with pytest.raises(accounts.AccountError) as info:
        accounts.project(db, body(0, roles=["village_clerk", "emperor"], active="yes", username=""))
    problems = " | ".join(info.value.problems)
    for part in ("username", "roles: unknown role(s) emperor", "active", "version"):
        assert part in problems
    assert accounts.all_accounts(db) == []


def test_deactivation_is_kept(db: Database) -> None:
    accounts.project(db, body(1))
    accounts.project(db, body(2, active=False))
    found = accounts.find(db, "zhangsan")
    assert found is not None and found.active is False


POLICY = accounts.LockoutPolicy(max_failures=5, lock_seconds=900, window_seconds=900,
                                max_failures_per_address=8)


def test_five_failures_lock_for_the_lock_time(db: Database) -> None:
    keys = accounts.failure_keys("ZhangSan", "10.0.0.5")
    assert keys == ["user:zhangsan", "addr:10.0.0.5"]
    for i in range(4):
        assert accounts.record_failure(db, keys, POLICY, now=1000.0 + i) is None
        assert accounts.locked_until(db, keys, now=1000.0 + i) is None
    until = accounts.record_failure(db, keys, POLICY, now=1004.0)
    assert until == 1004.0 + 900
    assert accounts.locked_until(db, keys, now=1500.0) == until
    # more tries while locked do not push the lock further
    assert accounts.record_failure(db, keys, POLICY, now=1600.0) == until
    assert accounts.locked_until(db, keys, now=1600.0) == until
    # after the lock: free again, and the count starts afresh
    assert accounts.locked_until(db, keys, now=until + 1) is None
    assert accounts.record_failure(db, keys, POLICY, now=until + 1) is None


def test_old_failures_are_forgotten(db: Database) -> None:
    keys = accounts.failure_keys("zhangsan", None)
    for i in range(4):
        accounts.record_failure(db, keys, POLICY, now=1000.0 + i)
    # the fifth comes after the window: counting restarted
    assert accounts.record_failure(db, keys, POLICY, now=1000.0 + 901) is None


def test_current_locks_lists_what_an_administrator_may_lift(db: Database) -> None:
    keys = accounts.failure_keys("zhangsan", "10.0.0.5")
    for i in range(5):
        accounts.record_failure(db, keys, POLICY, now=1000.0 + i)
    assert accounts.current_locks(db, now=1010.0) == [("user:zhangsan", 1904.0)]
    accounts.clear_failures(db, ["user:zhangsan"])
    assert accounts.current_locks(db, now=1010.0) == []
    assert accounts.locked_until(db, keys, now=1010.0) is None


def test_clear_resets_the_count(db: Database) -> None:
    keys = accounts.failure_keys("zhangsan", None)
    for i in range(4):
        accounts.record_failure(db, keys, POLICY, now=1000.0 + i)
    accounts.clear_failures(db, keys)
    for i in range(4):
        assert accounts.record_failure(db, keys, POLICY, now=1010.0 + i) is None


def test_one_address_trying_many_usernames_is_locked(db: Database) -> None:
    until = None
    for i in range(8):
        until = accounts.record_failure(
            db, accounts.failure_keys(f"user{i}", "10.0.0.9"), POLICY, now=2000.0 + i
        )
    assert until == 2007.0 + 900
    assert accounts.locked_until(db, accounts.failure_keys("someone", "10.0.0.9"), now=2010.0) == until
    assert accounts.locked_until(db, accounts.failure_keys("someone", "10.0.0.10"), now=2010.0) is None


def test_schema_is_versioned(db: Database) -> None:
    from store.db import schema_version

    assert schema_version(db, "accounts") == len(accounts.MIGRATIONS)
    accounts.ensure_schema(db)  # again: harmless
