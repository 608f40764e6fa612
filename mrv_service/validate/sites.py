"""A long-term experiment's folder -> frozen dataclasses (the layout of ``soc_long_term/README.md``).

One folder a site::

    soc_obd.csv               Year,<Site>_<Treatment>,...   observed SOC [g C m-2], -999 missing
    <Site>_<Treatment>.sch    DayCent schedule of each treatment (mrv_service.validate.schedule)
    <weather>.wth             daily weather: day, month, year, day of year, Tmax, Tmin [degC], precip [cm]
    soils.in                  layers: top, bottom [cm], bulk density [g cm-3], ..., sand, clay [fraction], ...
    <site file>.100           DayCent site parameters with SITLAT / SITLNG [deg]

The schedules name their site file and weather file; a missing one is looked for among the folder's
``*.100`` (the first with SITLAT) and ``*.wth`` (if there is exactly one). A treatment is the
column of ``soc_obd.csv`` whose ``<column>.sch`` exists; other columns are skipped with the reason.

**Depth of the observed layer: 20 cm.** The observations are DayCent's comparison data, and
DayCent (like Century) simulates soil organic matter in the top 20 cm (W. J. Parton et al., Soil
Sci. Soc. Am. J. 51:1173-1179, 1987; the Century 4 manual: "the top 20 cm"); the folder's README
says "about 0-20 cm, DayCent's reported layer". Clay and bulk density are the thickness-weighted
means of the ``soils.in`` layers within 0-20 cm.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from models.validation.calendar import TreatmentCalendar
from mrv_service.validate.errors import SiteError, SiteFileMissingError, SiteFormatError
from mrv_service.validate.schedule import Schedule, expand, read_schedule

__all__ = [
    "DEPTH_CM",
    "MISSING",
    "DailyWeather",
    "Observation",
    "SiteData",
    "SiteInfo",
    "SoilLayer",
    "read_observations",
    "read_site",
    "read_site_file",
    "read_soils",
    "read_weather",
]

DEPTH_CM = 20.0
"""Depth of the observed and modelled layer [cm] (module notes)."""

MISSING = -998.0
"""Values at or below this are DayCent's missing-value flags (-999 in soc_obd.csv, -99.99 in .wth)."""

_WEATHER_MISSING = -99.0
_G_M2_TO_T_HA = 0.01  # 1 g m-2 = 10 kg ha-1 = 0.01 t ha-1


@dataclass(frozen=True)
class SoilLayer:
    """One ``soils.in`` layer."""

    top_cm: float
    bottom_cm: float
    bulk_density: float
    """[g cm-3]"""
    sand: float
    """[fraction]"""
    clay: float
    """[fraction]"""


@dataclass(frozen=True)
class SiteInfo:
    """What the model needs to know about the site."""

    name: str
    latitude: float
    """[degree], negative south."""
    longitude: float
    """[degree], negative west."""
    clay_pct: float
    """Clay of the observed layer, thickness-weighted [%]."""
    bulk_density: float
    """Bulk density of the observed layer, thickness-weighted [g cm-3]."""
    depth_cm: float
    """Depth of the observed layer [cm] (:data:`DEPTH_CM`)."""
    site_file: str
    layers: tuple[SoilLayer, ...]


@dataclass(frozen=True)
class DailyWeather:
    """The daily weather record."""

    path: str
    dates: np.ndarray
    """datetime64[D]"""
    tmax: np.ndarray
    """[degC], NaN missing"""
    tmin: np.ndarray
    """[degC], NaN missing"""
    precip_cm: np.ndarray
    """[cm], NaN missing"""
    notes: tuple[str, ...] = ()

    @property
    def years(self) -> tuple[int, int]:
        y = self.dates.astype("datetime64[Y]").astype(int) + 1970
        return int(y.min()), int(y.max())


@dataclass(frozen=True)
class Observation:
    """One observed SOC stock."""

    treatment: str
    year: int
    soc: float
    """[t C ha-1] (g C m-2 / 100)"""


