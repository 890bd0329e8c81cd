"""Entries and observations as rows: the one place that decides columns,
shared by the notebook helpers and the exports. The layout is the one
`loopctl export` writes (README, "Exports"):

entries:      seq, server_time, server_time_unix_nanos, kind, initiative,
              author, status, superseded_by, links, keyid, then the body
              columns "<kind field>.<field>[.<field>...]" in .proto order
observations: OBSERVATION_COLUMNS
"""
import base64
import datetime
import json

from google.protobuf.descriptor import FieldDescriptor

from . import _proto
from .records import Record

ENTRY_COLUMNS = ["seq", "server_time", "server_time_unix_nanos", "kind", "initiative",
                 "author", "status", "superseded_by", "links", "keyid"]
OBSERVATION_COLUMNS = ["initiative", "seq", "server_time", "metric", "segment", "arm",
                       "value", "sample_size", "unit", "stddev", "window_start_unix_nanos",
                       "window_end_unix_nanos", "source", "author", "status", "superseded_by"]

_STATUS = None


def _status_name(n):
    global _STATUS
    if _STATUS is None:
        _STATUS = _proto.POOL.FindEnumTypeByName("loopledger.v1.ApprovalStatus")
    return _proto.enum_name(_STATUS, n) if isinstance(n, int) else n


