"""pip install clients/python (in a venv with --system-site-packages on
Debian, so that python3-grpcio, python3-protobuf and python3-cryptography
are used). The build runs protoc (Debian's protobuf-compiler, or protoc-c)
on the repository's proto/ files and ships the resulting descriptor set as
loopledger/_pb/loopledger.desc; nothing generated is committed."""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithDescriptors(build_py):
    def run(self):
        super().run()
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            "_ll_proto_build", os.path.join(HERE, "loopledger", "_build.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        proto = os.environ.get("LOOPLEDGER_PROTO") or os.path.join(HERE, "..", "..", "proto")
        mod.compile_descriptor_set(proto, os.path.join(self.build_lib, "loopledger", "_pb",
                                                       "loopledger.desc"))


setup(
    name="loopledger",
    version="0.1.0",
    description="Python client for loopledger, the closed-loop strategy ledger",
    packages=["loopledger"],
    python_requires=">=3.9",
    install_requires=["grpcio>=1.51", "protobuf>=3.21", "cryptography>=38"],
    extras_require={"frames": ["pandas"]},
    cmdclass={"build_py": BuildWithDescriptors},
)
