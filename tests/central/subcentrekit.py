"""Sub-centres (S##) for central's tests: enrolled by a `node.enrolled` record central signs, with their
own key, signing their own case records that central ingests exactly as an upload would (checked
against the directory, projected). So the assessment's proposals read real records of real
sub-centres, not rows put in a table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from centralkit import CHINA

from casework.cases import item_snapshot, new_event_body
from casework.numbering import case_number
from sync.envelope import Record, sign_record
from sync.keys import NodeKey

NAMES = {
    "S01": "如皋市税务局办税服务厅",
    "S02": "如皋市公安局车辆管理所",
    "S03": "如皋市不动产登记中心",
    "S04": "如皋市人力资源和社会保障局服务大厅",
    "S05": "如皋市住房公积金管理中心服务大厅",
}


def at(day: dt.date, hour: int = 10) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=CHINA).isoformat()


class SubCentre:
    """One enrolled sub-centre: signs records as that node would, central ingests them."""

    def __init__(self, central: Any, node: str, name: str | None = None) -> None:
        self.central = central
        self.node = node
        self.name = name or NAMES.get(node, node)
        self.key = NodeKey.generate()
        central.sign("node.enrolled", {"node": node, "tier": "subcentre", "name": self.name,
                                       "public_key": self.key.public.hex(), "key": self.key.key_id, "from_seq": 1})
        self.seq = 0
        self.prev: str | None = None
        self.counters: dict[dt.date, int] = {}

    def sign(self, kind: str, body: dict[str, Any], when: str) -> Record:
        self.seq += 1
        record = sign_record(self.key, net=self.central.config.network, origin=self.node, seq=self.seq,
                             prev=self.prev, kind=kind, body=body, time=when)
        self.prev = record.id
        return record

    def push(self, records: list[Record]) -> None:
        result = self.central.log.ingest(records)
        assert result.ok, result.refused

    def case(self, item_code: str, received: dt.date, *, due: dt.date, finished: dt.date | None = None,
             level: int | None = None, extra: list[tuple[str, dict[str, Any], dt.date]] = ()) -> str:
        """A case received and accepted here on `received` with due date `due`, finished on `finished`
        (None: still open), rated `level` once finished; `extra` events (kind, fields, day) follow."""
        item = self.central.catalogue().item(item_code)
        counter = self.counters[received] = self.counters.get(received, 0) + 1
        number = case_number(self.node, received, counter).text
        records: list[Record] = []

        def add(kind: str, day: dt.date, **fields: Any) -> None:
            after = [] if kind == "case.received" else [records[-1].id]
            body = new_event_body(kind, case=number, after=after, **fields)
            records.append(self.sign(kind, body, at(day)))

        add("case.received", received, item=item_snapshot(item),
            applicant={"type": "person", "name": "张三", "id_number": "11010519491231002X", "phone": "13812345678"},
            materials=[m.name for m in item.materials])
        add("case.accepted", received, due_date=due.isoformat())
        if item.kind != "immediate":
            add("case.promised", received, due_date=due.isoformat())
        if finished is not None:
            add("case.finished", finished, outcome="granted")
            if level is not None:
                add("case.evaluated", finished, level=level, channel="counter",
                    **({"reason": "办得太慢"} if level <= 2 else {}))
        for kind, fields, day in extra:
            add(kind, day, **fields)
        self.push(records)
        return number
