"""The loopledger gRPC client: one method per RPC of every service, built
from the service descriptors (no grpc codegen plugin), plus signed appends,
verified reads, and rows for notebooks."""
import os
import re

import grpc

from . import _proto
from .errors import VerificationError, from_grpc
from .records import Rows
from .signing import Signer, build_body, kinds
from .verify import (Checkpoint, CosignerKey, State, VerifierKey, leaf_hash, parse_checkpoint,
                     verify_consistency, verify_cosignatures, verify_envelope,
                     verify_inclusion)
from . import rows as _rows


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _Method:
    """One RPC: call it with keyword arguments (the request's fields)."""

    def __init__(self, client, md):
        self.client = client
        self.md = md
        self.path = "/%s/%s" % (md.containing_service.full_name, md.name)
        self.req_cls = _proto.message_class(md.input_type.full_name)
        self.resp_cls = _proto.message_class(md.output_type.full_name)
        make = client._channel.unary_stream if md.server_streaming else client._channel.unary_unary
        self.raw = make(self.path, request_serializer=lambda m: m.SerializeToString(),
                        response_deserializer=self.resp_cls.FromString)
        rf = self.req_cls.DESCRIPTOR.fields_by_name
        of = self.resp_cls.DESCRIPTOR.fields_by_name
        self.paged = "page_token" in rf and "next_page_token" in of
        self.items = None
        if self.paged:
            rep = [f.name for f in self.resp_cls.DESCRIPTOR.fields
                   if f.label == f.LABEL_REPEATED and f.type == f.TYPE_MESSAGE]
            self.items = rep[0] if len(rep) == 1 else None

    def request(self, kwargs):
        return _proto.fill(self.req_cls(), kwargs, self.md.name)

    def call(self, req):
        """Sends a request message; returns the response message."""
        try:
            return self.raw(req, timeout=self.client.timeout, metadata=self.client.metadata)
        except grpc.RpcError as e:
            raise from_grpc(e, self.path) from None

    def stream(self, req, timeout=None):
        """Server streaming: yields response messages."""
        try:
            for m in self.raw(req, timeout=timeout, metadata=self.client.metadata):
                yield m
        except grpc.RpcError as e:
            raise from_grpc(e, self.path) from None

    def pages(self, req):
        """Yields response messages page by page until next_page_token is empty."""
        while True:
            resp = self.call(req)
            yield resp
            if not resp.next_page_token:
                return
            req.page_token = resp.next_page_token

    def __call__(self, **kwargs):
        """Unary: the answer as a Record. Paged (and no page_token given): a
        Rows stream over every item of every page. Streaming: a Rows stream."""
        if self.md.server_streaming:
            # A stream may follow live changes: timeout= bounds it.
            timeout = kwargs.pop("timeout", None)
            return Rows(_proto.to_py(m) for m in self.stream(self.request(kwargs), timeout))
        if self.paged and self.items and "page_token" not in kwargs:
            req = self.request(kwargs)
            return Rows(_proto.to_py(x) for page in self.pages(req)
                        for x in getattr(page, self.items))
        return _proto.to_py(self.call(self.request(kwargs)))


class _Service:
    def __init__(self, client, sd):
        self.descriptor = sd
        self.methods = {}
        for md in sd.methods:
            m = _Method(client, md)
            self.methods[md.name] = m
            setattr(self, _snake(md.name), m)


