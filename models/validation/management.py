"""Management events of a long-term experiment -> monthly model inputs, by one documented rule.

The experiments record no yields, so plant carbon inputs come from **the inverse approach**: the
plant input of the pre-experiment practice is fitted so that the RothC equilibrium equals the first
observed SOC (:mod:`models.validation.experiment`), and every treatment's inputs are that fitted
level scaled by the rules below. This module builds the inputs in *nominal* units, in which one
main-crop season with all residue returned puts :attr:`ManagementRule.main_crop_unit` of plant C
into the field; the fit then turns nominal units into t C ha-1 (one factor per plot).

The rule, event by event
------------------------
* **Seasons.** A crop grows from its planting (``PLTM``, or ``FRST`` first growth) to the event
  that ends it: a harvest (``HARV``), or a kill (herbicide ``CULT HERB``, a primary tillage pass,
  ``CROP FALW``, or a new crop planted). Plant cover ``pc`` = 1 in months in which the crop stands
  for at least half the days (as :mod:`models.inputs`).
* **Amount per season.** Every main-crop season ending in a grain, silage or root harvest brings
  the same plant C (one unit): without yields, no crop can be told to grow more than another, so
  the rotation changes only the number and timing of seasons. Seasons ended by a kill, a mowing or
  a forage cut (cover crops, green manures, hay) bring :attr:`ManagementRule.non_grain_per_year`
  units per year of growth, pro rata (an **assumption**, not from a source: a winter cover of ~200
  days then brings ~0.3 of a main crop, about a rye cover's biomass against maize residues).
* **Above-ground vs below-ground.** Per unit of crop dry matter, the residue above ground is
  R_AG and the roots (1 + R_AG) RS (IPCC 2019 Vol. 4 Eq. 11.6, Table 11.1a, in
  ``models/data/crop_residue_parameters.csv``), so a season's share above ground is
  ``R_AG / (R_AG + (1 + R_AG) RS)`` for its crop's row (:data:`CROP_IPCC_ROW`). Roots enter the
  soil directly (``c_inp``) spread evenly over the days of growth; the above-ground share times the
  fraction the harvest leaves (:data:`HARVEST_OPTIONS`) is left on the surface in the month of the
  harvest (``surface_inp``).
* **Residue harvested or left.** From the DayCent harvest option: ``G`` takes the grain only and
  leaves the straw; ``GnnS`` removes nn % of the straw; silage, hay and root harvests remove what
  DayCent's harv.100 removes (:data:`HARVEST_OPTIONS`, with the arithmetic). Burning (``FIRE``)
  removes the IPCC combustion factor of the residue still on the surface
  (:data:`COMBUSTION_FACTOR`).
* **Tillage.** Each ``CULT`` pass maps to a canonical method (:data:`TILLAGE_OPTIONS`, with the
  reasoning); the month's ``incorporation`` = 1 - prod(1 - b) over its passes, with b from
  :data:`models.surface.BURIAL_FRACTION`. ``till_method`` (for the tillage rate modifier) is the
  most disturbing method used between one main harvest and the next (IPCC Tier 1 level first, then
  burial), ``no_till`` when no pass was made (a DayCent schedule without ``CULT`` is not tilled).
* **Manure.** ``OMAD`` options name an entry of DayCent's omad.100 whose ``ASTGC`` is the C added
  per event [g C m-2]; :data:`MANURE_OPTIONS` holds the amounts [t C ha-1] with their source; it
  enters ``fym`` in its month, not scaled by the fit (it is a measured amount).
* **Nitrogen.** ``FERT (xN)`` is x g N m-2 (x 10 kg N ha-1, DayCent's convention). By default N has
  **no** effect on the inputs (:attr:`ManagementRule.n_response` None): the N effect on SOC in
  these experiments runs through yield, which the data do not hold, and a response curve would be
  a free parameter nobody calibrated; the nitrogen category of the validation then measures what
  ignoring N costs. A bounded linear-plateau response can be switched on.
* **Irrigation** (``IRIG``/``IRRI``): ``(xC)`` and ``(0,0,x)`` add x cm to the month's rainfall;
  ``(1, fF, nL)`` (refill to field capacity for n days, -1 to the end of the season) marks the days
  as automatically irrigated (:func:`models.validation.forcing.add_irrigation` adds the deficit).
* ``dpm_rpm`` = 1.44 for every plant input (RothC's agricultural crops, :data:`models.inputs.DPM_RPM_RATIOS`).

Sources of every table value: :mod:`models.validation.daycent_tables` (its References).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from models.errors import ModelInputError
from models.inputs import DPM_RPM_RATIOS
from models.surface import BURIAL_FRACTION
from models.validation.calendar import ManagementEvent, TreatmentCalendar
from models.validation.daycent_tables import (
    COMBUSTION_FACTOR,
    CROP_IPCC_ROW,
    HARVEST_OPTIONS,
    MAIN_KINDS,
    MANURE_OPTIONS,
    TILLAGE_OPTIONS,
    HarvestOption,
    ManureOption,
    TillageOption,
    above_ground_share,
)

__all__ = [
    "COMBUSTION_FACTOR",
    "CROP_IPCC_ROW",
    "HARVEST_OPTIONS",
    "MANURE_OPTIONS",
    "TILLAGE_OPTIONS",
    "HarvestOption",
    "ManagementRule",
    "ManureOption",
    "Season",
    "TillageOption",
    "TillagePass",
    "TreatmentRecords",
    "UnknownManagementError",
    "above_ground_share",
    "interpret",
]


class UnknownManagementError(ModelInputError):
    """A schedule event or option the input rule has no meaning for (the message names the line)."""


@dataclass(frozen=True)
class ManagementRule:
    """The choices of the input rule (module notes)."""

    main_crop_unit: float = 1.0
    """Nominal plant C of one main-crop season with all residue returned [t C ha-1]; any value
    works, the fit to the starting stock rescales it."""
    non_grain_per_year: float = 0.5
    """Nominal plant C per year of growth of a season ended by a kill, mowing or forage cut, as a
    share of a main crop [1] (assumption, module notes)."""
    n_response: tuple[float, float] | None = None
    """None: N does not change inputs. ``(r0, n_plateau)``: a main season's input is multiplied by
    ``r0 + (1 - r0) min(N / n_plateau, 1)``, N the kg N ha-1 applied since the last main harvest."""
    min_cover_fraction: float = 0.5
    """A month has ``pc`` = 1 if a crop stands for at least this share of its days [1]."""
    dpm_rpm: float = DPM_RPM_RATIOS["agricultural_crop"]
    """DPM/RPM ratio of plant inputs [1] (1.44, Coleman & Jenkinson 1996)."""

    def __post_init__(self) -> None:
        if self.main_crop_unit <= 0 or self.non_grain_per_year < 0:
            raise ModelInputError("main_crop_unit must be > 0 and non_grain_per_year >= 0")
        if self.n_response is not None:
            r0, plateau = self.n_response
            if not (0 < r0 <= 1) or plateau <= 0:
                raise ModelInputError(
                    f"n_response needs 0 < r0 <= 1 and n_plateau > 0, got {self.n_response}"
                )

    def n_factor(self, n_kg: float) -> float:
        """Relative input of a main season with ``n_kg`` kg N ha-1 [1]."""
        if self.n_response is None:
            return 1.0
        r0, plateau = self.n_response
        return r0 + (1.0 - r0) * min(n_kg / plateau, 1.0)

    def describe(self) -> dict[str, object]:
        """The rule's settings as plain data (for reports)."""
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# events -> records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Season:
    """One crop's growth from planting to harvest or kill."""

    crop: str
    """DayCent crop code."""
    start: dt.date
    """Planting (or first growth)."""
    growth_end: dt.date
    """End of growth (``LAST``/``SENM``, else the closing event)."""
    close: dt.date
    """Harvest or kill."""
    kind: str
    """``grain``, ``silage``, ``root``, ``forage``, ``mow`` or ``killed``."""
    unit: float
    """Nominal plant C of the season (before residue removal) [t C ha-1 nominal]."""
    above_ground_share: float
    """Share of ``unit`` above ground [1]."""
    retained: float
    """Share of the above-ground residue left on the field [1]."""
    n_kg: float
    """N applied since the previous main harvest [kg N ha-1] (main seasons)."""
    option: str
    """The closing event and option (e.g. ``HARV G75S``)."""
    source: str
    """``file:line`` of the closing event."""

    @property
    def is_main(self) -> bool:
        """A grain, silage or root harvest."""
        return self.kind in MAIN_KINDS


