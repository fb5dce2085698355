"""Node keys on disk, ids and fingerprints, enrolment tokens and requests, the directory fold."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sync.canonical import Refusal
from sync.envelope import sign_record
from sync.keys import (
    Directory,
    EnrolmentToken,
    KeyFileError,
    NodeKey,
    check_token,
    default_key_path,
    enrolment_request,
    fingerprint,
    key_id,
    new_token,
    rotation_proof,
    tier_of,
    token_hash,
    verify_enrolment_request,
)

CENTRAL = NodeKey.from_seed(b"C" * 32)
TOWN = NodeKey.from_seed(b"T" * 32)
NET = "test"


def test_key_id_and_fingerprint() -> None:
    assert len(TOWN.key_id) == 16 and TOWN.key_id == key_id(TOWN.public)
    groups = fingerprint(TOWN.public).split(" ")
    assert len(groups) == 10 and all(len(g) == 4 for g in groups)
    assert fingerprint(TOWN.public).replace(" ", "").startswith(TOWN.key_id)
    assert "PRIVATE" not in repr(TOWN) and TOWN.key_id in repr(TOWN)


def test_key_file_is_private_and_atomic(tmp_path: Path) -> None:
    db = tmp_path / "node.sqlite"
    path = default_key_path(db)
    assert path == tmp_path / "node.key" and path.parent == db.parent
    old_umask = os.umask(0o000)                  # even a careless umask gives 0600
    try:
        key = NodeKey.generate()
        key.save(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert NodeKey.load(path).public == key.public
    assert [p.name for p in tmp_path.iterdir()] == ["node.key"]   # no temporary left behind
    with pytest.raises(KeyFileError):
        NodeKey.generate().save(path)          # never silently replaced
    NodeKey.generate().save(path, overwrite=True)


def test_key_file_readable_by_others_refused(tmp_path: Path) -> None:
    path = TOWN.save(tmp_path / "node.key")
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        NodeKey.load(path)
    with pytest.raises(KeyFileError, match="enrol"):
        NodeKey.load(tmp_path / "missing.key")
    (tmp_path / "rsa.key").write_bytes(b"not a key")
    (tmp_path / "rsa.key").chmod(0o600)
    with pytest.raises(KeyFileError, match="PEM"):
        NodeKey.load(tmp_path / "rsa.key")


def test_tiers() -> None:
    assert [tier_of(n) for n in ("C", "T0001", "V000001", "S01")] == ["central", "town", "village", "subcentre"]
    with pytest.raises(Refusal):
        tier_of("X1")


def test_tokens_single_use_and_expiring() -> None:
    token = new_token()
    assert len(token) == 24 and token.count("-") == 4
    assert token_hash(token) == token_hash(token.lower().replace("-", " "))
    now = datetime(2026, 3, 2, 9, 0)
    stored = EnrolmentToken("T0001", "town", "城关镇", token_hash(token), now + timedelta(days=7))
    check_token(token, stored, now)
    for presented, record, code in [
        (new_token(), stored, "token_unknown"),
        (token, EnrolmentToken("T0001", "town", "x", stored.token_hash, now), "token_expired"),
        (token, EnrolmentToken("T0001", "town", "x", stored.token_hash, now + timedelta(1), used_at=now), "token_used"),
    ]:
        with pytest.raises(Refusal) as info:
            check_token(presented, record, now)
        assert info.value.code == code


def test_enrolment_request_proves_possession() -> None:
    token = new_token()
    request = enrolment_request(TOWN, net=NET, node="T0001", token=token)
    assert verify_enrolment_request(request, net=NET) == ("T0001", TOWN.public)
    for change, code in [({"net": "prod"}, "wrong_network"), ({"node": "T0002"}, "bad_signature"),
                         ({"token": new_token()}, "bad_signature"),
                         ({"public_key": CENTRAL.public.hex()}, "bad_signature"), ({"sig": "zz"}, "bad_field")]:
        with pytest.raises(Refusal) as info:
            verify_enrolment_request({**request, **change}, net=NET)
        assert info.value.code == code


# --- the directory ------------------------------------------------------------------------------

class Central:
    """Central's directory records, signed in seq order (no storage: the Directory is pure)."""

    def __init__(self) -> None:
        self.seq, self.prev = 0, None

    def sign(self, kind: str, body: dict):
        self.seq += 1
        r = sign_record(CENTRAL, net=NET, origin="C", seq=self.seq, prev=self.prev, kind=kind, body=body)
        self.prev = r.id
        return r


