"""Monthly case reports for the demo: a service point's director signs its month as the page would.

`sign_demo_report(node_or_folder, "2026-11", when=...)` computes the node's figures from its own
projection (node.monthly_report, the code the report page runs), writes remarks a director might
write about those figures, and signs `report.monthly` with the origin time `when` (a history that
spans weeks). Sync then carries it to central, whose receipt time judges whether it came in time.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from casework import monthly_report as mr
from node import monthly_report
from node.context import Node
from store.db import open_db
from sync.envelope import Record

CHINA = dt.timezone(dt.timedelta(hours=8))
DIRECTOR = {"username": "demo-director", "name": "周主任"}
_PROBLEMS = ["部分申请人材料准备不全，一次性告知后仍需二次补件。", "自助服务终端偶有故障，已报修。",
             "月末办件集中，等候时间偏长。", "个别事项跨部门流转环节较多，办理周期偏长。"]
_MEASURES = ["推行预约办理，错峰分流。", "对常见退件原因制作一次性告知清单，放在窗口和网站。",
             "安排窗口人员轮岗学习，提高综合受理能力。", "对临近期限的承诺件每日提醒，确保按期办结。"]


def remarks_for(figures: dict[str, int], rng: random.Random) -> dict[str, str]:
    """Notes a director might write about these figures."""
    finished, on_time = figures["finished"], figures["on_time"]
    rate = f"{100 * on_time / finished:.1f}%" if finished else "—"
    matters = (f"本月共收件{figures['received']}件，受理{figures['accepted']}件，办结{finished}件，"
               f"按期办结率{rate}。")
    if figures["evaluated"]:
        matters += f"群众评价{figures['evaluated']}件，满意{figures['satisfied']}件。"
    problems = rng.choice(_PROBLEMS)
    if figures["overdue"]:
        problems = f"超期{figures['overdue']}件，主要因材料补正和部门会签耗时。" + problems
    return {"matters": matters, "problems": problems, "measures": rng.choice(_MEASURES)}


def sign_demo_report(node: Node | str | Path, month: str, *, when: dt.datetime | None = None,
                     rng: random.Random | None = None, by: dict[str, str] | None = None,
                     reason: str = "") -> Record:
    """Sign `node`'s report for `month` (the next version; `reason` for a correction) as its
    director would, at `when` (default: the 3rd of the following month, 10:00 China time)."""
    if not isinstance(node, Node):
        opened = Node.open(node)
        try:
            return sign_demo_report(opened, month, when=when, rng=rng, by=by, reason=reason)
        finally:
            opened.close()
    rng = rng or random.Random(month)
    when = when or dt.datetime.combine(mr.parse_month(month)[1].replace(day=3), dt.time(10), tzinfo=CHINA)
    db = open_db(node.db_path)
    try:
        figures = monthly_report.figures(node, db, month, today=when.astimezone(CHINA).date()).figures()
    finally:
        db.conn.close()
    return monthly_report.submit(node, month=month, remarks=remarks_for(figures, rng), submitted_by=by or DIRECTOR,
                                 today=when.astimezone(CHINA).date(), reason=reason,
                                 time=when.isoformat(timespec="seconds"))
