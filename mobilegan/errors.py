"""User-facing errors.

Anything a user can cause (a bad path, a wrong checkpoint, an unknown model name) raises a
:class:`MobileganError`. The CLI turns it into one line on stderr and exit code 2; library
users catch it like any other exception.
"""

from __future__ import annotations


class MobileganError(Exception):
    """A problem with the user's input, reported as one clear line."""


class CheckpointError(MobileganError):
    """A file that is not a checkpoint we can load (or not the kind asked for)."""


class ConfigError(MobileganError):
    """An invalid model or run configuration."""


class DataError(MobileganError):
    """Unusable images or image folders."""


class DiskFullError(MobileganError, OSError):
    """No space left while writing a file (the previous version of the file is unchanged)."""

    def __str__(self) -> str:  # the message alone, not OSError's "[Errno 28] ...: 'path'"
        return self.strerror or super().__str__()


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is 'no space left' / 'quota exceeded'.

    ``torch.save`` reports a full disk as a RuntimeError raised while handling the OSError.
    """
    import errno

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        current = current.__cause__ or current.__context__
    return False
