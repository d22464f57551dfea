"""Exceptions for fcs_status codes; each carries fcs_last_error()'s message."""


class FCSError(Exception):
    """An fcs call failed; `status` is the fcs_status code. Raised as itself for
    FCS_ERROR_INTERNAL (a bug in fcs) and any status this package does not know."""

    status = -5


class InvalidArgumentError(FCSError, ValueError):
    """An argument is out of range or inconsistent, e.g. a size beyond a documented limit
    (FCS_ERROR_INVALID_ARGUMENT)."""

    status = -1


class FCSFileError(FCSError, OSError):
    """A file is missing or unreadable (FCS_ERROR_IO)."""

    status = -2


class FormatError(FCSError, ValueError):
    """A file is not what it should be (FCS_ERROR_FORMAT)."""

    status = -3


class FCSMemoryError(FCSError, MemoryError):
    """fcs could not get the memory a request needs, or refused it up front because its working
    set would not fit (FCS_ERROR_OUT_OF_MEMORY). A MemoryError, so `except MemoryError` sees it;
    the process is unharmed and smaller requests still work."""

    status = -4


class Cancelled(FCSError):
    """The progress callable returned False (FCS_CANCELLED). A Ctrl-C or an exception raised by
    the progress callable also cancels, and is re-raised as itself instead."""

    status = 1


_BY_STATUS = {cls.status: cls for cls in (InvalidArgumentError, FCSFileError, FormatError, FCSMemoryError, Cancelled)}


def raise_for_status(status, message):
    raise _BY_STATUS.get(status, FCSError)(message)
