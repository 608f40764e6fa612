"""Plot soil properties from lab results: the initial SOC stock of the modelled layer, soil defaults.

Pure: a table of layer results in, a Series per plot out. The store query that feeds it is
:func:`mrv_service.store.reads.soil_layers`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.errors import ModelInputError

__all__ = [
    "DEFAULT_CLAY_PCT",
    "DEFAULT_DEPTH_CM",
    "DEFAULT_IPCC_SOIL_CLASS",
    "IPCC_SOIL_CLASSES",
    "initial_soc_stock",
    "sampled_mean_stock",
]

DEFAULT_CLAY_PCT = 30.0
"""Clay content used where no plot texture is known [%]: the middle of the 25-35 % of Northeast
China black soils in the domain brief (shared/domain/china_sample_context.md section 3, marked
unverified there). A project default to replace with measured texture before any real claim."""

DEFAULT_DEPTH_CM = 30.0
"""Default topsoil depth of the SOC accounting [cm]: 0-30 cm, the IPCC Tier 1 depth (IPCC 2006
Vol. 4 Ch. 2 section 2.3.3.1) and the sampling depth of the sample county."""

IPCC_SOIL_CLASSES: tuple[str, ...] = ("HAC", "LAC", "sandy", "spodic", "volcanic", "wetland")
"""Mineral soil classes of IPCC Table 2.3 (2006 and 2019 editions): high-activity clay, low-activity
clay, sandy, spodic, volcanic and wetland soils."""

DEFAULT_IPCC_SOIL_CLASS = "HAC"
"""IPCC soil class of Northeast China's black soils (Mollisols/Phaeozems, high-activity clay):
IPCC 2006 Vol. 4 Ch. 3 Annex 3A.5, Figure 3A.5.4."""

_TOLERANCE_CM = 1e-6


def initial_soc_stock(
    layers: pd.DataFrame, plot_ids: Sequence[str], depth_cm: float, *, project_mean: float | None = None
) -> pd.DataFrame:
    """Initial SOC stock of the 0-``depth_cm`` layer per plot [t C ha-1], from layer results.

    Parameters
    ----------
    layers : pandas.DataFrame
        One row per lab result with ``plot_id``, ``date``, ``top``, ``bottom`` [cm] and ``stock``
        (SOC stock of the layer [t C ha-1]).
    plot_ids : sequence of str
        The project's plots, in output order.
    depth_cm : float
        Depth of the modelled layer [cm].
    project_mean : float, optional
        The stock of plots without a sampling site [t C ha-1] (default: the mean of the sampled
        plots in ``layers``; a run by plot chunk passes the project's, :func:`sampled_mean_stock`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``plot``: ``soc_initial`` [t C ha-1], ``n_sites`` (sampling sites behind the
        value, 0 where the project mean was used) and ``source`` (``measured`` or
        ``project_mean``).

    Notes
    -----
    A sampling site is a plot on one sampling date. Its layers within 0-``depth_cm`` must cover
    the whole depth without gaps (the stocks are additive over depth: DATA_FORMATS.md section 3);
    sites that do not are left out. A plot's stock is the mean over its sites; plots without a
    site get the mean of the sampled plots (one stratum; the sampling design of the methodology
    may stratify).

    Raises
    ------
    ModelInputError
        When no site covers 0-``depth_cm`` (nothing to start the model from).

    Examples
    --------
    >>> t = pd.DataFrame({"plot_id": ["a", "a", "b"], "date": ["2023-10-01"] * 3,
    ...                   "top": [0, 20, 0], "bottom": [20, 30, 30], "stock": [40.0, 15.0, 50.0]})
    >>> initial_soc_stock(t, ["a", "b", "c"], 30.0)["soc_initial"].tolist()
    [55.0, 50.0, 52.5]
    """
    per_plot = _plot_stocks(layers, depth_cm)
    if project_mean is None:
        project_mean = sampled_mean_stock(layers, depth_cm, per_plot)
    index = pd.Index([str(p) for p in plot_ids], name="plot")
    out = pd.DataFrame(
        {"soc_initial": float(project_mean), "n_sites": 0, "source": "project_mean"}, index=index
    )
    hit = index.intersection(per_plot.index)
    out.loc[hit, "soc_initial"] = per_plot.loc[hit, "mean"]
    out.loc[hit, "n_sites"] = per_plot.loc[hit, "size"].astype(int)
    out.loc[hit, "source"] = "measured"
    return out


def _plot_stocks(layers: pd.DataFrame, depth_cm: float) -> pd.DataFrame:
    """Per sampled plot: the mean stock of its complete sites [t C ha-1] and their number."""
    df = layers[(layers["top"] >= 0) & (layers["bottom"] <= depth_cm + _TOLERANCE_CM)].copy()
    df["thick"] = df["bottom"] - df["top"]
    sites = df.groupby(["plot_id", "date"]).agg(
        stock=("stock", "sum"), thick=("thick", "sum"), top=("top", "min")
    )
    sites = sites[(sites["top"] <= _TOLERANCE_CM) & np.isclose(sites["thick"], depth_cm)]
    return sites.groupby("plot_id")["stock"].agg(["mean", "size"])


def sampled_mean_stock(layers: pd.DataFrame, depth_cm: float, per_plot: pd.DataFrame | None = None) -> float:
    """The mean initial stock of the sampled plots [t C ha-1] (:func:`initial_soc_stock` notes).

    Raises
    ------
    ModelInputError
        When no site covers 0-``depth_cm`` (nothing to start the model from).
    """
    per_plot = _plot_stocks(layers, depth_cm) if per_plot is None else per_plot
    if per_plot.empty:
        raise ModelInputError(
            f"no soil sample covers 0-{depth_cm:g} cm: every sampling site needs layers from 0 to "
            f"{depth_cm:g} cm with a bulk density; upload such samples (mrv ingest soil) or set "
            "model.depth_cm to the depth the samples cover"
        )
    return float(per_plot["mean"].mean())
