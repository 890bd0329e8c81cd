"""Exceptions: one for server statuses, one for failed verification."""
import grpc


class LedgerError(Exception):
    """Base class of every loopledger exception."""


class RpcError(LedgerError):
    """The server (or the transport) answered a non-OK gRPC status.
    code: the status name ("PERMISSION_DENIED"); message: the server's text;
    method: the full method path."""

    def __init__(self, code, message, method=""):
        super().__init__("%s: %s%s" % (code, message, " (%s)" % method if method else ""))
        self.code = code
        self.message = message
        self.method = method


class VerificationError(LedgerError):
    """A checkpoint signature, an inclusion or a consistency proof did not
    verify, or the server's history contradicts the remembered checkpoint.
    Nothing read in the failed call may be trusted."""


class InvalidArgument(RpcError):
    pass


class NotFound(RpcError):
    pass


class AlreadyExists(RpcError):
    pass


class PermissionDenied(RpcError):
    pass


class Unauthenticated(RpcError):
    pass


class FailedPrecondition(RpcError):
    pass


class Unavailable(RpcError):
    pass


class ResourceExhausted(RpcError):
    pass


_BY_CODE = {
    "INVALID_ARGUMENT": InvalidArgument,
    "NOT_FOUND": NotFound,
    "ALREADY_EXISTS": AlreadyExists,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAUTHENTICATED": Unauthenticated,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAVAILABLE": Unavailable,
    "RESOURCE_EXHAUSTED": ResourceExhausted,
}


def from_grpc(e, method=""):
    """Converts a grpc.RpcError into the matching RpcError subclass."""
    code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
    name = code.name if isinstance(code, grpc.StatusCode) else str(code)
    details = e.details() if hasattr(e, "details") else str(e)
    return _BY_CODE.get(name, RpcError)(name, details or "", method)
