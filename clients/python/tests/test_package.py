"""The package itself: installable with pip from the repository without a
network, and importing it shadows nothing (no top-level grpc package from
health.proto, no loopledger names in protobuf's shared default pool)."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.normpath(os.path.join(HERE, ".."))


def test_import_shadows_nothing():
    import grpc
    import loopledger  # noqa: F401
    from google.protobuf import descriptor_pool
    assert grpc.__file__.endswith(os.path.join("grpc", "__init__.py"))
    assert "loopledger" not in os.path.dirname(grpc.__file__)
    assert not any(m == "grpc.health" or m.startswith("grpc.health.v1.") and
                   "loopledger" in (getattr(sys.modules[m], "__file__", "") or "")
                   for m in list(sys.modules))
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindFileByName("loopledger/v1/entry.proto")
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindFileByName("grpc/health/v1/health.proto")


def test_pip_install_into_a_venv(tmp_path):
    # From a copy laid out like the repository (setup.py reads ../../proto),
    # so the build writes nothing into the source tree.
    import shutil
    repo = tmp_path / "repo"
    shutil.copytree(PKG, repo / "clients" / "python",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "_pb"))
    shutil.copytree(os.path.join(PKG, "..", "..", "proto"), repo / "proto")
    venv = str(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
    py = os.path.join(venv, "bin", "python")
    r = subprocess.run([py, "-m", "pip", "install", "--no-index", "--no-build-isolation",
                        "--quiet", str(repo / "clients" / "python")],
                       capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    env = dict(os.environ)
    env.pop("LOOPLEDGER_DESCRIPTORS", None)
    out = subprocess.run([py, "-c", "import loopledger, loopledger._proto as p; "
                          "print(loopledger.__file__); print(p._find_descriptor_set()); "
                          "print(len(p.services()))"],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    where, desc, n = out.stdout.split()
    assert where.startswith(venv) and n == "5"
    assert desc.startswith(venv) and desc.endswith("_pb/loopledger.desc")
