"""The `bianmin` command: one entry point, one group per area.

Groups are imported lazily so that `bianmin catalogue check` on a village PC does not pay for
loading Flask, and so that a broken app cannot stop the other commands from working.
"""

from __future__ import annotations

import functools
import importlib

import click

# group name -> "module:attribute" of a click.Group
GROUPS: dict[str, tuple[str, str]] = {
    "catalogue": ("bianmin.catalogue_cli:catalogue", "Service catalogue: check and show items."),
    "node": ("node.cli:node", "Run and manage a service-point node."),
    "central": ("central.cli:central", "Run and manage the city server."),
    "backup": ("installer.cli:backup_cmd", "Back up a data folder (safe while running; keys never copied)."),
    "restore": ("installer.cli:restore_cmd", "Restore a data folder; a node takes back the rest from central."),
    "doctor": ("installer.cli:doctor_cmd", "Check a node or central and say what to do."),
    "upgrade": ("installer.cli:upgrade_cmd", "Upgrade a data folder's tables after installing a new version."),
    "enrol": ("installer.cli:enrol_cmd", "Enrol a node from the city's enrolment file (USB stick)."),
    "enrol-offline": ("installer.cli:enrol_offline", "Enrol a node with no link by files on a USB stick."),
    "bundle": ("installer.cli:bundle_group", "Build the offline installation bundle."),
    "demo": ("bianmin.demo:demo", "Central, a town and two villages on this PC, with history."),
}

# Commands that belong under an app's group but live in a higher layer (installer may import node
# and central, not the other way round): `bianmin node doctor`, `bianmin central backup`, ...
ATTACHED: dict[str, list[tuple[str, str]]] = {
    "node": [("doctor", "installer.cli:doctor_cmd"), ("backup", "installer.cli:backup_cmd"),
             ("restore", "installer.cli:restore_cmd"), ("upgrade", "installer.cli:upgrade_cmd"),
             ("enrol", "installer.cli:enrol_cmd")],
    "central": [("doctor", "installer.cli:doctor_cmd"), ("backup", "installer.cli:backup_cmd"),
                ("restore", "installer.cli:restore_cmd"), ("upgrade", "installer.cli:upgrade_cmd")],
}
# App commands that write the operators' log (installer.ops_logging) while they run.
LOGGED = {"node": ("run", "sync"), "central": ("run",)}


def _load(target: str) -> click.Command:
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def _with_ops_logging(command: click.Command) -> None:
    """Start the masked JSON log in the data folder before the app command runs (once per command)."""
    original = command.callback
    if original is None or getattr(original, "_ops_logged", False):
        return

    def callback(*args: object, **kwargs: object) -> object:
        data = kwargs.get("data")
        if data is not None:
            from installer.ops_logging import configure

            configure(str(data))
        return original(*args, **kwargs)

    callback._ops_logged = True  # type: ignore[attr-defined]
    command.callback = functools.update_wrapper(callback, original)


def _attach(name: str, group: click.Command) -> click.Command:
    if isinstance(group, click.Group):
        for sub, target in ATTACHED.get(name, []):
            if sub not in group.commands:
                group.add_command(_load(target), sub)
        for sub in LOGGED.get(name, ()):
            if sub in group.commands:
                _with_ops_logging(group.commands[sub])
    return group


class LazyGroup(click.Group):
    """A click group whose sub-groups are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(GROUPS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in GROUPS:
            target, _help = GROUPS[cmd_name]
            return _attach(cmd_name, _load(target))
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, GROUPS[name][1]) for name in sorted(GROUPS)]
        rows += [
            (name, cmd.get_short_help_str())
            for name, cmd in sorted(self.commands.items())
            if name not in GROUPS
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="bianmin")
def main() -> None:
    """bianmin (便民): the city's network of government service points."""
