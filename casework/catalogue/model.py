"""What the catalogue holds: departments, windows, service items with their materials, project types.

All frozen: a catalogue is published by central as one signed record and every node works from
that exact version, so nothing may change it in memory. Lists are tuples for the same reason.
The Chinese labels live here because they are part of the six public things (六公开): the guide,
the kiosk and the CLI must call a promised case 承诺件 the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

from casework.catalogue.search import SearchIndex
from casework.fees import FeeStandard, yuan_text

TIER_ORDER = {"village": 0, "town": 1, "city": 2}
TIER_LABELS = {"village": "村（社区）便民服务室", "town": "镇（区）便民服务中心", "city": "市行政服务中心"}
KIND_LABELS = {"immediate": "即办件", "promised": "承诺件", "joint": "联办件", "reported": "上报件"}
FORM_LABELS = {"original": "原件", "copy": "复印件", "original_and_copy": "原件及复印件"}
APPLICANT_LABELS = {"person": "个人", "organisation": "单位", "any": "个人或单位"}
WINDOW_KIND_LABELS = {"department": "部门窗口", "combined": "综合窗口", "card": "一卡通服务窗口",
                      "settlement": "结算中心"}

# The seed: "10 departments with few items and low demand share 1 combined window".
COMBINED_WINDOW_DEPARTMENTS = 10


@dataclass(frozen=True)
class Centre:
    """The city's administrative service centre: where items without their own place are handled."""

    name: str
    address: str
    hours: str


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    kind: str  # government | utility
    summary: str = ""


@dataclass(frozen=True)
class Window:
    """A counter at the city centre. `departments` is empty for the centre's own windows
    (service card, settlement), one code for a department's window, ten for the combined window."""

    code: str
    name: str
    kind: str  # department | combined | card | settlement
    departments: tuple[str, ...]
    place: str
    hours: str

    @property
    def kind_label(self) -> str:
        return WINDOW_KIND_LABELS[self.kind]


@dataclass(frozen=True)
class Material:
    """A document the applicant provides (申报材料).

    `gap_allowed`: the case may be accepted while it is missing (容缺受理), on a signed promise to
    supply it before the promised date.
    """

    name: str
    form: str  # original | copy | original_and_copy
    count: int = 1
    required: bool = True
    gap_allowed: bool = False
    notes: str = ""

    @property
    def label(self) -> str:
        """One line for a guide or a supplement notice: 名称（原件1份，必要，可容缺受理）."""
        parts = [f"{FORM_LABELS[self.form]}{self.count}份", "必要" if self.required else "非必要"]
        if self.gap_allowed:
            parts.append("可容缺受理")
        text = f"{self.name}（{'，'.join(parts)}）"
        return f"{text}：{self.notes}" if self.notes else text


@dataclass(frozen=True)
class ServiceItem:
    """One thing that can be applied for (事项), with everything the six public things show.

    `receive_tiers`: where an application may be taken in (village room, town centre, city).
    `handle_tier`: the lowest tier that decides. A case received below it is forwarded up to it;
    a case received at or above it is decided where it was received (the city's window holds the
    same authority as a town for, say, an individual business licence).
    """

    code: str
    name: str
    department: str
    window: str
    kind: str  # immediate | promised | joint | reported
    receive_tiers: tuple[str, ...]
    handle_tier: str
    legal_basis: tuple[str, ...]
    conditions: tuple[str, ...]
    procedure: tuple[str, ...]
    materials: tuple[Material, ...]
    legal_limit_days: int
    promised_limit_days: int
    fees: tuple[str, ...]
    place: str
    hours: str
    result: str = ""
    form: str = ""
    keywords: tuple[str, ...] = ()
    applicant: str = "any"  # person | organisation | any: which applicant block its application form prints

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def immediate(self) -> bool:
        return self.kind == "immediate"

    def receivable_at(self, tier: str) -> bool:
        return tier in self.receive_tiers

    def material(self, name: str) -> Material:
        for material in self.materials:
            if material.name == name:
                return material
        raise KeyError(f"item {self.code} has no material {name!r}")

    @property
    def required_materials(self) -> tuple[Material, ...]:
        return tuple(m for m in self.materials if m.required)

    @property
    def limit_text(self) -> str:
        """办理时限 as the guide prints it."""
        if self.kind == "immediate":
            legal = f"（法定时限{self.legal_limit_days}个工作日）" if self.legal_limit_days else ""
            return f"即办，材料齐全当场办结{legal}"
        return f"法定时限{self.legal_limit_days}个工作日，承诺时限{self.promised_limit_days}个工作日"


@dataclass(frozen=True)
class ProjectStep:
    """One step of a guide sheet: items handled together (jointly if `joint`), in sheet order."""

    items: tuple[str, ...]
    joint: bool = False
    note: str = ""


@dataclass(frozen=True)
class ProjectType:
    """A kind of service-card project (工业建设项目 ...) and its guide sheet (导办服务单)."""

    code: str
    name: str
    description: str
    min_investment_fen: int
    steps: tuple[ProjectStep, ...]

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(code for step in self.steps for code in step.items)


