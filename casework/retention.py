"""How long each kind of personal data is kept: the retention policy central publishes.

PIPL art. 19 asks that personal data be kept no longer than the purpose needs; the national
guidance for government service systems asks that logs be kept at least six months. Between the
two, each kind of data has its own setting. The policy is a record (`retention.policy`, signed by
central, routed to every node), so a village PC applies exactly what the city decided, offline
included, and every change of it is itself evidence of who decided what and when.

Settings (whole numbers; `SETTINGS` holds each one's unit, default, lowest and highest value):
- `node_scans_days`: days after a case ends (delivered, refused, returned or withdrawn) before the
  city archives its scans and the service points delete their copies;
- `central_scans_years`: years the city keeps the scans of an ended case (0: for ever);
- `ops_log_days`: the operators' log files (at least 183 days: six months, never less);
- `sms_days`: days the phone number and text of a sent SMS stay in the outbox;
- `login_failures_days`: days a failed sign-in (username and client address) is remembered;
- `bundle_days`: days a USB bundle file written by a service point stays in its data folder;
- `backup_days`: days of daily backups kept.
Access records (who unmasked, printed, viewed or exported what) are NOT a setting: they are signed
records, kept for ever like every record, because they are the evidence a citizen's complaint or
an audit relies on; they hold only masked subjects.

The body: `{"version": n >= 1, "settings": {key: int, ...}, "note": str, "staff": username}`. A body
may leave a setting out (its default applies); an unknown setting, a value that is not a whole
number, or one outside its range refuses the whole body (`PolicyError.problems`), so a node never
applies half a policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from casework.messages import N_, RuleError

KIND = "retention.policy"


@dataclass(frozen=True)
class Setting:
    key: str
    unit: str          # days | years
    default: int
    minimum: int
    maximum: int
    label: str         # msgid
    explain: str       # msgid
    zero_forever: bool = False   # 0 means "keep for ever" (allowed below `minimum`)


SETTINGS: tuple[Setting, ...] = (
    Setting("node_scans_days", "days", 30, 0, 3650,
            N_("Scans at the service points, after the case has ended"),
            N_("Then the city archives the case's scans (after checking it holds every one) and each service "
               "point deletes its copies. The case, its records and notices stay.")),
    Setting("central_scans_years", "years", 30, 5, 100,
            N_("Scans at the city, after the case has ended"),
            N_("Then the city deletes the scan files and signs a record of it. 0 keeps them for ever."),
            zero_forever=True),
    Setting("ops_log_days", "days", 365, 183, 3650,
            N_("Operators' log files"),
            N_("At least 183 days (six months, national guidance). The logs hold no personal data.")),
    Setting("sms_days", "days", 30, 1, 3650,
            N_("Phone numbers and texts of sent SMS"),
            N_("Then the outbox keeps only the case, the reason and when it was sent; the number is masked.")),
    Setting("login_failures_days", "days", 30, 1, 365,
            N_("Failed sign-ins (username and client address)"),
            N_("Counted only to lock out password guessing; older ones are forgotten.")),
    Setting("bundle_days", "days", 14, 1, 365,
            N_("USB bundle files in a service point's data folder"),
            N_("Bundles carry applicants' records and scans; once carried and answered they are deleted.")),
    Setting("backup_days", "days", 7, 1, 365,
            N_("Daily backups kept"),
            N_("Older backups are deleted at the next backup, and so are scans archived at the city.")),
)
BY_KEY = MappingProxyType({s.key: s for s in SETTINGS})
ACCESS_RECORDS_LABEL = N_("Access records (unmask, print, scan, export)")
ACCESS_RECORDS_RULE = N_("Kept for ever as signed records: they are evidence. They hold masked names and numbers only.")


class PolicyError(RuleError):
    """A policy body or form that cannot be used; `problems` maps a setting (or "body") to a RuleError."""

    def __init__(self, problems: Mapping[str, RuleError]) -> None:
        self.problems = dict(problems)
        first = next(iter(self.problems.values()))
        super().__init__("retention.invalid", first.msgid, **first.params)


@dataclass(frozen=True)
class RetentionPolicy:
    """One version of the policy; `values[key]` for every setting (defaults filled in)."""

    version: int = 0
    values: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({s.key: s.default for s in SETTINGS}))
    note: str = ""
    staff: str = ""

    def __getitem__(self, key: str) -> int:
        return int(self.values[key])

    def to_body(self) -> dict[str, Any]:
        return {"version": self.version, "settings": dict(self.values), "note": self.note, "staff": self.staff}


DEFAULT = RetentionPolicy()


def check_value(setting: Setting, value: Any) -> RuleError | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return RuleError("retention.not_whole", N_("Enter a whole number."))
    if setting.zero_forever and value == 0:
        return None
    if value < setting.minimum:
        if setting.key == "ops_log_days":
            return RuleError("retention.below_minimum", N_("Logs must be kept at least %(n)s days (six months)."),
                             n=setting.minimum)
        return RuleError("retention.below_minimum", N_("At least %(n)s."), n=setting.minimum)
    if value > setting.maximum:
        return RuleError("retention.above_maximum", N_("At most %(n)s."), n=setting.maximum)
    return None


def parse_policy(body: Any) -> RetentionPolicy:
    """The policy a `retention.policy` body states; PolicyError if any part of it cannot be used."""
    if not isinstance(body, Mapping):
        raise PolicyError({"body": RuleError("retention.malformed", N_("The policy is not readable."))})
    version = body.get("version")
    settings = body.get("settings")
    problems: dict[str, RuleError] = {}
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems["version"] = RuleError("retention.malformed", N_("The policy has no version number."))
    if not isinstance(settings, Mapping):
        problems["settings"] = RuleError("retention.malformed", N_("The policy has no settings."))
        raise PolicyError(problems)
    values = {s.key: s.default for s in SETTINGS}
    for key, value in settings.items():
        setting = BY_KEY.get(key)
        if setting is None:
            problems[str(key)] = RuleError("retention.unknown", N_("%(key)s is not a retention setting."),
                                           key=str(key)[:40])
            continue
        problem = check_value(setting, value)
        if problem is not None:
            problems[key] = problem
        else:
            values[key] = value
    if problems:
        raise PolicyError(problems)
    note = body.get("note")
    staff = body.get("staff")
    return RetentionPolicy(int(version), MappingProxyType(values), note if isinstance(note, str) else "",
                           staff if isinstance(staff, str) else "")


def from_form(form: Mapping[str, str], *, version: int, note: str = "", staff: str = "") -> RetentionPolicy:
    """A new version from a form of text fields (one per setting); PolicyError names each bad field."""
    values: dict[str, Any] = {}
    problems: dict[str, RuleError] = {}
    for setting in SETTINGS:
        text = str(form.get(setting.key, "")).strip()
        try:
            values[setting.key] = int(text)
        except ValueError:
            problems[setting.key] = RuleError("retention.not_whole", N_("Enter a whole number."))
    if problems:
        raise PolicyError(problems)
    return parse_policy({"version": version, "settings": values, "note": note, "staff": staff})
