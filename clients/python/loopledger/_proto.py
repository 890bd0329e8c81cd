"""Message classes for loopledger's .proto files, in a private descriptor pool.

The classes are built at run time from a FileDescriptorSet that protoc
(Debian's protobuf-compiler) makes from the repository's proto/ directory:
``protoc --descriptor_set_out --include_imports``. Nothing generated is
committed, and nothing is imported as a top-level module: in particular
grpc/health/v1/health.proto never becomes a ``grpc`` package shadowing
grpcio, and the private pool cannot collide with grpcio-health-checking's
copy of the same messages in protobuf's default pool.

Where the descriptor set comes from, first match wins:
  1. $LOOPLEDGER_DESCRIPTORS (a file; the CMake target ll_descriptors
     writes build/proto/loopledger.desc);
  2. loopledger/_pb/loopledger.desc inside the package (setup.py writes it
     when the package is built or installed);
  3. protoc run on $LOOPLEDGER_PROTO or, used in place from a checkout, the
     repository's proto/ directory, cached under $XDG_CACHE_HOME/loopledger.
"""
import hashlib
import os

from google.protobuf import descriptor_pb2, message_factory
from google.protobuf.descriptor import FieldDescriptor

from ._build import PROTO_FILES, compile_descriptor_set, proto_files  # noqa: F401

_HERE = os.path.dirname(os.path.abspath(__file__))


def _find_descriptor_set():
    env = os.environ.get("LOOPLEDGER_DESCRIPTORS")
    if env:
        return env
    packaged = os.path.join(_HERE, "_pb", "loopledger.desc")
    if os.path.exists(packaged):
        return packaged
    proto_dir = os.environ.get("LOOPLEDGER_PROTO") or os.path.normpath(
        os.path.join(_HERE, "..", "..", "..", "proto"))
    files = proto_files(proto_dir)
    if not files:
        raise RuntimeError("loopledger: no descriptor set; set LOOPLEDGER_DESCRIPTORS or "
                           "LOOPLEDGER_PROTO (the repository's proto/ directory)")
    h = hashlib.sha256()
    for p in files:
        with open(os.path.join(proto_dir, p), "rb") as f:
            h.update(p.encode() + b"\0" + f.read())
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                         "loopledger")
    out = os.path.join(cache, h.hexdigest()[:16] + ".desc")
    if not os.path.exists(out):
        compile_descriptor_set(proto_dir, out)
    return out


def _load():
    with open(_find_descriptor_set(), "rb") as f:
        fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    # GetMessages builds a fresh, private pool: our names never enter the
    # default pool that other protobuf users share.
    classes = message_factory.GetMessages(list(fds.file))
    pool = next(iter(classes.values())).DESCRIPTOR.file.pool
    return fds, classes, pool


FILE_SET, _CLASSES, POOL = _load()


def message_class(full_name):
    """The message class for a full name ("loopledger.v1.EntryBody")."""
    return _CLASSES[full_name]


def msg(name):
    """Shorthand: a loopledger.v1 message class by short name."""
    return _CLASSES["loopledger.v1." + name]


CLIENT_PACKAGES = ("loopledger.v1", "grpc.health.v1")


def services():
    """The services the client calls (loopledger's and health), file order;
    reflection, also in CMake's descriptor set, is for other tools."""
    out = []
    for fp in FILE_SET.file:
        if fp.package not in CLIENT_PACKAGES:
            continue
        fd = POOL.FindFileByName(fp.name)
        out.extend(fd.services_by_name[s.name] for s in fp.service)
    return out


# ---- enums by name ----

_PREFIX = {}


def _enum_prefix(ed):
    """The common leading words of an enum's value names ("APPLICATION_"),
    so that values read and write as loopctl spells them ("pricing")."""
    p = _PREFIX.get(ed.full_name)
    if p is None:
        names = [v.name for v in ed.values]
        words = names[0].split("_")
        n = 0
        while n < len(words) - 1 and all(x.split("_")[:n + 1] == words[:n + 1] and
                                         len(x.split("_")) > n + 1 for x in names):
            n += 1
        p = "_".join(words[:n]) + "_" if n else ""
        _PREFIX[ed.full_name] = p
    return p