def rfc3339(nanos):
    """Unix nanoseconds as RFC 3339 UTC with nine fractional digits."""
    s, ns = divmod(int(nanos), 1_000_000_000)
    t = datetime.datetime.fromtimestamp(s, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % ns


def entry(leaf, status=0, superseded_by=0, verified=False):
    """A leaf (serialized LogEntry) decoded into a Record: seq,
    server_time_unix_nanos, author, initiative, client_time_unix_nanos,
    kind, links, body (the kind's fields), keyid, status, superseded_by,
    leaf, verified. The raw messages are kept as .log_entry and .body_msg."""
    le = _proto.msg("LogEntry").FromString(leaf)
    body = _proto.msg("EntryBody").FromString(le.envelope.payload)
    kf = body.WhichOneof("kind")
    kind_num = body.DESCRIPTOR.fields_by_name[kf].number if kf else 0
    e = Entry(seq=le.seq, server_time_unix_nanos=le.server_time_unix_nanos,
               kind=_kind_name(kind_num), kind_field=kf, author=body.author,
               initiative=body.initiative,
               client_time_unix_nanos=body.client_time_unix_nanos,
               links=[Record(relation=_proto.enum_name(_relation(), l.relation),
                             target_seq=l.target_seq) for l in body.links],
               body=_proto.to_py(getattr(body, kf)) if kf else Record(),
               keyid=le.envelope.signatures[0].keyid if le.envelope.signatures else "",
               status=_status_name(status), superseded_by=superseded_by or 0,
               leaf=leaf, verified=verified)
    e["log_entry"] = le
    e["body_msg"] = body
    return e


class Entry(Record):
    """A decoded log entry (see entry()); to_records() gives its export row."""

    def to_records(self):
        return [entry_row(self)]

    def observations(self):
        """Its observations as rows, when it is a measurement."""
        return list(observation_rows(self))


def _kind_name(n):
    return _proto.enum_name(_proto.POOL.FindEnumTypeByName("loopledger.v1.Kind"), n)


def _relation():
    return _proto.POOL.FindEnumTypeByName("loopledger.v1.Relation")


def fmt_double(v):
    """Shortest of %.15g..%.17g that reads back exactly (loopctl's form)."""
    if v != v or v in (float("inf"), float("-inf")):
        return ""
    for p in (15, 16, 17):
        s = "%.*g" % (p, v)
        if float(s) == v:
            return s
    return s


def links_text(links):
    return ";".join("%s:%d" % (l["relation"], l["target_seq"]) for l in links)


def body_columns(kind_field):
    """The dotted body columns of one EntryBody field ("finding")."""
    f = _proto.msg("EntryBody").DESCRIPTOR.fields_by_name[kind_field]
    out = []
    _columns(f.message_type, kind_field + ".", out)
    return out


def _fields(md):
    """Fields in field-number order (loopctl's protobuf-c order)."""
    return sorted(md.fields, key=lambda f: f.number)


def _columns(md, prefix, out):
    for f in _fields(md):
        if f.type == FieldDescriptor.TYPE_MESSAGE and f.label != FieldDescriptor.LABEL_REPEATED:
            _columns(f.message_type, prefix + f.name + ".", out)
        else:
            out.append(prefix + f.name)


def kind_fields(kind=None):
    """EntryBody kind fields in .proto order, or the one of kind ("finding")."""
    body = _proto.msg("EntryBody").DESCRIPTOR
    fields = [f.name for f in sorted(body.oneofs_by_name["kind"].fields, key=lambda f: f.number)]
    if kind:
        n = _proto.enum_number(_proto.POOL.FindEnumTypeByName("loopledger.v1.Kind"), kind)
        return [body.fields_by_number[n].name]
    return fields


def _subcolumns(md, prefix):
    out = []
    _columns(md, prefix, out)
    return out


def entry_columns(kind=None):
    cols = list(ENTRY_COLUMNS)
    for kf in kind_fields(kind):
        cols.extend(body_columns(kf))
    return cols


def _jsonable(m):
    """A message as loopctl's JSON writes it: .proto order, defaults in,
    unset sub-messages and oneof members out, enums by name, bytes base64."""
    out = {}
    for f in _fields(m.DESCRIPTOR):
        if f.containing_oneof is not None and m.WhichOneof(f.containing_oneof.name) != f.name:
            continue
        v = getattr(m, f.name)
        if f.label == FieldDescriptor.LABEL_REPEATED:
            out[f.name] = [_jsonable(x) if f.type == FieldDescriptor.TYPE_MESSAGE
                           else _json_scalar(f, x) for x in v]
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            if m.HasField(f.name):
                out[f.name] = _jsonable(v)
        else:
            out[f.name] = _json_scalar(f, v)
    return out


def _json_scalar(f, v):
    if f.type == FieldDescriptor.TYPE_ENUM:
        # As loopctl's JSON: the value's name without the enum's common
        # prefix, "unspecified" included; unknown values as numbers.
        ev = f.enum_type.values_by_number.get(v)
        return v if ev is None else ev.name[len(_c_prefix(f.enum_type)):].lower()
    if f.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(v).decode()
    return v


def _c_prefix(ed):
    """loopctl's enum prefix: the common leading characters of every value
    name, cut back to an underscore."""
    names = [v.name for v in ed.values]
    if len(names) < 2:
        return ""
    n = len(names[0])
    for x in names[1:]:
        k = 0
        while k < n and k < len(x) and names[0][k] == x[k]:
            k += 1
        n = k
    while n > 0 and names[0][n - 1] != "_":
        n -= 1
    return names[0][:n]


def dumps(v):
    """Compact JSON as loopctl writes it (doubles in their shortest exact form)."""
    return _dumps(v)


def _dumps(v):
    if isinstance(v, float):
        return fmt_double(v) or "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _dumps(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_dumps(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def _cells(m, prefix, out, typed):
    """Flattens message m into out[prefix + dotted name]."""
    for f in _fields(m.DESCRIPTOR):
        key = prefix + f.name
        v = getattr(m, f.name)
        if f.label == FieldDescriptor.LABEL_REPEATED:
            if f.type == FieldDescriptor.TYPE_MESSAGE:
                items = [_jsonable(x) for x in v]
                out[key] = items if typed else _dumps(items)
            else:
                items = [_cell(f, x, typed) for x in v]
                out[key] = items if typed else ";".join(items)
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            if m.HasField(f.name):
                _cells(v, key + ".", out, typed)
            elif not typed:
                for c in _subcolumns(f.message_type, key + "."):
                    out[c] = ""
        else:
            out[key] = _cell(f, v, typed)


def _cell(f, v, typed):
    if f.type == FieldDescriptor.TYPE_ENUM:
        return _proto.enum_name(f.enum_type, v) or ""
    if f.type == FieldDescriptor.TYPE_BYTES:
        return v.hex()
    if typed:
        return v
    if f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return fmt_double(v)
    if f.type == FieldDescriptor.TYPE_BOOL:
        return "true" if v else "false"
    return str(v)


def entry_row(e, typed=True, as_of=0):
    """One flat row for an entry Record (see the module doc). typed=False
    gives CSV text cells. as_of: a later correction is not shown."""
    sup = e["superseded_by"] if not as_of or e["superseded_by"] < as_of else 0
    row = {"seq": e["seq"], "server_time": rfc3339(e["server_time_unix_nanos"]),
           "server_time_unix_nanos": e["server_time_unix_nanos"], "kind": e["kind"],
           "initiative": e["initiative"], "author": e["author"], "status": e["status"] or "",
           "superseded_by": sup or ("" if not typed else None),
           "links": links_text(e["links"]), "keyid": e["keyid"]}
    if not typed:
        row = {k: "" if v is None else str(v) for k, v in row.items()}
    kf = e.get("kind_field")
    if kf:
        _cells(getattr(e["body_msg"], kf), kf + ".", row, typed)
    return row


def observation_rows(e, typed=True, as_of=0):
    """One row per observation of a measurement entry (OBSERVATION_COLUMNS)."""
    if e.get("kind_field") != "measurement":
        return
    m = e["body_msg"].measurement
    sup = e["superseded_by"] if not as_of or e["superseded_by"] < as_of else 0
    for o in m.observations:
        row = {"initiative": e["initiative"], "seq": e["seq"],
               "server_time": rfc3339(e["server_time_unix_nanos"]), "metric": o.metric,
               "segment": o.segment, "arm": o.arm, "value": o.value,
               "sample_size": o.sample_size, "unit": o.unit, "stddev": o.stddev,
               "window_start_unix_nanos": o.window_start_unix_nanos,
               "window_end_unix_nanos": o.window_end_unix_nanos, "source": m.source,
               "author": e["author"], "status": e["status"] or "",
               "superseded_by": sup or None}
        if not typed:
            row = {k: "" if v is None else fmt_double(v) if isinstance(v, float) else str(v)
                   for k, v in row.items()}
        yield row
