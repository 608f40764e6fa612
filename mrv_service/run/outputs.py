"""A run's output directory, published all at once: the previous complete results stay intact
until the new ones are complete.

A run writes into a hidden sibling ``.NAME.partial-PID`` of the output directory ``NAME``. When it
is complete, :meth:`RunDirectory.publish` renames ``NAME`` to ``.NAME.previous``, the partial
directory to ``NAME``, and deletes the previous one. A run killed before that leaves ``NAME``
untouched (and a partial directory that the next run deletes). The only window in which ``NAME``
does not exist lies between the two renames; :meth:`RunDirectory.recover`, called by every run
before it starts, puts ``.NAME.previous`` back if a crash fell in that window.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["RunDirectory"]

log = logging.getLogger(__name__)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunDirectory:
    """Write a run's files beside ``final`` and publish them in one rename.

    Parameters
    ----------
    final : pathlib.Path
        The output directory users read (e.g. ``out/PROJECT``).
    """

    def __init__(self, final: Path):
        self.final = Path(final).absolute()
        self.parent = self.final.parent
        self.previous = self.parent / f".{self.final.name}.previous"
        self.tmp = self.parent / f".{self.final.name}.partial-{os.getpid()}"

    def recover(self) -> None:
        """Undo an interrupted publish and delete partial directories of dead processes."""
        self.parent.mkdir(parents=True, exist_ok=True)
        if not self.final.exists() and self.previous.is_dir():
            self.previous.rename(self.final)
            log.warning("restored %r: a run was interrupted while publishing its results", str(self.final))
        elif self.previous.exists():
            shutil.rmtree(self.previous, ignore_errors=True)
        for p in self.parent.glob(f".{self.final.name}.partial-*"):
            pid = p.name.rsplit("-", 1)[-1]
            if pid.isdigit() and (int(pid) == os.getpid() or not _pid_alive(int(pid))):
                shutil.rmtree(p, ignore_errors=True)

    def open(self) -> Path:
        """Create the empty partial directory and return it."""
        self.recover()
        self.tmp.mkdir(parents=True)
        return self.tmp

    def previous_file(self, name: str) -> Path | None:
        """A file of the last published run, if it exists."""
        p = self.final / name
        return p if p.is_file() else None

    def previous_json(self, name: str) -> dict[str, Any] | None:
        """A JSON file of the last published run, parsed (None when absent or unreadable)."""
        p = self.previous_file(name)
        if p is None:
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def carry(self, name: str) -> bool:
        """Copy a file of the last published run into the partial directory (hard link when possible)."""
        src = self.previous_file(name)
        if src is None:
            return False
        dst = self.tmp / name
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        return True

    def publish(self) -> Path:
        """Replace ``final`` by the partial directory; returns ``final``."""
        if self.previous.exists():
            shutil.rmtree(self.previous)
        had_final = self.final.exists()
        if had_final:
            self.final.rename(self.previous)
        self.tmp.rename(self.final)
        if had_final:
            shutil.rmtree(self.previous, ignore_errors=True)
        return self.final

    def discard(self) -> None:
        """Delete the partial directory (the published results are untouched)."""
        shutil.rmtree(self.tmp, ignore_errors=True)
