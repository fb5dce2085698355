"""Top-level `bianmin` commands for the people who install and look after a PC:

    bianmin backup  --data DIR --to DEST [--keep 7]
    bianmin restore --from BACKUP --data DIR [--force] [--no-sync] [--token T]
    bianmin doctor  --data DIR [--lang zh|en]
    bianmin upgrade --data DIR
    bianmin bundle build --out DIR [--zip] [--platform linux|windows|all]

Each is small: the work is in installer.backup, installer.doctor, installer.upgrade and
installer.bundle, so that tests and the apps call the same code.
"""

from __future__ import annotations

from pathlib import Path

import click

DATA = click.option("--data", "data", required=True, type=click.Path(path_type=Path, file_okay=False),
                    help="the node's or central's data folder")


@click.command("backup")
@DATA
@click.option("--to", "dest", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="backup folder, e.g. a USB stick")
@click.option("--keep", default=None, type=int,
              help="days of snapshots to keep (default: the retention policy's backup_days, 7 until central sets it)")
def backup_cmd(data: Path, dest: Path, keep: int | None) -> None:
    """Back up a data folder (safe while the app runs); keys are never copied."""
    from installer.backup import BackupError, backup

    try:
        result = backup(data, dest, keep=keep)
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"backup written: {result.snapshot.path} ({result.db_bytes // 1024} KiB database, "
               f"{result.blobs_copied} new scans of {result.blobs_total})")
    for path in result.removed:
        click.echo(f"older backup removed: {path.name}")
    if result.scans_pruned:
        click.echo(f"scans archived at the city removed from the backup: {result.scans_pruned}")
    click.echo("the key files are not in the backup (nor the scan key: scans in it stay encrypted): keep the PC, "
               "or enrol again with a new token after a loss")


@click.command("restore")
@click.option("--from", "source", default=None, type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="a backup folder (newest snapshot used) or one snapshot folder")
@DATA
@click.option("--force", is_flag=True, help="replace an existing database (it is moved aside, not deleted)")
@click.option("--no-sync", is_flag=True, help="do not contact central now (the node's first sync will)")
@click.option("--token", default="", help="a new enrolment token, when the key file was lost with the old PC")
@click.option("--central", "central_url", default="", help="with no backup at all: rebuild from this central")
@click.option("--node-id", default="", help="with --central: this node's id")
@click.option("--network", default="rugao", show_default=True, help="with --central: the sync network id")
@click.option("--parent", default="", help="with --central, for a village room: its town centre's id")
def restore_cmd(source: Path | None, data: Path, force: bool, no_sync: bool, token: str, central_url: str,
                node_id: str, network: str, parent: str) -> None:
    """Restore a data folder from a backup, or rebuild a node from central alone (--central)."""
    from installer.backup import BackupError, restore

    if source is None:
        if not (central_url and node_id and token):
            raise click.ClickException("give --from BACKUP, or --central URL --node-id ID --token TOKEN")
        from installer.recovery import RecoveryError, rebuild_from_central

        try:
            report, status = rebuild_from_central(data, central_url=central_url, token=token,
                                                  node_id=node_id.strip().upper(), network=network, parent=parent)
        except RecoveryError as err:
            raise click.ClickException(str(err)) from err
        if not report.ok:
            raise click.ClickException(f"enrolled, but taking the history back failed: {report.error}")
        click.echo(f"{report.recovered} records of this node came back from the city; "
                   f"{status.pending} waiting to be sent")
        return
    try:
        result = restore(source, data, force=force)
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"restored {result.snapshot.kind} {result.snapshot.origin} from {result.snapshot.path.name} "
               f"into {data}")
    if result.moved_aside:
        click.echo(f"the files that were there are kept in {result.moved_aside}")
    if result.snapshot.kind != "node":
        if not result.key_present:
            click.echo("central's key file is missing: put it back from its safe copy before starting central")
        return
    if not result.key_present:
        if not token:
            click.echo("this node's key file is not here (keys are never in backups). Ask the city for a new "
                       "enrolment token and run: bianmin restore ... --token TOKEN, or copy the old key file back.")
            return
        from installer.recovery import RecoveryError, reenrol

        try:
            rec = reenrol(data, token)
        except RecoveryError as err:
            raise click.ClickException(str(err)) from err
        click.echo(f"enrolled again with a new key; city key fingerprint {rec.fingerprint}")
        click.echo(f"{rec.recovered} records of this node came back from the city" if rec.ok
                   else f"first sync failed: {rec.error}")
        return
    if result.writes_held and not no_sync:
        from installer.recovery import sync_recovering

        report, status = sync_recovering(data)
        if report.ok:
            click.echo(f"first contact with the city: {report.recovered} records of this node came back; "
                       f"{status.pending} waiting to be sent")
        else:
            click.echo(f"could not reach the city ({report.error}); writing stays held until the node syncs")
    elif result.writes_held:
        click.echo("writing is held until this node's first sync with the city brings back what the backup lacks")


@click.command("doctor")
@DATA
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--offline", is_flag=True, help="do not contact central (no clock check)")
def doctor_cmd(data: Path, lang: str, offline: bool) -> None:
    """Check a node or central: disk, database, keys, clock, sync; say what to do."""
    from installer.doctor import diagnose, render

    checks = diagnose(data, contact_central=not offline)
    click.echo(render(checks, lang))
    raise SystemExit(1 if any(c.level == "fail" for c in checks) else 0)


