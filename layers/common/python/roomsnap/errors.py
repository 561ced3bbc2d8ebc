"""Domain errors; the API maps each to its HTTP status with a JSON body."""


class DomainError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    status = 400


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class PermanentRenderError(Exception):
    """A render that can never succeed (room gone, content unprintable): fail the snapshot, no retry."""
