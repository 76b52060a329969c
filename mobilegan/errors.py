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
