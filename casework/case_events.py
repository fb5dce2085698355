"""Case events: what one signed `case.*` record says, and how an app builds a valid one.

A case is never stored as a row that people edit; it is the fold (casework.cases) of the signed
records that concern it. This module fixes what each record's body holds, checks bodies (the same
check an app runs before signing and the fold runs on whatever arrives), and names the places that
act. Bodies hold only str, int, bool, None, list and dict (records forbid floats); dates are ISO
`YYYY-MM-DD` strings; money is integer fen.

Every body carries:
- `case`: the case number;
- `after`: the ids of the case's events its author had applied and that nothing else it had
  applied points at (the "heads" of its view, `CaseState.heads`); `[]` only for `case.received`.
  A list rather than one id, because a place that saw two branches (a note from a village and the
  holder's acceptance) must say so, or the fold could not tell a later status change from a
  concurrent one. A single id string is accepted and read as a one-element list.
- `window` (central only): the window code of the central window acting; a central event without
  one acts as the centre as a whole (`central`, e.g. the settlement centre).

The kinds and their own fields (`?` = optional):

`case.received` - an application is taken in (the receipt, 受理回执, is printed from it).
    item: snapshot of the service item as it was that day (`item_snapshot(ServiceItem)`), so later
      catalogue edits never change history: {code, name, department?, window?,
      kind: immediate|promised|joint|reported, handle_tier: village|town|city (the lowest tier
      allowed to accept and decide), receive_tiers?: [tiers where it may be taken in], promised_limit_days: int, legal_limit_days: int,
      materials: [{name, required: bool, gap_allowed?: bool, form?, count?}], fees?: [fee
      standard codes], legal_basis?: [str]}. Materials are named by their name, as the catalogue
      keys them within an item; every event below names materials the same way.
    applicant: {type: person|organisation, name, id_type?: resident_id|credit_code|passport|other,
      id_number?, phone?, address?}
    proxy?: village/town proxy handling (代办): {name, id_number?, phone?, authorisation: str
      (what records the villager's authorisation: a material code or a scan's sha256)}
    materials?: [names] provided at receipt;  card?: service-card number;  note?
`case.supplement_requested` - the one-time notification (补办件通知单): missing: [names], every
    required material still missing must be listed; a later request may only repeat names of the
    first (a supplied copy found defective), never add new ones. deadline?: date; note?
`case.supplemented` - materials: [names] brought in answer to the notice.
`case.accepted` - 受理. due_date?: the date the app computed from the calendar (certified on the
    promise notice); gap?: [names] tolerated missing materials (容缺受理, each `gap_allowed` in the
    snapshot), which then needs
    commitment: {signed_by, text, deadline: date} with deadline <= due_date (due_date required).
`case.refused` - 不予受理: reason (required, told to the applicant with their rights).
`case.returned` - 退件: reason (required).
`case.promised` - 承诺件: due_date (required).
`case.clock_paused` - hearing, test, expert review... do not count (Licensing Law art. 45):
    reason: hearing|test|expert_review|quarantine|appraisal|other, note?
`case.clock_resumed` - note?
`case.forwarded` - to: the next holder (`node:<origin>` or `window:<code>`); note?
`case.handover_accepted` - the named next holder confirms; from then on it is the holder.
`case.finished` - 办结: outcome?: granted (default) | denied; denied needs reason.
`case.licence_issued` - licence: {number, name?}.
`case.delivered` - 送达: method: on_the_spot|post|village|electronic, recipient?
`case.withdrawn` - the applicant withdraws: reason?
`case.evaluated` - 好差评, level 1..5 (1-2 are bad reviews and need reason); channel?:
    counter|sms|web|paper|phone; real_name?: bool
`case.fee_assessed` - 缴款通知单 lines: casework.fees `PaymentLine.to_data()` dicts
    [{fee, name, amount_fen, pre_fee: bool, kind?, basis?, quantity?, unit?, base_fen?, exemption?}]
    computed by `casework.fees.assess_case` from the standards (a clerk never types a fee);
    notice?: the payment notice's number (casework.numbering.payment_notice_number).
`case.fee_paid` - at the settlement centre: assessment: id of the fee_assessed event, amount_fen
    (must equal that assessment's total), receipt?: number.
`case.fee_refunded` - assessment: id, amount_fen (<= what was paid on it), reason (required).
`case.note_added` - text; settles?: [ids of conflicting events] the note settles (the holder or
    central only: a person looked at the conflict and decided; the event stays unapplied).
`case.material_added` - material: a name (one of the snapshot's, or another document),
    sha256?: a scan's blob.

Who may append which kind is the fold's business (casework.case_rules); this module only says
whether a body is well formed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from casework.messages import N_, RuleError

PREFIX = "case."

#: Kinds that move the case from one status to another: only the holder appends them.
STATUS_KINDS = frozenset({
    "received", "supplement_requested", "supplemented", "accepted", "refused", "returned",
    "promised", "clock_paused", "clock_resumed", "forwarded", "handover_accepted", "finished",
    "licence_issued", "delivered", "withdrawn",
})
#: Kinds that never change the status; they commute with each other.
OPEN_KINDS = frozenset({
    "note_added", "material_added", "evaluated", "fee_assessed", "fee_paid", "fee_refunded",
})
KINDS = STATUS_KINDS | OPEN_KINDS

ITEM_KINDS = ("immediate", "promised", "joint", "reported")
TIERS = ("village", "town", "city")
PAUSE_REASONS = ("hearing", "test", "expert_review", "quarantine", "appraisal", "other")
DELIVERY_METHODS = ("on_the_spot", "post", "village", "electronic")
EVALUATION_CHANNELS = ("counter", "sms", "web", "paper", "phone")
APPLICANT_TYPES = ("person", "organisation")
ID_TYPES = ("resident_id", "credit_code", "passport", "other")

_ORIGIN = re.compile(r"^(C|[TVS][0-9]{2,16})$")
_PLACE = re.compile(r"^(node:[TVS][0-9]{2,16}|window:[A-Za-z0-9_.-]{1,32}|central)$")
_HEX = re.compile(r"^[0-9a-f]{1,128}$")


@dataclass(frozen=True)
class Event:
    """One `case.*` record as the fold sees it.

    `origin_time` is the author's wall clock and only information (a village PC may say 1970);
    `received_time` is central's stamp when it got the record, when known. The fold orders events
    by what each author had seen (`body["after"]`), never by these clocks.
    """

    id: str
    origin: str
    seq: int
    kind: str
    body: Any
    origin_time: str = ""
    received_time: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """From a record's fields as sync hands them over (id, origin, seq, kind, body, times)."""
        return cls(
            id=data["id"], origin=data["origin"], seq=data.get("seq", 0), kind=data["kind"],
            body=data.get("body"), origin_time=data.get("origin_time") or "",
            received_time=data.get("received_time"),
        )

    @property
    def name(self) -> str:
        """The kind without its `case.` prefix (`accepted`), or the raw kind if it has none."""
        return self.kind[len(PREFIX):] if isinstance(self.kind, str) and self.kind.startswith(PREFIX) else str(self.kind)