@dataclass(frozen=True)
class SiteData:
    """A site folder, read."""

    info: SiteInfo
    weather: DailyWeather
    calendars: Mapping[str, TreatmentCalendar]
    """Treatment id -> expanded schedule."""
    observations: tuple[Observation, ...]
    skipped_treatments: Mapping[str, str] = field(default_factory=dict)
    """Treatment id -> why it cannot be used."""
    notes: tuple[str, ...] = ()
    folder: str = ""


# --------------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return path.read_text(encoding="latin-1")


def read_observations(path: Path) -> tuple[list[str], list[Observation]]:
    """``soc_obd.csv`` -> treatment columns and observations [t C ha-1].

    Raises
    ------
    SiteFileMissingError, SiteFormatError
    """
    if not path.is_file():
        raise SiteFileMissingError(
            path, "observed SOC file soc_obd.csv", "add it (Year,<Site>_<Treatment>,... in g C m-2)"
        )
    rows = list(csv.reader(io.StringIO(_read_text(path))))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows or rows[0][0].strip().lower() != "year":
        raise SiteFormatError(
            path, 1, "the first column is not 'Year'", "start the header with Year,<Site>_<Treatment>,..."
        )
    columns = [c.strip() for c in rows[0][1:]]
    if not columns or any(not c for c in columns) or len(set(columns)) != len(columns):
        raise SiteFormatError(
            path, 1, "treatment columns are missing, empty or repeated", "name every column once"
        )
    out: list[Observation] = []
    seen: set[int] = set()
    for k, r in enumerate(rows[1:], start=2):
        if len(r) != len(columns) + 1:
            raise SiteFormatError(
                path,
                k,
                f"{len(r)} cells for {len(columns) + 1} columns",
                "give every row one value per column",
            )
        try:
            year = int(float(r[0]))
        except ValueError:
            raise SiteFormatError(
                path, k, f"year {r[0]!r} is not a number", "write the year as e.g. 1999"
            ) from None
        if year in seen:
            raise SiteFormatError(path, k, f"year {year} appears twice", "keep one row per year")
        seen.add(year)
        for col, cell in zip(columns, r[1:], strict=True):
            try:
                v = float(cell)
            except ValueError:
                raise SiteFormatError(
                    path,
                    k,
                    f"{col} value {cell!r} is not a number",
                    "write g C m-2, or -999 where not measured",
                ) from None
            if v <= MISSING:
                continue
            if not np.isfinite(v) or v <= 0:
                raise SiteFormatError(
                    path, k, f"{col} value {v} is not a positive stock", "write g C m-2, or -999"
                )
            out.append(Observation(col, year, v * _G_M2_TO_T_HA))
    return columns, out


