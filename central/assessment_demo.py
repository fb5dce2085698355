"""Demo data for the quarterly assessment: a published last quarter and a current one in progress.

`record_demo(central)` signs, through `Central.sign` and the same record checks as the pages, what
a centre's inspectors and supervisor would have recorded for the sub-centres in the directory:
undercover, open and quarter-end findings with small evidence photos (and a scanned inspection
sheet), a praise banner and a newspaper story also praised by the centre (the overlap rule shows),
the system's proposals confirmed or dismissed with a reason, and last quarter published (its
bulletin public). The current quarter keeps a few findings and one proposal confirmed (when its
records support one: a late case, a monthly report not sent) and stays open. Nothing is written
for a quarter already published or already begun, so a second run adds nothing; with no
sub-centre enrolled it does nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

from central import assessment_records as records
from central import assessment_scores, assessment_store, scorecard_records, scorecard_store
from central.evidence import Evidence, prepare
from central.quarters import Quarter
from central.runtime import Central
from store.accounts import all_accounts
from sync.blobs import BlobStore

FINDINGS = [  # clause, source, count, what was found
    ("R01", "undercover", 2, "暗访发现上午9:10两名窗口工作人员尚未到岗"),
    ("R02", "open_visit", 1, "明察发现一名窗口工作人员未佩戴工作牌"),
    ("R05", "quarter_end", 1, "公开栏收费标准未随新标准更新"),
    ("H03", "monthly_random", 1, "抽查一件补正材料分两次告知，未一次性告知"),
    ("H04", "undercover", 1, "暗访咨询时被告知“不归我管”，未指引到责任窗口"),
    ("K01", "quarter_end", 1, "无故未参加中心季度协调会"),
    ("R03", "quarter_end", 1, "本季度学习例会仅有签到表，无会议记录"),
]
BONUS_DEEDS = [  # clause, deed
    ("B01", "办事群众赠送锦旗“高效便民 热情服务”"),
    ("B05", "《行政服务交流》刊用投稿《办税“最多跑一次”的做法》"),
]
STORY = "如皋日报报道分中心“延时服务不打烊”"  # praised by the paper (B04) and by the centre (B03)


@dataclass(frozen=True)
class DemoSummary:
    units: tuple[str, ...]
    published: str | None  # the quarter published, if any
    findings: int
    bonuses: int
    decisions: int


def _staff(central: Central, role: str, fallback: str) -> str:
    with central.log._lock:
        found = [a.username for a in all_accounts(central.log.db) if a.active and role in a.roles]
    return sorted(found)[0] if found else fallback


def _photo(rng: random.Random, label: str) -> bytes:
    """A small stand-in for an inspector's photo: a counter, a window, a label."""
    img = Image.new("RGB", (480, 360), (rng.randrange(150, 220), rng.randrange(150, 220), rng.randrange(150, 220)))
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 200, 440, 330), fill=(120, 90, 60))  # the counter
    draw.rectangle((140, 60, 340, 190), outline=(40, 40, 40), width=4, fill=(230, 240, 250))  # the window
    draw.text((150, 70), label, fill=(20, 20, 20))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _sheet(label: str) -> bytes:
    """A one-page PDF standing in for a scanned inspection sheet."""
    text = f"BT /F1 14 Tf 72 760 Td (Inspection sheet {label}) Tj ET".encode()
    objs = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
            b"<</Length %d>>stream\n" % len(text) + text + b"\nendstream",
            b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def _evidence(blobs: BlobStore, data: bytes, name: str) -> dict[str, object]:
    kept, kind, clean = prepare(data, name)
    return Evidence(blobs.put(kept), clean, kind, len(kept)).to_body()


def _day(rng: random.Random, quarter: Quarter, today: dt.date) -> dt.date:
    last = min(quarter.last, today)
    return quarter.first + dt.timedelta(days=rng.randrange(max((last - quarter.first).days, 0) + 1))


