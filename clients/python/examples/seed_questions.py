"""The seed's five questions, answered from Python (each function's body is
the code an analyst types in a notebook).

    LOOPLEDGER_SERVER=127.0.0.1:7600 LOOPLEDGER_CA=var/tls/ca.crt \
    LOOPLEDGER_CERT=var/tls/admin.crt LOOPLEDGER_KEY=var/tls/admin.key \
    python3 clients/python/examples/seed_questions.py
"""
import loopledger as ll


def state_of_initiative(c, initiative):
    """Where is the initiative in its loop, and what is left open?"""
    s = c.loop.get_initiative(initiative=initiative)
    return s.phase, s.cycle, s.stage, [f.seq for f in s.unacted_findings]


def evidence_behind_project(c, project_seq):
    """Which entries does a roadmap project rest on?"""
    lin = c.loop.get_lineage(seq=project_seq, back_hops=5, forward_hops=0)
    return {n.seq: (n.kind, n.summary) for n in lin.nodes if n.seq != project_seq}


def unacted_findings(c):
    """Which findings has nobody acted on yet, in any initiative?"""
    return [(o.entry.initiative, o.entry.seq, o.entry.summary)
            for o in c.loop.list_open_loops(kind="finding_not_acted_on")]


def approver_decisions(c, approver):
    """What did this approver decide, on what, at which HITL level?"""
    return [(d.decision.seq, d.level, d.outcome, [x.entry.seq for x in d.decided])
            for d in c.governance.decision_history(approver=approver)]


def ranked_roadmap(c):
    """Which projects next, ranked from the ledger's evidence?"""
    return c.roadmap.prioritize().to_records()


if __name__ == "__main__":
    with ll.Client() as c:
        print("state:", state_of_initiative(c, "reco-engine"))
        top = c.roadmap.prioritize().list()[0]
        print("evidence behind #%d:" % top.project.seq, evidence_behind_project(c, top.project.seq))
        print("unacted findings:", unacted_findings(c))
        print("dana decided:", approver_decisions(c, "dana"))
        for p in ranked_roadmap(c):
            print("roadmap: #%s %s score %.3f" % (p["rank"], p["title"], p["score"]))
