"""Structured logs for operators, with no personal data in them.

    from installer.ops_logging import configure
    configure(data_dir)            # once, at the start of `node run` / `central run`

Each line of `<data>/logs/bianmin.log` is one JSON object (`time` in UTC, `level`, `logger`,
`msg`, and any `extra={...}` fields), so a supervisor can grep or load a week of logs without
parsing prose. The file rotates at midnight (`bianmin.log.2026-11-25`, ...); old files are deleted
by the retention policy's `ops_log_days` (casework.retention: never fewer than 183 days, the six
months national guidance asks for), applied by each app's retention pass (web.retention), not by
a file count: a size cap could drop a busy week's logs before six months are up. A node writes a
few hundred kilobytes a day at most.

Logs are read by people who must not see applicants' data (a technician, a supplier), so a
filter masks anything that looks like a resident ID, a unified social credit code or a mobile
number before a line is written, whatever the code that logged it meant to do: `330106199001011234`
becomes `330106********1234`, `13812345678` becomes `138****5678` (the same masks the screens use,
casework.identity). The filter is cheap (three regular expressions over the formatted message).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from casework.identity import mask_credit_code, mask_id, mask_phone

LOG_DIR = "logs"
LOG_FILE = "bianmin.log"
_HANDLER_NAME = "bianmin-ops"

# 18-character resident IDs (17 digits and a digit or X), not inside a longer run of digits
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")
# unified social credit codes: 18 characters of the GB 32100 alphabet, at least one letter
_CREDIT_CODE = re.compile(r"(?<![0-9A-Z])(?=[0-9A-HJ-NP-RT-UW-Y]*[A-HJ-NP-RT-UW-Y])[0-9A-HJ-NP-RT-UW-Y]{18}(?![0-9A-Z])")
# mainland mobile numbers, optionally with +86
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d{9})(?!\d)")
_STANDARD = set(vars(logging.makeLogRecord({})))


def mask_personal(text: str) -> str:
    """`text` with resident IDs, credit codes and mobile numbers masked."""
    text = _RESIDENT_ID.sub(lambda m: mask_id(m.group(0)), text)
    text = _CREDIT_CODE.sub(lambda m: mask_credit_code(m.group(0)), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group(1)), text)


class PersonalDataFilter(logging.Filter):
    """Masks personal numbers in the message and in string extra fields (never drops a line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the line
            message = str(record.msg)
        record.msg, record.args = mask_personal(message), None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, mask_personal(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_personal(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_personal(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in line and not name.startswith("_"):
                line[name] = value if isinstance(value, str | int | bool | type(None)) else str(value)
        if record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def configure(data_dir: str | Path, *, level: int = logging.INFO, also_stderr: bool = False) -> Path:
    """Send the process's logs to `<data_dir>/logs/bianmin.log` as masked JSON lines; idempotent.
    Returns the log file's path."""
    folder = Path(data_dir) / LOG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
            handler.close()
    handler = logging.handlers.TimedRotatingFileHandler(path, when="midnight", backupCount=0, encoding="utf-8")
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PersonalDataFilter())
    root.addHandler(handler)
    if also_stderr:
        stream = logging.StreamHandler()
        stream.set_name(_HANDLER_NAME)
        stream.setFormatter(JsonFormatter())
        stream.addFilter(PersonalDataFilter())
        root.addHandler(stream)
    root.setLevel(level)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" on every burst
    return path
