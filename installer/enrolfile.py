"""The enrolment file: what the city hands an installer on a USB stick instead of dictating it.

    # V000101.enrol.toml, written by the city (write_file) and read by `bianmin enrol --file`
    central = "https://bianmin.city.example"
    network = "rugao"
    node_id = "V000101"
    parent = "T0101"
    token = "XXXX-XXXX-XXXX-XXXX-XXXX"
    fingerprint = "0994 b509 ..."      # central's key fingerprint, compared automatically

Nothing has to be typed on the village PC, and the fingerprint check is done by the program as
well as shown: if the server that answers has another key than the one in the file, enrolment is
undone (the folder set aside) and nothing from that server is trusted. The token is single-use and
expires, so a lost stick is worth little; the file still goes back to the city afterwards.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path


class EnrolFileError(RuntimeError):
    """The file is unreadable, incomplete, or central's key does not match it."""


@dataclass(frozen=True)
class EnrolFile:
    central: str
    network: str
    node_id: str
    token: str
    parent: str = ""
    fingerprint: str = ""


def read_file(path: str | Path) -> EnrolFile:
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise EnrolFileError(f"{path} cannot be read as an enrolment file: {err}") from err
    missing = [k for k in ("central", "node_id", "token") if not str(data.get(k, "")).strip()]
    if missing:
        raise EnrolFileError(f"{path} lacks {', '.join(missing)}")
    return EnrolFile(central=str(data["central"]).strip(), network=str(data.get("network", "rugao")).strip(),
                     node_id=str(data["node_id"]).strip().upper(), token=str(data["token"]).strip(),
                     parent=str(data.get("parent", "")).strip().upper(),
                     fingerprint=str(data.get("fingerprint", "")).strip())


def write_file(path: str | Path, entry: EnrolFile) -> Path:
    def q(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["# bianmin enrolment file: single-use; give it back to the city after installing"]
    lines += [f"{k} = {q(v)}" for k, v in vars(entry).items()]
    Path(path).write_text("\n".join(lines) + "\n", "utf-8")
    return Path(path)


def same_fingerprint(a: str, b: str) -> bool:
    return a.replace(" ", "").lower() == b.replace(" ", "").lower()
