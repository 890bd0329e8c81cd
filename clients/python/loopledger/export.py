"""Exports for BI tools: entries or observations as CSV or JSON Lines,
streamed page by page (constant memory), with the columns of rows.py."""
import csv
import io

from . import rows as _rows


def export(client, out, format="csv", observations=False, as_of=0, **filters):
    """Writes matching entries (ListEntries filters; as_of = a tree size:
    only entries below it, corrections after it not shown) to out, a path
    or a text file. Returns the number of rows written."""
    if format not in ("csv", "jsonl"):
        raise ValueError("format is csv or jsonl")
    if as_of:
        filters["to_seq"] = as_of
    if observations:
        filters["kind"] = "measurement"
        cols = _rows.OBSERVATION_COLUMNS
    else:
        cols = _rows.entry_columns(filters.get("kind"))
    close = False
    if isinstance(out, str):
        out = open(out, "w", newline="")
        close = True
    n = 0
    index = {c: i for i, c in enumerate(cols)}
    try:
        w = None
        if format == "csv":
            w = csv.writer(out, lineterminator="\n")
            w.writerow(cols)
        for e in client.list_entries(**filters):
            rows = (_rows.observation_rows(e, typed=format != "csv", as_of=as_of)
                    if observations else
                    [_rows.entry_row(e, typed=format != "csv", as_of=as_of)])
            for r in rows:
                if w:
                    # Most columns belong to other kinds: start from an empty
                    # row and place this row's own cells.
                    cells = [""] * len(cols)
                    for k, v in r.items():
                        cells[index[k]] = v
                    w.writerow(cells)
                else:
                    out.write(_rows.dumps(r) + "\n")
                n += 1
    finally:
        if close:
            out.close()
    return n


def export_text(client, **kw):
    """The export as a string (small ledgers, tests)."""
    buf = io.StringIO()
    export(client, buf, **kw)
    return buf.getvalue()
