#!/usr/bin/env python3
"""Makes a test office key and a signed trust bundle (`booth-bundle/1`, docs/trust.md).

For trying the verification page without the office server; the real bundles come from
`booth server`. Needs the `cryptography` package (pip). Examples:

    make-test-bundle.py --office-key /tmp/office.pem --keys keys.txt \\
        --revoke F48SX9-0003-4 --max-seq 956MT6=2 --version 7 --out bundle.json
    make-test-bundle.py --office-key /tmp/office.pem --fingerprint
    make-test-bundle.py --office-key /tmp/office.pem --codes 10000 --codes-out codes.txt \\
        --out bundle.json          # a test laptop key in the bundle and 10,000 codes it signed

`--keys` takes `booth keys export` lines (`booth-key/1 ID ed25519:KEY UNION`). `--attack`
makes a bundle that a verifier must refuse: `duplicate-id` (two keys with the same 30-bit id,
found by search), `id-mismatch`, `identity-key`, `order2-key`, `bad-signature`, `other-office`.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BUNDLE_DOMAIN = b"booth-bundle/1"
CARD_DOMAIN = b"booth-card/1"
BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
IDENTITY = bytes([1] + [0] * 31)
ORDER2 = bytes([0xEC] + [0xFF] * 30 + [0x7F])


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def crockford(n: int, length: int) -> str:
    return "".join(ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(length)))


def key_id(public: bytes) -> str:
    """First 30 bits of SHA-256 as 6 Crockford symbols (src/card/number.rs)."""
    d = hashlib.sha256(public).digest()
    return crockford(int.from_bytes(d[:4], "big") >> 2, 6)


def times2(x: int) -> int:
    y = x << 1
    return (y ^ 0x25) & 0x1F if y & 0x20 else y


def member_no(kid: str, seq: int) -> str:
    body = kid + crockford(seq, 4)
    acc = 0
    for c in body:
        acc = times2(acc) ^ ALPHABET.index(c)
    return body + ALPHABET[times2(acc)]


def canonical_no(text: str) -> str:
    return text.replace("-", "").replace(" ", "").upper()


def base45(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        out += [BASE45[n % 45], BASE45[n // 45 % 45], BASE45[n // 2025]]
    if len(data) % 2:
        n = data[-1]
        out += [BASE45[n % 45], BASE45[n // 45]]
    return "".join(out)


def card_code(private: Ed25519PrivateKey, number: str, union: str, issued: datetime.date) -> str:
    """A membership code as docs/qr-payload.md describes it."""
    v = 0
    for c in number:
        v = (v << 5) | ALPHABET.index(c)
    name = union.encode("gb18030")
    days = (issued - datetime.date(2020, 1, 1)).days
    # 55 bits, left-aligned in 56
    body = bytes([1]) + (v << 1).to_bytes(7, "big") + days.to_bytes(2, "big")
    body += bytes([len(name)]) + name
    return "GH1:" + base45(body + private.sign(CARD_DOMAIN + body))


def load_office_key(path: str) -> Ed25519PrivateKey:
    if os.path.exists(path):
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), password=None)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def fingerprint(public: bytes) -> str:
    return b64u(hashlib.sha256(public).digest())


def parse_key_lines(path: str, devices: dict, start: str, max_seqs: dict) -> list:
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 3)
            if len(parts) < 3 or parts[0] != "booth-key/1" or not parts[2].startswith("ed25519:"):
                sys.exit(f"not a booth key line: {line!r}")
            public = unb64u(parts[2][len("ed25519:"):])
            kid = key_id(public)
            if kid != parts[1].upper():
                sys.exit(f"key id {parts[1]} does not belong to its key (it is {kid})")
            entries.append(key_entry(public, devices.get(kid, f"laptop-{kid}"),
                                     parts[3] if len(parts) > 3 else "", start,
                                     max_seqs.get(kid)))
    return entries


def key_entry(public: bytes, device: str, union: str, start: str, max_seq) -> dict:
    return {"key_id": key_id(public), "key": b64u(public), "device": device,
            "union": union, "from": start, "max_seq": max_seq}


def colliding_pair() -> tuple:
    """Two genuine keys with the same 30-bit key id (a birthday search, ~40k keys)."""
    seen = {}
    while True:
        public = raw_public(Ed25519PrivateKey.generate())
        kid = key_id(public)
        if kid in seen:
            return seen[kid], public
        seen[kid] = public


def sign_bundle(office: Ed25519PrivateKey, body: dict) -> dict:
    body_bytes = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return {
        "format": "booth-bundle/1",
        "office_key": b64u(raw_public(office)),
        "body": b64u(body_bytes),
        "signature": b64u(office.sign(BUNDLE_DOMAIN + body_bytes)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--office-key", required=True, help="PEM file; made (0600) if missing")
    p.add_argument("--fingerprint", action="store_true", help="print the office key fingerprint")
    p.add_argument("--keys", help="file of `booth keys export` lines")
    p.add_argument("--device", action="append", default=[], metavar="KEYID=NAME")
    p.add_argument("--max-seq", action="append", default=[], metavar="KEYID=SEQ",
                   help="mark a device revoked: its codes above SEQ are invalid")
    p.add_argument("--revoke", action="append", default=[], metavar="MEMBER_NO")
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--issued-at", default=None, help="default: now, +08:00")
    p.add_argument("--from", dest="start", default="2026-11-01")
    p.add_argument("--next-office-key", help="PEM file of the next office key (rotation)")
    p.add_argument("--codes", type=int, default=0, help="add a test laptop and sign N codes")
    p.add_argument("--codes-out", help="where the N codes go, one a line")
    p.add_argument("--codes-union", default="北京市朝阳区总工会")
    p.add_argument("--attack", choices=["duplicate-id", "id-mismatch", "identity-key",
                                        "order2-key", "bad-signature", "other-office"])
    p.add_argument("--out", help="bundle file (default: stdout)")
    a = p.parse_args()

    office = load_office_key(a.office_key)
    if a.fingerprint:
        print(fingerprint(raw_public(office)))
        if not (a.keys or a.codes or a.out):
            return
    devices = dict(d.split("=", 1) for d in a.device)
    max_seqs = {k.upper(): int(v) for k, v in (m.split("=", 1) for m in a.max_seq)}
    keys = parse_key_lines(a.keys, devices, a.start, max_seqs) if a.keys else []

    if a.codes:
        laptop = Ed25519PrivateKey.generate()
        public = raw_public(laptop)
        kid = key_id(public)
        keys.append(key_entry(public, "bench-laptop", a.codes_union, a.start, None))
        issued = datetime.date(2026, 11, 24)
        lines = [card_code(laptop, member_no(kid, seq), a.codes_union, issued)
                 for seq in range(1, a.codes + 1)]
        with open(a.codes_out or "/dev/stdout", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    if a.attack == "duplicate-id":
        first, second = colliding_pair()
        keys += [key_entry(first, "twin-a", "工会", a.start, None),
                 key_entry(second, "twin-b", "工会", a.start, None)]
    elif a.attack == "id-mismatch":
        public = raw_public(Ed25519PrivateKey.generate())
        entry = key_entry(public, "liar", "工会", a.start, None)
        entry["key_id"] = keys[0]["key_id"] if keys else "000000"
        keys.append(entry)
    elif a.attack == "identity-key":
        keys.append(key_entry(IDENTITY, "identity", "工会", a.start, None))
    elif a.attack == "order2-key":
        keys.append(key_entry(ORDER2, "order2", "工会", a.start, None))

    issued_at = a.issued_at or datetime.datetime.now(
        datetime.timezone(datetime.timedelta(hours=8))).replace(microsecond=0).isoformat()
    next_key = None
    if a.next_office_key:
        next_key = b64u(raw_public(load_office_key(a.next_office_key)))
    signer = Ed25519PrivateKey.generate() if a.attack == "other-office" else office
    body = {
        "version": a.version,
        "issued_at": issued_at,
        "office_key": b64u(raw_public(signer)),
        "next_office_key": next_key,
        "keys": keys,
        "revoked": sorted({canonical_no(n) for n in a.revoke}),
    }
    bundle = sign_bundle(signer, body)
    if a.attack == "bad-signature":
        sig = bytearray(unb64u(bundle["signature"]))
        sig[0] ^= 1
        bundle["signature"] = b64u(bytes(sig))
    text = json.dumps(bundle, indent=2) + "\n"
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
