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


# --- a node with no link at all: enrolment by files, carried both ways -------------------------------
# 1. at the village PC:  `bianmin enrol-offline request --data DIR --node-id V.. --token T --out REQ`
#    makes the key (0600, stays on the PC) and writes the signed enrolment request (token + proof
#    that the node holds the key; no secret beyond the single-use token).
# 2. anywhere with a link (the town centre, the city): `bianmin enrol-offline answer --request REQ
#    --central URL --out ANS` hands it to central's enrolment endpoint and writes central's answer
#    (its public key and fingerprint, the network, the directory).
# 3. back at the village PC: `bianmin enrol-offline finish --data DIR --answer ANS` pins central's
#    key and shows the fingerprint; it also keeps central's signed sealing key from the answer, so
#    the scans in the very first bundle are sealed. The first records (staff, catalogue) then arrive like every
#    later exchange: `node bundle-export`, carried and answered (`node carry` at a town), and
#    `node bundle-import`.
REQUEST_FORMAT = "bianmin-enrol-request-1"
ANSWER_FORMAT = "bianmin-enrol-answer-1"


def make_request(data_dir: str | Path, *, node_id: str, token: str, network: str, parent: str = "") -> dict[str, object]:
    from sync.keys import NodeKey, default_key_path, enrolment_request

    folder = Path(data_dir)
    if (folder / "node.toml").exists():
        raise EnrolFileError(f"{folder} is already an enrolled node")
    folder.mkdir(parents=True, exist_ok=True)
    key_path = default_key_path(folder / "bianmin.sqlite")
    key = NodeKey.load(key_path) if key_path.exists() else NodeKey.generate()
    if not key_path.exists():
        key.save(key_path)
    node_id = node_id.strip().upper()
    return {"format": REQUEST_FORMAT, "node_id": node_id, "network": network, "parent": parent.strip().upper(),
            "request": enrolment_request(key, net=network, node=node_id, token=token.strip())}


def answer_request(request: dict[str, object], central_url: str) -> dict[str, object]:
    """Hand a carried request to central; central's answer, to carry back. EnrolFileError if refused."""
    import requests

    if request.get("format") != REQUEST_FORMAT:
        raise EnrolFileError("this is not a bianmin enrolment request file")
    try:
        resp = requests.post(central_url.rstrip("/") + "/sync/v1/enrol", json=request["request"], timeout=30)
    except requests.RequestException as err:
        raise EnrolFileError(f"cannot reach {central_url}: {err}") from err
    try:
        answer = resp.json()
    except ValueError:
        answer = {}
    if resp.status_code != 201 or not isinstance(answer, dict):
        raise EnrolFileError(f"central refused the enrolment: {answer.get('error')} {answer.get('message', '')}")
    return {"format": ANSWER_FORMAT, "node_id": request["node_id"], "parent": request.get("parent", ""),
            "central_url": central_url.rstrip("/"), "answer": answer}


def finish(data_dir: str | Path, answer: dict[str, object], *, keep_url: bool = False) -> str:
    """Pin central's key from a carried answer (node.toml); returns the fingerprint to show."""
    from node.config import NodeConfig, write_config
    from sync.keys import NodeKey, default_key_path

    folder = Path(data_dir)
    if answer.get("format") != ANSWER_FORMAT:
        raise EnrolFileError("this is not a bianmin enrolment answer file")
    body = answer["answer"]
    assert isinstance(body, dict)
    node_id = str(answer["node_id"])
    key = NodeKey.load(default_key_path(folder / "bianmin.sqlite"))
    enrolled = _enrolled_key(body, node_id)
    if enrolled != key.public.hex():
        raise EnrolFileError("the answer enrols another key than this PC's: it belongs to another request")
    name = _enrolled_name(body, node_id) or node_id
    write_config(folder, NodeConfig(node_id=node_id, name=name, network=str(body.get("net")),
                                    central_url=str(answer["central_url"]) if keep_url else "",
                                    central_public=str(body["central_public_key"]),
                                    central_fingerprint=str(body["central_fingerprint"]),
                                    parent=str(answer.get("parent") or ""),
                                    central_sealing=str(body.get("sealing") or "")))
    return str(body["central_fingerprint"])


def _directory(body: dict[str, object]) -> list[object]:
    from sync.envelope import from_wire

    return [from_wire(w) for w in body.get("directory", []) or []]  # type: ignore[union-attr]


def _enrolled_key(body: dict[str, object], node_id: str) -> str:
    keys = [r.body.get("public_key") for r in _directory(body)  # type: ignore[attr-defined]
            if r.kind == "node.enrolled" and r.body.get("node") == node_id]  # type: ignore[attr-defined]
    return str(keys[-1]) if keys else ""


def _enrolled_name(body: dict[str, object], node_id: str) -> str:
    names = [r.body.get("name") for r in _directory(body)  # type: ignore[attr-defined]
             if r.kind == "node.enrolled" and r.body.get("node") == node_id]  # type: ignore[attr-defined]
    return str(names[-1]) if names else ""