def enum_name(ed, number):
    """Short lowercase name of an enum value; None for the 0 "unspecified"
    value; the bare number for a value this client does not know."""
    v = ed.values_by_number.get(number)
    if v is None:
        return number
    if number == 0 and v.name.endswith("UNSPECIFIED"):
        return None
    p = _enum_prefix(ed)
    return (v.name[len(p):] if v.name.startswith(p) else v.name).lower()


def enum_number(ed, value):
    """Accepts a short name ("pricing"), the full name ("APPLICATION_PRICING")
    or a number; raises ValueError naming the accepted values otherwise."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError("%s: a name, not a boolean" % ed.name)
    if isinstance(value, int):
        return value
    s = str(value).strip()
    v = ed.values_by_name.get(s) or ed.values_by_name.get(_enum_prefix(ed) + s.upper()) \
        or ed.values_by_name.get(s.upper())
    if v is None:
        choices = ", ".join(x for x in (enum_name(ed, n.number) for n in ed.values) if x)
        raise ValueError("%s: unknown value %r (one of: %s)" % (ed.name, value, choices))
    return v.number


# ---- messages <-> plain Python ----

def to_py(m):
    """A message as a Record: every field present (defaults included, so
    columns are stable), enums by short name, 64-bit integers as ints, bytes
    as bytes, nested messages as Records, unset nested messages as None and
    an unset oneof omitted."""
    from .records import Record
    out = Record()
    for f in m.DESCRIPTOR.fields:
        if f.containing_oneof is not None and m.WhichOneof(f.containing_oneof.name) != f.name:
            continue
        v = getattr(m, f.name)
        if f.label == FieldDescriptor.LABEL_REPEATED:
            if f.type == FieldDescriptor.TYPE_MESSAGE:
                out[f.name] = [to_py(x) for x in v]
            elif f.type == FieldDescriptor.TYPE_ENUM:
                out[f.name] = [enum_name(f.enum_type, x) for x in v]
            else:
                out[f.name] = list(v)
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            out[f.name] = to_py(v) if m.HasField(f.name) else None
        elif f.type == FieldDescriptor.TYPE_ENUM:
            out[f.name] = enum_name(f.enum_type, v)
        else:
            out[f.name] = v
    return out


def _scalar(f, v):
    if f.type == FieldDescriptor.TYPE_ENUM:
        return enum_number(f.enum_type, v)
    if f.type == FieldDescriptor.TYPE_BYTES and isinstance(v, str):
        return v.encode()
    return v


def fill(m, values, where=None):
    """Sets m's fields from a dict (or keyword arguments): nested messages
    from dicts or messages, enums from names, lists for repeated fields.
    Unknown names raise TypeError listing the fields the message has."""
    d = m.DESCRIPTOR
    for k, v in values.items():
        f = d.fields_by_name.get(k)
        if f is None:
            raise TypeError("%s has no field %r (fields: %s)" % (
                where or d.name, k, ", ".join(d.fields_by_name)))
        if v is None:
            continue
        if f.label == FieldDescriptor.LABEL_REPEATED:
            if isinstance(v, (str, bytes, dict)):
                v = [v]
            target = getattr(m, k)
            for x in v:
                if f.type == FieldDescriptor.TYPE_MESSAGE:
                    if isinstance(x, dict):
                        fill(target.add(), x, "%s.%s" % (d.name, k))
                    else:
                        target.add().CopyFrom(x)
                else:
                    target.append(_scalar(f, x))
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            if isinstance(v, dict):
                sub = getattr(m, k)
                sub.SetInParent()
                fill(sub, v, "%s.%s" % (d.name, k))
            else:
                getattr(m, k).CopyFrom(v)
        else:
            setattr(m, k, _scalar(f, v))
    return m
