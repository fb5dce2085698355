"""The committed test vectors (sync/vectors/*.json) hold for the code: bytes, ids, signatures, proofs.

The vectors are what another implementation is checked against; if this fails, either the code
changed the protocol by accident, or the protocol changed on purpose and needs a new version.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sync import merkle
from sync.canonical import Refusal, decode, encode
from sync.envelope import RECORD_DOMAIN, parse_record, sign_record, verify
from sync.keys import (
    ENROL_DOMAIN,
    Directory,
    NodeKey,
    enrolment_challenge,
    fingerprint,
    key_id,
    rotation_proof,
    token_hash,
    verify_statement,
)

VECTORS = Path(__file__).resolve().parents[2] / "sync" / "vectors"


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


KEYS = {k["name"]: k for k in load("keys.json")["keys"]}


def key(name: str) -> NodeKey:
    return NodeKey.from_seed(bytes.fromhex(KEYS[name]["seed"]))


def test_keys() -> None:
    for entry in KEYS.values():
        k = key(entry["name"])
        assert k.public.hex() == entry["public"]
        assert k.key_id == entry["key_id"] == key_id(k.public)
        assert k.fingerprint == entry["fingerprint"] == fingerprint(k.public)


@pytest.mark.parametrize("vector", load("canonical.json")["positive"], ids=lambda v: v["hex"][:16])
def test_canonical_positive(vector: dict) -> None:
    raw = bytes.fromhex(vector["hex"])
    assert encode(vector["value"]) == raw
    assert decode(raw) == vector["value"]
    assert raw.decode("utf-8") == vector["text"]


@pytest.mark.parametrize("vector", load("canonical.json")["negative"], ids=lambda v: v["code"])
def test_canonical_negative(vector: dict) -> None:
    with pytest.raises(Refusal) as info:
        decode(bytes.fromhex(vector["hex"]))
    assert info.value.code == vector["code"]


RECORDS = load("records.json")


@pytest.mark.parametrize("vector", RECORDS["positive"], ids=lambda v: v["id"][:12])
def test_records_positive(vector: dict) -> None:
    raw, sig = bytes.fromhex(vector["raw_hex"]), bytes.fromhex(vector["sig"])
    assert bytes.fromhex(RECORDS["record_domain_hex"]) == RECORD_DOMAIN == b"bianmin/record/v1\x00"
    assert encode(vector["fields"]) == raw
    assert hashlib.sha256(raw).hexdigest() == vector["id"]
    assert bytes.fromhex(vector["signing_input_hex"]) == RECORD_DOMAIN + raw
    record = parse_record(raw, sig, network=RECORDS["network"])
    verify(record, bytes.fromhex(KEYS[vector["signer"]]["public"]))
    f = vector["fields"]
    again = sign_record(key(vector["signer"]), net=f["net"], origin=f["origin"], seq=f["seq"], prev=f["prev"],
                        kind=f["kind"], body=f["body"], time=f["time"], ckpt=f["ckpt"])
    assert again.raw == raw and again.sig == sig and again.id == vector["id"]   # Ed25519 is deterministic


@pytest.mark.parametrize("vector", RECORDS["negative"], ids=lambda v: v["name"])
def test_records_negative(vector: dict) -> None:
    with pytest.raises(Refusal) as info:
        record = parse_record(bytes.fromhex(vector["raw_hex"]), bytes.fromhex(vector["sig"]),
                              network=vector["network"])
        verify(record, bytes.fromhex(KEYS[vector["signer"]]["public"]))
    assert info.value.code == vector["code"]


def test_merkle() -> None:
    data = load("merkle.json")
    tree = merkle.MemoryTree()
    for leaf in data["leaves_hex"]:
        tree.append(bytes.fromhex(leaf))
    for size, root in data["roots"].items():
        assert tree.root(int(size)).hex() == root
    for v in data["inclusion"]:
        path = [bytes.fromhex(h) for h in v["path"]]
        assert merkle.inclusion_path(v["index"], v["size"], tree.hash_of) == path
        assert tree.leaves[v["index"]].hex() == v["leaf_hash"]
        assert merkle.verify_inclusion(v["index"], v["size"], bytes.fromhex(v["leaf_hash"]), path,
                                       bytes.fromhex(data["roots"][str(v["size"])]))
    for v in data["consistency"]:
        path = [bytes.fromhex(h) for h in v["path"]]
        assert merkle.consistency_path(v["old"], v["new"], tree.hash_of) == path
        assert merkle.verify_consistency(v["old"], v["new"], bytes.fromhex(data["roots"][str(v["old"])]),
                                         bytes.fromhex(data["roots"][str(v["new"])]), path)


def test_statements() -> None:
    data = load("statements.json")
    central = bytes.fromhex(KEYS["C"]["public"])
    net = RECORDS["network"]
    cp = data["checkpoint"]
    parsed = merkle.parse_checkpoint(bytes.fromhex(cp["raw_hex"]), bytes.fromhex(cp["sig"]), central, network=net)
    assert parsed.size == 13
    rc = data["receipt"]
    receipt = merkle.verify_receipt(bytes.fromhex(rc["raw_hex"]), bytes.fromhex(rc["sig"]), central, network=net,
                                    known=rc["known"])
    assert receipt.seq == 3 and receipt.checkpoint["size"] == 5
    en = data["enrolment"]
    town = key("T0001")
    assert token_hash(en["token"]) == en["token_hash"]
    challenge = enrolment_challenge(net=net, node="T0001", public=town.public, token_hash_hex=en["token_hash"])
    assert challenge.hex() == en["challenge_hex"]
    verify_statement(town.public, ENROL_DOMAIN, challenge, bytes.fromhex(en["sig"]))
    rot = data["rotation"]
    assert rotation_proof(key(rot["old"]), key(rot["new"]), net=net, node=rot["node"],
                          from_seq=rot["from_seq"]) == rot["body"]
    directory = Directory(net, central)
    enrolled = next(v for v in RECORDS["positive"] if v["fields"]["kind"] == "node.enrolled")
    directory.apply(parse_record(bytes.fromhex(enrolled["raw_hex"]), bytes.fromhex(enrolled["sig"])))
    rotated = sign_record(key("C"), net=net, origin="C", seq=2, prev=enrolled["id"], kind="node.key_rotated",
                          body=rot["body"])
    directory.apply(rotated)
    assert directory.current("T0001").key_id == KEYS[rot["new"]]["key_id"]


def test_ed25519_is_rfc_8032() -> None:
    """RFC 8032 section 7.1, test 1: our keys are plain Ed25519, so any library can check our records."""
    k = NodeKey.from_seed(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    assert k.public.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert k.sign(b"").hex() == ("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc"
                                 "61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")


def test_a_client_written_from_protocol_md_alone_agrees() -> None:
    """What PROTOCOL.md sections 2-4 say, done with the standard library and any Ed25519: no sync code."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    for vector in RECORDS["positive"]:
        raw = bytes.fromhex(vector["raw_hex"])
        fields = json.loads(raw)
        again = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        assert again == raw
        assert hashlib.sha256(raw).hexdigest() == vector["id"]
        public = bytes.fromhex(KEYS[vector["signer"]]["public"])
        assert hashlib.sha256(public).hexdigest()[:16] == fields["key"]
        Ed25519PublicKey.from_public_bytes(public).verify(bytes.fromhex(vector["sig"]), b"bianmin/record/v1\x00" + raw)