def read_soils(path: Path) -> tuple[SoilLayer, ...]:
    """``soils.in`` -> layers (columns 1-3 top, bottom, bulk density; 8-9 sand, clay fractions)."""
    if not path.is_file():
        raise SiteFileMissingError(path, "soil layer file soils.in", "add it (DayCent soils.in layout)")
    layers = []
    for k, line in enumerate(_read_text(path).splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            vals = [float(x) for x in parts]
        except ValueError:
            raise SiteFormatError(
                path, k, "a value is not a number", "keep the DayCent soils.in columns, numbers only"
            ) from None
        if len(vals) < 9:
            raise SiteFormatError(
                path,
                k,
                f"{len(vals)} columns, at least 9 needed",
                "keep top, bottom, bulk density, ... sand, clay",
            )
        top, bottom, bd, sand, clay = vals[0], vals[1], vals[2], vals[7], vals[8]
        if bottom <= top:
            raise SiteFormatError(
                path, k, f"layer bottom {bottom} cm is not below its top {top} cm", "correct the depths"
            )
        if not 0.3 <= bd <= 2.6:
            raise SiteFormatError(
                path, k, f"bulk density {bd} g cm-3 is implausible", "give g cm-3 (about 0.8-1.8)"
            )
        if not (0 <= clay <= 1 and 0 <= sand <= 1):
            raise SiteFormatError(
                path, k, f"sand {sand} / clay {clay} are not fractions", "give fractions 0-1 in columns 8-9"
            )
        layers.append(SoilLayer(top, bottom, bd, sand, clay))
    if not layers:
        raise SiteFormatError(path, None, "no layers", "add the soil layers")
    return tuple(layers)


def _topsoil(layers: tuple[SoilLayer, ...], depth: float, path: Path) -> tuple[float, float]:
    w = np.array([max(0.0, min(lay.bottom_cm, depth) - max(lay.top_cm, 0.0)) for lay in layers])
    if w.sum() <= 0:
        raise SiteFormatError(path, None, f"no layer lies within 0-{depth:g} cm", "add the topsoil layers")
    clay = float(np.dot(w, [lay.clay for lay in layers]) / w.sum()) * 100.0
    bd = float(np.dot(w, [lay.bulk_density for lay in layers]) / w.sum())
    return clay, bd


_PARAM = re.compile(r"^\s*(-?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s+'?([A-Za-z0-9_()]+)'?")


def read_site_file(path: Path) -> tuple[float, float]:
    """A DayCent site file (``*.100``) -> (SITLAT, SITLNG) [degree]."""
    found: dict[str, tuple[float, int]] = {}
    for k, line in enumerate(_read_text(path).splitlines(), start=1):
        m = _PARAM.match(line)
        if m and m.group(2).upper() in ("SITLAT", "SITLNG") and m.group(2).upper() not in found:
            found[m.group(2).upper()] = (float(m.group(1)), k)
    if "SITLAT" not in found or "SITLNG" not in found:
        raise SiteFormatError(
            path, None, "no SITLAT / SITLNG lines", "add '<latitude>  SITLAT' and '<longitude>  SITLNG'"
        )
    lat, lat_line = found["SITLAT"]
    lon, lon_line = found["SITLNG"]
    if not -90 <= lat <= 90:
        raise SiteFormatError(path, lat_line, f"SITLAT {lat} is not a latitude", "give degrees, -90 to 90")
    if not -180 <= lon <= 360:
        raise SiteFormatError(path, lon_line, f"SITLNG {lon} is not a longitude", "give degrees, -180 to 180")
    return lat, lon


def read_weather(path: Path) -> DailyWeather:
    """A DayCent ``.wth`` file -> daily arrays (DayCent's -99.99 -> NaN).

    Raises
    ------
    SiteFileMissingError, SiteFormatError
    """
    if not path.is_file():
        raise SiteFileMissingError(path, "weather file", "add the daily weather (.wth) the schedules name")
    days: list[dt.date] = []
    tx: list[float] = []
    tn: list[float] = []
    pr: list[float] = []
    extra = 0
    bad_doy = 0
    for k, line in enumerate(_read_text(path).splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 7:
            raise SiteFormatError(
                path,
                k,
                f"{len(parts)} columns, 7 needed",
                "write day, month, year, day of year, Tmax, Tmin, precipitation",
            )
        extra += len(parts) > 7
        try:
            d, m, y, doy = (int(float(x)) for x in parts[:4])
            vals = [float(x) for x in parts[4:7]]
        except ValueError:
            raise SiteFormatError(
                path, k, f"a value of {line.strip()!r} is not a number", "numbers only, -99.99 where missing"
            ) from None
        try:
            date = dt.date(y, m, d)
        except ValueError:
            raise SiteFormatError(
                path, k, f"{d}/{m}/{y} is not a date", "correct the day, month and year"
            ) from None
        if date.timetuple().tm_yday != doy:
            bad_doy += 1
        days.append(date)
        tx.append(vals[0] if vals[0] > _WEATHER_MISSING else np.nan)
        tn.append(vals[1] if vals[1] > _WEATHER_MISSING else np.nan)
        pr.append(vals[2] if vals[2] > _WEATHER_MISSING else np.nan)
    if not days:
        raise SiteFormatError(path, None, "no weather lines", "add the daily weather")
    dates = np.array(days, dtype="datetime64[D]")
    order = np.argsort(dates, kind="stable")
    dates = dates[order]
    arrs = [np.asarray(a, dtype=float)[order] for a in (tx, tn, pr)]
    notes = []
    dup = np.concatenate([[False], dates[1:] == dates[:-1]])
    if dup.any():
        notes.append(f"{path}: {int(dup.sum())} repeated day(s); the first record of each day kept")
        dates = dates[~dup]
        arrs = [a[~dup] for a in arrs]
    if extra:
        notes.append(f"{path}: {extra} line(s) with more than 7 columns; the first 7 read")
    if bad_doy:
        notes.append(f"{path}: {bad_doy} line(s) whose day of year disagrees with the date; the date used")
    n_missing = int(np.isnan(arrs[0]).sum() + np.isnan(arrs[1]).sum() + np.isnan(arrs[2]).sum())
    if n_missing:
        notes.append(f"{path}: {n_missing} missing value(s) (-99.99)")
    swapped = int(np.sum(arrs[0] < arrs[1]))
    if swapped:
        notes.append(f"{path}: {swapped} day(s) with Tmax < Tmin (zero temperature range taken for PET)")
    return DailyWeather(str(path), dates, arrs[0], arrs[1], arrs[2], tuple(notes))


def _pick(folder: Path, named: list[str], pattern: str, what: str, check=None) -> Path:
    for name in named:
        p = folder / name
        if p.is_file():
            return p
    cands = sorted(folder.glob(pattern))
    if check is not None:
        cands = [c for c in cands if check(c)]
    if len(cands) == 1 or (cands and check is not None):
        return cands[0]
    if not cands:
        raise SiteFileMissingError(
            folder / (named[0] if named else pattern),
            what,
            f"add it to {folder} (the schedules name {named or 'none'})",
        )
    raise SiteFormatError(
        folder,
        None,
        f"{len(cands)} {what}s and the schedules name none of them",
        "name the file in the schedules or keep one",
    )


def _has_sitlat(path: Path) -> bool:
    try:
        read_site_file(path)
        return True
    except SiteError:
        return False


def read_site(folder: Path) -> SiteData:
    """Read one site folder.

    Raises
    ------
    SiteError
        When the site cannot be used at all (the message names the file, line and fix). Problems of
        single treatments are kept in :attr:`SiteData.skipped_treatments` instead.
    """
    folder = Path(folder)
    name = folder.name
    columns, observations = read_observations(folder / "soc_obd.csv")
    calendars: dict[str, TreatmentCalendar] = {}
    schedules: dict[str, Schedule] = {}
    skipped: dict[str, str] = {}
    notes: list[str] = []
    for col in columns:
        path = folder / f"{col}.sch"
        if not path.is_file():
            skipped[col] = f"no schedule file {path.name} in {folder}"
            continue
        try:
            sch = read_schedule(path)
            cal, cal_notes = expand(sch, col)
        except SiteError as exc:
            skipped[col] = str(exc)
            continue
        schedules[col] = sch
        calendars[col] = cal
        notes.extend(cal_notes)
    extra = sorted(p.stem for p in folder.glob("*.sch") if p.stem not in columns)
    if extra:
        notes.append(f"{folder}: schedule(s) without observations, not used: {', '.join(extra)}")
    if not calendars:
        raise SiteError(
            f"{folder}: no treatment has both a schedule and observations ({'; '.join(skipped.values())})"
        )
    site_files = list(dict.fromkeys(s.site_file for s in schedules.values()))
    site_path = _pick(folder, site_files, "*.100", "site parameter file (.100)", check=_has_sitlat)
    lat, lon = read_site_file(site_path)
    layers = read_soils(folder / "soils.in")
    clay, bd = _topsoil(layers, DEPTH_CM, folder / "soils.in")
    weather_files = list(dict.fromkeys(s.weather_file for s in schedules.values() if s.weather_file))
    weather = read_weather(_pick(folder, weather_files, "*.wth", "weather file (.wth)"))
    notes.extend(weather.notes)
    info = SiteInfo(name, lat, lon, clay, bd, DEPTH_CM, site_path.name, layers)
    return SiteData(
        info=info,
        weather=weather,
        calendars=MappingProxyType(calendars),
        observations=tuple(o for o in observations if o.treatment in calendars),
        skipped_treatments=MappingProxyType(skipped),
        notes=tuple(notes),
        folder=str(folder),
    )