# -- places ---------------------------------------------------------------------------------

def place_of(origin: Any, body: Any) -> str:
    """The place acting for an event: `node:<origin>`, or `window:<code>` / `central` at central."""
    if not isinstance(origin, str) or not _ORIGIN.match(origin):
        raise RuleError("bad_origin", N_("The record's origin %(origin)s is not a known kind of place."),
                        origin=repr(origin)[:40])
    if origin != "C":
        return f"node:{origin}"
    window = body.get("window") if isinstance(body, Mapping) else None
    if window is None:
        return "central"
    place = f"window:{window}" if isinstance(window, str) else ""
    if not _PLACE.match(place):
        raise RuleError("bad_window", N_("The window code %(window)s is not valid."), window=repr(window)[:40])
    return place


def tier_of(place: str) -> str:
    """village, town or city: a village room, a town centre, or anything of the city (windows,
    sub-centres, which are city departments' halls)."""
    if place.startswith("node:V"):
        return "village"
    if place.startswith("node:T"):
        return "town"
    return "city"


def is_place(value: Any) -> bool:
    return isinstance(value, str) and bool(_PLACE.match(value))


# -- small validators shared by the builder and the fold ------------------------------------

def _malformed(field_name: str, msgid: str, **params: Any) -> RuleError:
    return RuleError("malformed_body", msgid, field=field_name, **params)


