"""Compiling the contract: protoc on proto/ into a FileDescriptorSet. Kept
free of other imports so that setup.py can load it before installing."""
import os
import shutil
import subprocess
import tempfile

PROTO_FILES = (
    "loopledger/v1/domain.proto",
    "loopledger/v1/entry.proto",
    "loopledger/v1/ledger.proto",
    "loopledger/v1/loop.proto",
    "loopledger/v1/roadmap.proto",
    "loopledger/v1/governance.proto",
    "grpc/health/v1/health.proto",
)

def proto_files(proto_dir):
    """The .proto files under proto_dir that the client needs (relative)."""
    return [p for p in PROTO_FILES if os.path.exists(os.path.join(proto_dir, p))]


def compile_descriptor_set(proto_dir, out_path, protoc=None):
    """Runs protoc on proto_dir's files, writing a FileDescriptorSet with
    every import to out_path (atomically: a reader never sees half a file)."""
    files = proto_files(proto_dir)
    if not files:
        raise RuntimeError("no loopledger .proto files under %s" % proto_dir)
    d = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
    os.close(fd)
    protoc = protoc or shutil.which("protoc") or shutil.which("protoc-c") or "protoc"
    try:
        subprocess.run([protoc, "--proto_path=" + proto_dir, "--include_imports",
                        "--descriptor_set_out=" + tmp] + files, check=True)
        os.replace(tmp, out_path)
    except FileNotFoundError:
        raise RuntimeError("protoc not found: install Debian's protobuf-compiler, or set "
                           "LOOPLEDGER_DESCRIPTORS to a descriptor set built by CMake")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
