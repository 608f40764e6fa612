"""The documents step of ``mrv run`` as a task on the run's cluster.

The CCER documents list every plot (``pdd.json``'s plot register, the maps' points) and read
every plot's results: on a cluster they are built by a worker, which reads the plots from the
files the run wrote them to (:mod:`mrv_service.run.plot_parts`), so the run's own process holds
none of it (``docs/SCALE.md``). Without a cluster they are built in the run's process, as every
other task is.

A worker's log records do not reach the run's ``run.log``: the task collects the documents'
records and the run's process logs them again (not when the task ran in the run's own process,
where they were already logged).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from mrv_service.documents import write_run_documents
from mrv_service.run.cluster import ChunkPool
from mrv_service.run.inputs import ProjectInputs

__all__ = ["DocumentsResult", "DocumentsTask", "documents_task", "run_documents"]

LOGGER = "mrv_service.documents"
"""The documents' logger (its children's records reach its handlers)."""


@dataclasses.dataclass(frozen=True)
class DocumentsTask:
    out: Path
    """The run's output directory being written (on a file system the workers share)."""
    inputs: ProjectInputs
    summary: dict[str, Any]
    id_salt: str | None


@dataclasses.dataclass(frozen=True)
class DocumentsResult:
    written: list[str]
    """The files written, relative to the output directory."""
    records: list[tuple[int, str]]
    """(level, text) of the documents' log records, in order."""
    pid: int
    """The process that built them."""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[int, str]] = []
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, self.format(record)))


def documents_task(task: DocumentsTask) -> DocumentsResult:
    """:func:`mrv_service.documents.write_run_documents`, its log records collected."""
    handler = _Collect()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    try:
        written = write_run_documents(task.out, task.inputs.with_plots(), task.summary, id_salt=task.id_salt)
    finally:
        logger.removeHandler(handler)
    return DocumentsResult(written, handler.records, os.getpid())


def run_documents(
    pool: ChunkPool, out: Path, inputs: ProjectInputs, summary: dict[str, Any], id_salt: str | None
) -> list[str]:
    """The run's documents written into ``out`` by one task on ``pool`` (module notes); returns
    the files written, relative to ``out``."""
    task = DocumentsTask(Path(out), inputs, summary, id_salt)
    if pool.client is None:
        return write_run_documents(task.out, inputs.with_plots(), summary, id_salt=id_salt)
    [result] = pool.map(documents_task, lambda _i: task, 1, name="documents")
    if result.pid != os.getpid():
        logger = logging.getLogger(LOGGER)
        for level, text in result.records:
            logger.log(level, "%s", text)
    return result.written
