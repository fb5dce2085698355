"""The six public things (六公开) of an item as headed Chinese text, written once for every screen.

The CLI prints it, the public guide and the kiosk render it, a village clerk reads it aloud: all
must say the same thing in the same words, so the wording lives here and not in each template.
"""

from __future__ import annotations

from dataclasses import dataclass

from casework.catalogue.model import TIER_LABELS, Catalogue, ServiceItem, describe_fee


@dataclass(frozen=True)
class Section:
    """One heading of the guide and its lines; `numbered` lines are steps or list entries."""

    title: str
    lines: tuple[str, ...]
    numbered: bool = False


def six_public(catalogue: Catalogue, item: ServiceItem) -> list[Section]:
    """事项, 设定依据, 办理程序, 申报材料, 办理时限, 收费标准 (plus 受理条件 where the item has any)."""
    department = catalogue.department(item.department)
    window = catalogue.window_for(item)
    about = [
        f"事项名称：{item.name}",
        f"事项代码：{item.code}",
        f"实施部门：{department.name}",
        f"办件类型：{item.kind_label}",
        f"受理地点：{'、'.join(TIER_LABELS[t] for t in item.receive_tiers)}",
        f"审批层级：{TIER_LABELS[item.handle_tier]}",
        # a town-handled item not taken in at the city: its city window only answers questions
        f"{'办理窗口' if 'city' in item.receive_tiers else '市中心咨询窗口'}：{window.name}（{window.place}）",
        f"办理地点：{item.place}",
        f"办公时间：{item.hours}",
    ]
    if item.result:
        about.append(f"办理结果：{item.result}")
    if item.form:
        about.append(f"表格下载：{item.form}")
    sections = [Section("事项", tuple(about)), Section("设定依据", item.legal_basis, numbered=True)]
    if item.conditions:
        sections.append(Section("受理条件", item.conditions, numbered=True))
    sections += [
        Section("办理程序", item.procedure, numbered=True),
        Section("申报材料", tuple(m.label for m in item.materials), numbered=True),
        Section("办理时限", (item.limit_text,)),
        Section("收费标准", tuple(describe_fee(f) for f in catalogue.fees_for(item)) or ("不收费",)),
    ]
    return sections
