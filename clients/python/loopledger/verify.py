"""Client-side verification: C2SP signed notes with Ed25519, C2SP
tlog-checkpoint bodies, RFC 9162 (section 2.1) inclusion and consistency
proofs, and a state file remembering the last verified checkpoint.

Nothing here trusts the server: hashes the server reports alongside a proof
are ignored; roots come only from a checkpoint whose signature verified
against the pinned verifier key.
"""
import base64
import hashlib
import json
import os
import tempfile
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import VerificationError


def leaf_hash(leaf):
    """RFC 9162: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def _node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def _parse_key(text, key_type, what, command, kind):
    """Parses a C2SP vkey "name+hash+base64(type || pubkey)": returns
    (name, key hash bytes, Ed25519 public key, the text), or raises
    ValueError saying what is wrong."""
    text = text.strip()
    try:
        name, khash, b64 = text.split("+", 2)
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        raise ValueError("malformed %s (want name+hash+base64, as printed by `%s`)" %
                         (what, command)) from None
    if len(raw) != 33 or raw[0] != key_type or len(khash) != 8 or not name:
        raise ValueError("%s is not %s" % (what, kind))
    key_hash = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_hash.hex() != khash:
        raise ValueError("%s hash %s does not match its name and key" % (what, khash))
    return name, key_hash, raw[1:], text


class VerifierKey:
    """A C2SP signed-note verifier key "name+hash+base64(0x01 || pubkey)"."""

    def __init__(self, text):
        self.name, self.key_hash, self.public_key, self.text = _parse_key(
            text, 0x01, "verifier key", "loopledgerd verifier-key",
            "an Ed25519 (type 0x01) note key")
        self._pub = Ed25519PublicKey.from_public_bytes(self.public_key)

    def verify_note(self, note):
        """Returns the note's body (text up to the blank line, with its final
        newline) when a signature line by this key verifies; raises
        VerificationError otherwise."""
        body, lines = _signature_lines(note)
        found = False
        for name, raw in lines:
            if name != self.name or raw[:4] != self.key_hash:
                continue  # another signer (a witness): not ours to check
            found = True
            try:
                self._pub.verify(raw[4:], body.encode("utf-8"))
            except InvalidSignature:
                raise VerificationError("checkpoint signature by %s does not verify" %
                                        self.name) from None
        if not found:
            raise VerificationError("checkpoint carries no signature by the pinned key %s" %
                                    self.name)
        return body


class CosignerKey:
    """A witness's C2SP tlog-cosignature verifier key
    "name+hash+base64(0x04 || pubkey)" (Ed25519 cosignature/v1), as printed
    by `loopledgerd witness-key`."""

    def __init__(self, text):
        self.name, self.key_id, self.public_key, self.text = _parse_key(
            text, 0x04, "witness key", "loopledgerd witness-key",
            "an Ed25519 cosignature/v1 (type 0x04) key")
        self._pub = Ed25519PublicKey.from_public_bytes(self.public_key)

    def __repr__(self):
        return "CosignerKey(%r)" % self.name

    def verify(self, body, sig):
        """Checks one cosignature: sig = the signature line's bytes after the
        key id (timestamp u64 big-endian || Ed25519 signature) over
        "cosignature/v1\ntime <timestamp>\n" || body. Returns the timestamp;
        raises VerificationError."""
        if len(sig) != 8 + 64:
            raise VerificationError("cosignature by %s has %d bytes, not 72" %
                                    (self.name, len(sig)))
        ts = int.from_bytes(sig[:8], "big")
        if ts >= 1 << 63:
            raise VerificationError("cosignature by %s has a timestamp beyond 2^63-1" % self.name)
        msg = b"cosignature/v1\ntime %d\n" % ts + body.encode("utf-8")
        try:
            self._pub.verify(sig[8:], msg)
        except InvalidSignature:
            raise VerificationError("cosignature by witness %s does not verify" %
                                    self.name) from None
        return ts


def _signature_lines(note):
    """(body, [(name, raw bytes)]) of a signed note; raises VerificationError."""
    if isinstance(note, bytes):
        note = note.decode("utf-8")
    sep = note.find("\n\n")
    if sep < 0:
        raise VerificationError("checkpoint is not a signed note (no blank line)")
    body, sigs = note[:sep + 1], note[sep + 2:]
    if not sigs.endswith("\n"):
        raise VerificationError("signed note does not end with a newline")
    out = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise VerificationError("malformed signature line in checkpoint")
        try:
            name, b64 = line[2:].split(" ")
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            raise VerificationError("malformed signature line in checkpoint") from None
        if len(raw) < 4:
            raise VerificationError("malformed signature line in checkpoint")
        out.append((name, raw))
    return body, out


def verify_cosignatures(note, witnesses, quorum, now=None):
    """Counts the witnesses among `witnesses` (CosignerKey or vkey strings)
    whose C2SP tlog-cosignature on the checkpoint note verifies. Lines by
    other signers, including witnesses not configured here, are ignored; a
    line that claims a configured witness (its name and key id) but does
    not verify, or is dated in the future (beyond now plus a minute of clock
    skew), does not count, like a missing one. Returns {witness name:
    timestamp} when at least `quorum` distinct witnesses cosigned; raises
    VerificationError otherwise, naming the bad cosignatures."""
    keys = {}
    for w in witnesses:
        k = w if isinstance(w, CosignerKey) else CosignerKey(w)
        keys[(k.name, k.key_id)] = k  # the same key twice counts once
    if quorum < 1 or quorum > len(keys):
        raise ValueError("quorum %d with %d distinct witness keys" % (quorum, len(keys)))
    body, lines = _signature_lines(note)
    now = time.time() if now is None else now
    good, bad = {}, []
    for name, raw in lines:
        k = keys.get((name, raw[:4]))
        if k is None:
            continue
        try:
            ts = k.verify(body, raw[4:])
        except VerificationError as e:
            bad.append(str(e))
            continue
        if ts > now + 60:
            bad.append("cosignature by %s is dated in the future (%d)" % (k.name, ts))
            continue
        good[k.name] = ts
    if len(good) < quorum:
        raise VerificationError(
            "checkpoint has %d valid cosignature(s) of the %d configured witnesses (%s), "
            "quorum is %d%s" % (len(good), len(keys), ", ".join(sorted(good)) or "none", quorum,
                                "; " + "; ".join(bad) if bad else ""))
    return good


class Checkpoint:
    """A verified tlog checkpoint: origin, tree_size, root_hash, text."""

    def __init__(self, origin, tree_size, root_hash, text):
        self.origin = origin
        self.tree_size = tree_size
        self.root_hash = root_hash
        self.text = text
        self.cosigners = {}  # witness name -> cosignature time, when checked

    def __repr__(self):
        return "Checkpoint(%r, %d, %s)" % (self.origin, self.tree_size, self.root_hash.hex())


def parse_checkpoint(body):
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerificationError("checkpoint body has fewer than three lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise VerificationError("checkpoint tree size %r is not a decimal number" % size)
    try:
        h = base64.b64decode(root, validate=True)
    except ValueError:
        h = b""
    if len(h) != 32:
        raise VerificationError("checkpoint root hash is not 32 base64-encoded bytes")
    return origin, int(size), h


def verify_inclusion(leaf_index, tree_size, lhash, proof, root):
    """RFC 9162 section 2.1.3.2; raises VerificationError on any mismatch."""
    if leaf_index >= tree_size:
        raise VerificationError("inclusion: leaf %d outside tree of %d" % (leaf_index, tree_size))
    fn, sn, r = leaf_index, tree_size - 1, lhash
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise VerificationError("inclusion proof of #%d does not lead to the checkpoint root "
                                "(tree size %d)" % (leaf_index, tree_size))


def verify_consistency(old_size, new_size, old_root, new_root, proof):
    """RFC 9162 section 2.1.4.2; raises VerificationError on any mismatch."""
    if old_size > new_size:
        raise VerificationError("consistency: old size %d beyond new size %d" % (old_size, new_size))
    if old_size == new_size:
        if proof or old_root != new_root:
            raise VerificationError("two checkpoints of size %d have different roots" % old_size)
        return
    if old_size == 0:
        if proof:
            raise VerificationError("consistency proof from the empty tree must be empty")
        return
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    if not path:
        raise VerificationError("empty consistency proof")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise VerificationError("the log at size %d is not an extension of the remembered "
                                "checkpoint at size %d" % (new_size, old_size))


class State:
    """The last verified checkpoint, persisted as JSON (origin, tree_size,
    root_hash base64, the signed note). Written atomically."""

    def __init__(self, path):
        self.path = path

    def load(self):
        if not self.path or not os.path.exists(self.path):
            return None
        with open(self.path) as f:
            d = json.load(f)
        return Checkpoint(d["origin"], int(d["tree_size"]), base64.b64decode(d["root_hash"]),
                          d.get("checkpoint", ""))

    def save(self, cp):
        if not self.path:
            return
        d = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".state-")
        with os.fdopen(fd, "w") as f:
            json.dump({"origin": cp.origin, "tree_size": cp.tree_size,
                       "root_hash": base64.b64encode(cp.root_hash).decode(),
                       "checkpoint": cp.text}, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def registered_keys(e):
    """The raw public keys an entry registers: an actor registration's, a
    key rotation's new key, the genesis's server and admin keys."""
    b = e["body"]
    kind = e["kind"]
    if kind == "actor":
        return [b["public_key"]]
    if kind == "key_rotation":
        return [b["new_public_key"]]
    if kind == "genesis":
        return [x["public_key"] for x in (b.get("server"), b.get("admin")) if x]
    return []


def verify_envelope(env, key_entry):
    """Checks env's signature (DSSE PAE, Ed25519) with the key key_entry
    registered under the signature's keyid; raises VerificationError."""
    from .signing import keyid_of, pae
    if len(env.signatures) != 1:
        raise VerificationError("an entry carries exactly one signature")
    sig = env.signatures[0]
    for k in registered_keys(key_entry):
        if keyid_of(k) == sig.keyid:
            try:
                Ed25519PublicKey.from_public_bytes(k).verify(
                    sig.sig, pae(env.payload_type, env.payload))
            except (InvalidSignature, ValueError):
                raise VerificationError("signature of keyid %s... does not verify" %
                                        sig.keyid[:12]) from None
            return
    raise VerificationError("entry #%d does not register key %s..." % (key_entry["seq"],
                                                                        sig.keyid[:12]))
