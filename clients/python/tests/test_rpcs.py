"""Every RPC of every service, called through the Python client over mTLS
against the seeded demo ledger, answers checked against what the demo
recorded."""
import pytest

import loopledger as ll

CALLED = set()


def called(name):
    CALLED.add(name)


def test_health_check_and_watch(admin):
    assert admin.health.check(service="").status == "serving"
    called("grpc.health.v1.Health/Check")
    # loopledgerd serves Check only; the client still has the method, and
    # the server's refusal arrives as an exception with its code.
    with pytest.raises(ll.RpcError) as ei:
        next(iter(admin.health.watch(service="", timeout=5)))
    assert ei.value.code == "UNIMPLEMENTED"
    called("grpc.health.v1.Health/Watch")


def test_ledger_reads(ledger, admin):
    s = ledger.seqs
    e = admin.ledger.get_entry(seq=s["charter"])
    called("loopledger.v1.LedgerService/GetEntry")
    assert e.kind == "initiative" and e.initiative == "reco-engine" and e.author == "maya"
    assert e.body.title == "Recommendation engine pilot"
    assert e.body.phase == "pilot" and e.body.application == "recommendation"
    assert e.status == "effective"

    demo_end = s["roadmap_project"] + 1  # later tests add entries; the demo's are fixed
    rows = admin.ledger.list_entries(initiative="reco-engine", kind="measurement",
                                     to_seq=demo_end).list()
    called("loopledger.v1.LedgerService/ListEntries")
    assert [r.seq for r in rows] == sorted(v for k, v in s.items()
                                           if k in ("pilot_metrics", "ab_metrics"))
    # Paging: a page size of 2 walks every page and yields each entry once.
    everything = admin.ledger.list_entries(page_size=2).list()
    assert [r.seq for r in everything] == list(range(len(everything)))
    assert everything[0].kind == "genesis"

    cp = admin.ledger.get_checkpoint()
    called("loopledger.v1.LedgerService/GetCheckpoint")
    assert cp.tree_size == len(everything) and len(cp.root_hash) == 32
    assert cp.checkpoint.startswith("pytest.test/ledger\n%d\n" % cp.tree_size)

    p = admin.ledger.get_inclusion_proof(seq=3, tree_size=cp.tree_size)
    called("loopledger.v1.LedgerService/GetInclusionProof")
    assert p.seq == 3 and p.root_hash == cp.root_hash and p.hashes

    c = admin.ledger.get_consistency_proof(old_size=5, new_size=cp.tree_size)
    called("loopledger.v1.LedgerService/GetConsistencyProof")
    assert c.old_size == 5 and c.new_root == cp.root_hash

    w = admin.ledger.watch(from_seq=cp.tree_size - 2, timeout=5)
    got = [next(iter(w)).seq, next(iter(w)).seq]
    called("loopledger.v1.LedgerService/Watch")
    assert got == [cp.tree_size - 2, cp.tree_size - 1]


def test_append_answer(ledger):
    with ledger.client("ana") as c:
        r = c.append.note(initiative="reco-engine", text="from python")
        called("loopledger.v1.LedgerService/Append")
        assert r.seq > 0 and len(r.leaf_hash) == 32 and r.duplicate is False
        e = c.get_entry(r.seq)
        assert e.body.text == "from python" and e.author == "ana"
        assert ll.verify.leaf_hash(e.leaf) == r.leaf_hash


def test_loop_service(ledger, admin):
    s = ledger.seqs
    # As of the demo's end: other tests append to reco-engine later.
    st = admin.loop.get_initiative(initiative="reco-engine", as_of_size=s["roadmap_project"] + 1)
    called("loopledger.v1.LoopService/GetInitiative")
    assert st.title == "Recommendation engine pilot" and st.phase == "pilot"
    assert st.stage == "redeploy" and st.max_rollout_percent == 50
    assert [f.seq for f in st.unacted_findings] == [s["open_finding"]]

    lin = admin.loop.get_lineage(seq=s["roadmap_project"], back_hops=5, forward_hops=0)
    called("loopledger.v1.LoopService/GetLineage")
    assert lin.root == s["roadmap_project"]
    assert {"source": s["roadmap_project"], "relation": "spawned_by",
            "target": s["conclusion"]} in lin.edges

    loops = admin.loop.list_open_loops().list()
    called("loopledger.v1.LoopService/ListOpenLoops")
    assert [(x.kind, x.entry.seq) for x in loops] == [("finding_not_acted_on",
                                                       s["open_finding"])]


