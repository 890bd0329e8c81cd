"""A dashboard job writes what it measured, then reads where the loop
stands and what the roadmap says next: the whole round trip from Python.

    # against ./ops/run's server, as the demo's "dashboards" service actor
    cd clients/python
    LOOPLEDGER_CA=../../var/tls/ca.crt LOOPLEDGER_CERT=../../var/tls/dashboards.crt \\
    LOOPLEDGER_KEY=../../var/tls/dashboards.key \\
    LOOPLEDGER_VKEY="$(../../build/api/loopledgerd verifier-key --data ../../var/ledger)" \\
    python3 examples/dashboard.py --key ../../var/keys/demo/dashboards.key \\
        --initiative reco-engine --measures 9

Connection settings come from LOOPLEDGER_SERVER / _CA / _CERT / _KEY (as
for loopctl); LOOPLEDGER_VKEY, when set, makes every read verified.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import loopledger as ll  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--key", required=True, help="the service actor's signing key (PKCS#8 PEM)")
    ap.add_argument("--actor", help="actor id (default: the key file's name)")
    ap.add_argument("--initiative", default="reco-engine")
    ap.add_argument("--measures", type=int, help="seq of the deployment or experiment measured")
    ap.add_argument("--state", help="file remembering the last verified checkpoint")
    a = ap.parse_args(argv)

    verify = bool(os.environ.get("LOOPLEDGER_VKEY"))
    with ll.Client(signer=ll.Signer.from_file(a.key, actor=a.actor), state_file=a.state) as c:
        # 1. Record this hour's numbers: one signed measurement entry.
        r = c.append.measurement(
            initiative=a.initiative, source="recommendation dashboard (hourly job)",
            links=[ll.measures(a.measures)] if a.measures else [],
            observations=[
                {"metric": "click_through_rate", "value": 7.9, "unit": "%",
                 "segment": "all categories", "sample_size": 21000},
                {"metric": "conversion_rate", "value": 3.4, "unit": "%",
                 "segment": "all categories", "sample_size": 21000},
            ])
        print("recorded measurement #%d (leaf %s%s)" % (
            r.seq, r.leaf_hash.hex()[:16], ", duplicate" if r.duplicate else ""))
        if verify:
            e = c.get_entry(r.seq, verify=True)
            print("  verified in the log under checkpoint of size %d" % c.trusted.tree_size)
            assert e.verified

        # 2. Where does the initiative stand?
        s = c.loop.get_initiative(initiative=a.initiative)
        print("%s: %s, phase %s, cycle %d, stage %s, max rollout %g%%" % (
            a.initiative, s.title, s.phase, s.cycle, s.stage, s.max_rollout_percent))
        for f in s.unacted_findings:
            print("  finding not acted on: #%d %s" % (f.seq, f.summary))

        # 3. What next? The roadmap, ranked from the ledger's evidence.
        for p in c.roadmap.prioritize():
            print("  roadmap #%d: %s (score %.2f, evidence %s)" % (
                p.rank, p.title, p.score, ",".join(map(str, p.evidence_seqs)) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
