"""A real central for the tests: a data folder made by `bianmin central init`, real staff accounts,
served by waitress on 127.0.0.1 (tests/serving.py), with its clock fixed on a working day.

Making a central costs a few seconds of scrypt (one hash per account), so one template folder is
made per test session and copied for each test: every test still gets its own SQLite file.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from centralkit import CHINA, PASSWORD
from click.testing import CliRunner
from serving import serve

from central.cli import central as central_cli

STAFF = {
    # username: (roles, places)
    "wang": (["window_clerk"], ["W52", "W06"]),
    "zhao": (["window_clerk"], ["W53"]),
    "ka": (["card_clerk"], ["W69", "W52"]),
    "qian": (["cashier"], ["W70"]),
    "sun": (["cashier"], ["W71"]),
    "li": (["supervisor"], ["*"]),
    "xun": (["inspector"], ["*"]),
}
TODAY = dt.datetime(2026, 11, 25, 10, 0, tzinfo=CHINA)  # a Wednesday, a working day


class Clock:
    """A clock tests can move: `clock.now` is what central believes the time is."""

    def __init__(self, now: dt.datetime = TODAY) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="session")
def central_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("central-template") / "data"
    runner = CliRunner()
    result = runner.invoke(central_cli, ["init", "--data", str(folder), "--admin-password", "admin-pass-1",
                                         "--network", "test"])
    assert result.exit_code == 0, result.output
    for username, (roles, places) in STAFF.items():
        args = ["staff", "add", username, "--data", str(folder), "--password", PASSWORD]
        args += [x for r in roles for x in ("--role", r)] + [x for p in places for x in ("--place", p)]
        result = runner.invoke(central_cli, args)
        assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def central_dir(central_template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "central"
    shutil.copytree(central_template, folder)
    (folder / "bianmin.key").chmod(0o600)
    return folder


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(central_dir: Path, clock: Clock) -> Iterator[Callable[..., Any]]:
    apps = []

    def make(**config: Any) -> Any:
        from central.app import create_app

        app = create_app({"DATA_DIR": str(central_dir), "SMS_SENDER": False, "CENTRAL_CLOCK": clock,
                          "TESTING": False, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        sender = app.extensions.get("central_sms")
        if sender is not None:
            sender.stop()
        app.extensions["central"].close()


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app()


@pytest.fixture
def central_url(app: Any) -> Iterator[str]:
    with serve(app) as url:
        yield url
