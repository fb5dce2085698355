"""`bianmin catalogue ...`: check the catalogue data and show items' six public things.

`check` is what an administrator runs after editing the TOML files: every problem, one per line,
then the size of the catalogue as the last line (scripts read it), exit 1 on any problem.
"""

from __future__ import annotations

import shutil
import sys
import unicodedata
from pathlib import Path

import click

from casework.catalogue import Catalogue, CatalogueError, UnknownCodeError, load
from casework.catalogue.guide import six_public

PATH_OPTION = click.option(
    "--path", "path", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Catalogue folder (default: the packaged data).",
)


def _width(text: str) -> int:
    """Terminal columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap(text: str, width: int, indent: str) -> list[str]:
    """Wrap mixed Chinese/Latin text at terminal width, continuation lines indented under the text."""
    lines, line = [], ""
    room = max(20, width - _width(indent))
    for ch in text:
        if _width(line + ch) > room:
            lines.append(line)
            line = ""
        line += ch
    lines.append(line)
    return [indent + lines[0]] + [indent + "  " + rest for rest in lines[1:]] if lines else [indent]


def _pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - _width(text))


def _load(path: Path | None) -> Catalogue:
    try:
        return load(path)
    except CatalogueError as err:
        click.echo(f"目录数据有 {len(err.problems)} 个问题，请先运行 bianmin catalogue check：", err=True)
        for problem in err.problems[:5]:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)


@click.group()
def catalogue() -> None:
    """Service catalogue: check and show items."""


@catalogue.command()
@PATH_OPTION
def check(path: Path | None) -> None:
    """Check every file of the catalogue; print every problem, then the counts as the last line."""
    try:
        cat = load(path)
    except CatalogueError as err:
        for problem in err.problems:
            click.echo(problem)
        counts = err.counts
        click.echo(f"{len(err.problems)} problem(s)")
        click.echo(f"departments={counts.get('departments', 0)} windows={counts.get('windows', 0)} "
                   f"items={counts.get('items', 0)}")
        sys.exit(1)
    click.echo(f"ok: {len(cat.project_types)} project types, {len(cat.fees)} fee standards, "
               f"{len(cat.items_receivable_at('village'))} items receivable at village rooms, "
               f"{len(cat.items_handled_at('town'))} handled by towns")
    click.echo(f"departments={len(cat.departments)} windows={len(cat.windows)} items={len(cat.items)}")


@catalogue.command()
@click.argument("code")
@PATH_OPTION
def show(code: str, path: Path | None) -> None:
    """Show an item's six public things (六公开) in Chinese."""
    cat = _load(path)
    try:
        item = cat.item(code.strip().upper())
    except UnknownCodeError:
        click.echo(f"没有代码为 {code} 的事项（可用 bianmin catalogue search 查找）。", err=True)
        sys.exit(1)
    width = min(shutil.get_terminal_size((100, 24)).columns, 110)
    for section in six_public(cat, item):
        click.echo(f"【{section.title}】")
        for n, line in enumerate(section.lines, 1):
            text = f"{n}. {line}" if section.numbered else line
            for out in _wrap(text, width, "  "):
                click.echo(out)
        click.echo()


@catalogue.command()
@click.argument("query")
@click.option("--department", default=None, help="Only this department's items (code, e.g. scjg).")
@click.option("--tier", type=click.Choice(["village", "town", "city"]), default=None,
              help="Only items that can be received at this tier.")
@PATH_OPTION
def search(query: str, department: str | None, tier: str | None, path: Path | None) -> None:
    """Find items by name, pinyin (full or initials, e.g. qysldj), keyword or code."""
    cat = _load(path)
    try:
        found = cat.search(query, department=department, tier=tier)
    except UnknownCodeError:
        click.echo(f"没有代码为 {department} 的部门。", err=True)
        sys.exit(1)
    if not found:
        click.echo(f"没有找到与“{query}”相符的事项。", err=True)
        sys.exit(1)
    code_width = max(_width(i.code) for i in found)
    name_width = min(44, max(_width(i.name) for i in found))
    for item in found:
        click.echo(f"{_pad(item.code, code_width)}  {_pad(item.name, name_width)}  "
                   f"{item.kind_label}  {cat.department(item.department).name}")


@catalogue.command()
@click.argument("project_type", required=False)
@PATH_OPTION
def guide(project_type: str | None, path: Path | None) -> None:
    """Print a service-card guide sheet (导办服务单); without a code, list the project types."""
    cat = _load(path)
    if project_type is None:
        for ptype in cat.project_types:
            click.echo(f"{_pad(ptype.code, 6)}  {ptype.name}  {ptype.description}")
        return
    try:
        ptype = cat.project_type(project_type.strip().upper())
    except UnknownCodeError:
        click.echo(f"没有代码为 {project_type} 的项目类型（不带参数运行可列出全部类型）。", err=True)
        sys.exit(1)
    width = min(shutil.get_terminal_size((100, 24)).columns, 110)
    click.echo(f"导办服务单：{ptype.name}（投资额{ptype.min_investment_fen // 1_000_000}万元以上可免费办理一卡通服务卡）")
    for number, step, rows in cat.guide_sheet(ptype.code):
        click.echo(f"第{number}步{'（联合办理）' if step.joint else ''}")
        for item, window in rows:
            click.echo(f"  {_pad(item.code, 8)} {item.name} → {window.name}（{window.place}），{item.kind_label}")
        if step.note:
            for out in _wrap(f"说明：{step.note}", width, "  "):
                click.echo(out)