def _record_quarter(central: Central, blobs: BlobStore, quarter: Quarter, units: list[assessment_scores.Unit],
                    rng: random.Random, inspector: str) -> tuple[int, int]:
    today = central.today()
    findings = bonuses = 0
    for i, unit in enumerate(units):
        for clause, source, count, text in rng.sample(FINDINGS, k=i % 3):
            day = _day(rng, quarter, today)
            evidence = [_evidence(blobs, _photo(rng, f"{unit.code} {clause} {day}"), f"{clause}-{day}.png")]
            if source == "quarter_end":
                evidence.append(_evidence(blobs, _sheet(f"{unit.code} {quarter.text}"), "季末检查记录表.pdf"))
            central.sign(records.FINDING, records.check(records.FINDING, {
                "unit": unit.code, "quarter": quarter.text, "clause": clause, "count": count, "source": source,
                "checked_on": day.isoformat(), "text": text, "evidence": evidence, "staff": inspector}))
            findings += 1
        if i % 4 == 0:
            clause, deed = BONUS_DEEDS[(i // 4) % len(BONUS_DEEDS)]
            day = _day(rng, quarter, today)
            central.sign(records.BONUS, records.check(records.BONUS, {
                "unit": unit.code, "quarter": quarter.text, "clause": clause, "deed": deed,
                "awarded_on": day.isoformat(), "text": "", "staff": inspector,
                "evidence": [_evidence(blobs, _photo(rng, f"{unit.code} {clause}"), f"{clause}.png")]}))
            bonuses += 1
    if len(units) > 1:
        day = _day(rng, quarter, today)
        for clause in ("B04", "B03"):  # one story, two clauses: counts once, at the higher
            central.sign(records.BONUS, records.check(records.BONUS, {
                "unit": units[1].code, "quarter": quarter.text, "clause": clause, "deed": STORY,
                "awarded_on": day.isoformat(), "text": "", "staff": inspector,
                "evidence": [_evidence(blobs, _photo(rng, f"{units[1].code} news"), "报道.png")]}))
            bonuses += 1
    return findings, bonuses


def _decide_and_publish(central: Central, quarter: Quarter, units: list[assessment_scores.Unit],
                        supervisor: str) -> int:
    decisions = 0
    for unit in units:
        card, _version = scorecard_records.scorecard_for(central, quarter)
        with central.log._lock:
            board = assessment_scores.board(central.log.db, quarter, scorecard=card, today=central.today(),
                                            calendar=central.calendar(), only=unit.code)
        for n, proposal in enumerate(board.unit(unit.code).proposals):
            base = {"unit": unit.code, "quarter": quarter.text, "clause": proposal.clause,
                    "facts": proposal.facts(), "staff": supervisor, "refs": [r.ref for r in proposal.refs]}
            if n == 0:
                central.sign(records.CONFIRMED, records.check(records.CONFIRMED, {
                    **base, "left_out": [], "note": "经核实，系统记录属实"}))
            else:
                central.sign(records.DISMISSED, records.check(records.DISMISSED, {
                    **base, "reason": "经核实，已在期内说明情况并整改，本季度不扣分"}))
            decisions += 1
    card, version = scorecard_records.scorecard_for(central, quarter)
    with central.log._lock:
        board = assessment_scores.board(central.log.db, quarter, scorecard=card, today=central.today(),
                                        calendar=central.calendar())
        used = scorecard_store.for_quarter(central.log.db, quarter.text)
    central.sign(records.PUBLISHED, records.check(records.PUBLISHED, assessment_scores.publication(
        board, card, supervisor, version=version, record_id=used.record_id if used else "")))
    return decisions


def _confirm_one(central: Central, quarter: Quarter, units: list[assessment_scores.Unit], supervisor: str) -> int:
    """The first proposal the records support this quarter (a late case, a missing monthly report),
    confirmed by the supervisor; 0 when the records support none yet."""
    card, _version = scorecard_records.scorecard_for(central, quarter)
    for unit in units:
        with central.log._lock:
            board = assessment_scores.board(central.log.db, quarter, scorecard=card, today=central.today(),
                                            calendar=central.calendar(), only=unit.code)
        for proposal in board.unit(unit.code).proposals:
            central.sign(records.CONFIRMED, records.check(records.CONFIRMED, {
                "unit": unit.code, "quarter": quarter.text, "clause": proposal.clause, "facts": proposal.facts(),
                "refs": [r.ref for r in proposal.refs], "left_out": [], "note": "经核实，系统记录属实",
                "staff": supervisor}))
            return 1
    return 0


def record_demo(central: Central, *, rng: random.Random | None = None, inspector: str | None = None,
                supervisor: str | None = None) -> DemoSummary:
    """Last quarter recorded, decided and published; this quarter's first findings (see the module)."""
    rng = rng or random.Random(2026)
    scorecard_records.seed(central)  # (a central that has not started since it was made: version 1 now)
    with central.log._lock:
        units = assessment_scores.units(central.log.db)
    if not units:
        return DemoSummary((), None, 0, 0, 0)
    inspector = inspector or _staff(central, "inspector", "admin")
    supervisor = supervisor or _staff(central, "supervisor", "admin")
    blobs = BlobStore(central.data.blobs)
    current = Quarter.of(central.today())
    last = current.previous()
    findings = bonuses = decisions = 0
    published = None
    try:
        with central.log._lock:
            done = assessment_store.is_published(central.log.db, last.text)
        if not done:
            f, b = _record_quarter(central, blobs, last, units, rng, inspector)
            decisions = _decide_and_publish(central, last, units, supervisor)
            findings, bonuses, published = findings + f, bonuses + b, last.text
        with central.log._lock:
            started = bool(assessment_store.entries(central.log.db, current.text))
        if not started:
            f, b = _record_quarter(central, blobs, current, units[: max(1, len(units) // 2)], rng, inspector)
            findings, bonuses = findings + f, bonuses + b
            decisions += _confirm_one(central, current, units, supervisor)
    finally:
        blobs.close()
    return DemoSummary(tuple(u.code for u in units), published, findings, bonuses, decisions)
