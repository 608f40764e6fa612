"""``mrv validate``'s work: read every site, calibrate on some, run all, compare, summarise.

1. Every sub-folder of the sites directory is read (:func:`mrv_service.validate.sites.read_site`)
   and prepared (:func:`mrv_service.validate.prepare.prepare_site`); a site that cannot be used is
   skipped with its reason, as is a treatment (no schedule, a schedule error, an event the input
   rule cannot read, no SOC in the start year).
2. Calibration (:func:`calibration_sites`, :func:`models.validation.experiment.calibrate`) on the
   calibration sites only; the other sites are held out.
3. The deterministic run with the parameters used and a seeded Monte Carlo of ``n_draws`` draws
   of the model parameters per site; comparisons and statistics (:mod:`models.validation.statistics`),
   per split (``calibration``, ``held_out``, ``all``), kind (``change``, ``difference``) and category,
   in t C ha-1 and as rates in t C ha-1 yr-1 (:mod:`models.validation.rates`).
4. From the held-out paired differences as rates: the prediction error of a practice effect and,
   from every site's observed difference rates, the validated range per category.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.chain import SoilCarbonParameters
from models.errors import MRVError
from models.validation.experiment import FREE_PARAMETERS, calibrate, parameter_draws, run_site
from models.validation.management import ManagementRule
from models.validation.rates import MIN_RATE_YEARS, prediction_error, to_rates, validated_range
from models.validation.statistics import (
    MEASUREMENT_CV,
    annual_mean,
    change_comparisons,
    paired_comparisons,
    paired_draw_matrix,
    summarize,
)
from mrv_service.validate.errors import SiteError
from mrv_service.validate.prepare import PreparedSite, prepare_site
from mrv_service.validate.sites import read_site

log = logging.getLogger(__name__)

__all__ = [
    "CALIBRATION_CATEGORIES",
    "DEFAULT_DRAWS",
    "DEFAULT_SEED",
    "ValidationResult",
    "calibration_sites",
    "validate",
]

DEFAULT_DRAWS = 200
"""Monte Carlo draws per site (VM0042 suggests 100-2000 for QA1 Monte Carlo)."""

DEFAULT_SEED = 20261121
"""Seed of the draws when none is given."""

Progress = Callable[[str], None]


@dataclass
class ValidationResult:
    """Everything the report writes."""

    sites: list[PreparedSite]
    skipped_sites: dict[str, str]
    calibration: list[str]
    held_out: list[str]
    params_default: SoilCarbonParameters
    params_used: SoilCarbonParameters
    calibration_table: pd.DataFrame | None
    comparisons: pd.DataFrame
    """Every comparison [t C ha-1], with ``split`` and ``years`` (since the start)."""
    statistics: pd.DataFrame
    """:func:`models.validation.statistics.summarize` per split, kind and category [t C ha-1]."""
    rate_comparisons: pd.DataFrame
    """The comparisons >= :data:`models.validation.rates.MIN_RATE_YEARS` after the start [t C ha-1 yr-1]."""
    rate_statistics: pd.DataFrame
    """The statistics of :attr:`rate_comparisons` [t C ha-1 yr-1]."""
    prediction_error: dict[str, Any]
    """:func:`models.validation.rates.prediction_error` of the held-out difference rates."""
    rate_range: Mapping[str, Any]
    """:func:`models.validation.rates.validated_range` of every site's difference rates."""
    input_scales: dict[str, dict[str, float]]
    settings: dict[str, Any]
    run_notes: list[str] = field(default_factory=list)

    def headline(self) -> dict[str, Any]:
        """Statistics of the held-out paired differences, all categories [t C ha-1] (every site's
        when none is held out)."""
        s = self.statistics
        if s.empty:
            return {"n": 0, "bias": None, "rmse": None, "coverage": None, "split": None}
        for split in ("held_out", "all"):
            row = s[(s["split"] == split) & (s["kind"] == "difference") & (s["category"] == "overall")]
            if not row.empty and int(row.iloc[0]["n"]) > 0:
                return row.iloc[0].to_dict()
        return {"n": 0, "bias": None, "rmse": None, "coverage": None, "split": None}


def calibration_sites(sites: Sequence[PreparedSite]) -> list[str]:
    """The default calibration subset: of the sites (by name) that have a tillage or residue pair,
    every other one, starting with the first. About half of the sites that inform the free
    parameters calibrate them; the rest, and every other site, are held out."""
    informative = sorted(s.name for s in sites if any(p.category in ("tillage", "residue") for p in s.pairs))
    return informative[::2]


CALIBRATION_CATEGORIES: tuple[str, ...] = ("tillage", "residue")
"""Pair categories the calibration objective uses: the practices the free parameters stand for
(``tillage_scale`` the tillage effect on decomposition, ``surface_to_soil`` and ``surface_decay``
the fate of residue left on the surface, which differs between tillage and residue treatments)."""


