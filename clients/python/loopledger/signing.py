"""Signing entries: Ed25519 keys in loopctl's files and DSSE envelopes.

An entry is a DSSE envelope whose payload is a serialized EntryBody and
whose payloadType is PAYLOAD_TYPE; the signature covers
PAE(payloadType, payload) = "DSSEv1" SP len(type) SP type SP len(body) SP
body, lengths in ASCII decimal. The server stores the payload bytes exactly
as signed, so what is signed here is what the log keeps.
"""
import hashlib
import os
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import _proto

PAYLOAD_TYPE = "application/vnd.loopledger.entry+protobuf"


def pae(payload_type, payload):
    """DSSE v1 Pre-Authentication Encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def keyid_of(public_key):
    """Lowercase hex SHA-256 of a raw 32-byte Ed25519 public key."""
    return hashlib.sha256(public_key).hexdigest()


class Signer:
    """An Ed25519 signing key and the actor it signs for."""

    def __init__(self, private_key, actor=None):
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("loopledger keys are Ed25519")
        self._key = private_key
        self.actor = actor
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.keyid = keyid_of(self.public_key)

    @classmethod
    def from_file(cls, path, actor=None):
        """Loads a PKCS#8 PEM Ed25519 private key, as `loopctl keygen` writes
        it. actor: the registered actor id to author entries as (default:
        the file name without .key, e.g. "ana" for ana.key)."""
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("%s is not an Ed25519 private key" % path)
        if actor is None:
            base = os.path.basename(path)
            actor = base[:-4] if base.endswith(".key") else base
        return cls(key, actor)

    @classmethod
    def generate(cls, actor=None):
        return cls(Ed25519PrivateKey.generate(), actor)

    def save(self, path):
        """Writes the key as PKCS#8 PEM (mode 0600, never over an existing
        file) and the public half as path + ".pub", like loopctl keygen."""
        pem = self._key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        with open(path + ".pub", "wb") as f:
            f.write(self._key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def sign(self, payload, payload_type=PAYLOAD_TYPE):
        """A DSSE Envelope message over payload (bytes)."""
        env = _proto.msg("Envelope")(payload=payload, payload_type=payload_type)
        env.signatures.add(sig=self._key.sign(pae(payload_type, payload)), keyid=self.keyid)
        return env

    def sign_body(self, body):
        """Signs a loopledger.v1.EntryBody message; returns the Envelope."""
        return self.sign(body.SerializeToString())


# ---- links ----

def link(relation, target_seq):
    """A typed link to an older entry: link("supports", 12)."""
    ed = _proto.POOL.FindEnumTypeByName("loopledger.v1.Relation")
    return _proto.msg("Link")(relation=_proto.enum_number(ed, relation),
                              target_seq=int(target_seq))


def _as_link(x):
    if isinstance(x, str):
        rel, _, seq = x.partition(":")
        return link(rel, seq)
    if isinstance(x, tuple):
        return link(*x)
    if isinstance(x, dict):
        return link(x["relation"], x["target_seq"])
    return x


def relates_to(seq): return link("relates_to", seq)
def tests(seq): return link("tests", seq)  # noqa: E302 (one-liners)
def supports(seq): return link("supports", seq)
def refutes(seq): return link("refutes", seq)
def addresses(seq): return link("addresses", seq)
def decides(seq): return link("decides", seq)
def reviews(seq): return link("reviews", seq)
def spawned_by(seq): return link("spawned_by", seq)
def supersedes(seq): return link("supersedes", seq)
def follows(seq): return link("follows", seq)
def concludes(seq): return link("concludes", seq)
def measures(seq): return link("measures", seq)
def cites(seq): return link("cites", seq)
def diagnoses(seq): return link("diagnoses", seq)
def derived_from(seq): return link("derived_from", seq)
def implements(seq): return link("implements", seq)


# ---- bodies ----

def kinds():
    """{kind name: EntryBody field name}, e.g. {"initiative": "charter", ...}."""
    ed = _proto.POOL.FindEnumTypeByName("loopledger.v1.Kind")
    body = _proto.msg("EntryBody").DESCRIPTOR
    out = {}
    for v in ed.values:
        f = body.fields_by_number.get(v.number)
        if v.number and f is not None:
            out[_proto.enum_name(ed, v.number)] = f.name
    return out


def build_body(kind, author, initiative="", links=(), fields=None, nonce=None,
               client_time_unix_nanos=None):
    """An EntryBody of one kind. fields: the kind's message as keyword values
    (enums by name, nested messages as dicts). nonce: 16 random bytes unless
    given (two intentional equal entries stay distinct)."""
    k = kinds()
    if kind not in k:
        raise ValueError("unknown entry kind %r (one of: %s)" % (kind, ", ".join(k)))
    if not author:
        raise ValueError("an entry needs an author (the signer's registered actor id)")
    body = _proto.msg("EntryBody")(
        author=author, initiative=initiative or "",
        client_time_unix_nanos=time.time_ns() if client_time_unix_nanos is None
        else client_time_unix_nanos,
        nonce=os.urandom(16) if nonce is None else nonce)
    for x in links or ():
        body.links.add().CopyFrom(_as_link(x))
    sub = getattr(body, k[kind])
    sub.SetInParent()
    _proto.fill(sub, fields or {}, kind)
    return body
