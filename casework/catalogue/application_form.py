"""The application form (申请表) of a service item, generated from the catalogue: its content, once.

Why generated and not 147 hand-made Word files: central edits and republishes the catalogue, and a
form kept by hand drifts from the published materials within a month; a villager who ticks the
materials on an old form and arrives without the new one has been failed by the one-time
notification. So every item's form is built from the item itself, and the two ways it is handed
out (the printable A4 page and the .docx download, both laid out in web/) read this one object:
the paper a village clerk prints and the file a company fills in on its PC ask for the same things
in the same words.

The text is Chinese only, like the notices: it is an official document, filled in and filed as
such; the screens around it are translated.
"""

from __future__ import annotations

from dataclasses import dataclass

from casework.catalogue.model import FORM_LABELS, TIER_LABELS, Catalogue, ServiceItem, describe_fee


@dataclass(frozen=True)
class Blank:
    """A labelled blank to write in; `wide` takes a whole row (an address), else two share one."""

    label: str
    wide: bool = False


@dataclass(frozen=True)
class Block:
    """A titled group of blanks: the applicant (person or organisation) or the proxy (代办)."""

    title: str
    blanks: tuple[Blank, ...]
    note: str = ""


@dataclass(frozen=True)
class MaterialLine:
    """One row of the materials checklist; the applicant ticks what they bring."""

    number: int
    name: str
    form: str  # 原件 | 复印件 | 原件及复印件
    count: int
    need: str  # 必要 | 非必要, plus 可容缺受理
    notes: str


@dataclass(frozen=True)
class ApplicationForm:
    """Everything an item's application form prints, top to bottom."""

    code: str
    title: str
    item_name: str
    department: str
    kind_label: str
    issuer: str
    applicant: str  # person | organisation | any
    applicant_choice: str  # the tick line when either kind may apply, else ""
    applicants: tuple[Block, ...]
    proxy: Block
    authorisation: tuple[str, ...]  # how the applicant authorised the proxy: tick one
    request_label: str
    materials: tuple[MaterialLine, ...]
    delivery_label: str
    delivery: tuple[str, ...]  # how the result reaches the applicant: tick one
    declaration: str
    signatures: tuple[str, ...]
    receiving: tuple[tuple[str, str], ...]  # (label, text): where and when to hand it in
    office_label: str
    office: tuple[str, ...]  # filled in by the clerk who receives it

    @property
    def filename(self) -> str:
        """The download's file name: code first, so a folder of forms sorts by department."""
        return f"{self.code}-{self.title}"


PERSON = Block(
    "申请人（个人）", (Blank("姓名"), Blank("公民身份号码"), Blank("联系电话"), Blank("住址", wide=True))
)
ORGANISATION = Block(
    "申请人（单位）",
    (
        Blank("单位名称", wide=True),
        Blank("统一社会信用代码"),
        Blank("法定代表人（负责人）"),
        Blank("联系人"),
        Blank("联系电话"),
        Blank("单位地址", wide=True),
    ),
)
PROXY = Block(
    "代办人（委托他人或村、镇代办员代为办理时填写）",
    (
        Blank("代办人姓名"),
        Blank("公民身份号码"),
        Blank("联系电话"),
        Blank("与申请人关系"),
        Blank("代办人所在单位（代办点）", wide=True),
    ),
    note="代办人须出示本人身份证件；村（社区）代办员代办的，由代办点登记委托事项。",
)
AUTHORISATION = ("授权委托书", "村（社区）代办委托登记", "法定代理（监护人）")
DELIVERY = ("窗口领取", "邮寄送达（地址同上）", "村（社区）便民服务室代领", "电子证照")
OFFICE = ("收件编号", "收件人", "收件日期", "材料是否齐全")
DECLARATIONS = {
    "person": "本人",
    "organisation": "本单位",
    "any": "本人（本单位）",
}


def _need(required: bool, gap_allowed: bool) -> str:
    text = "必要" if required else "非必要"
    return text + "，可容缺受理" if gap_allowed else text


def _receiving(catalogue: Catalogue, item: ServiceItem) -> tuple[tuple[str, str], ...]:
    lines = [("办理地点", item.place)]
    if "city" in item.receive_tiers:
        window = catalogue.window_for(item)
        lines.append(("市中心窗口", f"{window.name}（{window.place}）"))
    lines.append(("可在以下地点递交", "、".join(TIER_LABELS[t] for t in item.receive_tiers)))
    lines.append(("办公时间", item.hours))
    lines.append(("办理时限", item.limit_text))
    fees = [describe_fee(f) for f in catalogue.fees_for(item)]
    lines.append(("收费标准", "；".join(fees) if fees else "不收费"))
    return tuple(lines)


def form_title(item: ServiceItem) -> str:
    """The form's title: the catalogue's own form name (不动产登记申请书), else `<item>申请表`."""
    return item.form or f"{item.name}申请表"


def application_form(catalogue: Catalogue, item: ServiceItem) -> ApplicationForm:
    """The application form of `item` as the catalogue currently describes it."""
    applicants = {"person": (PERSON,), "organisation": (ORGANISATION,), "any": (PERSON, ORGANISATION)}[
        item.applicant
    ]
    who = DECLARATIONS[item.applicant]
    materials = tuple(
        MaterialLine(n, m.name, FORM_LABELS[m.form], m.count, _need(m.required, m.gap_allowed), m.notes)
        for n, m in enumerate(item.materials, 1)
    )
    return ApplicationForm(
        code=item.code,
        title=form_title(item),
        item_name=item.name,
        department=catalogue.department(item.department).name,
        kind_label=item.kind_label,
        issuer=catalogue.centre.name,
        applicant=item.applicant,
        applicant_choice="申请人类型：□ 个人（填写个人栏）　□ 单位（填写单位栏）"
        if item.applicant == "any"
        else "",
        applicants=applicants,
        proxy=PROXY,
        authorisation=AUTHORISATION,
        request_label="申请事项及理由",
        materials=materials,
        delivery_label="结果领取方式",
        delivery=DELIVERY,
        declaration=(
            f"{who}承诺：本表所填内容及所附申请材料真实、准确、完整、有效，复印件与原件一致；"
            f"如有隐瞒或虚假，{who}愿意承担相应的法律责任。"
        ),
        signatures=("申请人（签字或盖章）", "代办人（签字）"),
        receiving=_receiving(catalogue, item),
        office_label="以下由收件窗口（代办点）填写",
        office=OFFICE,
    )
