"""Write the protocol's test vectors (sync/vectors/*.json) from fixed seeds and inputs.

Run `python sync/vectors/generate.py` only when the protocol changes ON PURPOSE (a new version):
tests/sync/test_vectors.py checks the code against the committed files, so an accidental change to
the bytes a record is signed as fails the suite instead of silently rewriting the vectors.
Everything here is deterministic: Ed25519 signatures are (RFC 8032), seeds and times are fixed.
"""

from __future__ import annotations

import json
from pathlib import Path

from sync import merkle
from sync.canonical import Refusal, decode, encode
from sync.elision import ELISION_DOMAIN, sign_elision
from sync.envelope import RECORD_DOMAIN, parse_record, sign_record, verify
from sync.keys import ENROL_DOMAIN, NodeKey, enrolment_challenge, rotation_proof, token_hash
from sync.pullpage import sign_page

HERE = Path(__file__).resolve().parent
NET = "vectors"
TIME = "2026-03-02T09:30:00+08:00"
SEEDS = {"C": bytes(32), "T0001": bytes(range(32)), "V000001": bytes([0xA5] * 32)}


def key(name: str) -> NodeKey:
    return NodeKey.from_seed(SEEDS[name])


def write(name: str, data: dict) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    (HERE / name).write_text(text, encoding="utf-8")


def canonical() -> dict:
    values = [
        {"b": 1, "a": [True, False, None], "c": {}},
        {"name": "张三", "addr": "城关镇 1号", "emoji": "🙂"},
        "q\"b\\ \b\t\n\f\r \x00\x1f\x7f\u2028/é",
        9007199254740991, -9007199254740991, 0, [],
        {"fee_fen": 8000, "items": [{"code": "F0101", "qty": 2}]},
    ]
    negative = [
        (b'{"a":1,"a":2}', "duplicate_key"), (b'{"b":1,"a":2}', "non_canonical"), (b'{"a": 1}', "non_canonical"),
        (b'{\n "a": 1\n}', "non_canonical"), (b'"\\u5f20"', "non_canonical"), (b'"\\/"', "non_canonical"),
        (b'"\\u000A"', "non_canonical"), (b"-0", "non_canonical"), (b'{"a":1} ', "non_canonical"),
        (b"1.0", "float"), (b"1e3", "float"), (b'{"fee":12.5}', "float"), (b"9007199254740992", "int_range"),
        (b'"\xff"', "bad_utf8"), (b'"\\ud800"', "bad_text"), (b"\xef\xbb\xbf{}", "bad_json"), (b"{", "bad_json"),
        ('{"é":1}'.encode(), "bad_object_key"), ('"e\u0301"'.encode(), "not_nfc"),
        (b"[" * 33 + b"]" * 33, "too_deep"),
    ]
    out_neg = []
    for raw, code in negative:
        try:
            decode(raw)
        except Refusal as refusal:
            assert refusal.code == code, (raw, refusal.code, code)
        else:
            raise AssertionError(raw)
        out_neg.append({"hex": raw.hex(), "code": code})
    return {"description": "Canonical JSON: value -> exact bytes (hex); negative: bytes -> refusal code",
            "max_depth": 32, "max_size": 262144,
            "positive": [{"value": v, "hex": encode(v).hex(), "text": encode(v).decode()} for v in values],
            "negative": out_neg}


def keys() -> dict:
    out = []
    for name, seed in SEEDS.items():
        k = NodeKey.from_seed(seed)
        out.append({"name": name, "seed": seed.hex(), "public": k.public.hex(), "key_id": k.key_id,
                    "fingerprint": k.fingerprint})
    return {"description": "Ed25519 seed -> public key, key id (16 hex), fingerprint", "keys": out}


