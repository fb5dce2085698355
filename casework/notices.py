"""What each printed notice says, as data: the content of the legal documents a case produces.

The notices are certificates in Chinese law (Licensing Law art. 32: receiving, accepting or
refusing is certified in writing, sealed and dated), so their wording is decided here, once, by the
rules, and never by a template: web only lays the content out on A4 (web.notices.render_notice)
and adds the QR code for `status_path`. Every function reads a folded `CaseState` (plus catalogue
pieces where the notice needs them) and returns a `Notice`; none of them changes anything.

Personal data: the applicant's and the proxy's ID and phone numbers are printed masked
(`320682********1234`, `138****5678`) as the national guidance asks; the name is printed in full,
since the applicant signs for the notice. Texts are Chinese; `Field.key` is a stable English key
for programs and tests, `Field.label` the printed Chinese label.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from casework.case_state import CaseState, FeeAssessment, Status, Step
from casework.catalogue.model import FORM_LABELS, KIND_LABELS, TIER_LABELS
from casework.fees import yuan_text
from casework.identity import mask_credit_code, mask_id, mask_phone
from casework.messages import N_, RuleError

CENTRE = "如皋市行政服务中心"
SETTLEMENT = "结算中心"

LAW_ART32 = ("《中华人民共和国行政许可法》第三十二条：申请材料不齐全或者不符合法定形式的，应当当场或者在五日内"
             "一次告知申请人需要补正的全部内容，逾期不告知的，自收到申请材料之日起即为受理；行政机关受理或者"
             "不予受理行政许可申请，应当出具加盖本行政机关专用印章和注明日期的书面凭证。")
LAW_ART42_45 = ("《中华人民共和国行政许可法》第四十二条：除可以当场作出行政许可决定的外，行政机关应当自受理行政许可"
                "申请之日起二十日内作出行政许可决定；第四十五条：依法需要听证、招标、拍卖、检验、检测、检疫、鉴定"
                "和专家评审的，所需时间不计算在期限内，行政机关应当将所需时间书面告知申请人。本通知所列期限均为"
                "工作日，受理当日不计入。")
LAW_ART44 = ("《中华人民共和国行政许可法》第四十四条：行政机关作出准予行政许可的决定，应当自作出决定之日起十日内"
             "向申请人颁发、送达行政许可证件。")
RIGHTS = ("申请人如对本决定不服，可以自收到本通知书之日起六十日内依法申请行政复议，"
          "也可以自收到本通知书之日起六个月内依法向人民法院提起行政诉讼。")
LAW_REFUSAL = ("依据《中华人民共和国行政许可法》第三十二条、第三十八条第二款：行政机关依法作出不予受理或者不予行政"
               "许可的书面决定的，应当说明理由，并告知申请人享有依法申请行政复议或者提起行政诉讼的权利。")
FEE_RULE = ("本单各项费用由系统依据公开的收费标准计算生成（统一扎口收费），窗口工作人员不得改动；收费标准有幅度的，"
            "按下限收取。请到结算中心缴款并索取票据；未列入本单的费用，申请人有权拒绝缴纳。")
CARD_RULE = ("对投资额五十万元以上的经济建设、基本建设类项目，免费发放“一卡通”服务卡，提供咨询、登记、导办服务"
             "（绿色通道）。持卡到各窗口办件，全程电子监督；各项收费统一到结算中心缴纳。")

PAUSE_LABELS = {"hearing": "听证", "test": "检验检测", "expert_review": "专家评审", "quarantine": "检疫",
                "appraisal": "鉴定", "other": "其他法定事由"}
DELIVERY_LABELS = {"on_the_spot": "当场送达", "post": "邮寄送达", "village": "村（社区）代办送达",
                   "electronic": "电子送达"}
STATUS_LABELS = {
    Status.NONE: "未收件", Status.RECEIVED: "已收件", Status.WAITING_SUPPLEMENT: "待补正材料",
    Status.ACCEPTED: "已受理", Status.PROMISED: "承诺办理中", Status.PAUSED: "暂停计时",
    Status.FORWARDED: "转报中", Status.FINISHED: "已办结", Status.LICENCE_ISSUED: "已发证",
    Status.DELIVERED: "已送达", Status.REFUSED: "不予受理", Status.RETURNED: "已退件", Status.WITHDRAWN: "已撤回",
}

#: The notices, by kind: (title, what must have happened for it to exist).
TITLES = {
    "receipt": "受理回执",
    "supplement": "补办件通知单",
    "promise": "承诺件通知单",
    "delivery": "送达通知书",
    "payment": "缴款通知单",
    "return": "退件通知单",
    "refusal": "不予受理通知书",
    "guide": "导办服务单",
}


@dataclass(frozen=True)
class Field:
    key: str     # stable English key: tests and programs read fields by it
    label: str   # the printed Chinese label
    value: str


@dataclass(frozen=True)
class Notice:
    """One printable notice. web.notices reads these attribute names (see its docstring)."""

    kind: str
    title: str
    number: str                 # the notice's number: the case number, or the payment notice's own
    case: str                   # the case number ("" on a guide sheet)
    date: dt.date | None
    place: str                  # the issuing place's name, printed above the title and by the seal
    applicant: str              # the applicant's name
    fields: tuple[Field, ...] = ()
    lines: tuple[str, ...] = ()
    table: dict[str, Any] | None = None  # {"columns": [...], "rows": [[...], ...]}
    total_fen: int | None = None
    legal: str = ""
    status_path: str = ""
    provisional: bool = False   # a date on it rests on an unpublished calendar year

    def value(self, key: str) -> str:
        """The value of the field `key` ("" if the notice has no such field)."""
        return next((f.value for f in self.fields if f.key == key), "")

    def to_data(self) -> dict[str, Any]:
        """Plain data (dates as ISO text), e.g. to keep a copy of what was printed in a record."""
        data = asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        return data


# -- shared pieces --------------------------------------------------------------------------

def place_name(place: str | None, *, names: Mapping[str, str] | None = None, catalogue: Any = None) -> str:
    """A place as people know it: from `names` (the node directory's names), else a central
    window from the catalogue, else a description by tier so that a notice is never blank."""
    if not place:
        return ""
    if names and place in names:
        return names[place]
    centre = catalogue.centre.name if catalogue is not None else CENTRE
    if place == "central":
        return centre
    if place.startswith("window:"):
        code = place.split(":", 1)[1]
        try:
            window = catalogue.window(code) if catalogue is not None else None
        except KeyError:
            window = None
        return f"{centre}{window.name}（{window.place}）" if window else f"{centre}{code}窗口"
    origin = place.split(":", 1)[1]
    tier = {"V": "village", "T": "town"}.get(origin[:1])
    return f"{TIER_LABELS[tier]}（{origin}）" if tier else f"{centre}分中心（{origin}）"


def _masked_id(person: Mapping[str, Any]) -> str:
    number = person.get("id_number")
    if not isinstance(number, str) or not number:
        return ""
    return mask_credit_code(number) if person.get("id_type") == "credit_code" else mask_id(number)


def _people(state: CaseState) -> list[Field]:
    applicant = state.applicant
    id_label = "统一社会信用代码" if applicant.get("id_type") == "credit_code" else "证件号码"
    fields = []  # the name itself is Notice.applicant, printed once by the layout
    if _masked_id(applicant):
        fields.append(Field("applicant_id", id_label, _masked_id(applicant)))
    if applicant.get("phone"):
        fields.append(Field("applicant_phone", "联系电话", mask_phone(applicant["phone"])))
    if state.proxy:
        proxy = state.proxy
        text = str(proxy.get("name", ""))
        if proxy.get("phone"):
            text += f"（{mask_phone(proxy['phone'])}）"
        fields.append(Field("proxy", "代办人", text))
    return fields


def _item_fields(state: CaseState) -> list[Field]:
    item = state.item
    return [
        Field("item", "申请事项", str(item.get("name", ""))),
        Field("item_code", "事项编码", str(item.get("code", ""))),
        Field("item_kind", "办件类型", KIND_LABELS.get(str(item.get("kind")), str(item.get("kind", "")))),
    ]


def _last(state: CaseState, *names: str) -> Step | None:
    kinds = {"case." + n for n in names}
    return next((s for s in reversed(state.timeline) if s.event.kind in kinds), None)


def _require(state: CaseState, notice: str, *names: str) -> Step:
    step = _last(state, *names)
    if step is None:
        raise RuleError("notice_not_due", N_("A %(notice)s cannot be printed for this case yet."), notice=notice)
    return step


def _date(step: Step | None) -> dt.date | None:
    return step.time.date() if step and step.time else None


def _cn(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _material_label(material: Mapping[str, Any]) -> str:
    form = FORM_LABELS.get(str(material.get("form")), "")
    count = material.get("count")
    return f"{form}{count}份" if form and count else form


def _status_path(number: str | None) -> str:
    return f"/status?case={number}" if number else ""


def _base(state: CaseState, kind: str, step: Step | None, names: Mapping[str, str] | None, catalogue: Any,
          **more: Any) -> dict[str, Any]:
    return {
        "kind": kind, "title": TITLES[kind], "number": state.number or "", "case": state.number or "",
        "date": _date(step), "place": place_name(step.place if step else None, names=names, catalogue=catalogue),
        "applicant": str(state.applicant.get("name", "")), "status_path": _status_path(state.number), **more,
    }


def _limits(state: CaseState) -> str:
    item = state.item
    if item.get("kind") == "immediate":
        return "即办件：材料齐全，当场办结。"
    return (f"承诺时限{item.get('promised_limit_days', 0)}个工作日，"
            f"法定时限{item.get('legal_limit_days', 0)}个工作日，自受理之日起计算（受理当日不计入）。")


# -- the notices of a case ------------------------------------------------------------------

def receipt(state: CaseState, *, names: Mapping[str, str] | None = None, catalogue: Any = None) -> Notice:
    """受理回执: given when the application is received; says where it goes if it is forwarded."""
    step = _require(state, TITLES["receipt"], "received")
    provided = set(state.materials_provided)
    rows = [[str(n), str(m.get("name", "")), "必交" if m.get("required") else "选交",
             "已收" if m.get("name") in provided else "未交"] for n, m in enumerate(state.materials, 1)]
    lines = [f"您申请的“{state.item.get('name', '')}”已于{_cn(_date(step))}收件，收件材料见下表。", _limits(state)]
    if state.materials_missing:
        lines.append("尚缺材料：" + "、".join(state.materials_missing) + "。缺件内容以《补办件通知单》一次性告知。")
    lines.extend(_forwarding(state, step, names, catalogue))
    if state.proxy:
        lines.append("本件由代办人代为申请，已留存申请人的授权委托。")
    lines.append("请凭受理编号或扫描二维码查询办理进度。")
    return Notice(**_base(state, "receipt", step, names, catalogue), fields=tuple(
        [*_item_fields(state), *_people(state), Field("received_at", "收件地点",
                                                     place_name(state.received_at, names=names, catalogue=catalogue)),
         Field("status", "当前状态", STATUS_LABELS[state.status])]),
        lines=tuple(lines), table={"columns": ["序号", "材料名称", "要求", "收件情况"], "rows": rows},
        legal=LAW_ART32)


def _forwarding(state: CaseState, step: Step, names: Mapping[str, str] | None, catalogue: Any) -> list[str]:
    """Where a case received at a village or town goes, so the villager knows who decides it."""
    here = place_name(state.received_at, names=names, catalogue=catalogue)
    targets = [*state.forwarded_to, *([state.pending_handover] if state.pending_handover else [])]
    if targets:
        chain = "→".join(place_name(t, names=names, catalogue=catalogue) for t in targets)
        last = targets[-1]
        who = "市行政服务中心" if last.startswith(("window:", "node:S")) or last == "central" else (
            "镇（区）便民服务中心" if last.startswith("node:T") else "村（社区）便民服务室")
        return [f"本件由{here}收件后转报：{chain}，由{who}负责办理；办理结果可在原收件地点领取或按约定方式送达。"]
    need = state.item.get("handle_tier")
    received_tier = "village" if step.place.startswith("node:V") else "town" if step.place.startswith("node:T") else "city"
    order = ("village", "town", "city")
    if need in order and order.index(need) > order.index(received_tier):
        return [f"本事项由{TIER_LABELS[need]}办理，{here}将代为转报，办理结果可在本收件地点领取。"]
    return []


def supplement_notice(state: CaseState, *, names: Mapping[str, str] | None = None,
                      catalogue: Any = None) -> Notice:
    """补办件通知单: every missing material at once (one-time notification, art. 32)."""
    step = _require(state, TITLES["supplement"], "supplement_requested")
    missing = step.event.body["missing"]
    rows = [[str(n), name, _material_label(state.material(name)), "必交" if state.material(name).get("required")
             else "需补正"] for n, name in enumerate(missing, 1)]
    lines = [f"您申请的“{state.item.get('name', '')}”经审查，申请材料不齐全或者不符合法定形式，"
             f"请补正下表所列全部{len(missing)}项材料。本通知一次性告知需要补正的全部内容。"]
    deadline = step.event.body.get("deadline")
    if deadline:
        lines.append(f"请于{_cn(dt.date.fromisoformat(deadline))}前补正。")
    lines.append("补齐材料后，请持本通知单到原收件地点办理；材料补齐之日起按规定受理并计算办理时限。")
    if step.event.body.get("note"):
        lines.append(str(step.event.body["note"]))
    return Notice(**_base(state, "supplement", step, names, catalogue),
                  fields=tuple([*_item_fields(state), *_people(state)]), lines=tuple(lines),
                  table={"columns": ["序号", "需补正材料", "形式及份数", "说明"], "rows": rows}, legal=LAW_ART32)


def promise_notice(state: CaseState, *, names: Mapping[str, str] | None = None,
                   catalogue: Any = None) -> Notice:
    """承诺件通知单: the promised completion date, counted in working days from acceptance."""
    step = _require(state, TITLES["promise"], "promised", "accepted")
    if state.item.get("kind") == "immediate" and _last(state, "promised") is None:
        # an immediate case is finished on the spot: there is nothing to promise
        raise RuleError("notice_not_due", N_("A %(notice)s cannot be printed for this case yet."),
                        notice=TITLES["promise"])
    accepted = state.accepted_time.date() if state.accepted_time else None
    days = state.item.get("promised_limit_days") or state.item.get("legal_limit_days") or 0
    fields = [*_item_fields(state), *_people(state),
              Field("accepted_on", "受理日期", _cn(accepted)),
              Field("promised_days", "承诺时限", f"{days}个工作日"),
              Field("legal_days", "法定时限", f"{state.item.get('legal_limit_days', 0)}个工作日"),
              Field("due_date", "承诺办结日期", _cn(state.due_date) + ("（暂定）" if state.due_provisional else ""))]
    lines = [f"您申请的“{state.item.get('name', '')}”已于{_cn(accepted)}受理，本件为承诺件，"
             f"承诺于{_cn(state.due_date)}前（{days}个工作日内）办结，逾期可向本中心投诉。"]
    if state.due_provisional:
        lines.append("该日期所在年度的节假日安排尚未公布，办结日期为暂定，公布后以实际工作日为准。")
    for pause in state.pauses:
        reason = PAUSE_LABELS.get(pause.reason, pause.reason)
        if pause.end:
            lines.append(f"因{reason}自{_cn(pause.start)}至{_cn(pause.end)}暂停计时{pause.working_days}个工作日，"
                         "办结日期相应顺延。")
        else:
            lines.append(f"因{reason}自{_cn(pause.start)}起暂停计时，所需时间不计入办理时限，恢复后书面告知。")
    if state.gap:
        lines.append(f"容缺受理：{'、'.join(state.gap.materials)}暂缺，申请人{state.gap.signed_by}已签署承诺，"
                     f"须于{_cn(state.gap.deadline)}前补交；逾期未补交的，本件终止办理。")
    return Notice(**_base(state, "promise", step, names, catalogue), fields=tuple(fields), lines=tuple(lines),
                  legal=LAW_ART42_45, provisional=state.due_provisional)


def delivery_notice(state: CaseState, *, names: Mapping[str, str] | None = None,
                    catalogue: Any = None) -> Notice:
    """送达通知书: the result or licence delivered (printed at delivery for the recipient to sign)."""
    step = _require(state, TITLES["delivery"], "delivered", "licence_issued", "finished")
    finished = _last(state, "finished")
    delivery = state.delivery or {}
    outcome = "准予许可" if state.outcome == "granted" else "不予许可" if state.outcome == "denied" else ""
    licence = state.licence or {}
    fields = [*_item_fields(state), *_people(state),
              Field("finished_on", "办结日期", _cn(_date(finished))),
              Field("outcome", "办理结果", outcome),
              Field("licence", "证照名称及编号", "　".join(str(v) for v in (licence.get("name"), licence.get("number"))
                                                       if v)),
              Field("method", "送达方式", DELIVERY_LABELS.get(str(delivery.get("method")), "")),
              Field("recipient", "受送达人", str(delivery.get("recipient") or "")),
              Field("delivered_on", "送达日期", _cn(_date(step)) if delivery else "")]
    lines = [f"您申请的“{state.item.get('name', '')}”已办结，现将办理结果送达，请核对后签收。"]
    if state.outcome == "denied" and state.reason:
        lines.append(f"不予许可的理由：{state.reason}")
        lines.append(RIGHTS)
    return Notice(**_base(state, "delivery", step, names, catalogue), fields=tuple(fields), lines=tuple(lines),
                  legal=LAW_ART44)


def payment_notice(state: CaseState, assessment: str | None = None, *, names: Mapping[str, str] | None = None,
                   catalogue: Any = None) -> Notice:
    """缴款通知单: each fee line from the fee standards, the total in fen, pre-fees flagged.

    `assessment` is the fee_assessed event id (default: the latest assessment)."""
    chosen: FeeAssessment | None = None
    for candidate in state.assessments:
        if assessment is None or candidate.event_id == assessment:
            chosen = candidate
    if chosen is None:
        raise RuleError("notice_not_due", N_("A %(notice)s cannot be printed for this case yet."),
                        notice=TITLES["payment"])
    step = next(s for s in state.timeline if s.event.id == chosen.event_id)
    rows = []
    for n, line in enumerate(chosen.lines, 1):
        quantity = f"{line.get('quantity')}{line.get('unit') or ''}" if line.get("kind") in ("per_unit", "tiered") else ""
        rows.append([str(n), str(line.get("name", "")), str(line.get("basis") or ""), quantity,
                     yuan_text(int(line.get("amount_fen", 0))), "是" if line.get("pre_fee") else "否"])
    settlement = _settlement_name(catalogue)
    lines = [f"请持本通知单到{settlement}缴款，缴款后凭票据回窗口继续办理。"]
    if chosen.pre_fee_fen:
        lines.append(f"其中前置收费{yuan_text(chosen.pre_fee_fen)}元，须在受理前缴清。")
    if chosen.paid:
        lines.append(f"已缴款{yuan_text(chosen.paid_fen)}元。"
                     + (f"已退款{yuan_text(chosen.refunded_fen)}元。" if chosen.refunded_fen else ""))
    number = str(step.event.body.get("notice") or f"{state.number}-F{state.assessments.index(chosen) + 1}")
    base = _base(state, "payment", step, names, catalogue)
    base["number"] = number
    return Notice(**base, fields=tuple([*_item_fields(state), *_people(state),
                                        Field("payable_at", "缴款地点", settlement),
                                        Field("total", "应缴金额（元）", yuan_text(chosen.total_fen)),
                                        Field("pre_fee", "前置收费（元）", yuan_text(chosen.pre_fee_fen))]),
                  lines=tuple(lines), total_fen=chosen.total_fen, legal=FEE_RULE,
                  table={"columns": ["序号", "收费项目", "收费依据", "数量", "金额（元）", "前置收费"], "rows": rows})


def _settlement_name(catalogue: Any) -> str:
    """The settlement centre with its counters, e.g. 如皋市行政服务中心结算中心（一楼 70号窗口、一楼 71号窗口）."""
    if catalogue is None:
        return CENTRE + SETTLEMENT
    places = [w.place for w in catalogue.windows if w.kind == "settlement"]
    return catalogue.centre.name + SETTLEMENT + (f"（{'、'.join(places)}）" if places else "")


def return_notice(state: CaseState, *, names: Mapping[str, str] | None = None, catalogue: Any = None) -> Notice:
    """退件通知单: the case is returned with its reason, and the materials handed back."""
    step = _require(state, TITLES["return"], "returned")
    provided = list(state.materials_provided)
    lines = [f"您申请的“{state.item.get('name', '')}”因以下原因退件：{state.reason}",
             "现将您提交的申请材料全部退还，请当面核对。符合条件后可重新申请。"]
    rows = [[str(n), name] for n, name in enumerate(provided, 1)]
    return Notice(**_base(state, "return", step, names, catalogue),
                  fields=tuple([*_item_fields(state), *_people(state), Field("reason", "退件理由", state.reason or "")]),
                  lines=tuple(lines), table={"columns": ["序号", "退还材料"], "rows": rows} if rows else None,
                  legal="依据收退件管理制度，每一件退件均登记并说明理由；如有异议，可向本中心投诉。")


def refusal_notice(state: CaseState, *, names: Mapping[str, str] | None = None, catalogue: Any = None) -> Notice:
    """不予受理通知书: the reason, and the applicant's rights (reconsideration 60 days, litigation
    6 months)."""
    step = _require(state, TITLES["refusal"], "refused")
    lines = [f"您于{_cn(state.received_time.date() if state.received_time else None)}提出的"
             f"“{state.item.get('name', '')}”申请，经审查，决定不予受理，理由及救济途径见上。"]
    return Notice(**_base(state, "refusal", step, names, catalogue),
                  fields=tuple([*_item_fields(state), *_people(state), Field("reason", "不予受理理由", state.reason or ""),
                                Field("rights", "救济途径", RIGHTS)]),
                  lines=tuple(lines), legal=LAW_REFUSAL)


BUILDERS = {
    "receipt": receipt, "supplement": supplement_notice, "promise": promise_notice,
    "delivery": delivery_notice, "payment": payment_notice, "return": return_notice, "refusal": refusal_notice,
}


def available(state: CaseState) -> list[str]:
    """The notice kinds that can be printed for the case now, in the order of its life."""
    kinds = []
    for kind, builder in BUILDERS.items():
        try:
            builder(state)
        except RuleError:
            continue
        kinds.append(kind)
    return kinds


def notice(kind: str, state: CaseState, **options: Any) -> Notice:
    """The notice `kind` ("receipt", "supplement", ...) of the case; RuleError if not due."""
    if kind not in BUILDERS:
        raise RuleError("unknown_notice", N_("%(notice)s is not a kind of notice."), notice=kind)
    return BUILDERS[kind](state, **options)


# -- the service card's guide sheet ---------------------------------------------------------

@dataclass(frozen=True)
class Card:
    """A service-card project as the card window registers it (一卡通登记)."""

    number: str
    project: str
    project_type: str           # a ProjectType code
    applicant: str              # the investing organisation
    investment_fen: int
    contact: str = ""
    phone: str = ""
    credit_code: str = ""
    issued_on: dt.date | None = None
    items: Sequence[str] = field(default_factory=tuple)  # item codes, if not the type's whole list


def guide_sheet(card: Card, catalogue: Any, *, place: str | None = None) -> Notice:
    """导办服务单: the project's items in order, each with its window, for the card holder."""
    ptype = catalogue.project_type(card.project_type)
    wanted = set(card.items or ptype.item_codes)
    rows = []
    for number, step, entries in catalogue.guide_sheet(card.project_type):
        first = True
        for item, window in entries:
            if item.code not in wanted:
                continue
            limit = "即办" if item.kind == "immediate" else f"{item.promised_limit_days}个工作日"
            # the step's note once, on its first row; "联办" on every row handled jointly
            note = "；".join(x for x in ("联办" if step.joint else "", step.note if first else "") if x)
            rows.append([str(number), item.name, KIND_LABELS.get(item.kind, item.kind),
                         f"{window.code} {window.name}（{window.place}）", limit, note])
            first = False
    fields = [Field("card", "服务卡号", card.number), Field("project", "项目名称", card.project),
              Field("project_type", "项目类型", ptype.name), Field("investment", "投资额（万元）", _wan(card.investment_fen))]
    if card.credit_code:
        fields.append(Field("credit_code", "统一社会信用代码", mask_credit_code(card.credit_code)))
    if card.contact:
        fields.append(Field("contact", "联系人", card.contact + (f"（{mask_phone(card.phone)}）" if card.phone else "")))
    lines = ["请持服务卡按下表顺序到各窗口办理；同一步骤的事项可同时办理，标“联办”的由相关部门联合办理。",
             "各窗口凭服务卡号登记办件，各事项办理进度可凭卡号或各事项受理回执查询；所有收费统一到结算中心缴纳。"]
    return Notice(kind="guide", title=TITLES["guide"], number=card.number, case="", date=card.issued_on,
                  place=place or f"{catalogue.centre.name}一卡通服务窗口", applicant=card.applicant,
                  fields=tuple(fields), lines=tuple(lines),
                  table={"columns": ["步骤", "办理事项", "办件类型", "办理窗口", "承诺时限", "备注"], "rows": rows},
                  legal=CARD_RULE, status_path=f"/status?card={card.number}")


def _wan(fen: int) -> str:
    """Fen as 万元 with up to two decimals (an investment is shown in ten-thousands of yuan)."""
    whole, rest = divmod(fen, 1_000_000)
    return f"{whole}.{rest // 10_000:02d}".rstrip("0").rstrip(".") if rest // 10_000 else str(whole)