def test_elisions() -> None:
    """An elision's bytes, signing input, signature and frame; and the ones a node must refuse, each
    with its code (parse, then the checks a node makes before its log looks at the range)."""
    from sync.client import ELIDED, split_frames
    from sync.elision import ELISION_DOMAIN, check_elision, parse_elision, sign_elision

    data = load("statements.json")
    central = bytes.fromhex(KEYS["C"]["public"])
    net = RECORDS["network"]
    v = data["elision"]
    e = sign_elision(key("C"), **v["fields"])
    assert e.raw.hex() == v["raw_hex"] and e.sig.hex() == v["sig"] and e.digest == v["digest"]
    assert (ELISION_DOMAIN + e.raw).hex() == v["signing_input_hex"]
    assert split_frames(bytes.fromhex(v["frame_hex"]), elisions=True) == [(ELIDED, e.raw, e.sig)]
    parsed = parse_elision(bytes.fromhex(v["raw_hex"]), bytes.fromhex(v["sig"]), network=net)
    assert (parsed.origin, parsed.first, parsed.last, parsed.prev, parsed.id) == (
        "T0001", 4, 9, v["fields"]["prev"], v["fields"]["id"])
    check_elision(parsed, network=net, node=v["receiver"], central=central)
    refused = data["elision_negative"]
    assert len(refused["vectors"]) >= 8
    for case in refused["vectors"]:
        with pytest.raises(Refusal) as err:
            bad = parse_elision(bytes.fromhex(case["raw_hex"]), bytes.fromhex(case["sig"]))
            check_elision(bad, network=net, node=refused["receiver"], central=central)
        assert err.value.code == case["code"], case["name"]


def test_pull_page() -> None:
    """The page statement a node checks before it takes a pull page, and pages it must refuse."""
    from sync.client import encode_frames, split_frames
    from sync.pullpage import check_page

    v = load("statements.json")["page"]
    central = bytes.fromhex(KEYS["C"]["public"])
    body = bytes.fromhex(v["frames_hex"])
    assert len(split_frames(body, elisions=True)) == v["count"]
    page = check_page(v["header"], body, central=central, network=v["net"], node=v["node"], after=v["after"],
                      count=v["count"])
    assert (page["cursor"], page["more"]) == (v["cursor"], v["more"])
    for case in v["refused"]:
        frames = split_frames(body, elisions=True)[:-1] if case.get("drop_last") else None
        got = encode_frames(frames) if frames is not None else body
        with pytest.raises(Refusal) as err:
            check_page(v["header"], got, central=central, network=v["net"], node=case.get("node", v["node"]),
                       after=case.get("after", v["after"]), count=len(frames) if frames is not None else v["count"])
        assert err.value.code == "bad_page", case["name"]