def text(body: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 2000) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _malformed(name, N_("The field %(field)s is required."))
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _malformed(name, N_("The field %(field)s must be text of at most %(limit)s characters."),
                         limit=limit)
    return value.strip()


def choice(body: Mapping[str, Any], name: str, options: Sequence[str], default: str | None = None) -> str:
    value = body.get(name, default)
    if value not in options:
        raise _malformed(name, N_("The field %(field)s must be one of %(options)s."),
                         options=", ".join(options))
    return value


def iso_date(body: Mapping[str, Any], name: str, *, required: bool = True) -> dt.date | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _malformed(name, N_("The field %(field)s is required."))
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _malformed(name, N_("The field %(field)s must be a date like 2026-03-01.")) from None


def integer(body: Mapping[str, Any], name: str, *, low: int = 0, high: int = 10**12) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _malformed(name, N_("The field %(field)s must be a whole number from %(low)s to %(high)s."),
                         low=low, high=high)
    return value


def material_names(body: Mapping[str, Any], name: str, *, required: bool = True) -> tuple[str, ...]:
    value = body.get(name)
    if value is None and not required:
        return ()
    if (not isinstance(value, list) or not all(isinstance(c, str) and c for c in value)
            or (required and not value)):
        raise _malformed(name, N_("The field %(field)s must be a non-empty list of material names."))
    return tuple(dict.fromkeys(value))


def mapping(body: Mapping[str, Any], name: str, *, required: bool = True) -> Mapping[str, Any] | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, Mapping):
        raise _malformed(name, N_("The field %(field)s must be a table of fields."))
    return value


def parents(body: Mapping[str, Any]) -> tuple[str, ...]:
    """`after` read as a sorted tuple of event ids (a single id string is one parent)."""
    value = body.get("after")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and _HEX.match(v) for v in value):
        raise _malformed("after", N_("The field %(field)s must list the ids of earlier events."))
    return tuple(sorted(set(value)))


# -- per-kind body checks --------------------------------------------------------------------

def _item(body: Mapping[str, Any]) -> None:
    item = mapping(body, "item")
    assert item is not None
    text(item, "code", limit=64)
    text(item, "name", limit=200)
    choice(item, "kind", ITEM_KINDS)
    choice(item, "handle_tier", TIERS)
    receive = item.get("receive_tiers")
    if receive is not None and not (isinstance(receive, list) and all(t in TIERS for t in receive)):
        raise _malformed("item.receive_tiers", N_("The field %(field)s must list tiers (village, town, city)."))
    integer(item, "promised_limit_days", high=3650)
    integer(item, "legal_limit_days", high=3650)
    materials = item.get("materials")
    if not isinstance(materials, list):
        raise _malformed("item.materials", N_("The field %(field)s must list the item's materials."))
    seen: set[str] = set()
    for material in materials:
        if not isinstance(material, Mapping):
            raise _malformed("item.materials", N_("The field %(field)s must list the item's materials."))
        name = text(material, "name", limit=200)
        if (not isinstance(material.get("required"), bool) or name in seen
                or not isinstance(material.get("gap_allowed", False), bool)):
            raise _malformed("item.materials", N_("Each material needs a unique name and a required flag."))
        seen.add(name or "")


def _applicant(body: Mapping[str, Any]) -> None:
    applicant = mapping(body, "applicant")
    assert applicant is not None
    choice(applicant, "type", APPLICANT_TYPES)
    text(applicant, "name", limit=200)
    if applicant.get("id_type") is not None:
        choice(applicant, "id_type", ID_TYPES)
    for name in ("id_number", "phone", "address"):
        text(applicant, name, required=False, limit=200)
    proxy = mapping(body, "proxy", required=False)
    if proxy is not None:
        text(proxy, "name", limit=200)
        text(proxy, "id_number", required=False, limit=64)
        text(proxy, "phone", required=False, limit=64)
        if proxy.get("authorisation") in (None, ""):
            raise RuleError("proxy_without_authorisation",
                            N_("Proxy handling needs the applicant's authorisation on record."))
        text(proxy, "authorisation", limit=200)