def records() -> dict:
    t, c = key("T0001"), key("C")
    first = sign_record(t, net=NET, origin="T0001", seq=1, prev=None, kind="case.received", time=TIME,
                        body={"case": "T0001-2026-000001", "item": "370100-001", "applicant": "张三"})
    second = sign_record(t, net=NET, origin="T0001", seq=2, prev=first.id, kind="case.fee_paid", time=TIME,
                         body={"case": "T0001-2026-000001", "fen": 8000},
                         ckpt={"root": "ab" * 32, "size": 12})
    enrolled = sign_record(c, net=NET, origin="C", seq=1, prev=None, kind="node.enrolled", time=TIME,
                           body={"node": "T0001", "tier": "town", "name": "城关镇便民服务中心",
                                 "public_key": t.public.hex(), "key": t.key_id, "from_seq": 1})
    positive = []
    for signer, r in (("T0001", first), ("T0001", second), ("C", enrolled)):
        positive.append({"signer": signer, "fields": decode(r.raw), "raw_hex": r.raw.hex(), "id": r.id,
                         "sig": r.sig.hex(), "signing_input_hex": (RECORD_DOMAIN + r.raw).hex()})

    def raw_of(fields: dict) -> bytes:
        return encode(fields)

    base = decode(first.raw)
    negative = []

    def add(name: str, raw: bytes, sig: bytes, code: str, network: str = NET, signer: str = "T0001") -> None:
        try:
            verify(parse_record(raw, sig, network=network), key(signer).public)
        except Refusal as refusal:
            assert refusal.code == code, (name, refusal.code, code)
        else:
            raise AssertionError(name)
        negative.append({"name": name, "raw_hex": raw.hex(), "sig": sig.hex(), "network": network,
                         "signer": signer, "code": code})

    pretty = json.dumps(base, ensure_ascii=False, indent=1, sort_keys=True).encode()
    add("pretty-printed", pretty, t.sign(RECORD_DOMAIN + pretty), "non_canonical")
    float_raw = first.raw.replace(b'"seq":1', b'"seq":1.0')
    add("float seq", float_raw, t.sign(RECORD_DOMAIN + float_raw), "float")
    dup = first.raw.replace(b'"seq":1', b'"seq":1,"seq":1')
    add("duplicate key", dup, t.sign(RECORD_DOMAIN + dup), "duplicate_key")
    add("wrong network", first.raw, first.sig, "wrong_network", network="production")
    add("signature of other bytes", first.raw, second.sig, "bad_signature")
    add("signed without the domain prefix", first.raw, t.sign(first.raw), "bad_signature")
    add("signed by another key", first.raw, key("V000001").sign(RECORD_DOMAIN + first.raw), "bad_signature")
    tampered = first.raw.replace("张三".encode(), "李四".encode())
    add("tampered body", tampered, first.sig, "bad_signature")
    v2 = raw_of({**base, "v": 2})
    add("unknown version", v2, t.sign(RECORD_DOMAIN + v2), "bad_version")
    extra = raw_of({**base, "extra": 1})
    add("unknown field", extra, t.sign(RECORD_DOMAIN + extra), "bad_field")
    no_offset = raw_of({**base, "time": "2026-03-02T09:30:00"})
    add("time without offset", no_offset, t.sign(RECORD_DOMAIN + no_offset), "bad_field")
    return {"description": "Records: fields -> raw bytes, id = sha256(raw), sig = Ed25519(seed, "
                           "'bianmin/record/v1\\0' + raw); negative records with their refusal code",
            "network": NET, "record_domain_hex": RECORD_DOMAIN.hex(), "positive": positive, "negative": negative}


def merkle_vectors() -> dict:
    tree = merkle.MemoryTree()
    leaves = [bytes([i]) * (i % 3 + 1) for i in range(13)]
    for data in leaves:
        tree.append(data)
    roots = {str(n): tree.root(n).hex() for n in range(0, 14)}
    inclusion = [{"index": i, "size": n, "leaf_hash": tree.leaves[i].hex(),
                  "path": [h.hex() for h in merkle.inclusion_path(i, n, tree.hash_of)]}
                 for n, i in ((1, 0), (2, 1), (7, 3), (8, 0), (13, 12), (13, 5))]
    consistency = [{"old": m, "new": n,
                    "path": [h.hex() for h in merkle.consistency_path(m, n, tree.hash_of)]}
                   for m, n in ((1, 1), (1, 8), (3, 7), (4, 8), (6, 13), (8, 13), (12, 13))]
    return {"description": "RFC 6962 Merkle tree: leaf = sha256(00||data), node = sha256(01||l||r); roots "
                           "of the first n leaves; inclusion and consistency proofs (RFC 9162)",
            "leaves_hex": [d.hex() for d in leaves], "roots": roots, "inclusion": inclusion,
            "consistency": consistency}


