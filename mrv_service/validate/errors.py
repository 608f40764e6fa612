"""Errors of reading a long-term experiment's folder. Each names the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

from models.errors import MRVError

__all__ = ["SiteError", "SiteFileMissingError", "SiteFormatError"]


class SiteError(MRVError, ValueError):
    """A site folder or one of its files cannot be used (the message says why and what to do)."""


class SiteFileMissingError(SiteError, FileNotFoundError):
    """A file the site needs is not in its folder."""

    def __init__(self, path: Path | str, what: str, fix: str):
        self.path = str(path)
        super().__init__(f"{path}: {what} not found; {fix}")


class SiteFormatError(SiteError):
    """A line of a site file cannot be read."""

    def __init__(self, path: Path | str, line: int | None, problem: str, fix: str):
        self.path = str(path)
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}; {fix}")