@dataclass(frozen=True)
class TillagePass:
    """One ``CULT`` pass that is tillage."""

    date: dt.date
    option: str
    method: str
    """Canonical method."""
    burial: float
    """Fraction of the surface residue buried [1] (:data:`models.surface.BURIAL_FRACTION`)."""
    source: str


@dataclass(frozen=True)
class TreatmentRecords:
    """A treatment's management as the input rule reads it."""

    name: str
    seasons: tuple[Season, ...]
    passes: tuple[TillagePass, ...]
    manure: tuple[tuple[dt.date, float, str], ...]
    """(date, t C ha-1, option)."""
    irrigation: tuple[tuple[dt.date, float], ...]
    """Scheduled irrigation (date, mm)."""
    auto_irrigation: tuple[tuple[dt.date, dt.date], ...]
    """Automatic irrigation windows (first day, last day)."""
    fires: tuple[tuple[dt.date, float], ...]
    """(date, share of the last harvest's above-ground residue burned)."""
    notes: tuple[str, ...]
    """Assumptions applied while reading (each names its line)."""


_FERT_PART = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([A-Za-z%]*)\s*$")
_IRR_CM = re.compile(r"^\(\s*([0-9]*\.?[0-9]+)\s*[Cc]\s*\)$")
_IRR_ONCE = re.compile(r"^\(\s*0\s*,\s*0\s*,\s*([0-9]*\.?[0-9]+)\s*\)$")
_IRR_AUTO = re.compile(r"^\(\s*1\s*,\s*([0-9]*\.?[0-9]+)\s*[Ff]\s*,\s*(-?[0-9]+)\s*[Ll]\s*\)$")


