"""Fee standards (收费标准) and the fees of a case, in integer fen.

"Rules into the machine": a clerk never types a fee. Each service item names the fee standards
that apply; the standard's preset rule computes the amount from what the clerk may enter (a
quantity, a base amount, a ticked exemption), and the payment notice (缴款通知单) shows the
result. So the standards must be exact data, checked hard when central publishes them, and every
computation must be integer arithmetic that gives the same fen on every node.

Kinds (docs/contracts.md "Fee standards" is the data format):
- ``fixed``: ``amount_fen`` per case (the quantity is not used).
- ``per_unit``: ``unit_fen`` per ``unit``; the first ``included`` units are free.
- ``tiered``: marginal tiers over a quantity of ``unit``: each tier's units at its own rate. Tiers
  are ordered by ``up_to`` (the tier's upper end, inclusive); the last tier must be open
  (``up_to = 0``), so that every quantity has a price and nothing is guessed.
- ``range``: a range ``min_fen``..``max_fen`` that the law allows; charged at ``min_fen``, because
  the centre charges the lower bound (低限收费) and the machine must not let anyone choose more.
- ``percent``: ``rate_ppm`` parts per million of a base amount in fen entered by the clerk.
  Rounding rule: ``base_fen * rate_ppm / 1_000_000`` is rounded half up to the whole fen
  (``(base_fen * rate_ppm + 500_000) // 1_000_000``), THEN raised to ``min_fen`` and lowered to
  ``max_fen`` (``max_fen = 0`` means no cap). Integers only, no floats anywhere: a float in the
  data is refused, because 0.1 yuan is not representable and two nodes must agree to the fen.

An exemption (减免, e.g. "小微企业免收") named in the standard makes that fee 0; a standard with
``pre_fee = true`` (前置收费) must be paid before the case may be accepted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from casework.messages import N_, RuleError

KINDS = ("fixed", "per_unit", "tiered", "range", "percent")
MAX_FEN = 10**12  # ten billion yuan: far above any fee, far below SQLite's 2**63 even when summed
MAX_QUANTITY = 10**9
PPM = 1_000_000
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")

_COMMON_KEYS = {"code", "name", "kind", "basis", "pre_fee", "exemptions"}
_KIND_KEYS: dict[str, set[str]] = {
    "fixed": {"amount_fen"},
    "per_unit": {"unit", "unit_fen", "included"},
    "tiered": {"unit", "tiers"},
    "range": {"min_fen", "max_fen"},
    "percent": {"rate_ppm", "min_fen", "max_fen"},
}
_OPTIONAL_DEFAULTS: dict[str, Any] = {"pre_fee": False, "exemptions": [], "included": 0}


class FeeStandardError(RuleError):
    """A fee standard's data is wrong; `problems` lists EVERY problem, each naming its field.

    `problems` are English strings ("amount_fen: must be a whole number of fen, not 80.5") for
    the catalogue's file-level report; `errors` holds the same problems as RuleErrors for
    translation.
    """

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        self.problems = [e.english() for e in errors]
        super().__init__(
            "fees.invalid_standard",
            N_("The fee standard has %(count)s problem(s): %(problems)s"),
            count=len(errors),
            problems="; ".join(self.problems),
        )


@dataclass(frozen=True)
class Tier:
    """Units up to `up_to` (inclusive; 0 = no upper end) are charged `unit_fen` each."""

    up_to: int
    unit_fen: int


@dataclass(frozen=True)
class FeeStandard:
    """One preset fee rule. Fields that do not belong to `kind` keep their zero values."""

    code: str
    name: str
    kind: str
    basis: str
    pre_fee: bool = False
    exemptions: tuple[str, ...] = ()
    amount_fen: int = 0
    unit: str = ""
    unit_fen: int = 0
    included: int = 0
    tiers: tuple[Tier, ...] = ()
    min_fen: int = 0
    max_fen: int = 0
    rate_ppm: int = 0

    def assess(self, quantity: int = 1, base_fen: int = 0, exemption: str | None = None) -> int:
        """The fee in fen for `quantity` units (per_unit, tiered) or a base amount (percent).

        Raises RuleError for a negative or non-integer quantity or base, or an exemption the
        standard does not allow (a clerk may only tick what the standard names).
        """
        _check_whole("quantity", quantity, MAX_QUANTITY)
        _check_whole("base_fen", base_fen, MAX_FEN)
        if exemption is not None:
            if exemption not in self.exemptions:
                raise RuleError(
                    "fees.unknown_exemption",
                    N_("Fee standard %(standard)s allows no exemption called \"%(exemption)s\""),
                    standard=self.code,
                    exemption=exemption,
                )
            return 0
        if self.kind == "fixed":
            return self.amount_fen
        if self.kind == "per_unit":
            return max(0, quantity - self.included) * self.unit_fen
        if self.kind == "tiered":
            return _tiered(self.tiers, quantity)
        if self.kind == "range":
            return self.min_fen
        fee = (base_fen * self.rate_ppm + PPM // 2) // PPM
        fee = max(fee, self.min_fen)
        return min(fee, self.max_fen) if self.max_fen else fee

    def to_data(self) -> dict[str, Any]:
        """The dict form (canonical: every field of the kind, defaults included)."""
        data: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "basis": self.basis,
            "pre_fee": self.pre_fee,
            "exemptions": list(self.exemptions),
        }
        for key in sorted(_KIND_KEYS[self.kind]):
            value = getattr(self, key)
            if key == "tiers":
                value = [{"up_to": t.up_to, "unit_fen": t.unit_fen} for t in value]
            data[key] = value
        return data


def _tiered(tiers: tuple[Tier, ...], quantity: int) -> int:
    fee, lower = 0, 0
    for tier in tiers:
        upper = quantity if tier.up_to == 0 else min(quantity, tier.up_to)
        if upper > lower:
            fee += (upper - lower) * tier.unit_fen
        lower = max(lower, tier.up_to)
        if tier.up_to == 0 or quantity <= tier.up_to:
            break
    return fee


def _check_whole(name: str, value: Any, limit: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(
            "fees.not_whole", N_("%(name)s must be a whole number, not %(value)s"), name=name, value=repr(value)
        )
    if not 0 <= value <= limit:
        raise RuleError(
            "fees.out_of_range",
            N_("%(name)s must be between 0 and %(limit)s, not %(value)s"),
            name=name,
            limit=limit,
            value=value,
        )


class _Problems:
    """Collects every problem of one standard, so that the author fixes them all in one go."""

    def __init__(self) -> None:
        self.errors: list[RuleError] = []

    def add(self, field_name: str, code: str, msgid: str, **params: Any) -> None:
        self.errors.append(RuleError(code, msgid, field=field_name, **params))

    def text(self, data: Mapping[str, Any], key: str, *, required: bool = True) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.add(key, "fees.missing", N_("%(field)s: is required"))
            return ""
        if not isinstance(value, str):
            self.add(key, "fees.not_text", N_("%(field)s: must be text, not %(value)s"), value=repr(value))
            return ""
        value = unicodedata.normalize("NFC", value).strip()
        if not value:
            self.add(key, "fees.empty", N_("%(field)s: must not be empty"))
        return value

    def whole(self, data: Mapping[str, Any], key: str, *, label: str | None = None, default: int | None = None,
              low: int = 0, high: int = MAX_FEN) -> int:
        label = label or key
        value = data.get(key, default)
        if value is None:
            self.add(label, "fees.missing", N_("%(field)s: is required"))
            return 0
        if isinstance(value, float):
            self.add(label, "fees.float", N_("%(field)s: must be a whole number (fen, not yuan), not the decimal %(value)s"),
                     value=repr(value))
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(label, "fees.not_whole", N_("%(field)s: must be a whole number, not %(value)s"), value=repr(value))
            return 0
        if not low <= value <= high:
            self.add(label, "fees.out_of_range", N_("%(field)s: must be between %(low)s and %(high)s, not %(value)s"),
                     low=low, high=high, value=value)
            return 0
        return value


def parse_standard(data: Mapping[str, Any]) -> FeeStandard:
    """Check one fee standard's data and build it; raise FeeStandardError listing EVERY problem.

    Unknown keys are refused (a misspelt ``amount_yuan`` must not silently mean 0), floats are
    refused, text is NFC-normalised and stripped.
    """
    if not isinstance(data, Mapping):
        raise FeeStandardError([RuleError("fees.not_table", N_("a fee standard must be a table, not %(value)s"),
                                          value=type(data).__name__)])
    p = _Problems()
    code = p.text(data, "code")
    if code and not _CODE.fullmatch(code):
        p.add("code", "fees.bad_code", N_("%(field)s: \"%(value)s\" must be 1-32 letters, digits, '.', '_' or '-'"),
              value=code)
    name = p.text(data, "name")
    basis = p.text(data, "basis")
    kind = data.get("kind")
    if kind is None:
        p.add("kind", "fees.missing", N_("%(field)s: is required"))
    elif kind not in KINDS:
        p.add("kind", "fees.bad_kind", N_("%(field)s: \"%(value)s\" is not one of %(kinds)s"), value=kind,
              kinds=", ".join(KINDS))
    allowed = _COMMON_KEYS | _KIND_KEYS.get(kind, set()) if kind in KINDS else None
    if allowed is not None:
        for key in sorted(set(data) - allowed, key=str):
            p.add(str(key), "fees.unknown_key", N_("%(field)s: is not a field of a \"%(kind)s\" fee standard"), kind=kind)

    pre_fee = data.get("pre_fee", False)
    if not isinstance(pre_fee, bool):
        p.add("pre_fee", "fees.not_bool", N_("%(field)s: must be true or false, not %(value)s"), value=repr(pre_fee))
        pre_fee = False
    exemptions = _exemptions(p, data.get("exemptions", []))

    fields: dict[str, Any] = {}
    if kind == "fixed":
        fields["amount_fen"] = p.whole(data, "amount_fen")
    elif kind == "per_unit":
        fields["unit"] = p.text(data, "unit")
        fields["unit_fen"] = p.whole(data, "unit_fen")
        fields["included"] = p.whole(data, "included", default=0, high=MAX_QUANTITY)
    elif kind == "tiered":
        fields["unit"] = p.text(data, "unit")
        fields["tiers"] = _tiers(p, data.get("tiers"))
    elif kind == "range":
        low, high = p.whole(data, "min_fen"), p.whole(data, "max_fen")
        if low > high:
            p.add("max_fen", "fees.range_inverted", N_("%(field)s: %(max)s is below min_fen %(min)s"), max=high, min=low)
        fields.update(min_fen=low, max_fen=high)
    elif kind == "percent":
        fields["rate_ppm"] = p.whole(data, "rate_ppm", high=PPM)
        low, high = p.whole(data, "min_fen", default=0), p.whole(data, "max_fen", default=0)
        if high and low > high:
            p.add("max_fen", "fees.range_inverted", N_("%(field)s: %(max)s is below min_fen %(min)s"), max=high, min=low)
        fields.update(min_fen=low, max_fen=high)

    if p.errors:
        raise FeeStandardError(p.errors)
    return FeeStandard(code=code, name=name, kind=kind, basis=basis, pre_fee=pre_fee,
                       exemptions=exemptions, **fields)


def _exemptions(p: _Problems, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        p.add("exemptions", "fees.not_list", N_("%(field)s: must be a list of names, not %(value)s"), value=repr(value))
        return ()
    names: list[str] = []
    for i, item in enumerate(value):
        label = f"exemptions[{i}]"
        if not isinstance(item, str) or not item.strip():
            p.add(label, "fees.not_text", N_("%(field)s: must be a non-empty name, not %(value)s"), value=repr(item))
            continue
        item = unicodedata.normalize("NFC", item).strip()
        if item in names:
            p.add(label, "fees.duplicate", N_("%(field)s: \"%(value)s\" is listed twice"), value=item)
            continue
        names.append(item)
    return tuple(names)


def _tiers(p: _Problems, value: Any) -> tuple[Tier, ...]:
    if not isinstance(value, list) or not value:
        p.add("tiers", "fees.no_tiers", N_("%(field)s: must be a non-empty list of {up_to, unit_fen} tables"))
        return ()
    tiers: list[Tier] = []
    previous = 0
    for i, item in enumerate(value):
        label = f"tiers[{i}]"
        if not isinstance(item, Mapping):
            p.add(label, "fees.not_table", N_("%(field)s: must be a table {up_to, unit_fen}, not %(value)s"), value=repr(item))
            continue
        for key in sorted(set(item) - {"up_to", "unit_fen"}, key=str):
            p.add(f"{label}.{key}", "fees.unknown_key", N_("%(field)s: is not a field of a tier (up_to, unit_fen)"))
        up_to = p.whole(item, "up_to", label=f"{label}.up_to", high=MAX_QUANTITY)
        unit_fen = p.whole(item, "unit_fen", label=f"{label}.unit_fen")
        last = i == len(value) - 1
        if last and up_to != 0:
            p.add(f"{label}.up_to", "fees.last_tier_closed",
                  N_("%(field)s: the last tier must have up_to = 0 (no upper end), not %(value)s"), value=up_to)
        elif not last and up_to == 0:
            p.add(f"{label}.up_to", "fees.open_tier_not_last", N_("%(field)s: only the last tier may have up_to = 0"))
        elif not last and up_to <= previous:
            p.add(f"{label}.up_to", "fees.tiers_unordered",
                  N_("%(field)s: %(value)s must be above the previous tier's up_to %(previous)s"), value=up_to,
                  previous=previous)
        previous = max(previous, up_to)
        tiers.append(Tier(up_to=up_to, unit_fen=unit_fen))
    return tuple(tiers)


# --- the fees of one case: what the payment notice shows -------------------------------------


@dataclass(frozen=True)
class FeeInput:
    """What the clerk entered for one fee standard of a case."""

    fee: str
    quantity: int = 1
    base_fen: int = 0
    exemption: str | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> FeeInput:
        unknown = set(data) - {"fee", "quantity", "base_fen", "exemption"}
        if unknown:
            raise RuleError("fees.unknown_key", N_("Unknown fee input field(s): %(keys)s"),
                            keys=", ".join(sorted(map(str, unknown))))
        if not isinstance(data.get("fee"), str):
            raise RuleError("fees.missing", N_("%(field)s: is required"), field="fee")
        return cls(data["fee"], data.get("quantity", 1), data.get("base_fen", 0), data.get("exemption"))

    def to_data(self) -> dict[str, Any]:
        return {"fee": self.fee, "quantity": self.quantity, "base_fen": self.base_fen, "exemption": self.exemption}


@dataclass(frozen=True)
class PaymentLine:
    """One line of the payment notice: a standard, what was entered, and the amount."""

    fee: str
    name: str
    kind: str
    basis: str
    quantity: int
    unit: str
    base_fen: int
    exemption: str | None
    pre_fee: bool
    amount_fen: int

    def to_data(self) -> dict[str, Any]:
        return {
            "fee": self.fee, "name": self.name, "kind": self.kind, "basis": self.basis,
            "quantity": self.quantity, "unit": self.unit, "base_fen": self.base_fen,
            "exemption": self.exemption, "pre_fee": self.pre_fee, "amount_fen": self.amount_fen,
        }


@dataclass(frozen=True)
class Assessment:
    """All fees of a case: the lines, their total, and how much must be paid before acceptance."""

    lines: tuple[PaymentLine, ...] = field(default_factory=tuple)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def pre_fee_total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines if line.pre_fee)

    def to_data(self) -> dict[str, Any]:
        return {
            "lines": [line.to_data() for line in self.lines],
            "total_fen": self.total_fen,
            "pre_fee_total_fen": self.pre_fee_total_fen,
        }


def assess_case(
    standards: Mapping[str, FeeStandard] | Iterable[FeeStandard],
    inputs: Iterable[FeeInput | Mapping[str, Any]],
) -> Assessment:
    """Compute every fee of a case from the preset standards and the clerk's inputs.

    `standards` is a mapping code -> FeeStandard or any iterable of them; `inputs` are FeeInputs
    or their dicts (as held in a record body). A standard named twice is refused: the same fee
    charged twice is exactly the "unauthorised fee" supervision looks for.
    """
    by_code = dict(standards) if isinstance(standards, Mapping) else {s.code: s for s in standards}
    lines: list[PaymentLine] = []
    seen: set[str] = set()
    for raw in inputs:
        item = raw if isinstance(raw, FeeInput) else FeeInput.from_data(raw)
        standard = by_code.get(item.fee)
        if standard is None:
            raise RuleError("fees.unknown_standard", N_("There is no fee standard %(standard)s"), standard=item.fee)
        if item.fee in seen:
            raise RuleError("fees.duplicate_line", N_("Fee standard %(standard)s is charged twice"), standard=item.fee)
        seen.add(item.fee)
        amount = standard.assess(item.quantity, item.base_fen, item.exemption)
        lines.append(PaymentLine(
            fee=standard.code, name=standard.name, kind=standard.kind, basis=standard.basis,
            quantity=item.quantity, unit=standard.unit, base_fen=item.base_fen, exemption=item.exemption,
            pre_fee=standard.pre_fee, amount_fen=amount,
        ))
    return Assessment(tuple(lines))


def yuan_text(fen: int) -> str:
    """Fen as yuan with two decimals, e.g. 123456 -> "1234.56", for notices (integers only)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise RuleError("fees.not_whole", N_("%(name)s must be a whole number, not %(value)s"), name="fen",
                        value=repr(fen))
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
