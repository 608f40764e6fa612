"""Which treatments of an experiment differ in one practice only, which way, and which is the control.

A treatment's practice is summarised per category (:class:`PracticeSummary`) over the run years:

* **tillage**: the share of months at each IPCC Tier 1 tillage level (from ``till_method``) and the
  yearly sum of burial fractions;
* **residue**: the share of the above-ground residue of main crops left on the field (after burning);
* **manure**: manure C per year [t C ha-1 yr-1];
* **nitrogen**: N per main-crop season [kg N ha-1];
* **rotation/other**: the main and the other (cover, forage) crops grown, seasons per year, and the
  irrigation.

Two treatments of a site form a **pair** when exactly one category differs beyond its tolerance
(:data:`TOLERANCE`): the tolerances absorb schedules that are one year out of step or round an N
rate differently, not real contrasts. Pairs are oriented as the practice change a project makes:
no-till minus plough, residue retained minus removed, manure minus none, high minus low N, and for
rotation/other the treatment with more plant C per year minus the one with less.

The **control** (the pre-experiment practice the spin-up uses) is the treatment that looks most
like conventional farming: the most tillage, then the least manure, the fewest cover or forage
crops, the most residue left, the N rate nearest the site's median, then the name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import xarray as xr

from models import ipcc_tier1
from models.tillage import LEVEL_ORDER
from models.validation.management import TreatmentRecords

__all__ = [
    "CATEGORIES",
    "TOLERANCE",
    "Pair",
    "PracticeSummary",
    "choose_control",
    "differing_categories",
    "find_pairs",
    "summarize_practice",
]

CATEGORIES: tuple[str, ...] = ("tillage", "residue", "manure", "nitrogen", "rotation/other")
"""Practice categories of the paired comparisons."""

TOLERANCE: Mapping[str, float] = MappingProxyType(
    {
        "tillage_level_share": 0.10,
        "tillage_burial_per_year": 0.25,
        "residue_retained": 0.05,
        "manure_abs": 0.05,
        "relative": 0.10,
        "nitrogen_abs": 5.0,
        "seasons_per_year": 0.10,
        "irrigation_abs": 10.0,
        "auto_months_per_year": 0.5,
    }
)
"""Differences below these are 'the same practice' (shares [1], t C ha-1 yr-1, kg N ha-1, seasons
yr-1, mm yr-1, months yr-1; ``relative`` applies to manure, N and irrigation as a share of the larger)."""


@dataclass(frozen=True)
class PracticeSummary:
    """A treatment's practice per category over the run years."""

    name: str
    level_share: Mapping[str, float]
    """Share of months at each Tier 1 tillage level [1]."""
    burial_per_year: float
    """Sum of the burial fractions of the tillage passes per year [1 yr-1]."""
    retained: float
    """Share of main crops' above-ground residue left on the field (unit-weighted) [1]."""
    manure_per_year: float
    """Manure C [t C ha-1 yr-1]."""
    n_per_season: float
    """N per main-crop season [kg N ha-1]."""
    main_crops: frozenset[str]
    """Crops harvested as main crops."""
    other_crops: frozenset[str]
    """Crops ended by a kill, mowing or forage cut (cover crops, green manures, hay)."""
    main_per_year: float
    """Main-crop seasons per year."""
    other_per_year: float
    """Other seasons per year."""
    irrigation_per_year: float
    """Scheduled irrigation [mm yr-1]."""
    auto_months_per_year: float
    """Months under automatic irrigation per year."""
    plant_c_per_year: float
    """Nominal plant C left in the field per year (roots + retained above-ground residue)."""

    @property
    def disturbance(self) -> float:
        """Mean Tier 1 level index (0 no-till .. 2 full) plus a little for burial, for ordering."""
        return (
            sum(LEVEL_ORDER.index(k) * v for k, v in self.level_share.items()) + 0.01 * self.burial_per_year
        )


def _within(d: dt.date, start: dt.date, end: dt.date) -> bool:
    return start <= d <= end


def summarize_practice(
    records: TreatmentRecords, till_method: xr.DataArray, start_year: int, end_year: int
) -> PracticeSummary:
    """The :class:`PracticeSummary` of one treatment over Jan ``start_year`` .. Dec ``end_year``.

    Parameters
    ----------
    records : TreatmentRecords
        From :func:`models.validation.management.interpret`.
    till_method : xarray.DataArray
        The treatment's monthly ``till_method`` (:func:`models.validation.monthly.monthly_inputs`).
    start_year, end_year : int
        Run years.
    """
    start, end = dt.date(start_year, 1, 1), dt.date(end_year, 12, 31)
    years = end_year - start_year + 1
    levels = [ipcc_tier1.TILLAGE_LEVEL_OF_METHOD.get(str(m), "full_till") for m in np.asarray(till_method)]
    share = {lv: levels.count(lv) / max(len(levels), 1) for lv in LEVEL_ORDER}
    passes = [p for p in records.passes if _within(p.date, start, end)]
    seasons = [s for s in records.seasons if _within(s.close, start, end)]
    main = [s for s in seasons if s.is_main]
    other = [s for s in seasons if not s.is_main]
    unit_main = sum(s.unit for s in main)
    retained = sum(s.unit * s.retained for s in main) / unit_main if unit_main > 0 else 1.0
    plant_c = sum(s.unit * (1.0 - s.above_ground_share * (1.0 - s.retained)) for s in seasons)
    auto_days = 0
    for first, last in records.auto_irrigation:
        lo, hi = max(first, start), min(last, end)
        if hi >= lo:
            auto_days += (hi - lo).days + 1
    return PracticeSummary(
        name=records.name,
        level_share=MappingProxyType(share),
        burial_per_year=sum(p.burial for p in passes) / years,
        retained=retained,
        manure_per_year=sum(c for d, c, _ in records.manure if _within(d, start, end)) / years,
        n_per_season=float(np.mean([s.n_kg for s in main])) if main else 0.0,
        main_crops=frozenset(s.crop for s in main),
        other_crops=frozenset(s.crop for s in other),
        main_per_year=len(main) / years,
        other_per_year=len(other) / years,
        irrigation_per_year=sum(mm for d, mm in records.irrigation if _within(d, start, end)) / years,
        auto_months_per_year=auto_days / 30.4375 / years,
        plant_c_per_year=plant_c / years,
    )


