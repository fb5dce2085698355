"""`bianmin node ...`: enrol a service point, run it, sync it once.

    bianmin node init --data DIR --central URL --token TOKEN --node-id V000101 [--network rugao]
    bianmin node run  --data DIR [--port 8000] [--host 127.0.0.1]
    bianmin node sync --data DIR
    bianmin node bundle-export --data DIR --out E:/V000101.zip      (a village with no link)
    bianmin node carry --data TOWN_DIR E:/V000101.zip --reply E:/V000101-reply.zip   (a town)
    bianmin node bundle-import --data DIR E:/V000101-reply.zip      (back at the village)

`init` makes the node's key (0600, beside the database, never inside it), proves to central that
it holds it (the single-use token from `bianmin central enroll-token`), pins central's public key
in node.toml and shows its fingerprint: the person installing compares it with the one the city
reads out, so a wrong server is caught before a single record is trusted. It then pulls the
first records (staff, catalogue, calendar) so that the clerk can log in at once, offline after.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

DATA = click.option("--data", "data", required=True, type=click.Path(path_type=Path, file_okay=False),
                    help="the node's data folder")


@click.group()
def node() -> None:
    """Run and manage a service-point node."""


@node.command()
@DATA
@click.option("--central", "central_url", required=True, help="the city server's address, e.g. https://...")
@click.option("--token", required=True, help="the one-time enrolment token from the city")
@click.option("--node-id", "node_id", required=True, help="T#### (town), V###### (village) or S## (sub-centre)")
@click.option("--network", default="rugao", show_default=True, help="the sync network id")
@click.option("--name", default="", help="the service point's name (default: as the city enrolled it)")
@click.option("--parent", default="", help="for a village room: its town centre's node id")
@click.option("--public-url", default="", help="status-query address printed on notices (default: --central)")
def init(data: Path, central_url: str, token: str, node_id: str, network: str, name: str, parent: str,
         public_url: str) -> None:
    """Enrol this service point with the city and pin the city's key."""
    from node.config import CONFIG_FILE, DB_FILE, NodeConfig, write_config
    from sync.client import SyncError, enrol
    from sync.keys import NodeKey, default_key_path

    node_id = node_id.strip().upper()
    if (data / CONFIG_FILE).exists():
        raise click.ClickException(f"{data / CONFIG_FILE} exists: this folder is already an enrolled node")
    data.mkdir(parents=True, exist_ok=True)
    key_path = default_key_path(data / DB_FILE)
    key = NodeKey.load(key_path) if key_path.exists() else NodeKey.generate()
    try:
        answer = enrol(central_url, network=network, node=node_id, token=token.strip(), key=key)
    except SyncError as err:
        raise click.ClickException(f"enrolment refused: {err.code} {err.message}") from err
    if not key_path.exists():
        key.save(key_path)
    enrolled_name = name
    if not enrolled_name:
        from sync.envelope import from_wire

        for wire in answer.get("directory", []):
            record = from_wire(wire)
            if record.kind == "node.enrolled" and record.body.get("node") == node_id:
                enrolled_name = str(record.body.get("name") or "")
    config = NodeConfig(node_id=node_id, name=enrolled_name or node_id, network=answer.get("net", network),
                        central_url=central_url.rstrip("/"), central_public=answer["central_public_key"],
                        central_fingerprint=answer["central_fingerprint"], public_url=public_url, parent=parent,
                        central_sealing=str(answer.get("sealing") or ""))
    write_config(data, config)
    click.echo(f"enrolled {node_id} ({config.name}) on network {config.network}")
    click.echo(f"city key fingerprint: {config.central_fingerprint}")
    click.echo("compare it with the fingerprint the city administrator reads to you; if they differ, stop.")
    _sync_once(data)


def _sync_once(data: Path) -> bool:
    from node.context import Node
    from node.syncing import NodeSync
    from node.views.syncpage import describe_error_english

    the_node = Node.open(data)
    try:
        runner = NodeSync(the_node)
        report = runner.sync_now()
        status = runner.status()
        if report is None:
            click.echo("this node has no city address: move records with USB bundles")
            return True
        if report.ok:
            click.echo(f"synced: {report.pushed} sent, {report.pulled} received, {report.blobs_sent} scans sent")
        else:
            err = report.error
            click.echo("sync failed: " + describe_error_english(err.code if err else None,
                                                                dict(err.params) if err else {}))
        click.echo(f"waiting to be sent: {status.pending} records")
        return report.ok
    finally:
        the_node.close()


@node.command()
@DATA
def sync(data: Path) -> None:
    """Sync once with the city and say how it went."""
    from node.config import NodeConfigError

    try:
        ok = _sync_once(data)
    except NodeConfigError as err:
        raise click.ClickException(str(err)) from err
    sys.exit(0 if ok else 1)


