"""CCER project documents (PDD, emission-reduction report): content, checks and rendering.

* :mod:`~mrv_service.documents.content`: the document model built from a finished run
  (:func:`~mrv_service.documents.content.build_pdd`,
  :func:`~mrv_service.documents.content.build_reduction_report`,
  :func:`~mrv_service.documents.content.write_json`);
* :mod:`~mrv_service.documents.render`: DOCX, HTML and figures of a model;
* :func:`methodology.conformance.check_document`: its conformance with the methodology.

:func:`write_run_documents` is the documents step at the end of ``mrv run``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["render_files", "write_run_documents"]

log = logging.getLogger(__name__)


def render_files(doc: Mapping[str, Any], out_dir: Path, basename: str) -> tuple[list[Path], str | None]:
    """Render ``doc`` as DOCX, HTML and figures with :func:`mrv_service.documents.render.write_documents`.

    Returns the paths written and, when nothing could be rendered, why (the JSON is written
    regardless by the caller): the renderer is missing, or it refused the document.
    """
    try:
        from mrv_service.documents.render import write_documents
    except ImportError as exc:
        return (
            [],
            f"{basename}: DOCX and HTML not rendered (the renderer is not available: {exc}); {basename}.json written",
        )
    try:
        return list(write_documents(dict(doc), Path(out_dir), basename)), None
    except Exception as exc:  # noqa: BLE001 - a rendering failure must not lose the run's results
        log.warning("rendering %s failed", basename, exc_info=True)
        return (
            [],
            f"{basename}: DOCX and HTML not rendered ({type(exc).__name__}: {exc}); {basename}.json written",
        )


def write_run_documents(
    tmp: Path,
    inputs: Any,
    summary: Mapping[str, Any],
    *,
    id_salt: str | None = None,
    only: str | None = None,
) -> list[str]:
    """Write ``pdd.*`` and ``reduction_report.*`` (accounting period: the project years) of a run
    into its output directory ``tmp`` (still partial: ``summary`` is the summary being written).

    ``only``: one of :data:`~mrv_service.documents.content.RUN_DOCUMENTS` (a run's cluster
    builds the two in two tasks at once).
    Returns the files written, relative to ``tmp`` (the JSON always; DOCX, HTML and figures when
    the renderer is there). A document that cannot be built is logged as a warning and skipped:
    the run's other results are still published.
    """
    from methodology.definition import load_definition
    from models.errors import MRVError
    from mrv_service.documents.content import (
        PDD_BASENAME,
        REPORT_BASENAME,
        RUN_DOCUMENTS,
        build_pdd,
        build_reduction_report,
        default_accounting_period,
        write_json,
    )

    if only is not None and only not in RUN_DOCUMENTS:
        raise ValueError(f"no run document {only!r}; valid: {', '.join(RUN_DOCUMENTS)}")
    tmp = Path(tmp)
    definition = load_definition(inputs.project.methodology_id)
    start, end = default_accounting_period(inputs)
    builders = (
        (PDD_BASENAME, lambda: build_pdd(tmp, inputs, definition, summary=summary, id_salt=id_salt)),
        (
            REPORT_BASENAME,
            lambda: build_reduction_report(
                tmp, inputs, definition, start, end, summary=summary, id_salt=id_salt
            ),
        ),
    )
    written: list[str] = []
    for basename, build in builders:
        if only is not None and basename != only:
            continue
        try:
            doc = build()
        except MRVError as exc:
            log.warning("documents: %s not written: %s", basename, exc)
            continue
        except Exception:  # noqa: BLE001 - a document bug must not lose the run's results
            log.warning("documents: %s not written (internal error)", basename, exc_info=True)
            continue
        paths = [write_json(doc, tmp / f"{basename}.json")]
        rendered, problem = render_files(doc, tmp, basename)
        if problem:
            log.warning("documents: %s", problem)
        paths += rendered
        written += [p.relative_to(tmp).as_posix() for p in paths]
    return written
