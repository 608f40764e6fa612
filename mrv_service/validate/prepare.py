"""A site folder, read, -> the model inputs of its treatments, its control and its pairs.

:func:`prepare_site`: the run spans Jan of the first observation year (the experiment's start,
the stock the spin-up is fitted to) to Dec of the last observation year (or the end of the
shortest schedule); monthly forcing from the daily weather (:mod:`models.validation.forcing`);
each treatment's monthly inputs by the rule of :mod:`models.validation.management`; the control
(pre-experiment practice) and the one-practice pairs (:mod:`models.validation.pairing`).
A treatment is skipped, with its reason, when it has no SOC in the start year, its schedule starts
after it, or an event of its schedule has no meaning in the input rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from models.errors import MRVError
from models.validation.experiment import SiteInputs
from models.validation.forcing import monthly_forcing
from models.validation.management import (
    ManagementRule,
    TreatmentRecords,
    UnknownManagementError,
    interpret,
)
from models.validation.monthly import monthly_inputs
from models.validation.pairing import Pair, PracticeSummary, choose_control, find_pairs, summarize_practice
from mrv_service.validate.errors import SiteError
from mrv_service.validate.sites import SiteData

__all__ = ["PreparedSite", "prepare_site"]


@dataclass(frozen=True)
class PreparedSite:
    """A site ready to run."""

    name: str
    data: SiteData
    inputs: SiteInputs
    records: Mapping[str, TreatmentRecords]
    summaries: Mapping[str, PracticeSummary]
    pairs: tuple[Pair, ...]
    confounded: tuple[tuple[str, str, tuple[str, ...]], ...]
    observations: pd.DataFrame
    """Columns treatment, year, soc [t C ha-1], within the run years."""
    start_year: int
    end_year: int
    skipped_treatments: Mapping[str, str]
    notes: tuple[str, ...]
    weather_filled: Mapping[str, int]
    """Months of the run taken from the climatology, per variable."""


def prepare_site(
    data: SiteData,
    rule: ManagementRule | None = None,
    control: str | None = None,
) -> PreparedSite:
    """Build a site's model inputs, control and pairs (module notes, step 2).

    Raises
    ------
    SiteError
        When no treatment is left to run.
    """
    rule = rule or ManagementRule()
    skipped = dict(data.skipped_treatments)
    notes = list(data.notes)
    obs = pd.DataFrame(
        [dataclasses.asdict(o) for o in data.observations], columns=["treatment", "year", "soc"]
    )
    if obs.empty:
        raise SiteError(f"{data.folder}: no observed SOC for the treatments that have schedules")
    start_year = int(obs["year"].min())
    calendars = {}
    for name, cal in data.calendars.items():
        if not ((obs["treatment"] == name) & (obs["year"] == start_year)).any():
            skipped[name] = (
                f"no SOC observed in the start year {start_year} (the stock the spin-up is fitted to)"
            )
        elif cal.first_year > start_year:
            skipped[name] = (
                f"its schedule starts in {cal.first_year}, after the first observation ({start_year})"
            )
        else:
            calendars[name] = cal
    if not calendars:
        raise SiteError(
            f"{data.folder}: no treatment has SOC in the start year {start_year} and a schedule covering it"
        )
    end_year = int(obs[obs["treatment"].isin(list(calendars))]["year"].max())
    shortest = min(cal.last_year for cal in calendars.values())
    if shortest < end_year:
        notes.append(
            f"{data.info.name}: observations after {shortest} (the end of the shortest schedule) not compared"
        )
        end_year = shortest
    if end_year <= start_year:
        raise SiteError(
            f"{data.folder}: no observation after the start year {start_year} within the schedules"
        )
    records: dict[str, TreatmentRecords] = {}
    for name, cal in calendars.items():
        try:
            records[name] = interpret(cal, rule)
        except UnknownManagementError as exc:
            skipped[name] = str(exc)
            continue
        notes.extend(records[name].notes)
    if not records:
        raise SiteError(
            f"{data.folder}: every treatment was skipped ({'; '.join(sorted(set(skipped.values())))[:500]})"
        )
    w = data.weather
    try:
        weather = monthly_forcing(
            w.dates, w.tmax, w.tmin, w.precip_cm, data.info.latitude, start_year, end_year
        )
    except MRVError as exc:
        raise SiteError(f"{w.path}: {exc}") from None
    filled = {v: int(weather[f"{v}_filled"].sum()) for v in ("tmp", "rain", "evap")}
    if any(filled.values()):
        wy = w.years
        notes.append(
            f"{w.path}: record {wy[0]}-{wy[1]}; run months taken from the calendar-month climatology: "
            + ", ".join(f"{k} {v}" for k, v in filled.items())
        )
    management = monthly_inputs(records, start_year, end_year, rule)
    summaries = {
        name: summarize_practice(rec, management["till_method"].sel(plot=name), start_year, end_year)
        for name, rec in records.items()
    }
    if control is not None and control not in records:
        raise SiteError(
            f"{data.folder}: control treatment {control!r} is not among the usable ones ({sorted(records)})"
        )
    ctrl = control or choose_control(summaries)
    pairs, confounded = find_pairs(summaries)
    obs = obs[obs["treatment"].isin(list(records)) & (obs["year"] <= end_year)].reset_index(drop=True)
    inputs = SiteInputs(
        name=data.info.name,
        weather=weather[["tmp", "rain", "evap"]],
        management=management,
        clay_pct=data.info.clay_pct,
        depth_cm=data.info.depth_cm,
        soc_initial={
            t: float(obs[(obs["treatment"] == t) & (obs["year"] == start_year)]["soc"].iloc[0])
            for t in records
        },
        control=ctrl,
    )
    return PreparedSite(
        name=data.info.name,
        data=data,
        inputs=inputs,
        records=records,
        summaries=summaries,
        pairs=tuple(pairs),
        confounded=tuple(confounded),
        observations=obs,
        start_year=start_year,
        end_year=end_year,
        skipped_treatments=skipped,
        notes=tuple(notes),
        weather_filled=filled,
    )
