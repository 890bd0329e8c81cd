"""loopledger: a Python client for the loopledger strategy ledger.

    import loopledger as ll
    c = ll.Client("127.0.0.1:7600", ca="ca.crt", cert="ana.crt", key="ana.key",
                  signer=ll.Signer.from_file("ana.key"),
                  verifier_key=open("vkey").read(), state_file="ledger.state")
    r = c.append.finding(initiative="pricing", summary="...", evidence="quantitative",
                         source="dashboard", links=[ll.supports(12)])
    c.loop.get_initiative(initiative="pricing").unacted_findings
    c.roadmap.prioritize().to_frame()

See clients/python/README.md.
"""
from .client import Client
from .errors import LedgerError, RpcError, VerificationError
from .records import Record, Rows
from .signing import (PAYLOAD_TYPE, Signer, addresses, cites, concludes, decides,
                      derived_from, diagnoses, follows, implements, link, measures,
                      pae, refutes, relates_to, reviews, spawned_by, supersedes, supports)
from .verify import Checkpoint, CosignerKey, VerifierKey, verify_cosignatures
from . import errors, signing

__all__ = ["Client", "Signer", "LedgerError", "RpcError", "VerificationError", "Record",
           "Rows", "Checkpoint", "CosignerKey", "VerifierKey", "verify_cosignatures", "PAYLOAD_TYPE", "pae", "link", "addresses",
           "cites", "concludes", "decides", "derived_from", "diagnoses", "follows",
           "implements", "measures", "refutes", "relates_to", "reviews", "spawned_by",
           "supersedes", "supports", "errors", "signing"]
