"""Domain errors. The API maps a DomainError to its HTTP status with a JSON body; the renderer
retries a TransientError through the queue and fails the snapshot on a PermanentRenderError."""


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(DomainError):
    status = 400


class Unauthenticated(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class RoomChanged(Conflict):
    """The room changed between reading it and writing a change decided on what was read."""

    def __init__(self) -> None:
        super().__init__("the room changed while this change was being made; send it again")


class UnprocessableEntity(DomainError):
    status = 422


class TooManyRequests(DomainError):
    status = 429


class ServiceUnavailable(DomainError):
    """Briefly unable to do it (a dependency throttled): nothing was done, and the same request may
    be sent again after its Retry-After."""

    status = 503


def failure_for_users(what_happened: str, reference: str | None) -> str:
    """A snapshot's failure as its users read it: what happened, what to do, and the reference
    (the correlation id) under which the details are in the logs."""
    return (
        f"{what_happened}. Please create the snapshot again; if it keeps failing, contact support "
        f"quoting reference {reference or 'unknown'}."
    )


class PermanentRenderError(Exception):
    """A render that can never succeed (room gone, content unprintable): fail the snapshot, no retry."""


class SnapshotSettled(Exception):
    """Nothing to do: the snapshot is terminal or deleted (a duplicate or late delivery)."""


class TransientError(Exception):
    """Worth retrying later; `retry_after` is a hint in seconds (None: use the backoff schedule)."""

    retry_after: float | None = None


class LeaseHeld(TransientError):
    """Another renderer is working on this snapshot right now."""

    retry_after: float

    def __init__(self, retry_after: float):
        super().__init__(f"another renderer holds the lease for {retry_after:.0f} s more")
        self.retry_after = retry_after


class PdfBeingDeleted(TransientError):
    """The cleanup is removing this cached PDF at this moment; render again once it is gone."""


class SigningUnavailable(TransientError):
    """The PDF cannot be signed now (the signing key is disabled or unreachable, its certificate is
    missing or certifies another key). Retried like any transient failure; nothing is issued unsigned."""
