"""`bianmin central ...`: set up, run and administer the city server from a shell."""

from __future__ import annotations

import contextlib
import secrets
import sys
from pathlib import Path

import click

from central.datadir import DataDir
from sync.audit import audit_command

DATA = click.option("--data", "data", required=True, type=click.Path(file_okay=False, path_type=Path),
                    help="central's data folder")


@click.group()
def central() -> None:
    """The city server: windows, service card, settlement centre, supervision, sync."""


@central.command()
@DATA
@click.option("--network", default="rugao", show_default=True, help="network id (a test network never mixes)")
@click.option("--admin-password", default=None, help="initial admin password (default: printed, random)")
@click.option("--public-url", default="http://127.0.0.1:8080", show_default=True)
def init(data: Path, network: str, admin_password: str | None, public_url: str) -> None:
    """Create a central: key, catalogue, calendar and a first administrator, all as signed records."""
    from casework.calendar import WorkCalendar
    from casework.catalogue import load
    from central import config, scorecard_records
    from central.admin_records import publish_catalogue, publish_year, sign_staff
    from central.datadir import DataDir
    from central.runtime import Central
    from sync.keys import NodeKey

    folder = DataDir(data)
    if folder.exists():
        raise click.ClickException(f"{data} already holds a central; nothing was changed")
    data.mkdir(parents=True, exist_ok=True)
    config.save(config.CentralConfig(network=network, public_base_url=public_url), folder.config_file)
    key = NodeKey.generate()
    key.save(folder.key)
    app = Central(folder)
    try:
        publish_catalogue(app, load(), note="initial catalogue")
        for year in WorkCalendar.packaged().to_years():
            publish_year(app, year)
        scorecard_records.seed(app)  # version 1 of the sub-centre scorecard, from the packaged TOML
        password = admin_password or secrets.token_urlsafe(9)
        sign_staff(app, "admin", display_name="系统管理员", roles=["admin", "supervisor"], places=["*"],
                   password=password)
    finally:
        app.close()
    click.echo(f"central created in {data} (network {network})")
    click.echo(f"key fingerprint: {key.fingerprint}")
    if admin_password is None:
        click.echo(f"admin password (shown once): {password}")


@central.command()
@DATA
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
def run(data: Path, port: int, host: str) -> None:
    """Serve central with waitress."""
    from central.app import create_app
    from web.serving import make_server

    app = create_app({"DATA_DIR": str(data), "RETENTION_JOB": True})  # archiving and retention, hourly
    server = make_server(app, host=host, port=port, threads=8)
    click.echo(f"central listening on http://{host}:{server.effective_port}/")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is how an operator stops it
        server.run()


@central.command("enroll-token")
@click.argument("node_id")
@DATA
@click.option("--tier", type=click.Choice(["town", "village", "sub"]), default=None,
              help="checked against the node id's first letter")
@click.option("--name", default="", help="the service point's name")
@click.option("--town", default=None, help="for a village room: its town centre's node id")
def enroll_token(node_id: str, data: Path, tier: str | None, name: str, town: str | None) -> None:
    """Print a one-time enrolment token for NODE_ID (valid 3 days)."""
    from central.admin_records import place_node
    from central.datadir import DataDir
    from central.runtime import Central
    from sync.keys import tier_of
    from sync.server import EnrolmentBook

    node_id = node_id.strip().upper()
    try:
        actual = tier_of(node_id)
    except Exception as exc:
        raise click.ClickException(f"{node_id} is not a node id (T####, V######, S##)") from exc
    if tier is not None and {"sub": "subcentre"}.get(tier, tier) != actual:
        raise click.ClickException(f"{node_id} is a {actual}, not a {tier}")
    app = Central(DataDir(data))
    try:
        token = EnrolmentBook(app.log).issue(node_id, name or node_id)
        if town or name:
            place_node(app, node_id, name=name or node_id, town=town)
    finally:
        app.close()
    click.echo(token)


@central.group()
def staff() -> None:
    """Staff accounts (signed records every node can log in with offline)."""


@staff.command("add")
@click.argument("username")
@DATA
@click.option("--role", "roles", multiple=True, required=True, help="repeat for several roles")
@click.option("--place", "places", multiple=True, help="node id or window code (repeat); default all")
@click.option("--password", default=None, help="default: printed, random")
@click.option("--name", "display_name", default=None)
def staff_add(username: str, data: Path, roles: tuple[str, ...], places: tuple[str, ...], password: str | None,
              display_name: str | None) -> None:
    """Create or change a staff account and sign it."""
    from central.admin_records import AdminError, sign_staff
    from central.datadir import DataDir
    from central.runtime import Central

    app = Central(DataDir(data))
    shown = password or secrets.token_urlsafe(9)
    try:
        sign_staff(app, username, display_name=display_name, roles=list(roles), places=list(places) or ["*"],
                   password=shown)
    except AdminError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        app.close()
    click.echo(f"staff account {username} signed")
    if password is None:
        click.echo(f"password (shown once): {shown}")


@central.command()
@DATA
def doctor(data: Path) -> None:
    """Check the data folder, key, database, record log, nodes and SMS; say what to do."""
    from central.doctor import examine

    findings = examine(data)
    marks = {"ok": "ok     ", "warning": "WARNING", "error": "ERROR  "}
    for finding in findings:
        click.echo(f"{marks[finding.level]} {finding.what}")
    sys.exit(1 if any(f.level == "error" for f in findings) else 0)


if __name__ == "__main__":  # pragma: no cover
    central(sys.argv[1:])


def _audit_paths(data: Path) -> tuple[Path, Path, str]:
    """Where the auditor export finds central's database, key and network (only central knows)."""
    folder = DataDir(data)
    return folder.db, folder.key, folder.config().network


central.add_command(audit_command(_audit_paths))