@node.command()
@DATA
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-sync", is_flag=True, help="do not run the background sync loop")
def run(data: Path, port: int, host: str, no_sync: bool) -> None:
    """Serve the node's pages with waitress (and sync in the background)."""
    from node.app import create_app
    from node.config import NodeConfigError
    from web.serving import make_server

    started = time.monotonic()
    try:
        app = create_app({"DATA_DIR": str(data), "SYNC_LOOP": not no_sync})
    except NodeConfigError as err:
        raise click.ClickException(str(err)) from err
    server = make_server(app, host=host, port=port, threads=6)
    click.echo(f"node listening on http://{host}:{server.effective_port}/ "  # type: ignore[union-attr]
               f"(ready in {time.monotonic() - started:.1f} s)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["bianmin_node_sync"].stop()


@node.command("bundle-export")
@DATA
@click.option("--out", "out", default=None, type=click.Path(path_type=Path, dir_okay=False),
              help="the bundle file to write (on the USB stick); default DATA/bundles/<node>-<seqs>.zip, "
                   "deleted there after the retention policy's bundle_days")
def bundle_export(data: Path, out: Path | None) -> None:
    """Write this node's unsent records and scans (sealed to the city) to a signed bundle for a USB stick."""
    import tempfile

    from node.context import Node
    from node.housekeeping import BUNDLES_DIR
    from sync.bundle import export_bundle, export_summary
    from sync.keys import NodeKey, default_key_path

    the_node = Node.open(data)
    try:
        target = out or Path(tempfile.mkdtemp(dir=_bundles(data, BUNDLES_DIR))) / "bundle.zip"
        manifest = export_bundle(the_node.log, NodeKey.load(default_key_path(the_node.db_path)), target,
                                 blobs=the_node.blobs, seal_to=the_node.seal_to())
        if out is None:  # named like the download from the sync page, beside the others it keeps
            out = target.parent.parent / f"{the_node.config.node_id}-{manifest['first_seq']}-{manifest['last_seq']}.zip"
            target.replace(out)
            target.parent.rmdir()
    finally:
        the_node.close()
    summary = export_summary(manifest)
    click.echo(f"wrote {out}: {manifest['records']} records (seq {manifest['first_seq']}-{manifest['last_seq']}), "
               f"{summary['scans']} scans sealed to the city")
    if summary["held_back"]:
        click.echo(f"{summary['held_back']} scans stay here: the city's sealing key has not reached this node yet; "
                   "the reply brings it, and the next bundle carries them")
    if summary["damaged"]:
        click.echo(f"{summary['damaged']} scans could not be read here and were left out (run doctor)")
    click.echo("carry it to a town centre or the city; bring the reply back and run bundle-import")


def _bundles(data: Path, name: str) -> Path:
    folder = data / name
    folder.mkdir(exist_ok=True)
    return folder


@node.command()
@DATA
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--reply", "reply_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="where to write the city's signed reply (on the USB stick)")
def carry(data: Path, bundle: Path, reply_path: Path) -> None:
    """Hand another node's bundle to the city over this node's link and write the city's reply."""
    from node.context import Node
    from node.syncing import NodeSync
    from sync.client import SyncError

    the_node = Node.open(data)
    try:
        runner = NodeSync(the_node)
        if runner.client is None:
            raise click.ClickException("this node has no link to the city either")
        try:
            resp = runner.client.request("POST", "/sync/v1/bundle", bundle.read_bytes(),
                                         headers={"Content-Type": "application/zip"})
        except SyncError as err:
            raise click.ClickException(f"the city refused the bundle: {err.code} {err.message}") from err
        reply_path.write_bytes(resp.content)
    finally:
        the_node.close()
    click.echo(f"wrote the city's reply to {reply_path}")
    from sync.bundle import peek_answer

    if peek_answer(resp.content).get("error"):
        click.echo(f"the city refused the bundle ({peek_answer(resp.content)['error']}), but its reply brings the "
                   "current sealing key: at the village, import it and export again")


@node.command("bundle-import")
@DATA
@click.argument("reply", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def bundle_import(data: Path, reply: Path) -> None:
    """Take the city's reply home: its receipt and the records it routed here (checked whole)."""
    from node.context import Node
    from sync.bundle import import_reply
    from sync.canonical import Refusal
    from sync.client import SyncError

    the_node = Node.open(data)
    try:
        result = import_reply(the_node.log, the_node.config.central_public_bytes, reply, blobs=the_node.blobs)
        pending = the_node.log.count_pending("C")
    except (Refusal, SyncError) as err:
        raise click.ClickException(f"the reply was refused, nothing from it was stored: {err}") from err
    finally:
        the_node.close()
    click.echo(f"receipted up to seq {result['receipt_seq']}; {result['pulled']} records received; "
               f"waiting to be sent: {pending} records")
    if result["error"]:
        click.echo(f"WARNING: the city refused the bundle this answers ({result['error']}): nothing of it was stored; "
                   "this reply brought the city's current sealing key, so export again now")
    for warning in result["warnings"]:
        if warning.get("code") == "plain_scans":
            click.echo(f"WARNING: that bundle carried {warning.get('scans')} scans unsealed (made before this node "
                       "was upgraded): delete it from the USB stick")