def _rel_differs(a: float, b: float, absolute: float) -> bool:
    return abs(a - b) > max(absolute, TOLERANCE["relative"] * max(abs(a), abs(b)))


def differing_categories(a: PracticeSummary, b: PracticeSummary) -> list[str]:
    """The categories in which two treatments' practices differ beyond :data:`TOLERANCE`."""
    out = []
    if (
        max(abs(a.level_share[k] - b.level_share[k]) for k in LEVEL_ORDER) > TOLERANCE["tillage_level_share"]
        or abs(a.burial_per_year - b.burial_per_year) > TOLERANCE["tillage_burial_per_year"]
    ):
        out.append("tillage")
    if abs(a.retained - b.retained) > TOLERANCE["residue_retained"]:
        out.append("residue")
    if _rel_differs(a.manure_per_year, b.manure_per_year, TOLERANCE["manure_abs"]):
        out.append("manure")
    if _rel_differs(a.n_per_season, b.n_per_season, TOLERANCE["nitrogen_abs"]):
        out.append("nitrogen")
    if (
        a.main_crops != b.main_crops
        or a.other_crops != b.other_crops
        or abs(a.main_per_year - b.main_per_year) > TOLERANCE["seasons_per_year"]
        or abs(a.other_per_year - b.other_per_year) > TOLERANCE["seasons_per_year"]
        or _rel_differs(a.irrigation_per_year, b.irrigation_per_year, TOLERANCE["irrigation_abs"])
        or abs(a.auto_months_per_year - b.auto_months_per_year) > TOLERANCE["auto_months_per_year"]
    ):
        out.append("rotation/other")
    return out


@dataclass(frozen=True)
class Pair:
    """Two treatments differing in one practice category, oriented as ``a`` minus ``b``."""

    a: str
    """The treatment with the project-like practice (less tillage, more residue/manure/N/plant C)."""
    b: str
    """The other treatment."""
    category: str
    """One of :data:`CATEGORIES`."""
    label: str
    """What the difference means, e.g. ``no_till/reduced minus plough``."""


def _orient(x: PracticeSummary, y: PracticeSummary, category: str) -> tuple[PracticeSummary, PracticeSummary]:
    key = {
        "tillage": lambda s: -s.disturbance,
        "residue": lambda s: s.retained,
        "manure": lambda s: s.manure_per_year,
        "nitrogen": lambda s: s.n_per_season,
        "rotation/other": lambda s: s.plant_c_per_year,
    }[category]
    kx, ky = key(x), key(y)
    if kx > ky or (kx == ky and x.name < y.name):
        return x, y
    return y, x


def _label(a: PracticeSummary, b: PracticeSummary, category: str) -> str:
    if category == "tillage":

        def lv(s: PracticeSummary) -> str:
            return max(s.level_share, key=lambda k: s.level_share[k])

        return f"{lv(a)} minus {lv(b)}"
    if category == "residue":
        return f"residue {a.retained:.0%} left minus {b.retained:.0%} left"
    if category == "manure":
        return f"manure {a.manure_per_year:.2f} minus {b.manure_per_year:.2f} t C/ha/yr"
    if category == "nitrogen":
        return f"N {a.n_per_season:.0f} minus {b.n_per_season:.0f} kg N/ha per crop"
    crops_a = "+".join(sorted(a.main_crops | a.other_crops))
    crops_b = "+".join(sorted(b.main_crops | b.other_crops))
    return (
        f"{crops_a} ({a.plant_c_per_year:.2f}) minus {crops_b} ({b.plant_c_per_year:.2f}) nominal plant C/yr"
    )


def find_pairs(
    summaries: Mapping[str, PracticeSummary],
) -> tuple[list[Pair], list[tuple[str, str, tuple[str, ...]]]]:
    """All one-category pairs among a site's treatments.

    Returns
    -------
    pairs : list of Pair
    confounded : list of (treatment, treatment, categories)
        Pairs differing in more than one category (not compared).
    """
    names = sorted(summaries)
    pairs: list[Pair] = []
    confounded: list[tuple[str, str, tuple[str, ...]]] = []
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            cats = differing_categories(summaries[x], summaries[y])
            if len(cats) == 1:
                a, b = _orient(summaries[x], summaries[y], cats[0])
                pairs.append(Pair(a.name, b.name, cats[0], _label(a, b, cats[0])))
            elif len(cats) > 1:
                confounded.append((x, y, tuple(cats)))
    return pairs, confounded


def choose_control(summaries: Mapping[str, PracticeSummary]) -> str:
    """The treatment taken as the pre-experiment practice (module notes)."""
    if not summaries:
        raise ValueError("no treatments to choose a control from")
    n_median = float(np.median([s.n_per_season for s in summaries.values()]))

    def rank(s: PracticeSummary) -> tuple:
        return (
            -round(s.disturbance, 6),
            round(s.manure_per_year, 6),
            round(s.other_per_year, 6),
            -round(s.retained, 6),
            round(abs(s.n_per_season - n_median), 6),
            s.name,
        )

    return min(summaries.values(), key=rank).name