def _objective(
    sites: Sequence[PreparedSite], params: SoilCarbonParameters
) -> Callable[[xr.Dataset], np.ndarray]:
    """RMSE [t C ha-1] of the tillage and residue pair differences of ``sites``, per grid point."""

    def f(grid: xr.Dataset) -> np.ndarray:
        obs_all, mod_all = [], []
        for s in sites:
            pairs = [p for p in s.pairs if p.category in CALIBRATION_CATEGORIES]
            if not pairs:
                continue
            out = run_site(s.inputs, params, draws=grid)
            soc = annual_mean(out["SOC"])
            o, m = paired_draw_matrix(pairs, s.observations, soc, start_year=s.start_year)
            obs_all.append(o)
            mod_all.append(m)
        obs = np.concatenate(obs_all) if obs_all else np.zeros(0)
        if obs.size == 0:
            raise SiteError(
                "the calibration sites have no tillage or residue pair observed after the start; "
                "choose sites with such treatment pairs (--calibrate-sites)"
            )
        mod = np.vstack(mod_all)
        return np.sqrt(np.mean((mod - obs[:, None]) ** 2, axis=0))

    return f


def _statistics(comparisons: pd.DataFrame) -> pd.DataFrame:
    """:func:`summarize` per split (and over both, ``all``) and kind."""
    stats = []
    if len(comparisons):
        for split, part in (*comparisons.groupby("split", sort=True), ("all", comparisons)):
            for kind, g in part.groupby("kind", sort=True):
                stats.append(summarize(g, by=("category",)).assign(split=split, kind=kind))
    return pd.concat(stats, ignore_index=True) if stats else pd.DataFrame()


def _prediction_error(held: pd.DataFrame, every: pd.DataFrame) -> dict[str, Any]:
    """:func:`prediction_error` of the held-out difference rates; a category with fewer than 2
    held-out rows takes every site's rows instead, named in ``from_all_sites`` (its sd then
    includes calibration sites and is not an independent estimate)."""
    out = prediction_error(held) if len(held) else {"by_category": {}, "pooled": {"n": 0, "sd": None}}
    fallback = prediction_error(every)["by_category"] if len(every) else {}
    used_all = []
    for cat, pe in fallback.items():
        if (out["by_category"].get(cat) or {}).get("sd") is None and pe.get("sd") is not None:
            out["by_category"][cat] = pe
            used_all.append(cat)
    out["from_all_sites"] = sorted(used_all)
    return out


