"""Each succeeded run's per-plot headline in the store (``plot_results``), so that the review
pages filter, sort and page plots in the database instead of reading a run's CSV.

:func:`replace_plot_results` writes a run's rows from its published ``plot_results.csv`` and
``flags.csv`` (the plot's most blocking flag severity and its number of flags) in one
transaction; a run's rows are replaced as a whole.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from models.verification.reconcile import SEVERITIES
from mrv_service.store.db import begin_write
from mrv_service.store.models import Plot, PlotResult, Run
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


def replace_plot_results(
    session: Session, run: Run, results: pd.DataFrame, flags: pd.DataFrame | FlagBlocks | None
) -> int:
    """Store a run's per-plot results (committed); returns the number of rows.

    Parameters
    ----------
    results : pandas.DataFrame
        ``plot_results.csv`` (``plot_id`` the plot's external id, and :data:`RESULT_COLUMNS`;
        missing columns are stored as null).
    flags : pandas.DataFrame, callable or None
        ``flags.csv`` (``plot_id``, ``severity``), or a callable returning it in blocks
        (:data:`mrv_service.store.verification.FlagBlocks`).
    """
    begin_write(session)
    pks = dict(
        session.execute(select(Plot.external_id, Plot.id).where(Plot.project_id == run.project_id)).all()
    )
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    worst: dict[str, str] = {}
    count: dict[str, int] = {}
    blocks = [] if flags is None else [flags] if isinstance(flags, pd.DataFrame) else flags()
    for block in blocks:
        for pid, sev in zip(block["plot_id"].astype(str), block["severity"].astype(str), strict=True):
            count[pid] = count.get(pid, 0) + 1
            if pid not in worst or rank.get(sev, -1) > rank.get(worst[pid], -1):
                worst[pid] = sev
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
                "worst_severity": worst.get(pid),
                "n_flags": count.get(pid, 0),
            }
        )
    session.execute(delete(PlotResult).where(PlotResult.run_id == run.id))
    if rows:
        session.execute(insert(PlotResult), rows)
    session.commit()
    log.info("run %s: %d plot results stored", run.id, len(rows))
    return len(rows)