def _check_received(body: Mapping[str, Any]) -> None:
    _item(body)
    _applicant(body)
    material_names(body, "materials", required=False)
    text(body, "card", required=False, limit=64)


def _check_supplement_requested(body: Mapping[str, Any]) -> None:
    material_names(body, "missing")
    iso_date(body, "deadline", required=False)


def _check_accepted(body: Mapping[str, Any]) -> None:
    due = iso_date(body, "due_date", required=False)
    gap = material_names(body, "gap", required=False)
    if not gap:
        return
    commitment = body.get("commitment")
    if not isinstance(commitment, Mapping):
        raise RuleError("gap_without_commitment",
                        N_("Accepting with missing materials needs the applicant's signed commitment."))
    text(commitment, "signed_by", limit=200)
    text(commitment, "text", limit=2000)
    deadline = iso_date(commitment, "deadline")
    if due is None:
        raise RuleError("gap_without_due_date",
                        N_("Accepting with missing materials needs the due date the commitment is bound by."))
    assert deadline is not None
    if deadline > due:
        raise RuleError("gap_deadline_after_due",
                        N_("The commitment's deadline %(deadline)s is after the due date %(due)s."),
                        deadline=deadline.isoformat(), due=due.isoformat())


def _check_reasoned(body: Mapping[str, Any]) -> None:
    if body.get("reason") in (None, "") or (isinstance(body.get("reason"), str) and not body["reason"].strip()):
        raise RuleError("reason_required", N_("A reason must be given."))
    text(body, "reason")


def _check_finished(body: Mapping[str, Any]) -> None:
    if choice(body, "outcome", ("granted", "denied"), default="granted") == "denied":
        _check_reasoned(body)


def _check_licence(body: Mapping[str, Any]) -> None:
    licence = mapping(body, "licence")
    assert licence is not None
    text(licence, "number", limit=100)
    text(licence, "name", required=False, limit=200)


def _check_forwarded(body: Mapping[str, Any]) -> None:
    target = body.get("to")
    if not is_place(target) or target == "central":
        raise RuleError("bad_forward_target",
                        N_("A case is forwarded to a service point or a central window."))


def _check_evaluated(body: Mapping[str, Any]) -> None:
    level = body.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
        raise RuleError("bad_evaluation_level", N_("An evaluation is a level from 1 to 5."))
    if level <= 2 and not (isinstance(body.get("reason"), str) and body["reason"].strip()):
        raise RuleError("bad_review_without_reason", N_("A bad review (level 1 or 2) needs a reason."))
    text(body, "reason", required=False)
    if body.get("channel") is not None:
        choice(body, "channel", EVALUATION_CHANNELS)
    if body.get("real_name") is not None and not isinstance(body["real_name"], bool):
        raise _malformed("real_name", N_("The field %(field)s must be true or false."))


def _check_fee_assessed(body: Mapping[str, Any]) -> None:
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise RuleError("fee_without_lines", N_("A payment notice needs at least one fee line."))
    for line in lines:
        if not isinstance(line, Mapping):
            raise _malformed("lines", N_("Each fee line must be a table of fields."))
        text(line, "fee", limit=64)
        text(line, "name", limit=200)
        integer(line, "amount_fen", high=10**11)
        if not isinstance(line.get("pre_fee", False), bool):
            raise _malformed("pre_fee", N_("The field %(field)s must be true or false."))
    text(body, "notice", required=False, limit=64)


def _check_fee_paid(body: Mapping[str, Any]) -> None:
    if not (isinstance(body.get("assessment"), str) and _HEX.match(body["assessment"])):
        raise _malformed("assessment", N_("The field %(field)s must name the fee assessment."))
    integer(body, "amount_fen", high=10**11)
    text(body, "receipt", required=False, limit=100)


def _check_fee_refunded(body: Mapping[str, Any]) -> None:
    _check_fee_paid(body)
    if body["amount_fen"] <= 0:
        raise _malformed("amount_fen", N_("A refund must be more than 0 fen."))
    _check_reasoned(body)


def _check_material_added(body: Mapping[str, Any]) -> None:
    text(body, "material", limit=200)
    sha = body.get("sha256")
    if sha is not None and not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        raise _malformed("sha256", N_("The field %(field)s must be a SHA-256 in hex."))


