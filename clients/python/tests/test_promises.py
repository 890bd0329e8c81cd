"""Append's answer from Python: dry_run=True (AppendRequest.validate_only)
writes nothing and answers what a real append would; effects say what the
entry caused (pending under a policy, approvals, became effective, the
superseded entry), with enums by name."""
import pytest

import loopledger as ll


def size(c):
    return c.ledger.get_checkpoint().tree_size


def test_dry_run_writes_nothing_and_answers_like_append(ledger):
    with ledger.client("ana") as c:
        before = size(c)
        r = c.append.note(initiative="reco-engine", text="just checking", dry_run=True)
        assert r.validate_only is True and r.seq == before and r.leaf_hash == b""
        assert r.status == "effective" and r.effects == []
        assert size(c) == before
        # A dry run is refused exactly as the append would be.
        with pytest.raises(ll.errors.PermissionDenied):
            c.append.note(text="x", author="leo", dry_run=True)
        with pytest.raises(ll.errors.NotFound):  # an initiative must be chartered first
            c.append.finding(initiative="no-such-initiative", summary="s",
                             evidence="qualitative", source="user_survey", dry_run=True)
        assert size(c) == before
        real = c.append.note(initiative="reco-engine", text="just checking")
        assert real.validate_only is False and real.seq == before and len(real.leaf_hash) == 32


def test_effects_of_a_policy_an_approval_and_a_correction(ledger):
    with ledger.client("admin") as c:
        pol = c.append.policy(name="python: big fraud-model changes", kinds=["adjustment"],
                              application="fraud", threshold_field="magnitude_percent",
                              threshold=20, level="exception_handling", approvals=1).seq
    with ledger.client("maya") as c:
        c.append.initiative(initiative="py-fraud", title="Fraud model", application="fraud",
                            phase="pilot")
    with ledger.client("ana") as c:
        f = c.append.finding(initiative="py-fraud", summary="chargebacks up",
                             evidence="quantitative", source="dashboard",
                             diagnosis="data_pattern_shift").seq
        # What would happen, then what happened: the same answer.
        kw = dict(initiative="py-fraud", category="algorithm", change="retrain weekly",
                  magnitude_percent=35, links=[ll.addresses(f)])
        dry = c.append.adjustment(dry_run=True, **kw)
        adj = c.append.adjustment(**kw)
    for r in (dry, adj):
        assert r.status == "pending"
        assert [(e.type, e.policy_seq, e.level, e.approvals_required) for e in r.effects] == \
            [("pending", pol, "exception_handling", 1)]
        assert r.effects[0].description
    assert adj.effects[0].seq == adj.seq
    with ledger.client("dana") as c:
        d = c.append.decision(initiative="py-fraud", level="exception_handling",
                              outcome="approved", rationale="backtested",
                              links=[ll.decides(adj.seq)])
        assert [(e.type, e.seq) for e in d.effects] == [("became_effective", adj.seq)]
        assert c.get_entry(adj.seq).status == "effective"
    with ledger.client("ana") as c:
        fix = c.append.correction(initiative="py-fraud", reason="wrong source",
                                  links=[ll.supersedes(f)])
        assert [(e.type, e.seq) for e in fix.effects] == [("supersedes", f)]


def test_charter_patch_keeps_what_it_does_not_name(ledger):
    with ledger.client("maya") as c:
        ch = c.append.initiative(initiative="py-patch", title="Search ranking",
                                 application="search", phase="pilot",
                                 review_cadences=["weekly"], kpis=[{"metric": "ndcg"}]).seq
        r = c.append.initiative(initiative="py-patch", phase="scaling", update_mask=["phase"],
                                links=[ll.follows(ch)])
        eff = r.effective.charter
        assert eff.phase == "scaling" and eff.title == "Search ranking"
        assert eff.review_cadences == ["weekly"] and [k.metric for k in eff.kpis] == ["ndcg"]
        e = c.get_entry(r.seq)
        assert e.effective.title == "Search ranking" and e.effective.phase == "scaling"
        assert c.get_entry(ch).updated_by == r.seq
        with pytest.raises(ll.errors.InvalidArgument):
            c.append.initiative(initiative="py-patch", update_mask=["cadences"],
                                links=[ll.follows(r.seq)])