def _unknown(ev: ManagementEvent, what: str, known: Sequence[str], table: str) -> UnknownManagementError:
    return UnknownManagementError(
        f"{ev.source}: {ev.event} {what} {ev.option!r} has no meaning in the input rule "
        f"(known: {', '.join(sorted(known))}); add it to models.validation.management.{table} with its "
        "source, or correct the schedule line"
    )


def _fert_n(ev: ManagementEvent, notes: list[str]) -> float:
    """N of a FERT event [kg N ha-1]: the in-line ``(xN)`` amount, x g m-2 -> x 10 kg ha-1."""
    opt = ev.option.strip()
    if not (opt.startswith("(") and opt.endswith(")")):
        raise UnknownManagementError(
            f"{ev.source}: FERT option {ev.option!r} names a fert.100 entry, whose amounts are not in the "
            "data; write the amount in line, e.g. FERT (12.0N) for 120 kg N ha-1"
        )
    n = 0.0
    for part in opt[1:-1].split(","):
        m = _FERT_PART.match(part)
        if m is None:
            raise UnknownManagementError(
                f"{ev.source}: FERT part {part.strip()!r} of {ev.option!r} is not '<amount><element>'; write e.g. (12.0N)"
            )
        amount, element = float(m.group(1)), m.group(2).upper()
        if element == "N":
            n += amount * 10.0
        elif element == "":
            notes.append(f"{ev.source}: FERT {ev.option} names no nutrient; not counted as N")
        # P, S and fractions are not nitrogen
    return n


