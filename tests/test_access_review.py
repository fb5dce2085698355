"""The access control review: every route of central and of a node, walked with every staff role and
signed out, checked against the written permission table in docs/permissions.md.

The routes come from each app's `url_map`, so a route added without a line in the table fails here:
the table is the review, and it must be kept whole. The apps are real (a central made by
`bianmin central init`, a node made by nodekit, real SQLite files) and driven through Flask's test
client. A route with URL parameters gets a real case number where one exists, else a dummy value, so
404 counts as "not forbidden". POSTs carry a valid CSRF token and an empty form: enough to tell a 403
from everything else.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "central"))
sys.path.insert(0, str(HERE / "node"))

import nodekit  # noqa: E402
from centralkit import PASSWORD as CENTRAL_PASSWORD  # noqa: E402

TABLE = HERE.parent / "docs" / "permissions.md"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CENTRAL_ROLES = ("window_clerk", "card_clerk", "cashier", "supervisor", "inspector", "admin")
NODE_ROLES = ("village_clerk", "town_clerk", "node_admin")
KINDS = {"public", "node-signed", "enrol-token", "gateway-signed", "sign-out", "any staff"}
# one account per role, holding that role alone (central init's own admin also supervises, so not used)
CENTRAL_STAFF = {"window_clerk": ("wang", ["W06"]), "card_clerk": ("ka", ["W69"]), "cashier": ("qian", ["W70"]),
                 "supervisor": ("li", ["*"]), "inspector": ("xun", ["*"]), "admin": ("adm", ["*"])}
NODE_STAFF = {"village_clerk": "clerk", "town_clerk": "townie", "node_admin": "admin"}


@dataclass(frozen=True)
class Rule:
    """One line of the permission table."""

    app: str
    method: str
    rule: str
    access: str  # public | node-signed | enrol-token | sign-out | any staff | role, role, ...
    note: str

    def roles(self, every: tuple[str, ...]) -> set[str]:
        if self.access == "any staff":
            return set(every)
        if self.access in KINDS:
            return set()
        return {r.strip() for r in self.access.split(",")}


def read_table(path: Path = TABLE) -> dict[tuple[str, str, str], Rule]:
    """The permission table's rows, keyed by (app, method, rule); rows of any other shape are prose."""
    rows: dict[tuple[str, str, str], Rule] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] not in ("central", "node"):
            continue
        row = Rule(*cells)
        key = (row.app, row.method, row.rule)
        assert key not in rows, f"permission table lists {key} twice"
        rows[key] = row
    return rows


def _sign_in(client: Any, username: str, password: str) -> None:
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": TOKEN.search(page.text).group(1)})
    assert response.status_code == 302, (username, response.status_code)


def _fill(rule: Any, values: dict[str, str]) -> str:
    path = rule.rule
    for arg in rule.arguments:
        path = re.sub(rf"<(?:[^:>]+:)?{arg}>", values.get(arg, "x"), path)
    return path


def _routes(app: Any) -> list[tuple[str, Any]]:
    """Every (method, rule) of the app; signing out last, since it ends the session."""
    found = [(m, r) for r in app.url_map.iter_rules() for m in sorted(r.methods - {"HEAD", "OPTIONS"})]
    return sorted(found, key=lambda mr: (mr[1].endpoint == "auth.logout", mr[1].rule, mr[0]))


def _request(client: Any, method: str, path: str) -> Any:
    if method == "GET":
        return client.get(path)
    found = TOKEN.search(client.get("/guide/").text) or TOKEN.search(client.get("/login").text)
    return client.open(path, method=method, data={"csrf_token": found.group(1) if found else ""})


def _to_login(response: Any) -> bool:
    return response.status_code == 401 or (
        response.status_code in (301, 302, 303) and response.headers["Location"].startswith("/login"))


def walk(app: Any, app_name: str, clients: dict[str, Any], values: dict[str, str],
         every: tuple[str, ...]) -> Iterator[tuple[str, str, str, int, str]]:
    """Yield (method, rule, who, status, problem) for every route x client; problem is '' when it holds."""
    table = read_table()
    for method, rule in _routes(app):
        row = table.get((app_name, method, rule.rule))
        if row is None:
            yield method, rule.rule, "-", 0, "route missing from docs/permissions.md"
            continue
        allowed = row.roles(every)
        path = _fill(rule, values)
        for who, client in clients.items():
            response = _request(client, method, path)
            status = response.status_code
            problem = ""
            if row.access == "public":
                if status in (401, 403) or _to_login(response):
                    problem = "public route refused"
            elif row.access == "sign-out":
                if not (status in (302, 303) and response.headers["Location"].startswith("/login")):
                    problem = "signing out does not end at the login page"
            elif row.access in ("node-signed", "enrol-token", "gateway-signed"):
                if status not in (400, 401, 403):
                    problem = "answered without a node signature / token / gateway signature"
            elif who == "anon":
                if not _to_login(response):
                    problem = "answered without a login"
            elif who in allowed:
                if status in (401, 403) or _to_login(response):
                    problem = "listed role refused"
            elif status != 403:
                problem = "unlisted role not refused with 403"
            yield method, rule.rule, who, status, problem
    listed = {k for k in table if k[0] == app_name}
    present = {(app_name, m, r.rule) for m, r in _routes(app)}
    for stale in sorted(listed - present):
        yield stale[1], stale[2], "-", 0, "table lists a route the app does not have"