def _read_all(
    sites_dir: Path, rule: ManagementRule, controls: dict[str, str], say: Progress
) -> tuple[list[PreparedSite], dict[str, str]]:
    prepared: list[PreparedSite] = []
    skipped: dict[str, str] = {}
    folders = sorted(p for p in sites_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise SiteError(f"{sites_dir}: no site folders; give the folder holding one sub-folder per site")
    for folder in folders:
        try:
            site = prepare_site(read_site(folder), rule, controls.pop(folder.name, None))
        except MRVError as exc:
            skipped[folder.name] = str(exc)
            say(f"skipped {folder.name}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - a bad site must not stop the others
            log.debug("site %s failed", folder, exc_info=True)
            skipped[folder.name] = f"{folder}: unexpected {type(exc).__name__}: {exc}"
            say(f"skipped {folder.name}: unexpected {type(exc).__name__}: {exc}")
            continue
        prepared.append(site)
        n_pairs = {
            c: sum(p.category == c for p in site.pairs) for c in sorted({p.category for p in site.pairs})
        }
        say(
            f"read {folder.name}: {len(site.records)} treatment(s), {site.start_year}-{site.end_year}, "
            f"{len(site.pairs)} pair(s) {n_pairs or ''}".rstrip()
        )
    return prepared, skipped


def validate(
    sites_dir: Path,
    *,
    calibrate_sites: Sequence[str] | None = None,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    params: SoilCarbonParameters | None = None,
    rule: ManagementRule | None = None,
    cv: float = MEASUREMENT_CV,
    controls: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> ValidationResult:
    """Validate the model on every site folder of ``sites_dir``.

    Parameters
    ----------
    sites_dir : pathlib.Path
        Folder of site folders (the layout of ``soc_long_term/README.md``).
    calibrate_sites : sequence of str, optional
        Sites to calibrate on; None: :func:`calibration_sites`; empty: no calibration (defaults).
    n_draws : int
        Monte Carlo draws per site (>= 1).
    seed : int
        Seed of the draws (each site's draws use this seed, so every site sees the same parameter draws).
    params : SoilCarbonParameters, optional
        Starting parameters (default the chain's priors).
    rule : ManagementRule, optional
        The input rule's choices.
    cv : float
        Measurement CV of an observed stock [1].
    controls : mapping, optional
        Site -> control treatment, overriding :func:`models.validation.pairing.choose_control`.
    progress : callable, optional
        Called with a line of text per step.

    Returns
    -------
    ValidationResult

    Raises
    ------
    SiteError
        When ``sites_dir`` holds no usable site, or a named calibration site or control is unusable.
    """
    say = progress or (lambda _msg: None)
    sites_dir = Path(sites_dir)
    if not sites_dir.is_dir():
        raise SiteError(f"{sites_dir}: not a folder; give the folder holding one sub-folder per site")
    p0 = params or SoilCarbonParameters()
    rule = rule or ManagementRule()
    controls = dict(controls or {})
    prepared, skipped = _read_all(sites_dir, rule, controls, say)
    if controls:
        raise SiteError(f"--control names site(s) not among the site folders: {sorted(controls)}")
    if not prepared:
        raise SiteError(
            f"{sites_dir}: no usable site ({len(skipped)} skipped, reasons above); each sub-folder needs "
            "soc_obd.csv, <Site>_<Treatment>.sch, a .wth weather file, soils.in and a .100 site file"
        )
    names = [s.name for s in prepared]
    if calibrate_sites is None:
        cal = calibration_sites(prepared)
    else:
        unknown = sorted(set(calibrate_sites) - set(names))
        if unknown:
            raise SiteError(f"calibration site(s) {unknown} are not usable sites; choose from {names}")
        cal = list(dict.fromkeys(calibrate_sites))
    table = None
    used = p0
    if cal:
        say(f"calibrating {', '.join(FREE_PARAMETERS)} on {', '.join(cal)}")
        cal_sites = [s for s in prepared if s.name in cal]
        used, table = calibrate(_objective(cal_sites, p0), p0)
        say(
            "calibrated: "
            + ", ".join(f"{k} = {getattr(used, k):.3g}" for k in FREE_PARAMETERS)
            + f" (RMSE {table['rmse'].min():.3f} t C/ha; grid RMSE {table['rmse'].min():.3f}-{table['rmse'].max():.3f})"
        )
    draws = parameter_draws(used, n_draws, seed)
    rows = []
    scales: dict[str, dict[str, float]] = {}
    ran: list[PreparedSite] = []
    for s in prepared:
        split = "calibration" if s.name in cal else "held_out"
        try:
            det = run_site(s.inputs, used)
            mc = run_site(s.inputs, used, draws=draws)
        except Exception as exc:  # noqa: BLE001 - one site's model failure must not stop the others
            log.debug("site %s failed in the model", s.name, exc_info=True)
            skipped[s.name] = f"the model chain failed: {type(exc).__name__}: {exc}"
            say(f"skipped {s.name}: the model chain failed: {exc}")
            continue
        ran.append(s)
        soc = annual_mean(det["SOC"])
        soc_mc = annual_mean(mc["SOC"])
        scales[s.name] = {
            str(p): float(v) for p, v in zip(det["plot"].values, det["input_scale"].values, strict=True)
        }
        n_before = sum(len(r) for r in rows)
        for df in (
            change_comparisons(s.name, s.observations, soc, soc_mc, start_year=s.start_year, cv=cv),
            paired_comparisons(s.name, s.pairs, s.observations, soc, soc_mc, start_year=s.start_year, cv=cv),
        ):
            if len(df):
                rows.append(df.assign(split=split, years=df["year"] - s.start_year))
        say(f"ran {s.name} ({split}): {sum(len(r) for r in rows) - n_before} comparison(s)")
    if not ran:
        raise SiteError(f"{sites_dir}: the model ran on no site ({len(skipped)} skipped, reasons above)")
    comparisons = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    rate_rows = to_rates(comparisons) if len(comparisons) else pd.DataFrame()
    diffs = rate_rows[rate_rows["kind"] == "difference"] if len(rate_rows) else rate_rows
    held_diffs = diffs[diffs["split"] == "held_out"] if len(diffs) else diffs
    settings = {
        "sites_dir": str(sites_dir),
        "n_draws": int(n_draws),
        "seed": int(seed),
        "measurement_cv": float(cv),
        "min_rate_years": MIN_RATE_YEARS,
        "calibration": "default subset" if calibrate_sites is None else ("none" if not cal else "given"),
        "calibration_categories": list(CALIBRATION_CATEGORIES),
        "rule": rule.describe(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return ValidationResult(
        sites=ran,
        skipped_sites=skipped,
        calibration=[n for n in cal if n in {s.name for s in ran}],
        held_out=[s.name for s in ran if s.name not in cal],
        params_default=p0,
        params_used=used,
        calibration_table=table,
        comparisons=comparisons,
        statistics=_statistics(comparisons),
        rate_comparisons=rate_rows,
        rate_statistics=_statistics(rate_rows),
        prediction_error=_prediction_error(held_diffs, diffs),
        rate_range=validated_range(diffs),
        input_scales=scales,
        settings=settings,
    )
