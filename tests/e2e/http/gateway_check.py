#!/usr/bin/python3
"""JSON gateway against gRPC: every /v1 route answers exactly what the RPC
answers for the same request, in protobuf's canonical JSON mapping as
Python's reference implementation (google.protobuf.json_format) writes it
with default values included; errors carry {code, message} and
grpc-gateway's HTTP status for the code.

usage: gateway_check.py GRPC_HOST:PORT HTTP_BASE PROTO_DIR SEQS_FILE

Plaintext loopback servers (the test starts them). Exits non-zero with the
first difference.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

GRPC, BASE, PROTO_DIR, SEQS = sys.argv[1:5]

gen = tempfile.mkdtemp(prefix="ll-pygen-")
protos = [os.path.relpath(os.path.join(d, f), PROTO_DIR)
          for d, _, fs in os.walk(PROTO_DIR) for f in fs if f.endswith(".proto")]
subprocess.run(["protoc", "--proto_path=" + PROTO_DIR, "--python_out=" + gen] + protos,
               check=True)
sys.path.insert(0, gen)

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from loopledger.v1 import governance_pb2 as gov  # noqa: E402
from loopledger.v1 import ledger_pb2 as led  # noqa: E402
from loopledger.v1 import loop_pb2 as loop  # noqa: E402
from loopledger.v1 import roadmap_pb2 as rm  # noqa: E402

seqs = dict(l.split() for l in open(SEQS) if l.strip())
s = {k: int(v) for k, v in seqs.items()}
chan = grpc.insecure_channel(GRPC)

L, P, R, G = ("/loopledger.v1.LedgerService/", "/loopledger.v1.LoopService/",
              "/loopledger.v1.RoadmapService/", "/loopledger.v1.GovernanceService/")

# (HTTP path with query, RPC path, request message, response class)
NOW = "1900000000000000000"  # fixed "now" so both answers agree on overdue reviews
cases = [
    ("/v1/entries/0", L + "GetEntry", led.GetEntryRequest(seq=0), led.GetEntryResponse),
    ("/v1/entries/%d" % s["conclusion"], L + "GetEntry", led.GetEntryRequest(seq=s["conclusion"]),
     led.GetEntryResponse),
    ("/v1/entries?pageSize=4", L + "ListEntries", led.ListEntriesRequest(page_size=4),
     led.ListEntriesResponse),
    ("/v1/entries?initiative=reco-engine&kind=KIND_FINDING", L + "ListEntries",
     led.ListEntriesRequest(initiative="reco-engine", kind=26),
     led.ListEntriesResponse),
    ("/v1/checkpoint", L + "GetCheckpoint", led.GetCheckpointRequest(), led.GetCheckpointResponse),
    ("/v1/checkpoint?tree_size=5", L + "GetCheckpoint", led.GetCheckpointRequest(tree_size=5),
     led.GetCheckpointResponse),
    ("/v1/entries/3/inclusion-proof?treeSize=10", L + "GetInclusionProof",
     led.GetInclusionProofRequest(seq=3, tree_size=10), led.GetInclusionProofResponse),
    ("/v1/consistency-proof?oldSize=3&newSize=11", L + "GetConsistencyProof",
     led.GetConsistencyProofRequest(old_size=3, new_size=11), led.GetConsistencyProofResponse),
    ("/v1/initiatives/reco-engine?nowUnixNanos=" + NOW, P + "GetInitiative",
     loop.GetInitiativeRequest(initiative="reco-engine", now_unix_nanos=int(NOW)),
     loop.InitiativeState),
    ("/v1/initiatives/reco-engine?asOfSize=%d&kpiWindow=2" % (s["adjustment"] + 1), P + "GetInitiative",
     loop.GetInitiativeRequest(initiative="reco-engine", as_of_size=s["adjustment"] + 1,
                               kpi_window=2),
     loop.InitiativeState),
    ("/v1/entries/%d/lineage?backHops=3&forwardHops=2" % s["conclusion"], P + "GetLineage",
     loop.GetLineageRequest(seq=s["conclusion"], back_hops=3, forward_hops=2), loop.Lineage),
    ("/v1/open-loops", P + "ListOpenLoops", loop.ListOpenLoopsRequest(), loop.ListOpenLoopsResponse),
    ("/v1/open-loops?kind=OPEN_LOOP_FINDING_NOT_ACTED_ON&page_size=1", P + "ListOpenLoops",
     loop.ListOpenLoopsRequest(kind=loop.OPEN_LOOP_FINDING_NOT_ACTED_ON, page_size=1),
     loop.ListOpenLoopsResponse),
    ("/v1/initiatives?nowUnixNanos=%s&kpiWindow=10" % NOW, R + "ListInitiatives",
     rm.ListInitiativesRequest(now_unix_nanos=int(NOW), kpi_window=10), rm.ListInitiativesResponse),
    ("/v1/initiatives?initiative=reco-engine&nowUnixNanos=" + NOW, R + "ListInitiatives",
     rm.ListInitiativesRequest(initiative="reco-engine", now_unix_nanos=int(NOW)),
     rm.ListInitiativesResponse),
    ("/v1/roadmap/priorities", R + "Prioritize", rm.PrioritizeRequest(), rm.PrioritizeResponse),
    ("/v1/experiments/%d/readout" % s["experiment"], R + "GetExperimentReadout",
     rm.GetExperimentReadoutRequest(experiment_seq=s["experiment"]), rm.ExperimentReadout),
    ("/v1/loop-health?nowUnixNanos=" + NOW, R + "GetLoopHealth",
     rm.GetLoopHealthRequest(now_unix_nanos=int(NOW)), rm.GetLoopHealthResponse),
    ("/v1/decisions?evidenceHops=2", G + "DecisionHistory", gov.DecisionHistoryRequest(evidence_hops=2),
     gov.DecisionHistoryResponse),
    ("/v1/pending-approvals", G + "PendingApprovals", gov.PendingApprovalsRequest(),
     gov.PendingApprovalsResponse),
    ("/v1/actors/ana", G + "ActorHistory", gov.ActorHistoryRequest(actor_id="ana"),
     gov.ActorHistoryResponse),
]


def http_get(path):
    try:
        with urllib.request.urlopen(BASE + path, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def rpc(path, req, resp_cls):
    call = chan.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                            response_deserializer=resp_cls.FromString)
    return call(req, timeout=30)


def canon(msg):
    return json_format.MessageToDict(msg, including_default_value_fields=True)


def same(a, b, where):
    """Equal JSON values; numbers compare as floats (text forms differ)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            sys.exit("%s: keys differ: only gateway %s, only gRPC %s"
                     % (where, sorted(set(a) - set(b)), sorted(set(b) - set(a))))
        for k in a:
            same(a[k], b[k], where + "." + k)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            sys.exit("%s: %d elements vs %d" % (where, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, "%s[%d]" % (where, i))
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        if abs(a - b) > 1e-9 * max(1.0, abs(a), abs(b)):
            sys.exit("%s: %r vs %r" % (where, a, b))
    elif a != b:
        sys.exit("%s: gateway %r vs gRPC %r" % (where, a, b))


for path, method, req, cls in cases:
    st, got = http_get(path)
    if st != 200:
        sys.exit("%s: HTTP %d %r" % (path, st, got))
    want = canon(rpc(method, req, cls))
    same(got, want, path)
    print("same answer: GET %s == %s" % (path, method))

# One KPI definition: the portfolio's KPIs are GetInitiative's, field for
# field (same message, same computation), and the demo's are measured.
port = rpc(R + "ListInitiatives", rm.ListInitiativesRequest(initiative="reco-engine", kpi_window=7),
           rm.ListInitiativesResponse).initiatives[0]
state = rpc(P + "GetInitiative", loop.GetInitiativeRequest(initiative="reco-engine", kpi_window=7),
            loop.InitiativeState)
if len(state.kpis) < 2 or list(port.kpis) != list(state.kpis):
    sys.exit("portfolio KPIs differ from GetInitiative's:\n%s\nvs\n%s" % (port.kpis, state.kpis))
for k in state.kpis:
    if k.track not in (loop.KPI_TRACK_ON_TRACK, loop.KPI_TRACK_OFF_TRACK) or \
            len(k.recent_unix_nanos) != len(k.recent_seqs) or not k.recent_seqs or \
            k.recent_unix_nanos[-1] != k.latest_unix_nanos or k.recent_seqs[-1] != k.latest_seq:
        sys.exit("KPI %s: not measured, or its times do not match its measurements: %s"
                 % (k.kpi.metric, k))
print("KPIs: ListInitiatives == GetInitiative for %d KPIs (%s)"
      % (len(state.kpis), ", ".join("%s %s" % (k.kpi.metric, loop.KpiTrack.Name(k.track))
                                    for k in state.kpis)))

# Paging by page_token: ListEntries pages cover the log exactly once.
cp = rpc(L + "GetCheckpoint", led.GetCheckpointRequest(), led.GetCheckpointResponse)
tok, n, pages = "", 0, 0
while True:
    st, page = http_get("/v1/entries?pageSize=3" + ("&pageToken=" + urllib.parse.quote(tok) if tok else ""))
    assert st == 200, page
    n += len(page["leaves"])
    pages += 1
    tok = page["nextPageToken"]
    if not tok:
        break
if n != cp.tree_size:
    sys.exit("paging covered %d entries of %d" % (n, cp.tree_size))
print("paging: %d pages of ListEntries cover all %d entries" % (pages, n))

# Errors: {code, message} with grpc-gateway's status, the same code gRPC gives.
errors = [
    ("/v1/entries/999999", L + "GetEntry", led.GetEntryRequest(seq=999999), led.GetEntryResponse, 5, 404),
    ("/v1/entries/3/inclusion-proof?treeSize=999999", L + "GetInclusionProof",
     led.GetInclusionProofRequest(seq=3, tree_size=999999), led.GetInclusionProofResponse, 11, 400),
    ("/v1/entries?pageToken=bogus", L + "ListEntries", led.ListEntriesRequest(page_token="bogus"),
     led.ListEntriesResponse, 3, 400),
    ("/v1/initiatives/no-such-initiative", P + "GetInitiative",
     loop.GetInitiativeRequest(initiative="no-such-initiative"), loop.InitiativeState, 5, 404),
    ("/v1/initiatives?pageSize=5000", R + "ListInitiatives", rm.ListInitiativesRequest(page_size=5000),
     rm.ListInitiativesResponse, 3, 400),
    ("/v1/initiatives?kpiWindow=51", R + "ListInitiatives", rm.ListInitiativesRequest(kpi_window=51),
     rm.ListInitiativesResponse, 3, 400),
]
for path, method, req, cls, code, status in errors:
    st, got = http_get(path)
    try:
        rpc(method, req, cls)
        sys.exit("%s: gRPC succeeded" % method)
    except grpc.RpcError as e:
        gcode, gmsg = e.code().value[0], e.details()
    if (st, got.get("code")) != (status, code) or gcode != code or got.get("message") != gmsg:
        sys.exit("%s: HTTP %d %r; gRPC %d %r; want HTTP %d code %d"
                 % (path, st, got, gcode, gmsg, status, code))
    print("error: GET %s -> HTTP %d {code %d} as gRPC" % (path, st, code))

# Malformed parameters never reach the RPC.
for path, status, code in [("/v1/entries?pageSize=-1", 400, 3), ("/v1/entries?nosuch=1", 400, 3),
                           ("/v1/entries/abc", 400, 3), ("/v1/no/such/route", 404, 5),
                           ("/v1/open-loops?kind=NOT_A_KIND", 400, 3)]:
    st, got = http_get(path)
    if st != status or got.get("code") != code or not got.get("message"):
        sys.exit("%s: HTTP %d %r, want %d code %d" % (path, st, got, status, code))
    print("refused: GET %s -> HTTP %d {code %d, message %r}" % (path, st, code, got["message"]))
print("gateway: %d routes match gRPC" % len(cases))
