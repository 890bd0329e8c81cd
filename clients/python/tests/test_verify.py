"""Verification built into the client: checkpoints against the pinned
verifier key, inclusion of what is read, consistency with the remembered
checkpoint; each failure raises VerificationError and returns nothing."""
import base64
import hashlib
import json
import os

import pytest

import loopledger as ll
from loopledger import verify


def test_verified_reads_and_remembered_checkpoints(ledger, tmp_path):
    state = str(tmp_path / "state.json")
    with ledger.client("ana", state_file=state) as c:
        cp = c.checkpoint()
        assert cp.origin == "pytest.test/ledger" and cp.tree_size > 20
        saved = json.load(open(state))
        assert saved["tree_size"] == cp.tree_size
        assert base64.b64decode(saved["root_hash"]) == cp.root_hash
        r = c.append.note(text="grow the log")
        e = c.get_entry(r.seq, verify=True)
        assert e.verified and e.body.text == "grow the log"
        assert all(x.verified for x in c.list_entries(to_seq=6, verify=True))
    # A new session starts from the state file: consistency from there.
    with ledger.client("ana", state_file=state) as c:
        cp2 = c.checkpoint()
        assert cp2.tree_size > cp.tree_size
        assert json.load(open(state))["tree_size"] == cp2.tree_size


def test_rfc9162_proofs_against_a_local_tree():
    leaves = [b"leaf %d" % i for i in range(13)]

    def root(ls):
        if len(ls) == 1:
            return verify.leaf_hash(ls[0])
        k = 1
        while k * 2 < len(ls):
            k *= 2
        return verify._node(root(ls[:k]), root(ls[k:]))

    def path(m, ls):
        if len(ls) == 1:
            return []
        k = 1
        while k * 2 < len(ls):
            k *= 2
        if m < k:
            return path(m, ls[:k]) + [root(ls[k:])]
        return path(m - k, ls[k:]) + [root(ls[:k])]

    for n in range(1, 14):
        for m in range(n):
            verify.verify_inclusion(m, n, verify.leaf_hash(leaves[m]), path(m, leaves[:n]),
                                    root(leaves[:n]))
        with pytest.raises(ll.VerificationError):
            verify.verify_inclusion(0, n, verify.leaf_hash(b"other"), path(0, leaves[:n]),
                                    root(leaves[:n]))


def test_tampered_leaf_is_refused(ledger, admin, monkeypatch):
    seq = ledger.seqs["conclusion"]
    m = admin.ledger.methods["GetEntry"]
    real = m.call

    def tampered(req):
        resp = real(req)
        leaf = bytearray(resp.leaf)
        leaf[-5] ^= 1
        resp.leaf = bytes(leaf)
        return resp
    monkeypatch.setattr(m, "call", tampered)
    with pytest.raises(ll.VerificationError, match="inclusion proof of #%d" % seq):
        admin.get_entry(seq, verify=True)
    # Without verify the answer says it is unverified.
    assert admin.get_entry(seq).verified is False


def test_wrong_verifier_key_is_refused(ledger, tmp_path):
    state = str(tmp_path / "state.json")
    other = os.urandom(32)
    name = "pytest.test/ledger"
    h = hashlib.sha256(name.encode() + b"\n\x01" + other).digest()[:4].hex()
    wrong = "%s+%s+%s" % (name, h, base64.b64encode(b"\x01" + other).decode())
    with ledger.client("ana", verifier_key=wrong, state_file=state) as c:
        with pytest.raises(ll.VerificationError, match="no signature by the pinned key"):
            c.checkpoint()
        with pytest.raises(ll.VerificationError):
            c.get_entry(3, verify=True)
    assert not os.path.exists(state)


def test_forged_checkpoint_signature_is_refused(ledger, admin, monkeypatch):
    m = admin.ledger.methods["GetCheckpoint"]
    real = m.call

    def forged(req):
        resp = real(req)
        lines = resp.checkpoint.split("\n")
        lines[1] = str(int(lines[1]) + 1)
        resp.checkpoint = "\n".join(lines)
        resp.tree_size += 1
        return resp
    monkeypatch.setattr(m, "call", forged)
    with pytest.raises(ll.VerificationError, match="does not verify"):
        admin.checkpoint()


def test_inconsistent_checkpoint_is_refused(ledger, tmp_path):
    state = str(tmp_path / "state.json")
    with ledger.client("ana", state_file=state) as c:
        cp = c.checkpoint()
    # Remember a different history at an older size (a fork the server
    # showed us before, or a rewritten log now).
    forged = ll.Checkpoint(cp.origin, cp.tree_size - 3, hashlib.sha256(b"fork").digest(), "")
    verify.State(state).save(forged)
    with ledger.client("ana", state_file=state) as c:
        with pytest.raises(ll.VerificationError, match="not an extension"):
            c.checkpoint()
    assert json.load(open(state))["tree_size"] == cp.tree_size - 3  # not overwritten
    # Same size, different root: refused as well.
    verify.State(state).save(ll.Checkpoint(cp.origin, cp.tree_size,
                                           hashlib.sha256(b"x").digest(), ""))
    with ledger.client("ana", state_file=state) as c:
        with pytest.raises(ll.VerificationError):
            c.checkpoint(tree_size=cp.tree_size)
    # A server showing a smaller tree than remembered: a rollback.
    verify.State(state).save(ll.Checkpoint(cp.origin, cp.tree_size + 1000,
                                           hashlib.sha256(b"y").digest(), ""))
    with ledger.client("ana", state_file=state) as c:
        with pytest.raises(ll.VerificationError, match="smaller than the remembered"):
            c.checkpoint()


def test_verified_read_checks_the_authors_signature(ledger, admin):
    s = ledger.seqs
    e = admin.get_entry(s["conclusion"], verify=True)
    assert e.verified and e.author == "ana"
    key_entry = admin.get_entry(e.signer_key_seq, verify=True)
    assert key_entry.kind == "actor" and key_entry.body.actor_id == "ana"
    assert admin.get_entry(0, verify=True).kind == "genesis"  # signed by a key it registers
    # The same envelope with another payload, or checked against another
    # actor's registration, is refused.
    env = type(e.log_entry.envelope)()
    env.CopyFrom(e.log_entry.envelope)
    env.payload = env.payload + b"\x00"
    with pytest.raises(ll.VerificationError, match="does not verify"):
        verify.verify_envelope(env, key_entry)
    dana = next(x for x in admin.list_entries(kind="actor") if x.body.actor_id == "dana")
    with pytest.raises(ll.VerificationError, match="does not register key"):
        verify.verify_envelope(e.log_entry.envelope, dana)