def enrolled(key: NodeKey, node: str = "T0001", from_seq: int = 1) -> dict:
    return {"node": node, "tier": tier_of(node), "name": "城关镇便民服务中心", "public_key": key.public.hex(),
            "key": key.key_id, "from_seq": from_seq}


def record_of(key: NodeKey, seq: int, origin: str = "T0001"):
    return sign_record(key, net=NET, origin=origin, seq=seq, prev=None if seq == 1 else "a" * 64,
                       kind="case.received", body={})


def code(fn, *args) -> str:
    with pytest.raises(Refusal) as info:
        fn(*args)
    return info.value.code


def test_directory_enrol_rotate_revoke() -> None:
    c, d = Central(), Directory(NET, CENTRAL.public)
    assert d.current("C").key_id == CENTRAL.key_id
    assert code(d.check, record_of(TOWN, 1)) == "unknown_key"
    d.apply(c.sign("node.enrolled", enrolled(TOWN)))
    assert d.check(record_of(TOWN, 1))[1] == "valid"
    new = NodeKey.from_seed(b"N" * 32)
    d.apply(c.sign("node.key_rotated", rotation_proof(TOWN, new, net=NET, node="T0001", from_seq=10)))
    assert d.check(record_of(TOWN, 9))[1] == "valid"
    assert code(d.check, record_of(TOWN, 10)) == "wrong_key"
    assert code(d.check, record_of(new, 9)) == "wrong_key"
    assert d.check(record_of(new, 10))[1] == "valid"
    assert d.current("T0001").key_id == new.key_id
    d.apply(c.sign("node.revoked", {"node": "T0001", "key": new.key_id, "compromised_at": 100, "reason": "stolen"}))
    assert code(d.check, record_of(new, 11)) == "revoked_key"              # not yet receipted: refused
    assert d.check(record_of(new, 11), 99)[1] == "valid"                   # receipted before the point
    assert d.check(record_of(new, 11), 100)[1] == "suspect"
    assert d.status(new.key_id, 50) == "valid" and d.status("0" * 16, 1) == "unknown"
    assert d.current("T0001") is None
    assert new.key_id in d.keys                                            # revoked keys are kept
    again = NodeKey.from_seed(b"A" * 32)
    d.apply(c.sign("node.enrolled", enrolled(again, from_seq=12)))
    assert d.check(record_of(again, 12))[1] == "valid"


def test_directory_refuses_bad_records() -> None:
    c, d = Central(), Directory(NET, CENTRAL.public)
    d.apply(c.sign("node.enrolled", enrolled(TOWN)))
    other = NodeKey.from_seed(b"O" * 32)
    assert code(d.apply, c.sign("node.enrolled", enrolled(other))) == "bad_directory"     # live key: rotate
    assert code(d.apply, c.sign("node.enrolled", {**enrolled(other, "T0002"), "tier": "village"})) == "bad_directory"
    assert code(d.apply, c.sign("node.enrolled", {**enrolled(other, "T0002"), "key": "0" * 16})) == "bad_directory"
    assert code(d.apply, c.sign("node.enrolled", {"node": "T0003"})) == "bad_directory"
    assert code(d.apply, c.sign("node.enrolled", enrolled(TOWN, "T0002"))) == "bad_directory"  # key reused
    forged = sign_record(TOWN, net=NET, origin="T0001", seq=1, prev=None, kind="node.enrolled",
                         body=enrolled(other, "T0005"))
    assert code(d.apply, forged) == "bad_directory"                     # only central signs the directory
    proof = rotation_proof(TOWN, other, net="prod", node="T0001", from_seq=5)     # made for another network
    assert code(d.apply, c.sign("node.key_rotated", proof)) == "bad_signature"
    proof = rotation_proof(other, other, net=NET, node="T0001", from_seq=5)       # not the live key
    assert code(d.apply, c.sign("node.key_rotated", proof)) == "bad_directory"
    assert code(d.apply, c.sign("node.revoked", {"node": "T0002", "key": TOWN.key_id,
                                                 "compromised_at": 1})) == "bad_directory"
    snapshot = d.copy()
    d.apply(c.sign("node.revoked", {"node": "T0001", "key": TOWN.key_id, "compromised_at": 5}))
    assert snapshot.current("T0001") is not None and d.current("T0001") is None