class Appender:
    """client.append.<kind>(initiative=..., links=[...], **fields): builds an
    EntryBody of that kind, signs it with the client's Signer and appends
    it. Returns the AppendResponse as a Record (seq, leaf_hash, duplicate,
    and effects when the server reports them). dry_run=True asks the server
    to validate without writing (AppendRequest.validate_only)."""

    def __init__(self, client):
        self._client = client
        for kind in kinds():
            setattr(self, kind, self._builder(kind))

    def _builder(self, kind):
        def build(initiative="", links=(), signer=None, author=None, dry_run=False,
                  nonce=None, client_time_unix_nanos=None, update_mask=None, **fields):
            return self.entry(kind, initiative=initiative, links=links, signer=signer,
                              author=author, dry_run=dry_run, nonce=nonce,
                              client_time_unix_nanos=client_time_unix_nanos,
                              update_mask=update_mask, **fields)
        build.__name__ = kind
        build.__doc__ = "Signs and appends a %s entry; fields are %s's." % (kind, kinds()[kind])
        return build

    def entry(self, kind, initiative="", links=(), signer=None, author=None, dry_run=False,
              nonce=None, client_time_unix_nanos=None, update_mask=None, **fields):
        """update_mask: the field names a patch of a long-lived record
        (initiative, roadmap_project, policy; links=[follows(latest)])
        changes; the answer's .effective is the record after the update."""
        signer = signer or self._client.signer
        if signer is None:
            raise ValueError("appending needs a Signer: Client(signer=Signer.from_file(...)) "
                             "or signer=")
        body = build_body(kind, author or signer.actor, initiative, links, fields, nonce,
                          client_time_unix_nanos)
        if update_mask is not None:
            body.update_mask.SetInParent()
            body.update_mask.paths.extend(update_mask)
        return self.envelope(signer.sign_body(body), dry_run=dry_run)

    def envelope(self, env, dry_run=False):
        """Appends an already signed Envelope message."""
        m = self._client.ledger.methods["Append"]
        req = m.req_cls()
        req.envelope.CopyFrom(env)
        if dry_run:
            if "validate_only" not in req.DESCRIPTOR.fields_by_name:
                raise NotImplementedError("this client's proto has no AppendRequest.validate_only")
            req.validate_only = True
        return _proto.to_py(m.call(req))


