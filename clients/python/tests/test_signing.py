"""Signing every entry kind from Python: the builders produce DSSE
envelopes the server accepts as signed by their author, and the stored
leaf holds exactly the payload that was signed."""
import base64
import json
import os

import pytest

import loopledger as ll
from loopledger import signing

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "..", "ops", "demo")


def body(name):
    with open(os.path.join(DEMO, name)) as f:
        return json.load(f)


def test_pae_matches_the_dsse_spec():
    # DSSE's definition: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body.
    assert ll.pae("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    assert ll.pae("", b"") == b"DSSEv1 0  0 "


def test_key_files_are_loopctls(ledger, tmp_path):
    s = ll.Signer.from_file(ledger.key_file("ana"))
    assert s.actor == "ana" and len(s.public_key) == 32
    assert s.keyid == signing.keyid_of(s.public_key)
    # A key written by the client is read by loopctl (and vice versa above).
    p = str(tmp_path / "new.key")
    ll.Signer.generate().save(p)
    assert oct(os.stat(p).st_mode & 0o777) == "0o600"
    import subprocess
    out = subprocess.run([ledger.loopctl, "keyid", p], capture_output=True, text=True)
    if out.returncode == 0:
        assert ll.Signer.from_file(p).keyid in out.stdout


def append_as(ledger, actor, kind, **kw):
    with ledger.client(actor) as c:
        r = getattr(c.append, kind)(**kw)
        e = c.get_entry(r.seq, verify=True)
    assert e.kind == kind and e.author == actor and e.verified
    env = e.log_entry.envelope
    assert env.payload_type == ll.PAYLOAD_TYPE and env.signatures[0].keyid == \
        ll.Signer.from_file(ledger.key_file(actor)).keyid
    return r, e


def test_every_kind_is_signed_and_accepted(ledger):
    ini = "py-kinds"
    seq = {}

    def add(name, actor, kind, links=(), **fields):
        r, e = append_as(ledger, actor, kind, initiative=ini,
                         links=[(rel, seq[t]) for rel, t in links], **fields)
        seq[name] = r.seq
        return e

    e = add("charter", "maya", "initiative", **body("01_charter.json"))
    assert e.body.phase == "pilot" and e.body.kpis[0].metric
    add("pilot", "raj", "deployment", **body("02_pilot_deployment.json"))
    add("metrics", "dashboards", "measurement", links=[("measures", "pilot")],
        **body("03_pilot_measurement.json"))
    add("alert", "dashboards", "alert", metric="conversion_rate", segment="home & garden",
        baseline=2.0, current=1.1, detector="acute_drop", detail="from python")
    add("gap", "ana", "finding", links=[("derived_from", "metrics")],
        **body("04_finding_gap.json"))
    add("hyp", "ana", "hypothesis", links=[("derived_from", "gap")],
        **body("05_hypothesis.json"))
    add("exp", "leo", "experiment", links=[("tests", "hyp")], **body("06_experiment.json"))
    add("ab", "dashboards", "measurement", links=[("measures", "exp")],
        **body("07_experiment_measurement.json"))
    add("concl", "ana", "finding", links=[("concludes", "exp"), ("supports", "hyp"),
                                          ("derived_from", "ab")],
        **body("08_finding_conclusion.json"))
    add("adj", "sofia", "adjustment", links=[("addresses", "concl")],
        **body("09_adjustment.json"))
    e = add("ok", "dana", "decision", links=[("decides", "adj")], **body("10_decision.json"))
    assert e.body.outcome == "approved" and e.links[0].relation == "decides"
    add("wide", "raj", "deployment", links=[("cites", "exp"), ("implements", "adj"),
                                            ("follows", "pilot")],
        **body("11_widening_deployment.json"))
    add("review", "maya", "review", links=[("reviews", "wide")], **body("12_review.json"))
    add("plan", "maya", "scaling_plan", links=[("derived_from", "concl")],
        **body("13_scaling_plan.json"))
    add("project", "ana", "roadmap_project", links=[("spawned_by", "concl")],
        **body("14_roadmap_project.json"))
    e = add("fix", "ana", "correction", links=[("supersedes", "gap")], reason="typo in summary")
    with ledger.client("admin") as c:
        assert c.get_entry(seq["gap"]).superseded_by == seq["fix"]
    add("note", "ana", "note", text="every kind, from python")

    # Governance kinds, signed by the admin.
    svc = ll.Signer.generate("svc")
    r, e = append_as(ledger, "admin", "actor", actor_id="svc", display_name="Python service",
                     roles=["service"], public_key=svc.public_key)
    assert e.body.roles == ["service"] and e.body.public_key == svc.public_key
    append_as(ledger, "admin", "role_grant", actor_id="svc", roles=["service", "contributor"],
              reason="also writes findings")
    new = ll.Signer.generate("svc")
    append_as(ledger, "admin", "key_rotation", actor_id="svc",
              new_public_key=new.public_key, reason="scheduled rotation")
    append_as(ledger, "admin", "revocation", actor_id="svc", keyid=new.keyid,
              reason="leaving")
    r, e = append_as(ledger, "admin", "policy", name="python pricing guard",
                     kinds=["adjustment"], application="fraud",
                     threshold_field="magnitude_percent", threshold=50,
                     level="review_and_approval", approvals=1)
    assert e.body.kinds == ["adjustment"] and e.body.level == "review_and_approval"

    # The genesis is the server's alone.
    with ledger.client("admin") as c:
        with pytest.raises(ll.RpcError) as ei:
            c.append.genesis(origin="x", server={"actor_id": "a"}, admin={"actor_id": "b"})
        assert ei.value.code in ("INVALID_ARGUMENT", "PERMISSION_DENIED")


def test_signature_and_authorship_are_enforced(ledger):
    with ledger.client("ana") as c:
        # Signed by ana's key, claiming to be leo: refused, nothing written.
        size = c.ledger.get_checkpoint().tree_size
        with pytest.raises(ll.errors.PermissionDenied):
            c.append.note(text="x", author="leo")
        # A signature over other bytes than the payload is refused.
        b = signing.build_body("note", "ana", fields={"text": "original"})
        env = c.signer.sign_body(b)
        env.payload = env.payload.replace(b"original", b"modified")
        with pytest.raises(ll.RpcError) as ei:
            c.append.envelope(env)
        assert ei.value.code in ("PERMISSION_DENIED", "INVALID_ARGUMENT", "UNAUTHENTICATED")
        assert c.ledger.get_checkpoint().tree_size == size


def test_resubmitting_is_a_duplicate(ledger):
    with ledger.client("ana") as c:
        b = signing.build_body("note", "ana", "reco-engine", fields={"text": "once"})
        env = c.signer.sign_body(b)
        a = c.append.envelope(env)
        again = c.append.envelope(env)
        assert again.duplicate and again.seq == a.seq and again.leaf_hash == a.leaf_hash
        # The leaf stores the payload exactly as signed.
        assert c.get_entry(a.seq).log_entry.envelope.payload == b.SerializeToString()
        assert base64.b64encode(env.signatures[0].sig)
