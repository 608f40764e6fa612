"""The documents step of ``mrv run`` as a task on the run's cluster.

The CCER documents list every plot (``pdd.json``'s plot register, the maps' points) and read
every plot's results: on a cluster they are built by workers, one task per document (the PDD and
the emission-reduction report, at once when there are two workers), each reading the plots from
the files the run wrote them to (:mod:`mrv_service.run.plot_parts`), so the run's own process
holds none of it (``docs/SCALE.md``). Without a cluster they are built in the run's process, one
after the other, as every other task is.

A worker's log records do not reach the run's ``run.log``: each task collects its document's
records and the run's process logs them again, in the documents' order (not when the task ran in
the run's own process, where they were already logged).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from mrv_service.documents import write_run_documents
from mrv_service.documents.content import RUN_DOCUMENTS
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
    only: str
    """The document this task writes (one of :data:`~mrv_service.documents.content.RUN_DOCUMENTS`)."""


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
        written = write_run_documents(
            task.out, task.inputs.with_plots(), task.summary, id_salt=task.id_salt, only=task.only
        )
    finally:
        logger.removeHandler(handler)
    return DocumentsResult(written, handler.records, os.getpid())


def run_documents(
    pool: ChunkPool, out: Path, inputs: ProjectInputs, summary: dict[str, Any], id_salt: str | None
) -> list[str]:
    """The run's documents written into ``out`` by a task per document on ``pool`` (module
    notes); returns the files written, relative to ``out``, in the documents' order."""
    if pool.client is None:
        return write_run_documents(Path(out), inputs.with_plots(), summary, id_salt=id_salt)
    tasks = [DocumentsTask(Path(out), inputs, summary, id_salt, only) for only in RUN_DOCUMENTS]
    results = pool.map(documents_task, lambda i: tasks[i], len(tasks), name="documents")
    written: list[str] = []
    for result in results:
        if result.pid != os.getpid():
            logger = logging.getLogger(LOGGER)
            for level, text in result.records:
                logger.log(level, "%s", text)
        written += result.written
    return written