@click.command("upgrade")
@DATA
@click.option("--backup-to", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="take a backup here first (default: DATA/../<name>-before-upgrade)")
def upgrade_cmd(data: Path, backup_to: Path | None) -> None:
    """Upgrade a data folder's tables in place after installing a new version (backs up first)."""
    from installer.upgrade import upgrade

    report = upgrade(data, backup_to=backup_to)
    click.echo(report.describe())


@click.group("bundle")
def bundle_group() -> None:
    """Offline installation bundles (wheels and install scripts, no internet needed on site)."""


@bundle_group.command("build")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--zip", "make_zip", is_flag=True, help="also pack the folder into one .zip")
@click.option("--platform", "platforms", multiple=True, type=click.Choice(["linux", "windows"]),
              help="default: both")
@click.option("--python", "pythons", multiple=True, type=click.Choice(["3.11", "3.12"]), help="default: both")
@click.option("--cache", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="a wheel cache folder to reuse (pip downloads only what it lacks)")
def bundle_build(out: Path, make_zip: bool, platforms: tuple[str, ...], pythons: tuple[str, ...],
                 cache: Path | None) -> None:
    """Build the offline bundle: wheels for Windows and Linux x64, Python 3.11 and 3.12."""
    from installer.bundle import BundleError, build

    try:
        result = build(out, platforms=platforms or ("linux", "windows"), pythons=pythons or ("3.11", "3.12"),
                       cache=cache, make_zip=make_zip)
    except BundleError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"bundle in {result.folder}: {len(result.wheels)} wheels")
    if result.zip_path:
        click.echo(f"zip: {result.zip_path}")


@click.command("enrol")
@DATA
@click.option("--file", "path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="the city's enrolment file (e.g. on a USB stick)")
def enrol_cmd(data: Path, path: Path) -> None:
    """Enrol a node from the city's enrolment file; its key fingerprint is checked automatically."""
    import shutil
    import time

    from installer.enrolfile import EnrolFileError, read_file, same_fingerprint
    from node.cli import init
    from node.config import read_config

    try:
        entry = read_file(path)
    except EnrolFileError as err:
        raise click.ClickException(str(err)) from err
    init.callback(data=data, central_url=entry.central, token=entry.token, node_id=entry.node_id,  # type: ignore[misc]
                  network=entry.network, name="", parent=entry.parent, public_url="")
    pinned = read_config(data).central_fingerprint
    if entry.fingerprint and not same_fingerprint(pinned, entry.fingerprint):
        aside = data.with_name(f"{data.name}.refused-{int(time.time())}")
        shutil.move(str(data), str(aside))
        raise click.ClickException(f"the server's key fingerprint {pinned} is not the one in the enrolment file "
                                   f"({entry.fingerprint}): enrolment set aside in {aside}; call the city")
    if entry.fingerprint:
        click.echo("the fingerprint matches the one in the enrolment file")


@click.group("enrol-offline")
def enrol_offline() -> None:
    """Enrol a node with no link by files carried on a USB stick (request, answer, finish)."""


@enrol_offline.command("request")
@DATA
@click.option("--node-id", required=True)
@click.option("--token", required=True, help="the one-time enrolment token from the city")
@click.option("--network", default="rugao", show_default=True)
@click.option("--parent", default="", help="for a village room: its town centre's node id")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False))
def enrol_offline_request(data: Path, node_id: str, token: str, network: str, parent: str, out: Path) -> None:
    """At the node: make the key and write the signed enrolment request to carry to the city."""
    import json

    from installer.enrolfile import EnrolFileError, make_request

    try:
        request = make_request(data, node_id=node_id, token=token, network=network, parent=parent)
    except EnrolFileError as err:
        raise click.ClickException(str(err)) from err
    out.write_text(json.dumps(request, ensure_ascii=False), "utf-8")
    click.echo(f"wrote {out}: carry it to a place with a link and run `bianmin enrol-offline answer`")


@enrol_offline.command("answer")
@click.option("--request", "request_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--central", "central_url", required=True)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False))
def enrol_offline_answer(request_path: Path, central_url: str, out: Path) -> None:
    """Where there is a link: hand a carried request to central and write its answer to carry back."""
    import json

    from installer.enrolfile import EnrolFileError, answer_request

    try:
        answer = answer_request(json.loads(request_path.read_text("utf-8")), central_url)
    except (EnrolFileError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    out.write_text(json.dumps(answer, ensure_ascii=False), "utf-8")
    click.echo(f"wrote {out}; city key fingerprint: {answer['answer']['central_fingerprint']}")  # type: ignore[index]


@enrol_offline.command("finish")
@DATA
@click.option("--answer", "answer_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--keep-url", is_flag=True, help="remember central's address (the node may get a link later)")
def enrol_offline_finish(data: Path, answer_path: Path, keep_url: bool) -> None:
    """Back at the node: pin the city's key from the carried answer."""
    import json

    from installer.enrolfile import EnrolFileError, finish

    try:
        fingerprint = finish(data, json.loads(answer_path.read_text("utf-8")), keep_url=keep_url)
    except (EnrolFileError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"city key fingerprint: {fingerprint}")
    click.echo("compare it with the fingerprint the city administrator gives you; if they differ, stop.")
    click.echo("then: bianmin node bundle-export, carry it, bianmin node bundle-import (staff and catalogue arrive)")
