"""apierrors.py - Kubernetes Status objects and the exception that carries them.

Every failure the test API server answers has the real server's shape:

    {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
     "message": "...", "reason": "NotFound", "details": {...}, "code": 404}
"""

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status(code, message, reason=None, details=None):
    """A failure Status object."""
    obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason or REASONS.get(code, "Unknown"), "code": code}
    if details is not None:
        obj["details"] = details
    return obj


def success(details):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


class ApiError(Exception):
    """Raised anywhere while serving a request; the handler answers its Status."""

    def __init__(self, code, message, reason=None, details=None):
        super().__init__(message)
        self.code = code
        self.status = status(code, message, reason, details)


def _details(res, name):
    d = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return d


def not_found(res, name):
    return ApiError(404, f'{res.qualified} "{name}" not found', details=_details(res, name))


def already_exists(res, name):
    return ApiError(409, f'{res.qualified} "{name}" already exists', "AlreadyExists",
                    _details(res, name))


def conflict(res, name, why="the object has been modified; please apply your changes to the "
                            "latest version and try again"):
    return ApiError(409, f'Operation cannot be fulfilled on {res.qualified} "{name}": {why}',
                    "Conflict", _details(res, name))


def invalid(res, name, message):
    return ApiError(422, f'{res.kind} "{name}" is invalid: {message}', "Invalid",
                    _details(res, name))


def bad_request(message):
    return ApiError(400, message)


def unknown_path():
    return ApiError(404, "the server could not find the requested resource", details={})


def expired(message):
    return ApiError(410, message, "Expired")