class Client:
    """A connection to loopledgerd.

    Client(server, ca=, cert=, key=): mutual TLS with the CA certificate and
    this client's certificate and key (PEM files). Unset arguments come from
    LOOPLEDGER_SERVER (default 127.0.0.1:7600), LOOPLEDGER_CA, LOOPLEDGER_CERT
    and LOOPLEDGER_KEY, as for loopctl. Without any of them the channel is
    plaintext, which loopledgerd accepts only on loopback (tests, demos).

    signer: a Signer for appends. verifier_key: the server's note verifier
    key (LOOPLEDGER_VKEY; from `loopledgerd verifier-key`) to verify
    checkpoints and proofs; state_file: where the last verified checkpoint
    is remembered, so every later checkpoint must extend it. witnesses:
    witness cosignature keys (`loopledgerd witness-key`); with them every
    checkpoint this client trusts is the newest one the server's witnesses
    cosigned, and it must carry at least `quorum` valid cosignatures of
    those witnesses (default: all of them), or VerificationError.

    Services: client.ledger, client.loop, client.roadmap, client.governance,
    client.health; one method per RPC, snake_case (client.loop.get_initiative).
    """

    def __init__(self, server=None, ca=None, cert=None, key=None, *, signer=None,
                 verifier_key=None, state_file=None, witnesses=None, quorum=None,
                 timeout=30.0, metadata=None, options=None):
        env = os.environ
        self.server = server or env.get("LOOPLEDGER_SERVER") or "127.0.0.1:7600"
        ca = ca or env.get("LOOPLEDGER_CA")
        cert = cert or env.get("LOOPLEDGER_CERT")
        key = key or env.get("LOOPLEDGER_KEY")
        opts = [("grpc.max_receive_message_length", 64 << 20)] + list(options or [])
        if ca or cert or key:
            if not (ca and cert and key):
                raise ValueError("mTLS needs ca, cert and key (or LOOPLEDGER_CA/_CERT/_KEY)")
            creds = grpc.ssl_channel_credentials(_read(ca), _read(key), _read(cert))
            self._channel = grpc.secure_channel(self.server, creds, opts)
        else:
            self._channel = grpc.insecure_channel(self.server, opts)
        self.timeout = timeout
        self.metadata = metadata
        self.signer = signer
        vk = verifier_key or env.get("LOOPLEDGER_VKEY")
        self.verifier_key = VerifierKey(vk) if isinstance(vk, str) else vk
        self.witnesses = [w if isinstance(w, CosignerKey) else CosignerKey(w)
                          for w in (witnesses or [])]
        self.quorum = quorum
        self.state = State(state_file)
        self.trusted = None  # the latest Checkpoint verified in this session
        self.services = {}
        for sd in _proto.services():
            svc = _Service(self, sd)
            self.services[sd.full_name] = svc
            setattr(self, _snake(sd.name[:-len("Service")] if sd.name.endswith("Service")
                                 else sd.name), svc)
        self.append = Appender(self)
        # Ledger reads decode their leaves into entries.
        self.ledger.get_entry = self.get_entry
        self.ledger.list_entries = self.list_entries
        self.ledger.watch = self.watch

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, method, **kwargs):
        """Any RPC by full path or "Service/Method": call("LoopService/GetInitiative", ...)."""
        path = method.strip("/")
        for name, svc in self.services.items():
            for mname, m in svc.methods.items():
                if path in ("%s/%s" % (name, mname), "%s/%s" % (svc.descriptor.name, mname)):
                    return m(**kwargs)
        raise ValueError("unknown method %s" % method)

    # ---- verified checkpoints ----

    def _need_vkey(self):
        if self.verifier_key is None:
            raise VerificationError("verification needs the server's verifier key "
                                    "(verifier_key= or LOOPLEDGER_VKEY)")

    def checkpoint(self, tree_size=0, witnesses=None, quorum=None):
        """The server's checkpoint, verified: its signed note against the
        pinned key, and consistency with the remembered checkpoint (state
        file, else this session's). Updates the state file. With witnesses
        (here or given to the Client): the newest checkpoint the server's
        witnesses cosigned (tree_size is then ignored), which must carry
        valid C2SP tlog-cosignatures of at least quorum of them (default:
        all); cp.cosigners maps their names to the cosignature times.
        Returns a Checkpoint; raises VerificationError."""
        self._need_vkey()
        wits = ([w if isinstance(w, CosignerKey) else CosignerKey(w) for w in witnesses]
                if witnesses is not None else self.witnesses)
        if quorum is None:
            quorum = self.quorum if witnesses is None and self.quorum else len(wits)
        m = self.ledger.methods["GetCheckpoint"]
        if wits:
            try:
                resp = m.call(m.req_cls(cosigned=True))
            except RpcError as e:
                raise VerificationError("no cosigned checkpoint: %s" % e) from None
            tree_size = 0
        else:
            resp = m.call(m.req_cls(tree_size=tree_size))
        body = self.verifier_key.verify_note(resp.checkpoint)
        origin, size, root = parse_checkpoint(body)
        if resp.tree_size != size or resp.root_hash != root:
            raise VerificationError("checkpoint fields disagree with its signed note")
        cp = Checkpoint(origin, size, root, resp.checkpoint)
        if wits:
            cp.cosigners = verify_cosignatures(resp.checkpoint, wits, quorum)
        old = self.state.load() or self.trusted
        if old is not None:
            if old.origin != origin:
                raise VerificationError("checkpoint origin %r, remembered %r" % (origin, old.origin))
            if size < old.tree_size:
                if tree_size:
                    self._consistent(cp, old)  # an older view, asked for
                    return cp
                raise VerificationError("the server's tree (size %d) is smaller than the "
                                        "remembered checkpoint (size %d)" % (size, old.tree_size))
            self._consistent(old, cp)
        if old is None or size >= old.tree_size:
            self.state.save(cp)
            self.trusted = cp
        return cp

    def _consistent(self, old, new):
        if old.tree_size == new.tree_size:
            verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, [])
            return
        m = self.ledger.methods["GetConsistencyProof"]
        p = m.call(m.req_cls(old_size=old.tree_size, new_size=new.tree_size))
        verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash,
                           list(p.hashes))

    def verify_leaf(self, seq, leaf):
        """Proves that leaf is entry #seq of the log under a verified
        checkpoint; raises VerificationError otherwise."""
        self._need_vkey()
        cp = self.trusted
        if cp is None or seq >= cp.tree_size:
            cp = self.checkpoint()
        if seq >= cp.tree_size:
            raise VerificationError("#%d is beyond the verified tree (size %d)" % (seq, cp.tree_size))
        m = self.ledger.methods["GetInclusionProof"]
        p = m.call(m.req_cls(seq=seq, tree_size=cp.tree_size))
        verify_inclusion(seq, cp.tree_size, leaf_hash(leaf), list(p.hashes), cp.root_hash)
        return cp

    # ---- ledger reads as entries ----

    def get_entry(self, seq, verify=False):
        """Entry #seq decoded (kind, body, links, status, superseded_by...).
        verify=True proves its inclusion under a verified checkpoint, and
        its author's signature with the key registered by entry
        #signer_key_seq (itself proved included) first."""
        m = self.ledger.methods["GetEntry"]
        r = m.call(m.req_cls(seq=seq))
        if verify:
            self.verify_leaf(seq, r.leaf)
        e = _rows.entry(r.leaf, status=r.status, superseded_by=r.superseded_by, verified=verify)
        e["signer_key_seq"] = r.signer_key_seq
        # A patch of a long-lived record: the record after the update (the
        # kind's fields); updated_by: the later entry of the same record.
        kf = r.effective.WhichOneof("kind") if r.HasField("effective") else None
        e["effective"] = _proto.to_py(getattr(r.effective, kf)) if kf else None
        e["updated_by"] = r.updated_by
        if verify:
            keys = e if r.signer_key_seq == seq else self.get_entry(r.signer_key_seq, verify=True)
            verify_envelope(e["log_entry"].envelope, keys)
        return e

    def list_entries(self, verify=False, **filters):
        """Every entry matching ListEntries filters (initiative, kind, author,
        from_seq, to_seq, from_time_unix_nanos, to_time_unix_nanos), paged
        through lazily. Rows of entries; .to_frame() flattens them."""
        m = self.ledger.methods["ListEntries"]
        req = m.request(filters)

        def gen():
            for page in m.pages(req):
                for i, leaf in enumerate(page.leaves):
                    e = _rows.entry(leaf, status=page.status[i] if i < len(page.status) else 0,
                                    superseded_by=page.superseded_by[i]
                                    if i < len(page.superseded_by) else 0, verified=verify)
                    if verify:
                        self.verify_leaf(e["seq"], leaf)
                    yield e
        return Rows(gen(), flat=_rows.entry_row)

    def watch(self, from_seq=0, verify=False, timeout=None):
        """Entries from from_seq on, then new ones live (until timeout)."""
        m = self.ledger.methods["Watch"]

        def gen():
            for r in m.stream(m.req_cls(from_seq=from_seq), timeout=timeout):
                if verify:
                    self.verify_leaf(r.seq, r.leaf)
                yield _rows.entry(r.leaf, status=r.status, verified=verify)
        return Rows(gen(), flat=_rows.entry_row)

    def observations(self, verify=False, **filters):
        """One row per measurement observation (tidy data): initiative, seq,
        time, source, metric, value, unit, segment, arm, sample_size, stddev,
        window. Filters as list_entries (kind is measurement)."""
        filters["kind"] = "measurement"

        def gen():
            for e in self.list_entries(verify=verify, **filters):
                yield from _rows.observation_rows(e)
        return Rows(gen(), flat=lambda r: r)

    def export(self, out, format="csv", observations=False, as_of=0, **filters):
        """Writes entries (or observations) as CSV or JSON Lines to out (a
        path or a text file), streaming; returns the row count. Same
        columns as `loopctl export`."""
        from .export import export
        return export(self, out, format=format, observations=observations, as_of=as_of,
                      **filters)


def _read(path):
    with open(path, "rb") as f:
        return f.read()
