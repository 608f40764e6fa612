"""Each succeeded run's per-plot headline in the store (``plot_results``), so that the review
pages filter, sort and page plots in the database instead of reading a run's CSV.

:func:`replace_plot_results` writes a run's rows from its published ``plot_results.csv``, block
by block, and counts each plot's stored flags of the run (its most blocking severity and its
number of flags) in the database, in one transaction; a run's rows are replaced as a whole.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from models.verification.reconcile import SEVERITIES
from mrv_service.store.db import begin_write
from mrv_service.store.models import PlotResult, Run, VerificationFlag
from mrv_service.store.reads import plot_keys
from mrv_service.store.verification import FlagBlocks

__all__ = ["replace_plot_results", "RESULT_COLUMNS"]

log = logging.getLogger(__name__)

RESULT_COLUMNS = {
    "baseline_practice": "baseline_practice",
    "project_practice": "project_practice",
    "delta_t_co2e": "delta_t_co2e",
    "delta_t_co2e_p5": "delta_t_co2e_p5",
    "delta_t_co2e_p95": "delta_t_co2e_p95",
    "net_t_co2e": "net_t_co2e",
}
"""``plot_results`` column -> the ``plot_results.csv`` column it is read from."""


def _float(v) -> float | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)


def _text(v) -> str | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def replace_plot_results(session: Session, run: Run, results: pd.DataFrame | FlagBlocks) -> int:
    """Store a run's per-plot results (committed); returns the number of rows.

    The rows are inserted block by block and each plot's ``n_flags`` and ``worst_severity`` are
    counted in the database from the run's stored verification flags (store them first,
    :func:`~mrv_service.store.verification.replace_run_flags`), so that no per-plot table of the
    run is held here (each block's plots are matched to their store keys, :func:`plot_keys`). The
    run's old rows are deleted in the same transaction.

    Parameters
    ----------
    results : pandas.DataFrame or callable
        ``plot_results.csv`` (``plot_id`` the plot's external id, and :data:`RESULT_COLUMNS`;
        missing columns are stored as null), or a callable returning it in blocks
        (e.g. ``pd.read_csv(path, chunksize=...)``).
    """
    begin_write(session)
    session.execute(delete(PlotResult).where(PlotResult.run_id == run.id))
    n = 0
    for block in [results] if isinstance(results, pd.DataFrame) else results():
        rows = _rows(block, run, plot_keys(session, run.project_id, block["plot_id"].astype(str)))
        if rows:
            session.execute(insert(PlotResult), rows)
            n += len(rows)
    _count_flags(session, run.id)
    session.commit()
    log.info("run %s: %d plot results stored", run.id, n)
    return n


def _rows(results: pd.DataFrame, run: Run, pks: dict[str, int]) -> list[dict]:
    cols = {
        k: (results[v].tolist() if v in results.columns else [None] * len(results))
        for k, v in RESULT_COLUMNS.items()
    }
    rows = []
    for i, pid in enumerate(results["plot_id"].astype(str)):
        pk = pks.get(pid)
        if pk is None:  # a plot deleted since the run read its inputs
            continue
        rows.append(
            {
                "run_id": run.id,
                "project_id": run.project_id,
                "plot_id": pk,
                "baseline_practice": _text(cols["baseline_practice"][i]),
                "project_practice": _text(cols["project_practice"][i]),
                **{k: _float(cols[k][i]) for k in RESULT_COLUMNS if k.startswith(("delta", "net"))},
                "worst_severity": None,
                "n_flags": 0,
            }
        )
    return rows


def _count_flags(session: Session, run_id: int) -> None:
    """Each stored result of the run: its number of flags and the most blocking severity of them
    (:data:`~models.verification.reconcile.SEVERITIES`, least to most), from the run's stored
    flags through their (run, plot) index."""
    f = VerificationFlag
    r = PlotResult
    of_plot = (f.run_id == r.run_id) & (f.plot_id == r.plot_id)
    rank = case({s: i for i, s in enumerate(SEVERITIES)}, value=f.severity, else_=-1)
    n = select(func.count(f.id)).where(of_plot).scalar_subquery()
    worst = select(f.severity).where(of_plot).order_by(rank.desc(), f.id).limit(1).scalar_subquery()
    session.execute(
        update(r).where(r.run_id == run_id).values(n_flags=n, worst_severity=worst),
        execution_options={"synchronize_session": False},
    )