def _check(results: list[tuple[str, str, str, int, str]]) -> None:
    problems = [r for r in results if r[4]]
    assert not problems, "\n".join(f"{m} {rule} as {who}: {status} ({why})" for m, rule, who, status, why in problems)


# ---------------------------------------------------------------- central


@pytest.fixture(scope="module")
def central_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from central.app import create_app
    from central.cli import central as central_cli

    folder = tmp_path_factory.mktemp("access-central") / "data"
    runner = CliRunner()
    result = runner.invoke(central_cli, ["init", "--data", str(folder), "--admin-password", "admin-pass-1",
                                         "--network", "test"])
    assert result.exit_code == 0, result.output
    for role, (username, places) in CENTRAL_STAFF.items():
        args = ["staff", "add", username, "--data", str(folder), "--password", CENTRAL_PASSWORD, "--role", role]
        result = runner.invoke(central_cli, args + [x for p in places for x in ("--place", p)])
        assert result.exit_code == 0, result.output
    app = create_app({"DATA_DIR": str(folder), "SMS_SENDER": False, "TESTING": False})
    yield app
    app.extensions["central"].close()


def _central_clients(app: Any) -> dict[str, Any]:
    clients: dict[str, Any] = {"anon": app.test_client()}
    for role, (username, places) in CENTRAL_STAFF.items():
        client = app.test_client()
        _sign_in(client, username, CENTRAL_PASSWORD)
        if role in ("window_clerk", "card_clerk"):  # a clerk works at a window chosen after sign-in
            _request(client, "GET", "/window/choose")
            token = TOKEN.search(client.get("/guide/").text).group(1)
            assert client.post("/window/choose", data={"window": places[0], "csrf_token": token}).status_code == 302
        clients[role] = client
    return clients


def _central_case(app: Any, client: Any) -> str:
    """A real case taken in at window W06, so case routes answer with the case rather than 404."""
    central = app.extensions["central"]
    item = central.catalogue().item("GA005")
    token = TOKEN.search(client.get("/guide/").text).group(1)
    response = client.post("/window/intake?item=GA005", data={
        "applicant_type": "person", "name": "王小明", "id_number": "11010519491231002X", "phone": "13812345678",
        "materials": [m.name for m in item.materials], "card": "", "csrf_token": token})
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"].rsplit("/", 1)[1]


def test_every_central_route_against_the_table(central_app: Any) -> None:
    clients = _central_clients(central_app)
    number = _central_case(central_app, clients["window_clerk"])
    values = {"number": number, "kind": "acceptance", "sha256": "0" * 64, "code": "GA005", "action": "note_added",
              "node": "V000101", "card": "x", "assessment": "x", "record_id": "x", "request_id": "x",
              "filename": "x.css"}
    results = list(walk(central_app, "central", clients, values, CENTRAL_ROLES))
    assert len({(m, r) for m, r, *_ in results}) >= 60
    _check(results)


# ---------------------------------------------------------------- node


@pytest.fixture(scope="module")
def node_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from node.app import create_app

    folder = tmp_path_factory.mktemp("access-node") / "village"
    nodekit.make_node(folder, extra_staff=[nodekit.staff("townie", ["town_clerk"], ["V000101"])])
    app = create_app({"DATA_DIR": str(folder)})
    yield app
    app.extensions["bianmin_node"].close()


def test_every_node_route_against_the_table(node_app: Any) -> None:
    clients: dict[str, Any] = {"anon": node_app.test_client()}
    for role, username in NODE_STAFF.items():
        clients[role] = node_app.test_client()
        _sign_in(clients[role], username, nodekit.PASSWORD)
    values = {"number": "V000101-261125-0001-X", "kind": "acceptance", "sha256": "0" * 64, "code": "MZJ001",
              "action": "note_added", "filename": "x.css"}
    results = list(walk(node_app, "node", clients, values, NODE_ROLES))
    assert len({(m, r) for m, r, *_ in results}) >= 20
    _check(results)


def test_the_table_names_only_known_roles_and_kinds() -> None:
    from store.accounts import ROLES

    rows = read_table()
    assert rows, "no rows read from docs/permissions.md"
    for row in rows.values():
        assert row.method in ("GET", "POST", "PUT", "DELETE"), row
        if row.access not in KINDS:
            unknown = row.roles(()) - set(ROLES)
            assert not unknown, f"{row}: unknown role(s) {unknown}"
