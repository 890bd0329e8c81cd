"""Verify-with-witnesses: a ledger with three real `loopledgerd witness`es
(C2SP tlog-witness) of which one is down; the client asks for the newest
cosigned checkpoint and checks a quorum of C2SP tlog-cosignatures with the
witnesses' keys. Quorum met, quorum not met, a bad cosignature (not
counted, named in the refusal), an unknown witness key and lines of
witnesses the client was not given (ignored)."""
import base64
import os
import signal
import subprocess
import time

import pytest

import loopledger as ll
from loopledger import verify

from conftest import BIN


def _wait_file(path, proc, what):
    for _ in range(400):
        if os.path.exists(path) and os.path.getsize(path):
            return open(path).read().strip()
        if proc.poll() is not None:
            raise RuntimeError("%s exited at start" % what)
        time.sleep(0.05)
    raise RuntimeError("%s did not start" % what)


class Witnessed:
    """A plaintext loopback ledger with witnesses w1, w2, w3."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.loopledgerd = os.path.join(BIN, "api", "loopledgerd")
        self.loopctl = os.path.join(BIN, "clients", "loopctl")
        self.procs = {}
        self.log = open(os.path.join(tmp, "log"), "ab")

    def run(self, *args):
        return subprocess.run(list(args), check=True, capture_output=True, text=True).stdout.strip()

    def spawn(self, name, *args):
        port = os.path.join(self.tmp, name + ".port")
        if os.path.exists(port):
            os.unlink(port)
        p = subprocess.Popen(list(args) + ["--port-file", port], stdout=self.log, stderr=self.log)
        self.procs[name] = p
        return "127.0.0.1:" + _wait_file(port, p, name)

    def serve(self, *extra):
        return self.spawn("server", self.loopledgerd, "serve",
                          "--data", os.path.join(self.tmp, "ledger"), "--listen", "127.0.0.1:0",
                          "--plaintext", "--admin-pub", self.admin + ".pub",
                          "--origin", "pytest.test/witnessed", *extra)

    def stop(self, name):
        p = self.procs.pop(name)
        p.send_signal(signal.SIGTERM)
        p.wait(30)

    def append(self, text):
        self.run(self.loopctl, "--server", self.server, "append", "--key", self.admin,
                 "--author", "admin", "--note", text)

    def witness_key(self, name):
        key = os.path.join(self.tmp, name + ".key")
        return self.run(self.loopledgerd, "witness-key", "--key", key,
                        "--name", "witness.test/" + name)

    def start(self):
        self.admin = os.path.join(self.tmp, "admin.key")
        self.run(self.loopctl, "keygen", self.admin)
        # The ledger exists first: witnesses are configured with its key.
        self.serve()
        self.stop("server")
        self.vkey = self.run(self.loopledgerd, "verifier-key",
                             "--data", os.path.join(self.tmp, "ledger"))
        self.wkeys, args = {}, []
        for w in ("w1", "w2", "w3"):
            self.wkeys[w] = self.witness_key(w)
            addr = self.spawn(w, self.loopledgerd, "witness",
                              "--data", os.path.join(self.tmp, w),
                              "--key", os.path.join(self.tmp, w + ".key"),
                              "--name", "witness.test/" + w, "--listen", "127.0.0.1:0",
                              "--log", self.vkey)
            args += ["--witness", "http://%s=%s" % (addr, self.wkeys[w])]
        self.server = self.serve(*args)
        self.append("cosigned by three")
        self.wait_cosigned(3)
        # w3 goes down; later checkpoints carry two cosignatures.
        self.procs.pop("w3").kill()
        self.append("cosigned by two")
        self.wait_cosigned(2)

    def client(self, **kw):
        return ll.Client(self.server, verifier_key=self.vkey, **kw)

    def wait_cosigned(self, lines):
        """Until the newest cosigned checkpoint is the latest, with `lines`
        cosignature lines."""
        with self.client() as c:
            m = c.ledger.methods["GetCheckpoint"]
            for _ in range(400):
                latest = m.call(m.req_cls()).tree_size
                try:
                    r = m.call(m.req_cls(cosigned=True))
                except ll.RpcError:
                    r = None
                if r and r.tree_size == latest and \
                        r.checkpoint.count("\u2014 witness.test/") == lines:
                    self.note = r.checkpoint
                    return
                time.sleep(0.05)
        raise RuntimeError("no checkpoint with %d cosignatures" % lines)

    def close(self):
        for name in list(self.procs):
            p = self.procs.pop(name)
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def wl(tmp_path_factory):
    w = Witnessed(str(tmp_path_factory.mktemp("witnessed")))
    try:
        w.start()
        yield w
    finally:
        w.close()


def test_quorum_met_with_a_witness_down(wl):
    keys = [wl.wkeys[w] for w in ("w1", "w2", "w3")]
    with wl.client(witnesses=keys, quorum=2) as c:
        cp = c.checkpoint()
        assert sorted(cp.cosigners) == ["witness.test/w1", "witness.test/w2"]
        assert all(ts > 1600000000 for ts in cp.cosigners.values())
        assert cp.tree_size == c.ledger.get_checkpoint().tree_size
    # Per call, too; the log's own signature is still checked.
    with wl.client() as c:
        assert c.checkpoint(witnesses=keys[:2]).cosigners.keys() == {
            "witness.test/w1", "witness.test/w2"}


def test_quorum_not_met_is_refused(wl):
    keys = [wl.wkeys[w] for w in ("w1", "w2", "w3")]
    with wl.client(witnesses=keys) as c:  # default quorum: all three
        with pytest.raises(ll.VerificationError, match="2 valid cosignature.*quorum is 3"):
            c.checkpoint()
    with wl.client() as c:
        with pytest.raises(ll.VerificationError, match="quorum is 3"):
            c.checkpoint(witnesses=keys, quorum=3)
    with pytest.raises(ValueError):
        verify.verify_cosignatures(wl.note, keys[:1], 2)  # more than the keys given


def _tamper(note, name):
    out = []
    for line in note.split("\n"):
        if line.startswith("\u2014 " + name + " "):
            raw = bytearray(base64.b64decode(line.split(" ")[2]))
            raw[-1] ^= 1
            line = "\u2014 %s %s" % (name, base64.b64encode(bytes(raw)).decode())
        out.append(line)
    return "\n".join(out)


def test_a_bad_cosignature_does_not_count(wl):
    keys = [wl.wkeys["w1"], wl.wkeys["w2"]]
    assert len(verify.verify_cosignatures(wl.note, keys, 2)) == 2
    bad = _tamper(wl.note, "witness.test/w1")
    assert bad != wl.note
    with pytest.raises(ll.VerificationError, match="witness.test/w1 does not verify"):
        verify.verify_cosignatures(bad, keys, 2)
    assert list(verify.verify_cosignatures(bad, keys, 1)) == ["witness.test/w2"]
    # A cosignature of another checkpoint body does not verify either.
    body, sigs = wl.note.split("\n\n", 1)
    lines = body.split("\n")
    lines[1] = str(int(lines[1]) + 1)
    with pytest.raises(ll.VerificationError, match="0 valid cosignature"):
        verify.verify_cosignatures("\n".join(lines) + "\n\n" + sigs, keys, 1)
    # The log's key is no witness key.
    with pytest.raises(ValueError):
        ll.CosignerKey(wl.vkey)


def test_unknown_witness_keys_and_lines_are_ignored(wl):
    stranger = wl.witness_key("stranger")  # a witness this log never used
    with wl.client(witnesses=[wl.wkeys["w1"], stranger], quorum=1) as c:
        cp = c.checkpoint()
        assert list(cp.cosigners) == ["witness.test/w1"]  # w2's line: not ours to count
    with wl.client(witnesses=[wl.wkeys["w1"], stranger], quorum=2) as c:
        with pytest.raises(ll.VerificationError, match="1 valid cosignature"):
            c.checkpoint()
    # The same key given twice counts once.
    with pytest.raises(ValueError):
        verify.verify_cosignatures(wl.note, [wl.wkeys["w1"], wl.wkeys["w1"]], 2)
