"""A treatment's records -> monthly model inputs over (plot, month), in nominal plant-input units.

The last step of the input rule of :mod:`models.validation.management` (its module notes give
the rule): roots spread over the days of growth (``c_inp``), the retained above-ground residue on
the surface in the month of the harvest or kill (``surface_inp``), the month's burial by tillage
``incorporation = 1 - prod(1 - b)`` over its passes (b from :data:`models.surface.BURIAL_FRACTION`),
the canonical method in force between main harvests (``till_method``), manure (``fym``), plant
cover (``pc``), scheduled and automatic irrigation.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from models import ipcc_tier1
from models.surface import BURIAL_FRACTION
from models.tillage import LEVEL_ORDER
from models.validation.management import ManagementRule, TreatmentRecords

__all__ = ["monthly_inputs"]


# --------------------------------------------------------------------------------------------
# records -> monthly inputs
# --------------------------------------------------------------------------------------------


def _ordinal(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def _days_per_month(start: dt.date, end: dt.date) -> dict[int, int]:
    """Days of [start, end] (both included) in each month, by month ordinal."""
    out: dict[int, int] = {}
    for mo in range(_ordinal(start), _ordinal(end) + 1):
        y, m = divmod(mo, 12)
        first = dt.date(y, m + 1, 1)
        last = dt.date(y, m + 1, _cal.monthrange(y, m + 1)[1])
        n = (min(end, last) - max(start, first)).days + 1
        if n > 0:
            out[mo] = n
    return out


def _method_key(method: str) -> tuple[int, float]:
    """Order of disturbance: IPCC Tier 1 level first, then burial."""
    level = ipcc_tier1.TILLAGE_LEVEL_OF_METHOD[method]
    return LEVEL_ORDER.index(level), BURIAL_FRACTION[method]


def _season_methods(records: TreatmentRecords, months: pd.DatetimeIndex) -> np.ndarray:
    """Canonical method in force per month: the most disturbing pass between main harvests."""
    closes = sorted({s.close for s in records.seasons if s.is_main})
    bounds = [dt.date.min, *closes, dt.date.max]
    window_method: list[str | None] = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        ms = [p.method for p in records.passes if lo < p.date <= hi]
        window_method.append(max(ms, key=_method_key) if ms else None)
    # the stretch after the last main harvest without passes keeps the practice before it
    if (
        window_method
        and window_method[-1] is None
        and len(window_method) > 1
        and not any(p.date > closes[-1] for p in records.passes)
    ):
        window_method[-1] = window_method[-2]
    out = np.empty(len(months), dtype=object)
    for j, m in enumerate(months):
        mid = dt.date(m.year, m.month, 15)
        k = int(
            np.searchsorted(np.array([b.toordinal() for b in bounds[1:-1]]), mid.toordinal(), side="left")
        )
        out[j] = window_method[k] or "no_till"
    return out


def monthly_inputs(
    records: Mapping[str, TreatmentRecords],
    start_year: int,
    end_year: int,
    rule: ManagementRule | None = None,
) -> xr.Dataset:
    """Monthly model inputs of every treatment, Jan ``start_year`` to Dec ``end_year``.

    Parameters
    ----------
    records : mapping
        Treatment id -> :class:`TreatmentRecords` (:func:`interpret`).
    start_year, end_year : int
        Calendar years of the run.
    rule : ManagementRule, optional

    Returns
    -------
    xarray.Dataset
        Over (plot, month), plot = treatment id: ``c_inp`` [t C ha-1 month-1] plant C entering the
        soil directly (roots), ``surface_inp`` [t C ha-1 month-1] above-ground residue left on the
        surface at harvest or kill, ``incorporation`` [1] share of the surface residue buried by the
        month's tillage, ``till_method`` (canonical method in force), ``fym`` [t C ha-1 month-1]
        manure C, ``pc`` [1] plant cover, ``dpm_rpm`` [1], ``irrigation`` [mm month-1] scheduled
        irrigation and ``auto_irrigation`` [1] share of the month automatically irrigated. Plant
        inputs are in nominal units (module notes) until scaled by the fit.
    """
    rule = rule or ManagementRule()
    months = pd.date_range(f"{start_year}-01-01", f"{end_year}-12-01", freq="MS")
    m0 = start_year * 12
    n = len(months)
    names = list(records)
    shape = (len(names), n)
    c_inp, s_inp, inc, fym, pc, irr, auto = (np.zeros(shape) for _ in range(7))
    keep = np.ones(shape)
    method = np.empty(shape, dtype=object)
    days_in = np.array([m.days_in_month for m in months], dtype=float)
    for i, name in enumerate(names):
        rec = records[name]
        for s in rec.seasons:
            grow = _days_per_month(s.start, s.growth_end)
            total = sum(grow.values())
            bg = s.unit * (1.0 - s.above_ground_share)
            for mo, nd in grow.items():
                j = mo - m0
                if 0 <= j < n:
                    c_inp[i, j] += bg * nd / total
            j = _ordinal(s.close) - m0
            if 0 <= j < n:
                s_inp[i, j] += s.unit * s.above_ground_share * s.retained
            for mo, nd in _days_per_month(s.start, s.close).items():
                j = mo - m0
                if 0 <= j < n and nd >= rule.min_cover_fraction * days_in[j]:
                    pc[i, j] = 1.0
        for p in rec.passes:
            j = _ordinal(p.date) - m0
            if 0 <= j < n:
                keep[i, j] *= 1.0 - p.burial
        for date, carbon, _opt in rec.manure:
            j = _ordinal(date) - m0
            if 0 <= j < n:
                fym[i, j] += carbon
        for date, mm in rec.irrigation:
            j = _ordinal(date) - m0
            if 0 <= j < n:
                irr[i, j] += mm
        for first, last in rec.auto_irrigation:
            for mo, nd in _days_per_month(first, last).items():
                j = mo - m0
                if 0 <= j < n:
                    auto[i, j] = min(1.0, auto[i, j] + nd / days_in[j])
        method[i] = _season_methods(rec, months)
    inc = 1.0 - keep
    dims = ("plot", "month")
    ds = xr.Dataset(
        {
            "c_inp": (
                dims,
                c_inp,
                {"units": "t C ha-1 month-1", "long_name": "plant C entering the soil directly (roots)"},
            ),
            "surface_inp": (
                dims,
                s_inp,
                {"units": "t C ha-1 month-1", "long_name": "above-ground residue C left on the surface"},
            ),
            "incorporation": (
                dims,
                inc,
                {"units": "1", "long_name": "share of the surface residue buried by tillage in the month"},
            ),
            "till_method": (
                dims,
                method.astype(str),
                {
                    "units": "1",
                    "long_name": "canonical tillage method in force (models.surface.BURIAL_FRACTION keys)",
                },
            ),
            "fym": (dims, fym, {"units": "t C ha-1 month-1", "long_name": "manure C"}),
            "pc": (dims, pc, {"units": "1", "long_name": "plant cover (1 covered, 0 bare)"}),
            "dpm_rpm": (
                dims,
                np.full(shape, rule.dpm_rpm),
                {
                    "units": "1",
                    "long_name": "DPM/RPM ratio of plant inputs",
                    "source": "Coleman & Jenkinson (1996)",
                },
            ),
            "irrigation": (dims, irr, {"units": "mm month-1", "long_name": "scheduled irrigation"}),
            "auto_irrigation": (
                dims,
                auto,
                {
                    "units": "1",
                    "long_name": "share of the month under automatic irrigation to field capacity",
                },
            ),
        },
        coords={"plot": names, "month": months},
    )
    ds.attrs["plant_input_units"] = "nominal: one main-crop season with all residue returned = main_crop_unit"
    ds.attrs["main_crop_unit"] = rule.main_crop_unit
    return ds
