"""Fixtures: a real loopledgerd over mutual TLS on a free loopback port, in
a temporary directory, with the seed demo loaded by ops/demo/load (signed
by its seven demo actors), as tests/e2e/lib.sh starts it for the shell
tests. LL_BIN points at the CMake build directory (default: build/)."""
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..")))
BIN = os.environ.get("LL_BIN") or os.path.join(ROOT, "build")
if not os.environ.get("LOOPLEDGER_DESCRIPTORS") and \
        os.path.exists(os.path.join(BIN, "proto", "loopledger.desc")):
    os.environ["LOOPLEDGER_DESCRIPTORS"] = os.path.join(BIN, "proto", "loopledger.desc")
for v in ("LOOPLEDGER_SERVER", "LOOPLEDGER_CA", "LOOPLEDGER_CERT", "LOOPLEDGER_KEY",
          "LOOPLEDGER_VKEY"):
    os.environ.pop(v, None)  # tests say what they use

import loopledger as ll  # noqa: E402

DEMO_ACTORS = ["maya", "raj", "dashboards", "ana", "leo", "sofia", "dana"]
EXTRA = ["quinn", "audrey", "mallory", "svc"]


class Ledger:
    """A running server and how to reach it as each actor."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.certs = os.path.join(tmp, "certs")
        self.keys = os.path.join(tmp, "keys")
        self.admin_key = os.path.join(tmp, "admin.key")
        self.loopctl = os.path.join(BIN, "clients", "loopctl")
        self.loopledgerd = os.path.join(BIN, "api", "loopledgerd")
        self.proc = None
        self.seqs = {}

    def start(self):
        subprocess.run([os.path.join(ROOT, "ops", "certs"), self.certs, "admin"] + DEMO_ACTORS +
                       EXTRA, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([self.loopctl, "keygen", self.admin_key], check=True,
                       stdout=subprocess.DEVNULL)
        port_file = os.path.join(self.tmp, "port")
        self.log = open(os.path.join(self.tmp, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [self.loopledgerd, "serve", "--data", os.path.join(self.tmp, "ledger"),
             "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--admin-pub", self.admin_key + ".pub", "--admin-id", "admin",
             "--origin", "pytest.test/ledger",
             "--tls-cert", os.path.join(self.certs, "server.crt"),
             "--tls-key", os.path.join(self.certs, "server.key"),
             "--tls-ca", os.path.join(self.certs, "ca.crt")],
            stdout=self.log, stderr=self.log)
        for _ in range(400):
            if os.path.exists(port_file) and os.path.getsize(port_file):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("loopledgerd exited at start: " + self.server_log())
            time.sleep(0.05)
        else:
            raise RuntimeError("loopledgerd did not start")
        with open(port_file) as f:
            self.server = "127.0.0.1:" + f.read().strip()
        self.vkey = subprocess.run(
            [self.loopledgerd, "verifier-key", "--data", os.path.join(self.tmp, "ledger")],
            check=True, capture_output=True, text=True).stdout.strip()
        seqs = os.path.join(self.tmp, "seqs")
        subprocess.run([os.path.join(ROOT, "ops", "demo", "load"), "--server", self.server,
                        "--admin-key", self.admin_key, "--keys", self.keys,
                        "--tls", self.certs, "--seqs", seqs],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=dict(os.environ, LOOPCTL=self.loopctl))
        with open(seqs) as f:
            self.seqs = {n: int(s) for n, s in (line.split() for line in f if line.strip())}

    def server_log(self):
        with open(os.path.join(self.tmp, "server.log"), errors="replace") as f:
            return f.read()[-3000:]

    def stop(self):
        if self.proc and self.proc.poll() is not None:
            raise RuntimeError("loopledgerd died during the tests (status %d): %s" % (
                self.proc.returncode, self.server_log()))
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("loopledgerd did not stop on SIGTERM: " + self.server_log())
            # A clean exit, also under the sanitizers (leaks, errors).
            if self.proc.returncode != 0:
                raise RuntimeError("loopledgerd exited with %d: %s" % (self.proc.returncode,
                                                                      self.server_log()))

    def tls(self, actor):
        return dict(ca=os.path.join(self.certs, "ca.crt"),
                    cert=os.path.join(self.certs, actor + ".crt"),
                    key=os.path.join(self.certs, actor + ".key"))

    def key_file(self, actor):
        return self.admin_key if actor == "admin" else os.path.join(self.keys, actor + ".key")

    def client(self, actor="admin", sign=True, **kw):
        """A Client with actor's certificate and, if sign, its signing key."""
        signer = ll.Signer.from_file(self.key_file(actor), actor=actor) if sign else None
        kw.setdefault("verifier_key", self.vkey)
        return ll.Client(self.server, signer=signer, **self.tls(actor), **kw)

    def register(self, actor, *roles):
        """The admin registers actor with roles; returns its Signer."""
        path = os.path.join(self.keys, actor + ".key")
        if not os.path.exists(path):
            ll.Signer.generate(actor).save(path)
        s = ll.Signer.from_file(path, actor=actor)
        with self.client("admin") as c:
            c.append.actor(actor_id=actor, display_name=actor, roles=list(roles),
                           public_key=s.public_key)
        return s


@pytest.fixture(scope="session")
def ledger(tmp_path_factory):
    lg = Ledger(str(tmp_path_factory.mktemp("ledger")))
    try:
        lg.start()
        yield lg
    finally:
        lg.stop()


@pytest.fixture
def admin(ledger):
    with ledger.client("admin") as c:
        yield c
