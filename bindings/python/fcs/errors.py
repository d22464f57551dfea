"""Exceptions for fcs_status codes; each carries fcs_last_error()'s message."""


class FCSError(Exception):
    """An fcs call failed; `status` is the fcs_status code."""

    status = -5


class InvalidArgumentError(FCSError, ValueError):
    status = -1


class FCSFileError(FCSError, OSError):
    """A file is missing or unreadable (FCS_ERROR_IO)."""

    status = -2


class FormatError(FCSError, ValueError):
    """A file is not what it should be (FCS_ERROR_FORMAT)."""

    status = -3


class FCSMemoryError(FCSError, MemoryError):
    status = -4


class Cancelled(FCSError):
    """The progress callback asked to stop."""

    status = 1


_BY_STATUS = {cls.status: cls for cls in (InvalidArgumentError, FCSFileError, FormatError, FCSMemoryError, Cancelled)}


def raise_for_status(status, message):
    raise _BY_STATUS.get(status, FCSError)(message)
