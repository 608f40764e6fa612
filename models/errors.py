"""The project's error root and warning base (STYLE.md section 5).

Every package raises subclasses of :class:`MRVError` that also inherit the matching builtin,
so callers may catch either ``MRVError`` or, say, ``ValueError``.
"""

from __future__ import annotations

import warnings


class MRVError(Exception):
    """Root of every error the MRV service raises on purpose."""


class ModelInputError(MRVError, ValueError):
    """A model input is missing, has the wrong shape or units, or is out of range."""


class ParameterLookupError(MRVError, KeyError):
    """A parameter table has no row for the requested key."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class MRVWarning(UserWarning):
    """Base of every recoverable issue; escalate them all with :func:`strict`."""


def strict() -> None:
    """Turn every :class:`MRVWarning` into an error (for CI runs and audits)."""
    warnings.simplefilter("error", MRVWarning)