def statements() -> dict:
    c, t, v = key("C"), key("T0001"), key("V000001")
    cp = merkle.sign_checkpoint(c, net=NET, size=13, root=bytes.fromhex("11" * 32), time=TIME)
    tree = merkle.MemoryTree()
    ids = [bytes([i]) * 32 for i in range(5)]
    for rid in ids:
        tree.append(rid)
    receipt = merkle.sign_receipt(c, net=NET, origin="T0001", seq=3, head=ids[4].hex(), time=TIME, size=5,
                                  root=tree.root(), checkpoint_time=TIME, index=4,
                                  inclusion=merkle.inclusion_path(4, 5, tree.hash_of), from_size=3,
                                  consistency=merkle.consistency_path(3, 5, tree.hash_of))
    token = "ABCD-EFGH-IJKL-MNOP-QRST"
    challenge = enrolment_challenge(net=NET, node="T0001", public=t.public, token_hash_hex=token_hash(token))
    return {"description": "Other signed statements, each under its own domain prefix",
            "checkpoint": {"raw_hex": cp.raw.hex(), "sig": cp.sig.hex(), "signer": "C"},
            "receipt": {"raw_hex": receipt.raw.hex(), "sig": receipt.sig.hex(), "signer": "C",
                        "known": {"size": 3, "root": tree.root(3).hex()}},
            "enrolment": {"token": token, "token_hash": token_hash(token), "challenge_hex": challenge.hex(),
                          "sig": t.sign(ENROL_DOMAIN + challenge).hex(), "signer": "T0001"},
            "rotation": {"old": "T0001", "new": "V000001", "node": "T0001", "from_seq": 10,
                         "body": rotation_proof(t, v, net=NET, node="T0001", from_seq=10)},
            **elisions(c), "page": page(c)}


def page(c: NodeKey) -> dict:
    """A pull page of one record frame and one elision frame, and the header central signs it with."""
    e = sign_elision(c, net=NET, node="V000001", origin="T0001", first=1, last=3, prev=None, id="0c" * 32)
    body = b"2;17:{}" + bytes(64) + b"%d;e:" % len(e.raw) + e.raw + e.sig
    return {"net": NET, "node": "V000001", "after": 40, "cursor": 42, "more": False, "count": 2,
            "frames_hex": body.hex(), "header": sign_page(c, net=NET, node="V000001", after=40, cursor=42, more=False,
                                                          count=2, body=body),
            "refused": [{"name": "asked after 41", "after": 41}, {"name": "for another node", "node": "T0001"},
                        {"name": "one frame less", "drop_last": True}]}