def _close(
    open_season: dict,
    date: dt.date,
    kind: str,
    retained: float,
    rule: ManagementRule,
    n_kg: float,
    option: str,
    source: str,
) -> Season:
    crop = open_season["crop"]
    row = CROP_IPCC_ROW[crop]
    growth_end = open_season["growth_end"] or date
    growth_end = min(max(growth_end, open_season["start"]), date)
    if kind in MAIN_KINDS:
        unit = rule.main_crop_unit * rule.n_factor(n_kg)
    else:
        days = min((growth_end - open_season["start"]).days + 1, 365)
        unit = rule.main_crop_unit * rule.non_grain_per_year * days / 365.0
    return Season(
        crop=crop,
        start=open_season["start"],
        growth_end=growth_end,
        close=date,
        kind=kind,
        unit=unit,
        above_ground_share=above_ground_share(row),
        retained=retained,
        n_kg=n_kg if kind in MAIN_KINDS else 0.0,
        option=option,
        source=source,
    )


def interpret(calendar: TreatmentCalendar, rule: ManagementRule | None = None) -> TreatmentRecords:
    """Read a treatment's events as seasons, tillage passes, manure, irrigation and fires.

    Parameters
    ----------
    calendar : TreatmentCalendar
        The expanded schedule.
    rule : ManagementRule, optional

    Returns
    -------
    TreatmentRecords

    Raises
    ------
    UnknownManagementError
        For an event or option without a meaning here (naming the schedule line and the fix).
    """
    rule = rule or ManagementRule()
    notes: list[str] = []
    seasons: list[Season] = []
    passes: list[TillagePass] = []
    manure: list[tuple[dt.date, float, str]] = []
    irrigation: list[tuple[dt.date, float]] = []
    auto_pending: list[tuple[dt.date, int]] = []
    fires: list[tuple[dt.date, str, str]] = []
    initial = calendar.initial_crop.upper()
    crop: str | None = initial if initial and initial != "FALW" and initial in CROP_IPCC_ROW else None
    open_season: dict | None = None
    n_since = 0.0
    last_close = dt.date(calendar.first_year, 1, 1)

    def close(date: dt.date, kind: str, retained: float, option: str, source: str) -> None:
        nonlocal open_season, n_since, last_close
        assert open_season is not None
        s = _close(open_season, date, kind, retained, rule, n_since, option, source)
        seasons.append(s)
        if s.is_main:
            n_since = 0.0
        open_season = None
        last_close = date

    for ev in calendar.events:
        code = ev.event.upper()
        opt = ev.option.strip()
        if code == "CROP":
            c = opt.upper()
            if c == "FALW":
                if open_season is not None:
                    close(ev.date, "killed", 1.0, "CROP FALW", ev.source)
                crop = None
                continue
            if c not in CROP_IPCC_ROW:
                raise _unknown(ev, "crop code", list(CROP_IPCC_ROW) + ["FALW"], "CROP_IPCC_ROW")
            if open_season is not None and open_season["crop"] != c:
                close(ev.date, "killed", 1.0, f"CROP {c}", ev.source)
            crop = c
        elif code in ("PLTM", "FRST"):
            if crop is None:
                notes.append(f"{ev.source}: {code} without a crop (after CROP FALW or none set); ignored")
                continue
            if open_season is not None:
                if open_season["crop"] == crop:
                    continue
                close(ev.date, "killed", 1.0, f"{code} {crop}", ev.source)
            open_season = {"crop": crop, "start": ev.date, "growth_end": None}
        elif code in ("LAST", "SENM"):
            if open_season is not None and open_season["growth_end"] is None:
                open_season["growth_end"] = ev.date
        elif code == "HARV":
            key = opt.upper()
            if key not in HARVEST_OPTIONS:
                raise _unknown(ev, "option", list(HARVEST_OPTIONS), "HARVEST_OPTIONS")
            spec = HARVEST_OPTIONS[key]
            if open_season is None:
                if crop is None:
                    notes.append(f"{ev.source}: HARV {opt} with no crop growing; ignored")
                    continue
                start = last_close + dt.timedelta(days=1) if seasons else last_close
                open_season = {"crop": crop, "start": min(start, ev.date), "growth_end": None}
                notes.append(
                    f"{ev.source}: HARV {opt} without a planting; {crop} taken to grow from {open_season['start']}"
                )
            close(ev.date, spec.kind, spec.retained, f"HARV {key}", ev.source)
        elif code == "CULT":
            key = opt.upper()
            if key not in TILLAGE_OPTIONS:
                raise _unknown(ev, "option", list(TILLAGE_OPTIONS), "TILLAGE_OPTIONS")
            spec_t = TILLAGE_OPTIONS[key]
            if spec_t.method is not None:
                passes.append(
                    TillagePass(ev.date, key, spec_t.method, BURIAL_FRACTION[spec_t.method], ev.source)
                )
            if spec_t.kills and open_season is not None:
                close(ev.date, "killed", 1.0, f"CULT {key}", ev.source)
        elif code == "FERT":
            n_since += _fert_n(ev, notes)
        elif code == "OMAD":
            key = opt.upper()
            if key not in MANURE_OPTIONS:
                raise _unknown(ev, "option", list(MANURE_OPTIONS), "MANURE_OPTIONS")
            spec_m = MANURE_OPTIONS[key]
            if spec_m.carbon is None:
                raise UnknownManagementError(f"{ev.source}: OMAD {key}: {spec_m.source}")
            manure.append((ev.date, spec_m.carbon, key))
        elif code in ("IRIG", "IRRI"):
            if m := _IRR_CM.match(opt):
                irrigation.append((ev.date, float(m.group(1)) * 10.0))
            elif m := _IRR_ONCE.match(opt):
                irrigation.append((ev.date, float(m.group(1)) * 10.0))
            elif m := _IRR_AUTO.match(opt):
                auto_pending.append((ev.date, int(m.group(2))))
            else:
                raise UnknownManagementError(
                    f"{ev.source}: {code} option {ev.option!r} is neither an amount '(xC)' [cm], a single "
                    "application '(0,0,x)' nor automatic irrigation '(1, fF, nL)'; write the amount in cm"
                )
        elif code == "FIRE":
            fires.append((ev.date, opt.upper(), ev.source))
        else:
            raise UnknownManagementError(
                f"{ev.source}: event {ev.event!r} is not one the input rule reads (CROP, PLTM, FRST, LAST, SENM, "
                "HARV, CULT, FERT, OMAD, IRIG, IRRI, FIRE); remove the line or extend "
                "models.validation.management.interpret"
            )
    if open_season is not None:
        notes.append(
            f"{calendar.source}: {open_season['crop']} planted {open_season['start']} is not harvested by the end "
            "of the schedule; its season brings no input"
        )

    # automatic irrigation windows: n days, or -1 to the end of the growing season
    auto: list[tuple[dt.date, dt.date]] = []
    for start, ndays in auto_pending:
        if ndays >= 0:
            end = start + dt.timedelta(days=max(ndays - 1, 0))
        else:
            later = [s.close for s in seasons if s.close >= start]
            end = later[0] if later else start + dt.timedelta(days=364)
        auto.append((start, end))

    # fires: burn the IPCC combustion factor of the last harvest's residue still on the surface
    burned: list[tuple[dt.date, float]] = []
    for date, _opt, source in fires:
        before = [i for i, s in enumerate(seasons) if s.close <= date and s.retained > 0]
        if not before:
            notes.append(f"{source}: FIRE before any harvest; nothing to burn")
            continue
        i = before[-1]
        s = seasons[i]
        left = 1.0
        for p in passes:
            if s.close < p.date <= date:
                left *= 1.0 - p.burial
        cf = COMBUSTION_FACTOR.get(CROP_IPCC_ROW[s.crop], 0.80)
        share = cf * left
        seasons[i] = dataclasses.replace(s, retained=s.retained * (1.0 - share))
        burned.append((date, share))
    return TreatmentRecords(
        name=calendar.name,
        seasons=tuple(seasons),
        passes=tuple(passes),
        manure=tuple(manure),
        irrigation=tuple(irrigation),
        auto_irrigation=tuple(auto),
        fires=tuple(burned),
        notes=tuple(notes),
    )