def test_roadmap_service(ledger, admin):
    s = ledger.seqs
    ranked = admin.roadmap.prioritize().list()
    called("loopledger.v1.RoadmapService/Prioritize")
    assert ranked[0].rank == 1 and ranked[0].project.seq == s["roadmap_project"]
    assert s["conclusion"] in ranked[0].evidence_seqs

    r = admin.roadmap.get_experiment_readout(experiment_seq=s["experiment"])
    called("loopledger.v1.RoadmapService/GetExperimentReadout")
    assert r.experiment.seq == s["experiment"] and r.metric == "conversion_rate"
    assert r.variants and r.variants[0].test in ("two_proportion_z", "welch_t")

    h = admin.roadmap.get_loop_health(initiative="reco-engine")
    called("loopledger.v1.RoadmapService/GetLoopHealth")
    assert h.initiatives[0].initiative == "reco-engine" and h.initiatives[0].findings >= 2

    every = admin.roadmap.list_initiatives().list()
    called("loopledger.v1.RoadmapService/ListInitiatives")
    names = [x.initiative for x in every]
    assert "reco-engine" in names and names == sorted(names)
    # Pages of one (the client follows next_page_token) give the same list.
    assert [x.initiative for x in admin.roadmap.list_initiatives(page_size=1).list()] == names
    one = admin.roadmap.list_initiatives(initiative="reco-engine").list()
    assert [x.initiative for x in one] == ["reco-engine"]
    assert one[0].entries > 0 and one[0].unacted_findings >= 1


def test_governance_service(ledger, admin):
    s = ledger.seqs
    ds = admin.governance.decision_history(approver="dana", initiative="reco-engine").list()
    called("loopledger.v1.GovernanceService/DecisionHistory")
    assert [d.decision.seq for d in ds] == [s["approval"]]
    assert ds[0].outcome == "approved" and ds[0].decided[0].entry.seq == s["adjustment"]

    assert admin.governance.pending_approvals().list() == []
    called("loopledger.v1.GovernanceService/PendingApprovals")

    a = admin.governance.actor_history(actor_id="dana")
    called("loopledger.v1.GovernanceService/ActorHistory")
    assert a.roles == ["approver"] and a.authored_count >= 1

    recs = admin.governance.export_audit().list()
    called("loopledger.v1.GovernanceService/ExportAudit")
    # The first record carries the checkpoint; then one per leaf, with its
    # inclusion proof against it.
    assert recs[0].checkpoint.startswith("pytest.test/ledger\n") and not recs[0].leaf
    leaves = recs[1:]
    assert [r.seq for r in leaves] == list(range(len(leaves)))
    assert all(r.leaf for r in leaves)


def test_errors_carry_code_and_message(ledger, admin):
    with pytest.raises(ll.errors.NotFound) as ei:
        admin.ledger.get_entry(seq=10 ** 9)
    assert ei.value.code == "NOT_FOUND" and len(ei.value.message) > 5
    with pytest.raises(ll.errors.InvalidArgument) as ei:
        admin.loop.get_initiative(initiative="")
    assert ei.value.code == "INVALID_ARGUMENT"
    with pytest.raises(TypeError, match="no field 'nmae'"):
        admin.loop.get_initiative(nmae="x")
    with pytest.raises(ValueError, match="one of: recommendation"):
        admin.roadmap.prioritize(application="bananas")
    # An actor unknown to the ledger is refused at the door.
    with ll.Client(ledger.server, **ledger.tls("mallory")) as m:
        with pytest.raises(ll.errors.Unauthenticated):
            m.ledger.get_checkpoint()


def test_every_rpc_was_called(admin):
    """Runs last in this file: each method of every service has a test above."""
    every = {"%s/%s" % (name, m) for name, svc in admin.services.items() for m in svc.methods}
    assert every - CALLED == set()