def _check_note(body: Mapping[str, Any]) -> None:
    text(body, "text")
    settles = body.get("settles")
    if settles is not None and not (isinstance(settles, list) and settles
                                    and all(isinstance(v, str) and _HEX.match(v) for v in settles)):
        raise _malformed("settles", N_("The field %(field)s must list the ids of conflicting events."))


_CHECKS: dict[str, Any] = {
    "received": _check_received,
    "supplement_requested": _check_supplement_requested,
    "supplemented": lambda b: material_names(b, "materials"),
    "accepted": _check_accepted,
    "refused": _check_reasoned,
    "returned": _check_reasoned,
    "promised": lambda b: iso_date(b, "due_date"),
    "clock_paused": lambda b: (choice(b, "reason", PAUSE_REASONS), text(b, "note", required=False)),
    "clock_resumed": lambda b: text(b, "note", required=False),
    "forwarded": _check_forwarded,
    "handover_accepted": lambda b: None,
    "finished": _check_finished,
    "licence_issued": _check_licence,
    "delivered": lambda b: (choice(b, "method", DELIVERY_METHODS), text(b, "recipient", required=False)),
    "withdrawn": lambda b: text(b, "reason", required=False),
    "evaluated": _check_evaluated,
    "fee_assessed": _check_fee_assessed,
    "fee_paid": _check_fee_paid,
    "fee_refunded": _check_fee_refunded,
    "note_added": _check_note,
    "material_added": _check_material_added,
}


def check_body(name: str, body: Any) -> Mapping[str, Any]:
    """Raise RuleError unless `body` is a well-formed body of kind `case.<name>`."""
    if name not in KINDS:
        raise RuleError("unknown_kind", N_("%(kind)s is not a kind of case event."), kind=str(name)[:60])
    if not isinstance(body, Mapping):
        raise RuleError("malformed_body", N_("The record's body is not a table of fields."), field="body")
    if not isinstance(body.get("case"), str) or not body["case"].strip():
        raise _malformed("case", N_("The field %(field)s is required."))
    if body.get("window") is not None and not isinstance(body.get("window"), str):
        raise _malformed("window", N_("The field %(field)s must be text."))
    for name_ in ("note",):
        text(body, name_, required=False)
    ids = parents(body)
    if (name == "received") != (not ids):
        raise RuleError("bad_parent", N_("Only a received event starts a case; every other event follows one."))
    _CHECKS[name](body)
    return body


def kind_name(kind: str) -> str:
    """`accepted` or `case.accepted` -> `accepted`."""
    return kind[len(PREFIX):] if kind.startswith(PREFIX) else kind


def new_event_body(kind: str, *, case: str, after: Sequence[str] | str | None, **fields: Any) -> dict[str, Any]:
    """A checked body for a new `case.<kind>` record; raises RuleError on bad input.

    `after` is `CaseState.heads` of the state the author sees (empty for `received`). Fields that
    are None are left out, so optional keyword arguments can be passed through unchanged. Checks
    that need the case's state (is this place the holder? is every missing material listed?) are
    `casework.cases.check_event`'s; this one checks the body alone.
    """
    name = kind_name(kind)
    if isinstance(after, str):
        after = [after]
    body: dict[str, Any] = {"case": case, "after": sorted(set(after or ()))}
    body.update({k: v for k, v in fields.items() if v is not None})
    check_body(name, body)
    return body


def item_snapshot(item: Any) -> dict[str, Any]:
    """The facts of a catalogue `ServiceItem` a case keeps for life, as a record body dict.

    Taken at receipt and stored in `case.received`, so that when central later edits the item
    (new materials, a shorter limit), the cases already running keep the rules they started under.
    """
    return {
        "code": item.code,
        "name": item.name,
        "department": item.department,
        "window": item.window,
        "kind": item.kind,
        "handle_tier": item.handle_tier,
        "receive_tiers": list(item.receive_tiers),
        "promised_limit_days": item.promised_limit_days,
        "legal_limit_days": item.legal_limit_days,
        "materials": [
            {"name": m.name, "required": m.required, "gap_allowed": m.gap_allowed, "form": m.form,
             "count": m.count}
            for m in item.materials
        ],
        "fees": list(item.fees),
        "legal_basis": list(item.legal_basis),
    }