def elisions(c: NodeKey) -> dict:
    """An elision central makes for V000001 of T0001's seq 4..9, and ones V000001 must refuse."""
    fields = {"net": NET, "node": "V000001", "origin": "T0001", "first": 4, "last": 9, "prev": "0a" * 32,
              "id": "0b" * 32}
    e = sign_elision(c, **fields)

    def signed(obj: dict, domain: bytes = ELISION_DOMAIN) -> dict:
        raw = encode(obj)
        return {"raw_hex": raw.hex(), "sig": c.sign(domain + raw).hex()}

    pretty = json.dumps(fields, indent=1, sort_keys=True).encode()
    negative = [
        {"name": "signed under the record domain", **signed(fields, RECORD_DOMAIN), "code": "bad_signature"},
        {"name": "made for another node", **signed({**fields, "node": "T0001", "origin": "V000001"}),
         "code": "elision_misdirected"},
        {"name": "of the receiver's own origin", **signed({**fields, "origin": "V000001"}), "code": "elision_own"},
        {"name": "another network", **signed({**fields, "net": "prod"}), "code": "wrong_network"},
        {"name": "prev given for a range from seq 1", **signed({**fields, "first": 1}), "code": "bad_field"},
        {"name": "last before first", **signed({**fields, "last": 3}), "code": "bad_field"},
        {"name": "a member too many", **signed({**fields, "time": TIME}), "code": "bad_field"},
        {"name": "pretty-printed", "raw_hex": pretty.hex(), "sig": c.sign(ELISION_DOMAIN + pretty).hex(),
         "code": "non_canonical"},
    ]
    return {"elision": {"fields": fields, "raw_hex": e.raw.hex(), "signing_input_hex": (ELISION_DOMAIN + e.raw).hex(),
                        "sig": e.sig.hex(), "signer": "C", "receiver": "V000001", "digest": e.digest,
                        "frame_hex": (b"%d;e:" % len(e.raw) + e.raw + e.sig).hex()},
            "elision_negative": {"receiver": "V000001", "signer": "C", "vectors": negative}}


def sealing() -> dict:
    """Blobs sealed to a recipient's X25519 key (PROTOCOL.md section 15a) with fixed keys, and sealed
    blobs a recipient MUST refuse, with the code. Segments are 32 bytes here so that a few dozen
    bytes make several segments; bundles use 262144."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from sync.sealing import ALGORITHM, Context, SealingKey, seal

    private, ephemeral = bytes([0x5E] * 32), bytes(range(64, 96))
    recipient = SealingKey.from_seed(private)
    ctx = Context(net=NET, sender="V000001", recipient="C", bundle="0f" * 16,
                  blob="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")

    def one(plain: bytes) -> dict:
        sealed = seal(recipient.recipient("C"), ctx, plain, segment=32,
                      ephemeral=X25519PrivateKey.from_private_bytes(ephemeral))
        return {"recipient_private": private.hex(), "recipient_public": recipient.public.hex(),
                "recipient_key_id": recipient.key_id, "ephemeral_private": ephemeral.hex(),
                "context": vars(ctx), "info": ctx.info().hex(), "segment": 32, "plain": plain.hex(),
                "sealed": sealed.hex()}

    cases = [one(b""), one("身份证 ID card scan: 320682199001011234".encode() + bytes(range(40)))]
    good = bytes.fromhex(cases[1]["sealed"])
    flipped = good[:70] + bytes([good[70] ^ 1]) + good[71:]
    refused = [
        {"name": "a ciphertext byte flipped", "sealed": flipped.hex(), "code": "seal.damaged"},
        {"name": "the last segment dropped", "sealed": good[:60 + 2 * 48].hex(), "code": "seal.damaged"},
        {"name": "opened under another blob name", "sealed": good.hex(), "code": "seal.damaged",
         "context": {**vars(ctx), "blob": "00" * 32}},
        {"name": "opened in another bundle", "sealed": good.hex(), "code": "seal.damaged",
         "context": {**vars(ctx), "bundle": "1f" * 16}},
        {"name": "sealed to another key", "sealed": good.hex(), "code": "seal.wrong_recipient",
         "recipient_private": bytes([0x6E] * 32).hex()},
        {"name": "not a sealed blob", "sealed": b"PK\x03\x04 a zip, not a sealed blob".hex(), "code": "seal.bad_header"},
    ]
    return {"description": "X25519 ephemeral-static + HKDF-SHA256 + AES-256-GCM in STREAM segments (PROTOCOL.md 15a)",
            "algorithm": ALGORITHM, "sealed": cases,
            "refused": [{"recipient_private": private.hex(), "context": vars(ctx), **r} for r in refused]}


def main() -> None:
    write("canonical.json", canonical())
    write("keys.json", keys())
    write("records.json", records())
    write("merkle.json", merkle_vectors())
    write("statements.json", statements())
    write("sealing.json", sealing())


if __name__ == "__main__":
    main()
