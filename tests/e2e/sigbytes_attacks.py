"""Issue 18 items 1-2 over gRPC: correctly signed envelopes whose bytes
other protobuf readers would read differently, sent raw to a real server.

Usage: sigbytes_attacks.py SERVER ADMIN_KEY_PEM [DUMP_DIR]
Prints one line per case and "refused N/N"; exits 1 if an attack was not
refused with INVALID_ARGUMENT or the canonical control was not accepted.
The protobuf bytes are written by hand (no generated code), so that every
trick reaches the server exactly as written.
"""
import hashlib
import sys

import grpc
from cryptography.hazmat.primitives import serialization

TYPE = b"application/vnd.loopledger.entry+protobuf"


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def tag(num, wt):
    return varint(num << 3 | wt)


def ld(num, data):
    return tag(num, 2) + varint(len(data)) + data


def vi(num, v):
    return tag(num, 0) + varint(v)


def pae(ptype, body):
    return b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(body), body)


NONCE = [0]


def body(author=b"admin", initiative=b"sigbytes", text=b"hello", tail=b"", note_tail=b""):
    NONCE[0] += 1
    b = ld(1, author) + ld(2, initiative) + vi(3, 1800000000000000000)
    b += ld(4, NONCE[0].to_bytes(8, "little"))
    b += ld(10, ld(1, text) + note_tail)
    return b + tail


def envelope(key, payload, type_sent=TYPE, type_signed=TYPE, keyid_suffix=b"", tail=b""):
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    keyid = hashlib.sha256(pub).hexdigest().encode() + keyid_suffix
    sig = key.sign(pae(type_signed, payload))
    return ld(1, payload) + ld(2, type_sent) + ld(3, ld(1, sig) + ld(2, keyid)) + tail


def main():
    server, keyfile = sys.argv[1], sys.argv[2]
    key = serialization.load_pem_private_key(open(keyfile, "rb").read(), None)
    dump = sys.argv[3] if len(sys.argv) > 3 else None  # DIR: also write each attack there
    chan = grpc.insecure_channel(server)
    append = chan.unary_unary("/loopledger.v1.LedgerService/Append")

    def send(env):
        try:
            append(ld(1, env), timeout=30)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()

    attacks = [
        ("payloadType + \\0evil, signed over the truncated type",
         envelope(key, body(), type_sent=TYPE + b"\0evil"), "NUL"),
        ("keyid with a \\0zz suffix", envelope(key, body(), keyid_suffix=b"\0zz"), "NUL"),
        ("author admin\\0evil", envelope(key, body(author=b"admin\0evil")), "NUL"),
        ("initiative with a NUL", envelope(key, body(initiative=b"sig\0bytes")), "NUL"),
        ("invalid UTF-8 in a note", envelope(key, body(text=b"bad \xff")), "UTF-8"),
        ("overlong UTF-8 in the author", envelope(key, body(author=b"adm\xc1\xa9n")), "UTF-8"),
        ("5 kB unknown field in the envelope",
         envelope(key, body(), tail=ld(15, b"J" * 5000)), "unknown field 15"),
        ("unknown field in the body", envelope(key, body(tail=vi(99, 1))), "unknown field 99"),
        ("unknown field in a nested message",
         envelope(key, body(note_tail=vi(5, 1))), "unknown field 5"),
        ("two members of the body's oneof",
         envelope(key, body(tail=ld(11, ld(1, b"mallory")))), "oneof"),
        ("a non-repeated field twice (author)",
         envelope(key, body(tail=ld(1, b"admin"))), "field-number order"),
        ("the note given twice", envelope(key, body(tail=ld(10, ld(1, b"x")))), "twice"),
        ("wrong wire type for a known field (client time as bytes)",
         envelope(key, ld(1, b"admin") + ld(3, b"\x05") + ld(10, ld(1, b"x"))),
         "wire type 2 where this field has wire type 0"),
        ("padded varint in client time",
         envelope(key, ld(1, b"admin") + tag(3, 0) + b"\x85\x80\x00" + ld(10, ld(1, b"x"))),
         "shortest form"),
    ]
    if dump:  # the fuzz regressions (tests/fuzz/regressions/entry) come from here
        import os, re
        for name, env, _ in attacks:
            fn = "sigbytes-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48]
            open(os.path.join(dump, fn), "wb").write(env)
    refused = 0
    for name, env, why in attacks:
        code, details = send(env)
        ok = code == grpc.StatusCode.INVALID_ARGUMENT and why in details
        refused += ok
        print("%-8s %s: %s %s" % ("refused" if ok else "ACCEPTED" if code == grpc.StatusCode.OK
                                  else "WRONG", name, code.name, details))
    code, details = send(envelope(key, body(text="canonical caf\u00e9".encode())))
    print("control  canonical envelope: %s %s" % (code.name, details))
    print("refused %d/%d" % (refused, len(attacks)))
    sys.exit(0 if refused == len(attacks) and code == grpc.StatusCode.OK else 1)


main()
