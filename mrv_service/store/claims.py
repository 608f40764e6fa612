"""Plots claimed twice: a project's plots that overlap plots of another project in the store.

Aggregators sign up whole villages, and two of them may sign up the same fields. A plot's claim
is judged on its geometry, not its id: every plot of the project is tested against every other
project's plots (an STRtree over a metric projection, :func:`geodata.overlaps.find_overlaps`, the
ingest's own overlap rule and tolerances; on PostGIS the same rule as an indexed ``ST_Intersects``
join, :mod:`mrv_service.store.spatial`). The project registered later (``created_at``) yields:
its overlapping plots are refused (no credit) and listed, so the run reports them by plot. Plots
overlapping within one project are refused at ingest already.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from geodata.overlaps import find_overlaps
from mrv_service.store.models import Plot, Project
from mrv_service.store.spatial import has_postgis, overlapping_pairs

__all__ = ["CLAIM_COLUMNS", "overlapping_claims"]

CLAIM_COLUMNS = ("plot_id", "other_project", "other_plot_id", "overlap_m2", "overlap_fraction", "refused")
"""Columns of :func:`overlapping_claims`; ``overlap_fraction`` of the smaller plot [1]."""


def overlapping_claims(session: Session, project: Project) -> pd.DataFrame:
    """Overlaps between the project's plots and other projects' plots (module notes).

    Returns
    -------
    pandas.DataFrame
        :data:`CLAIM_COLUMNS`, one row per overlapping pair; ``refused`` is True where this
        project was registered after the other one (its plot gets no credit).
    """
    if has_postgis(session):
        return _claims_in_postgis(session, project)
    return _claims_in_python(session, project)


def _claims_in_python(session: Session, project: Project) -> pd.DataFrame:
    """:func:`overlapping_claims` with an STRtree over all the store's plots."""
    rows = session.execute(
        select(
            Plot.external_id, Plot.geometry_wkt, Plot.project_id, Project.name, Project.created_at, Project.id
        ).join(Project, Project.id == Plot.project_id)
    ).all()
    if not rows:
        return pd.DataFrame(columns=list(CLAIM_COLUMNS))
    df = pd.DataFrame(rows, columns=["plot_id", "wkt", "project_id", "project", "created_at", "pid"])
    mine = (df["project_id"] == project.id).to_numpy()
    if not mine.any() or mine.all():
        return pd.DataFrame(columns=list(CLAIM_COLUMNS))
    geo = gpd.GeoSeries(shapely.from_wkt(df["wkt"].to_numpy()), crs="EPSG:4326")
    metric = geo.to_crs(geo.estimate_utm_crs()).to_numpy()
    out = []
    for i, j, overlap, frac in find_overlaps(metric, candidates=mine):
        if mine[i] == mine[j]:
            continue  # within one project: refused at ingest
        me, other = (i, j) if mine[i] else (j, i)
        later = (df.at[me, "created_at"], df.at[me, "pid"]) > (
            df.at[other, "created_at"],
            df.at[other, "pid"],
        )
        out.append(
            (
                str(df.at[me, "plot_id"]),
                str(df.at[other, "project"]),
                str(df.at[other, "plot_id"]),
                round(overlap, 1),
                round(frac, 4),
                bool(later),
            )
        )
    return _frame(out)


def _frame(out: list[tuple]) -> pd.DataFrame:
    return (
        pd.DataFrame(out, columns=list(CLAIM_COLUMNS))
        .sort_values(["plot_id", "other_project"])
        .reset_index(drop=True)
    )


def _claims_in_postgis(session: Session, project: Project) -> pd.DataFrame:
    """:func:`overlapping_claims` with the join in PostGIS (:mod:`mrv_service.store.spatial`)."""
    pairs = overlapping_pairs(session, project.id, other_projects=True)
    if not pairs:
        return pd.DataFrame(columns=list(CLAIM_COLUMNS))
    ids = sorted({i for p in pairs for i in p[:2]})
    info = {}
    for k in range(0, len(ids), 5000):
        for pk, ext, name, created, pid in session.execute(
            select(Plot.id, Plot.external_id, Project.name, Project.created_at, Project.id)
            .join(Project, Project.id == Plot.project_id)
            .where(Plot.id.in_(ids[k : k + 5000]))
        ):
            info[pk] = (ext, name, created, pid)
    out = []
    for me, other, overlap, frac in pairs:
        m, o = info[me], info[other]
        later = (m[2], m[3]) > (o[2], o[3])
        out.append((str(m[0]), str(o[1]), str(o[0]), round(overlap, 1), round(frac, 4), bool(later)))
    return _frame(out)