def describe_fee(fee: FeeStandard) -> str:
    """A fee standard in one Chinese line for the public guide (收费标准公开)."""
    if fee.kind == "fixed":
        amount = f"{yuan_text(fee.amount_fen)}元/件"
    elif fee.kind == "per_unit":
        amount = f"{yuan_text(fee.unit_fen)}元/{fee.unit}"
        if fee.included:
            amount += f"（首{fee.included}{fee.unit}免收）"
    elif fee.kind == "tiered":
        bands, lower = [], 0
        for tier in fee.tiers:
            span = f"{lower}{fee.unit}以上部分" if tier.up_to == 0 else f"{lower}-{tier.up_to}{fee.unit}部分"
            bands.append(f"{span}{yuan_text(tier.unit_fen)}元/{fee.unit}")
            lower = tier.up_to
        amount = "，".join(bands)
    elif fee.kind == "range":
        amount = f"{yuan_text(fee.min_fen)}-{yuan_text(fee.max_fen)}元，按下限{yuan_text(fee.min_fen)}元收取"
    else:
        whole, part = divmod(fee.rate_ppm, 10_000)  # ppm -> percent, in integers like assess()
        percent = f"{whole}.{part:04d}".rstrip("0").rstrip(".")
        amount = f"按基数的{percent}%"
        if fee.min_fen:
            amount += f"，最低{yuan_text(fee.min_fen)}元"
        if fee.max_fen:
            amount += f"，最高{yuan_text(fee.max_fen)}元"
    text = f"{fee.name}：{amount}"
    if fee.pre_fee:
        text += "（前置收费，受理前缴纳）"
    if fee.exemptions:
        text += f"；减免：{'、'.join(fee.exemptions)}"
    return text


class UnknownCodeError(KeyError):
    """A lookup by a code the catalogue does not hold; `str()` says which, for the CLI and pages."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown code"


def _plain(value: Any) -> Any:
    """A dataclass value as the published dict wants it: tuples become lists, objects dicts."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue, one published version: what nodes and central work from.

    Build it with `casework.catalogue.load()` (files) or `Catalogue.from_data()` (a signed record
    body); both check everything. Lookups are indexed lazily, once per catalogue.
    """

    centre: Centre
    departments: tuple[Department, ...]
    windows: tuple[Window, ...]
    fees: tuple[FeeStandard, ...]
    project_types: tuple[ProjectType, ...]
    items: tuple[ServiceItem, ...]

    # --- the published form ---------------------------------------------------------------
    def to_data(self) -> dict[str, Any]:
        """The dict central signs: only str, int, bool, list, dict; `from_data` gives it back."""
        return {
            "centre": _plain(self.centre),
            "departments": [_plain(d) for d in self.departments],
            "windows": [_plain(w) for w in self.windows],
            "fees": [f.to_data() for f in self.fees],
            "project_types": [_plain(p) for p in self.project_types],
            "items": [_plain(i) for i in self.items],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Catalogue:
        """Rebuild from `to_data()`'s dict, checking it as hard as the files (it came over a wire)."""
        from casework.catalogue.build import from_data  # build imports this module

        return from_data(data)

    # --- lookups --------------------------------------------------------------------------
    @cached_property
    def _by_code(self) -> dict[str, dict[str, Any]]:
        return {
            "item": {i.code: i for i in self.items},
            "department": {d.code: d for d in self.departments},
            "window": {w.code: w for w in self.windows},
            "fee": {f.code: f for f in self.fees},
            "project type": {p.code: p for p in self.project_types},
        }

    def _get(self, what: str, code: str) -> Any:
        try:
            return self._by_code[what][code]
        except KeyError:
            raise UnknownCodeError(f"no {what} with code {code!r} in the catalogue") from None

    def item(self, code: str) -> ServiceItem:
        return self._get("item", code)

    def department(self, code: str) -> Department:
        return self._get("department", code)

    def window(self, code: str) -> Window:
        return self._get("window", code)

    def fee(self, code: str) -> FeeStandard:
        return self._get("fee", code)

    def project_type(self, code: str) -> ProjectType:
        return self._get("project type", code)

    def has_item(self, code: str) -> bool:
        return code in self._by_code["item"]

    def window_for(self, item: ServiceItem | str) -> Window:
        return self.window(self._item(item).window)

    def _item(self, item: ServiceItem | str) -> ServiceItem:
        return self.item(item) if isinstance(item, str) else item

    def fees_for(self, item: ServiceItem | str) -> tuple[FeeStandard, ...]:
        return tuple(self.fee(code) for code in self._item(item).fees)

    def items_for_department(self, department: str) -> list[ServiceItem]:
        self.department(department)  # an unknown code is an error, not an empty list
        return [i for i in self.items if i.department == department]

    def items_receivable_at(self, tier: str) -> list[ServiceItem]:
        _check_tier(tier)
        return [i for i in self.items if tier in i.receive_tiers]

    def items_handled_at(self, tier: str) -> list[ServiceItem]:
        _check_tier(tier)
        return [i for i in self.items if i.handle_tier == tier]

    def items_at_window(self, window: str) -> list[ServiceItem]:
        self.window(window)
        return [i for i in self.items if i.window == window]

    def guide_sheet(self, project_type: str) -> list[tuple[int, ProjectStep, list[tuple[ServiceItem, Window]]]]:
        """The guide sheet (导办服务单) of a project type: (step number, step, [(item, window)])."""
        ptype = self.project_type(project_type)
        return [
            (n, step, [(self.item(code), self.window_for(code)) for code in step.items])
            for n, step in enumerate(ptype.steps, 1)
        ]

    # --- search ---------------------------------------------------------------------------
    @cached_property
    def _search_index(self) -> SearchIndex:
        return SearchIndex(self.items)

    def search(self, query: str, *, department: str | None = None, tier: str | None = None,
               limit: int | None = None) -> list[ServiceItem]:
        """Items matching `query` by name, pinyin (full or initials), keyword or code, best first."""
        if department is not None:
            self.department(department)
        if tier is not None:
            _check_tier(tier)
        found = self._search_index.search(query)
        found = [i for i in found if (department is None or i.department == department)
                 and (tier is None or tier in i.receive_tiers)]
        return found if limit is None else found[:limit]


def _check_tier(tier: str) -> None:
    if tier not in TIER_ORDER:
        raise UnknownCodeError(f"no tier {tier!r} (tiers: village, town, city)")
