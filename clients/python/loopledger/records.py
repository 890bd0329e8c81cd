"""Notebook-friendly answers: Records (dicts with attribute access), lazy
row streams, flattening to dotted columns, and pandas frames (optional)."""


class Record(dict):
    """A message as a dict whose keys can also be read as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_records(self):
        """This answer as one flat row (dotted column names)."""
        return [flatten(self)]

    def to_frame(self):
        return _frame(self.to_records())


def flatten(value, prefix="", out=None):
    """Nested dicts become dotted columns ("expected_effect.metric"); lists of
    scalars become ';'-joined text, lists of dicts ';'-joined "k=v,k=v"
    items; bytes become hex. Column order follows field order."""
    out = {} if out is None else out
    for k, v in value.items():
        _leaf(out, prefix + k, v)
    return out


def _leaf(out, key, v):
    if isinstance(v, dict):
        flatten(v, key + ".", out)
    elif isinstance(v, (bytes, bytearray)):
        out[key] = bytes(v).hex()
    elif isinstance(v, list):
        if v and isinstance(v[0], dict):
            out[key] = ";".join(_compact(x) for x in v)
        else:
            out[key] = ";".join("" if x is None else
                                (x.hex() if isinstance(x, bytes) else str(x)) for x in v)
    else:
        out[key] = v


def _compact(d):
    return ",".join("%s=%s" % (k, v) for k, v in flatten(d).items() if v not in (None, "", 0))


class Rows:
    """A lazy sequence of Records from a paged or streamed call. Iterate it,
    or collect it with list(), to_records() or to_frame(). It can be iterated
    once (it may be a live stream)."""

    def __init__(self, gen, flat=None):
        self._gen = gen
        self._flat = flat or flatten

    def __iter__(self):
        return self._gen

    def __next__(self):
        return next(self._gen)

    def list(self):
        return list(self._gen)

    def to_records(self):
        return [self._flat(r) for r in self._gen]

    def to_frame(self):
        return _frame(self.to_records())


def _frame(rows):
    try:
        import pandas
    except ImportError:
        raise ImportError("to_frame() needs pandas (Debian: python3-pandas); "
                          "to_records() gives the same rows as dicts") from None
    return pandas.DataFrame.from_records(rows)
