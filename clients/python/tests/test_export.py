"""Exports for BI tools: `loopctl export` CSV and JSON Lines read back with
Python's csv module (and pandas), row for row against GetEntry; the Python
client's export writes the same bytes."""
import csv
import io
import json
import subprocess

import pytest

from loopledger import rows as R


def loopctl_export(ledger, *args):
    t = ledger.tls("admin")
    r = subprocess.run([ledger.loopctl, "--server", ledger.server, "--tls-ca", t["ca"],
                        "--tls-cert", t["cert"], "--tls-key", t["key"], "export"] + list(args),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_csv_rows_match_get_entry(ledger, admin):
    text = loopctl_export(ledger, "--initiative", "reco-engine")
    rows = list(csv.DictReader(io.StringIO(text)))
    entries = admin.list_entries(initiative="reco-engine").list()
    assert len(rows) == len(entries) > 10
    assert list(rows[0].keys()) == R.entry_columns()
    for row in rows:
        e = admin.get_entry(int(row["seq"]))
        assert row["kind"] == e.kind and row["author"] == e.author
        assert row["initiative"] == "reco-engine" and row["status"] == e.status
        assert row["server_time_unix_nanos"] == str(e.server_time_unix_nanos)
        assert row["superseded_by"] == (str(e.superseded_by) if e.superseded_by else "")
        assert row["links"] == ";".join("%s:%d" % (l.relation, l.target_seq) for l in e.links)
        kf = e.kind_field
        for k, v in e.body.items():
            if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                cell = row["%s.%s" % (kf, k)]
                assert (float(cell) == v) if isinstance(v, float) else cell == str(v), k
            elif v is None and not isinstance(v, list):
                pass
        # Other kinds' columns are empty.
        others = [c for c in rows[0] if "." in c and not c.startswith(kf + ".")]
        assert all(row[c] == "" for c in others)
    s = ledger.seqs
    charter = next(r for r in rows if int(r["seq"]) == s["charter"])
    assert charter["charter.phase"] == "pilot" and charter["charter.application"] == "recommendation"
    kpis = json.loads(charter["charter.kpis"])
    assert kpis[0]["metric"] == admin.get_entry(s["charter"]).body.kpis[0].metric
    conclusion = next(r for r in rows if int(r["seq"]) == s["conclusion"])
    assert conclusion["links"].split(";") == [
        "concludes:%d" % s["experiment"], "supports:%d" % s["hypothesis"],
        "derived_from:%d" % s["ab_metrics"]]


def test_pandas_reads_the_export(ledger, admin):
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(io.StringIO(loopctl_export(ledger, "--kind", "finding")))
    findings = admin.list_entries(kind="finding").list()
    assert len(df) == len(findings)
    assert list(df["seq"]) == [f.seq for f in findings]
    assert list(df["finding.summary"]) == [f.body.summary for f in findings]
    assert list(df.columns) == R.entry_columns("finding")


def test_observations_are_tidy(ledger, admin):
    text = loopctl_export(ledger, "--observations", "--initiative", "reco-engine")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == R.OBSERVATION_COLUMNS
    want = []
    for e in admin.list_entries(kind="measurement", initiative="reco-engine"):
        for o in e.body.observations:
            want.append((e.seq, o.metric, o.segment, o.arm, o.value, o.sample_size))
    got = [(int(r["seq"]), r["metric"], r["segment"], r["arm"], float(r["value"]),
            int(r["sample_size"])) for r in rows]
    assert got == want and len(got) >= 8
    # The same rows from Python, as records and as a frame.
    recs = admin.observations(initiative="reco-engine").to_records()
    assert [(r["seq"], r["metric"], r["value"]) for r in recs] == [(w[0], w[1], w[4]) for w in want]


def test_python_export_is_byte_identical(ledger, admin, tmp_path):
    for args, kw in ((["--format", "csv"], {}),
                     (["--format", "jsonl"], {"format": "jsonl"}),
                     (["--observations"], {"observations": True}),
                     (["--kind", "measurement", "--as-of", str(ledger.seqs["review"])],
                      {"kind": "measurement", "as_of": ledger.seqs["review"]})):
        c_text = loopctl_export(ledger, "--to", str(ledger.seqs["roadmap_project"] + 1), *args)
        p = tmp_path / "p.out"
        n = admin.export(str(p), to_seq=ledger.seqs["roadmap_project"] + 1, **kw)
        assert p.read_text() == c_text, args
        assert n == c_text.count("\n") - (0 if kw.get("format") == "jsonl" else 1)


def test_as_of_hides_later_corrections(ledger, admin):
    with ledger.client("maya") as c:
        c.append.initiative(initiative="export-asof", title="as-of export", phase="pilot",
                            application="search")
    with ledger.client("ana") as c:
        target = c.append.measurement(initiative="export-asof", source="job",
                                      observations=[{"metric": "m", "value": 1.5}]).seq
        fix = c.append.correction(initiative="export-asof", reason="wrong unit",
                                  links=[("supersedes", target)]).seq
    now = list(csv.DictReader(io.StringIO(loopctl_export(ledger, "--kind", "measurement"))))
    assert next(r for r in now if int(r["seq"]) == target)["superseded_by"] == str(fix)
    then = list(csv.DictReader(io.StringIO(
        loopctl_export(ledger, "--kind", "measurement", "--as-of", str(fix)))))
    assert next(r for r in then if int(r["seq"]) == target)["superseded_by"] == ""
    assert all(int(r["seq"]) < fix for r in then)


def test_jsonl_is_typed(ledger, admin):
    lines = loopctl_export(ledger, "--format", "jsonl", "--kind", "experiment").splitlines()
    objs = [json.loads(x) for x in lines]
    e = admin.get_entry(objs[0]["seq"])
    assert objs[0]["experiment.planned_sample_size"] == e.body.planned_sample_size
    assert objs[0]["experiment.control.name"] == e.body.control.name
    assert isinstance(objs[0]["experiment.variants"], list)
    assert objs[0]["experiment.guardrail_metrics"] == e.body.guardrail_metrics
