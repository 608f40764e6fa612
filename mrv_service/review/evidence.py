"""Evidence of one plot from a run's published output folder, for the review pages.

Every function takes the run's output folder (``out/PROJECT``, as ``mrv run`` publishes it) and
ids, and reads only what one page needs:

- :func:`plot_series`, :func:`chip_dates`: the plot's row of ``plot_features.nc`` (NDVI, NDTI,
  usable, item id per date);
- :func:`band_hrefs`, :func:`plot_chip_png`: the COGs of a scene and the plot's chip on a usable
  date (:func:`geodata.chips.plot_chip`);
- :func:`plot_trajectory`: the plot's row of ``plot_trajectories.nc`` (None for older runs);
- :func:`clearest_scene`, :func:`project_background`: the scene with the most usable plot-dates
  and a true-colour backdrop of the project from it (:func:`geodata.chips.background_png`).

Speed: the netCDF files are opened lazily (``cache=False``) and kept open per process, keyed by
the file's path, size, mtime and inode, so a newly published run is picked up and never mixed with
the old one; one plot's row is one hyperslab read per variable, whatever the number of plots.

Scale and offset of a scene's pixels come from its STAC item: the item JSON beside its assets (the
layout of a static catalog such as the sample county's), else the project's local catalog
(``source`` attribute of ``plot_features.nc``), else the Earth Search v1 convention of
:mod:`geodata.chips` (logged as a warning).

Errors are :class:`EvidenceError` subclasses (:class:`models.errors.MRVError`) naming the plot,
date or file and the fix; :func:`plot_chip_png` and :func:`project_background` also raise
:class:`geodata.chips.ChipError`.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import json
import logging
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry.base import BaseGeometry

from geodata.chips import ChipKind, ChipRequestError, background_png, plot_chip
from geodata.sentinel2 import BOA_ADD_OFFSET, REFLECTANCE_SCALE
from models.errors import MRVError

log = logging.getLogger(__name__)

__all__ = [
    "FEATURES_FILE",
    "TRAJECTORIES_FILE",
    "TRAJECTORY_VARIABLES",
    "EvidenceError",
    "RunOutputError",
    "PlotNotInRunError",
    "ChipDateError",
    "ItemNotInRunError",
    "plot_series",
    "chip_dates",
    "band_hrefs",
    "plot_chip_png",
    "plot_trajectory",
    "clearest_scene",
    "project_background",
]

FEATURES_FILE = "plot_features.nc"
"""Per-plot Sentinel-2 series of a run, Dataset(plot, time) (:mod:`geodata.dataset`)."""

TRAJECTORIES_FILE = "plot_trajectories.nc"
"""Per-plot SOC trajectories of a run, Dataset(plot, year) (:mod:`mrv_service.run.trajectories`)."""

TRAJECTORY_VARIABLES: tuple[str, ...] = (
    "soc_baseline",
    "soc_project",
    "litter_baseline",
    "litter_project",
    "delta_p5",
    "delta_p95",
)
"""Variables of ``plot_trajectories.nc``, each [t C ha-1]."""

_SERIES_VARIABLES = ("ndvi", "ndti", "usable", "item_id")
_MAX_OPEN = 8
"""Output files kept open per process."""
_MAX_BACKGROUNDS = 4
"""Backdrops (PNG) kept per open features file."""


class EvidenceError(MRVError):
    """A run's outputs cannot give the evidence asked for (base of this module's errors)."""


class RunOutputError(EvidenceError, FileNotFoundError):
    """An output file of the run is missing, unreadable or lacks a variable it should hold."""


class PlotNotInRunError(EvidenceError, LookupError):
    """The plot id is not among the run's plots."""


class ChipDateError(EvidenceError, LookupError):
    """The date is not a usable date of the plot (or not a date)."""


class ItemNotInRunError(EvidenceError, LookupError):
    """The STAC item id is not among the scenes the run read."""


# --- opening files ---------------------------------------------------------------------------------

_LOCK = threading.Lock()
_STRINGS = ("item_id",)
"""Variable-length string variables of (plot, time): xarray's netCDF backends decode them whole at
open (5 s at 100,000 x 80), so they are read per row or column from the HDF5 file instead."""


class _Opened:
    """A lazily opened output file: the xarray Dataset without :data:`_STRINGS`, and an HDF5
    handle for reading slices of those."""

    def __init__(self, path: Path, key: tuple[int, int, int]) -> None:
        import h5netcdf

        self.path, self.key = path, key
        self.memo: dict[Any, Any] = {}
        """Results derived from this file (items, clearest scene, backdrops); they go with it."""
        try:
            self.h5: Any = h5netcdf.File(path, "r")
        except OSError:  # not HDF5 (netCDF3): small files only, read it whole
            self.h5 = None
            self.ds = xr.open_dataset(path, cache=False)
            return
        try:
            self.ds = xr.open_dataset(path, cache=False, drop_variables=list(_STRINGS))
        except BaseException:
            self.h5.close()
            raise

    def strings(self, name: str, **index: int) -> np.ndarray:
        """A slice of a string variable, e.g. ``strings("item_id", plot=3)``."""
        if self.h5 is None or name not in self.h5.variables:
            return np.asarray(self.ds[name].isel(index).values, str)
        var = self.h5.variables[name]
        key = tuple(index.get(d, slice(None)) for d in var.dimensions)
        with _LOCK:
            raw = np.atleast_1d(var[key])
        return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in raw], dtype=str)

    def has(self, name: str) -> bool:
        return name in self.ds.variables or (self.h5 is not None and name in self.h5.variables)

    def close(self) -> None:
        self.ds.close()
        if self.h5 is not None:
            self.h5.close()


_OPEN: dict[Path, _Opened] = {}


@atexit.register
def _close_all() -> None:
    """Close the cached files before the interpreter tears h5py down (closing them during its
    shutdown prints "Exception ignored ... bad operand type for unary ~")."""
    with _LOCK:
        opened = list(_OPEN.values())
        _OPEN.clear()
    for f in opened:
        try:
            f.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _file_key(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size, st.st_ino


def _dataset(path: Path, what: str) -> _Opened:
    """The lazily opened file at ``path``, cached while its size, mtime and inode are unchanged."""
    path = path.resolve()
    try:
        key = _file_key(path)
    except OSError as exc:
        raise RunOutputError(
            f"{path} does not exist: the output folder holds no {what}. Run the project "
            "(`mrv run PROJECT`) and pass its output folder (out/PROJECT)"
        ) from exc
    with _LOCK:
        hit = _OPEN.get(path)
    if hit is not None and hit.key == key:
        return hit
    try:
        opened = _Opened(path, key)
    except (OSError, ValueError) as exc:
        raise RunOutputError(
            f"cannot read {path}: {exc}. The file is damaged or still being written; rerun the project "
            "(`mrv run PROJECT`) if it persists"
        ) from exc
    with _LOCK:
        _OPEN[path] = opened  # a replaced file's handles close when the old entry is collected
        while len(_OPEN) > _MAX_OPEN:
            _OPEN.pop(next(iter(_OPEN)))
    return opened


def _features(out_dir: Path) -> _Opened:
    return _dataset(Path(out_dir) / FEATURES_FILE, "Sentinel-2 plot features")


def _plot_index(f: _Opened, plot_id: str) -> int:
    index = f.ds.indexes["plot"]
    try:
        loc = index.get_loc(str(plot_id))
    except KeyError:
        loc = None
    if not isinstance(loc, (int, np.integer)):
        head = ", ".join(repr(p) for p in index[:3])
        raise PlotNotInRunError(
            f"plot {plot_id!r} is not in {f.path} ({len(index)} plots: {head} ...). Pass the plot's external "
            "id as uploaded; a plot added after this run appears after the next `mrv run PROJECT`"
        )
    return int(loc)


def _need_vars(f: _Opened, names: Sequence[str]) -> None:
    missing = [n for n in names if not f.has(n)]
    if missing:
        raise RunOutputError(
            f"{f.path} lacks {missing}: it was written by another version of the service. Rerun the "
            "project (`mrv run PROJECT`) to rewrite it"
        )


# --- the plot's series -----------------------------------------------------------------------------


def plot_series(out_dir: Path, plot_id: str) -> pd.DataFrame:
    """One plot's Sentinel-2 series from ``plot_features.nc``.

    Parameters
    ----------
    out_dir : pathlib.Path
        The run's output folder.
    plot_id : str
        The plot's external id (e.g. ``LS-000001``).

    Returns
    -------
    pandas.DataFrame
        One row per date of the run, in time order: ``time`` (datetime64, earliest acquisition of
        the UTC day), ``ndvi`` and ``ndti`` [1] (coverage-weighted means over clear pixels; NaN
        where not usable), ``usable`` (bool), ``item_id`` (str, '' where not observed).

    Raises
    ------
    RunOutputError
        If ``plot_features.nc`` is missing, unreadable or lacks a variable.
    PlotNotInRunError
        If the plot is not in the run.
    """
    f = _features(out_dir)
    _need_vars(f, _SERIES_VARIABLES)
    i = _plot_index(f, plot_id)
    return pd.DataFrame(
        {
            "time": f.ds.indexes["time"],
            "ndvi": f.ds["ndvi"].isel(plot=i).values.astype(float),
            "ndti": f.ds["ndti"].isel(plot=i).values.astype(float),
            "usable": f.ds["usable"].isel(plot=i).values.astype(bool),
            "item_id": f.strings("item_id", plot=i),
        }
    )


def chip_dates(out_dir: Path, plot_id: str) -> list[dict[str, Any]]:
    """The plot's usable dates, for a date picker: ``[{date, item_id, ndvi}, ...]`` in time order.

    ``date`` is ``YYYY-MM-DD`` (UTC day of the acquisition), ``ndvi`` the plot's mean NDVI [1] that
    day (float). Raises as :func:`plot_series`.
    """
    s = plot_series(out_dir, plot_id)
    s = s[s["usable"]]
    return [
        {"date": t.strftime("%Y-%m-%d"), "item_id": item, "ndvi": float(v)}
        for t, item, v in zip(s["time"], s["item_id"], s["ndvi"], strict=True)
    ]


# --- scenes ----------------------------------------------------------------------------------------


def _items(f: _Opened) -> tuple[dict[str, dict[str, Any]], str]:
    """``items`` attribute of a features file as id -> {assets, datetime}, and its ``source``."""
    if "items" not in f.memo:
        f.memo["items"] = _parse_items(f)
    return f.memo["items"]


def _parse_items(f: _Opened) -> tuple[dict[str, dict[str, Any]], str]:
    raw = f.ds.attrs.get("items")
    items = {}
    for item in json.loads(raw) if raw else []:
        items[str(item["id"])] = {
            "assets": {str(k): str(v) for k, v in item.get("assets", {}).items()},
            "datetime": str(item.get("datetime", "")),
        }
    return items, str(f.ds.attrs.get("source", ""))


@functools.lru_cache(maxsize=4)
def _catalog(source: str, mtime_ns: int) -> dict[str, Any]:
    """Parsed items of a local static catalog by id (cached while catalog.json is unchanged)."""
    from geodata.stac import search_items

    return {p.id: p for p in search_items(source)}


def _local_catalog(source: str) -> dict[str, Any]:
    if not source or "://" in source:
        return {}
    path = Path(source)
    path = path / "catalog.json" if path.is_dir() else path
    if not path.is_file():
        return {}
    try:
        return _catalog(str(path), path.stat().st_mtime_ns)
    except MRVError as exc:
        log.warning("cannot read the run's catalog %r: %s", str(path), exc)
        return {}


def band_hrefs(out_dir: Path, item_id: str) -> dict[str, str]:
    """The COG paths of a scene the run read, by band (``red``, ``nir``, ``scl`` ...).

    From the ``items`` attribute of ``plot_features.nc`` (absolute paths or URLs as the run
    resolved them); for older runs without it, from the run's local catalog (``source``).

    Raises
    ------
    RunOutputError
        If ``plot_features.nc`` is missing or unreadable.
    ItemNotInRunError
        If the run read no scene ``item_id``.
    """
    f = _features(out_dir)
    items, source = _items(f)
    if item_id in items:
        return dict(items[item_id]["assets"])
    parsed = _local_catalog(source).get(item_id)
    if parsed is not None:
        return {k: a.href for k, a in parsed.assets.items()}
    some = ", ".join(repr(i) for i in list(items)[:3])
    raise ItemNotInRunError(
        f"scene {item_id!r} is not among the {len(items)} scenes of {f.path} ({some} ...); take item ids "
        "from chip_dates() or the series' item_id column"
    )


@functools.lru_cache(maxsize=256)
def _reflectance(item_id: str, red_href: str, source: str) -> tuple[float, float]:
    """``(scale, offset)`` of a scene's reflectance assets (module notes)."""
    from geodata.items import parse_item

    beside = Path(red_href).parent / f"{item_id}.json"
    if red_href and "://" not in red_href and beside.is_file():
        try:
            asset = parse_item(json.loads(beside.read_text(encoding="utf-8"))).assets.get("red")
            if asset is not None:
                return asset.scale, asset.offset
        except (OSError, ValueError, MRVError) as exc:
            log.warning("cannot read STAC item %r: %s", str(beside), exc)
    parsed = _local_catalog(source).get(item_id)
    if parsed is not None and "red" in parsed.assets:
        return parsed.assets["red"].scale, parsed.assets["red"].offset
    log.warning(
        "no STAC item found for scene %r: its pictures assume reflectance = DN x %g %+g",
        item_id,
        REFLECTANCE_SCALE,
        BOA_ADD_OFFSET,
    )
    return REFLECTANCE_SCALE, BOA_ADD_OFFSET


def _scene(out_dir: Path, item_id: str) -> tuple[dict[str, str], float, float]:
    """Hrefs, scale and offset of a scene of the run."""
    hrefs = band_hrefs(out_dir, item_id)
    _, source = _items(_features(out_dir))
    scale, offset = _reflectance(item_id, hrefs.get("red", ""), source)
    return hrefs, scale, offset


def _date_text(date: Any) -> str | None:
    if isinstance(date, dt.date):
        return date.strftime("%Y-%m-%d")
    try:
        return dt.date.fromisoformat(str(date).strip()).isoformat()
    except ValueError:
        return None


def plot_chip_png(
    out_dir: Path,
    plot_id: str,
    geometry_wgs84: BaseGeometry,
    date: str | dt.date,
    kind: ChipKind,
    size_px: int = 256,
) -> bytes:
    """The plot's image chip (PNG) on one of its usable dates (:func:`geodata.chips.plot_chip`).

    Parameters
    ----------
    out_dir : pathlib.Path
    plot_id : str
    geometry_wgs84 : shapely geometry
        The plot's polygon in EPSG:4326 (as stored).
    date : str or datetime.date
        ``YYYY-MM-DD``, one of :func:`chip_dates`.
    kind : {"truecolor", "ndvi"}
    size_px : int, default 256

    Returns
    -------
    bytes
        PNG; pixels of the SCL classes the run did not keep (its ``scl_keep_classes``) are greyed.

    Raises
    ------
    ChipDateError
        If ``date`` is not a usable date of the plot (the message lists them).
    RunOutputError, PlotNotInRunError, ItemNotInRunError
        As :func:`plot_series` and :func:`band_hrefs`.
    geodata.chips.ChipError
        If the COGs are missing or unreadable, or the plot lies outside them.
    """
    s = plot_series(out_dir, plot_id)
    usable = s[s["usable"]]
    days = [t.strftime("%Y-%m-%d") for t in usable["time"]]
    day = _date_text(date)
    if day not in days:
        listed = ", ".join(days) if days else "none: every date was cloudy or not observed"
        raise ChipDateError(
            f"{date!r} is not a usable date of plot {plot_id!r}; pick one of its usable dates "
            f"(YYYY-MM-DD, from chip_dates()): {listed}"
        )
    item_id = str(usable["item_id"].iloc[days.index(day)])
    hrefs, scale, offset = _scene(out_dir, item_id)
    keep = _features(out_dir).ds.attrs.get("scl_keep_classes")
    return plot_chip(
        hrefs,
        geometry_wgs84,
        kind,
        size_px=size_px,
        scl_href=hrefs.get("scl"),
        scale=scale,
        offset=offset,
        keep_classes=None if keep is None else [int(c) for c in np.atleast_1d(keep)],
    )


# --- trajectories ----------------------------------------------------------------------------------


def plot_trajectory(out_dir: Path, plot_id: str) -> xr.Dataset | None:
    """One plot's SOC trajectory from ``plot_trajectories.nc``, or None if the run has none.

    Returns
    -------
    xarray.Dataset or None
        Dimension ``year`` (int, calendar year of each crediting point); variables
        :data:`TRAJECTORY_VARIABLES` [t C ha-1] (soil SOC stock and surface litter C of both
        scenarios, deterministic run; 5th/95th percentile over the Monte Carlo draws of the
        cumulative project-minus-baseline soil SOC change); scalar coordinate ``plot``. None when
        the file is absent (runs before trajectories were written).

    Raises
    ------
    RunOutputError
        If the file is unreadable or lacks a variable.
    PlotNotInRunError
        If the plot is not in the file.
    """
    path = Path(out_dir) / TRAJECTORIES_FILE
    if not path.is_file():
        return None
    f = _dataset(path, "SOC trajectories")
    _need_vars(f, TRAJECTORY_VARIABLES)
    i = _plot_index(f, plot_id)
    return f.ds[list(TRAJECTORY_VARIABLES)].isel(plot=i).load()


# --- project backdrop ------------------------------------------------------------------------------


def _bounds(bounds_wgs84: Sequence[float]) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(v) for v in bounds_wgs84)
    except (TypeError, ValueError) as exc:
        raise ChipRequestError(
            f"bounds_wgs84={bounds_wgs84!r} must be four numbers (west, south, east, north) [degree]"
        ) from exc
    return w, s, e, n


def _clearest(f: _Opened, bounds: tuple[float, float, float, float] | None) -> dict[str, Any]:
    key = ("clearest", bounds)
    if key not in f.memo:
        f.memo[key] = _find_clearest(f, bounds)
    return f.memo[key]


def _find_clearest(f: _Opened, bounds: tuple[float, float, float, float] | None) -> dict[str, Any]:
    _need_vars(f, ("usable", "item_id"))
    usable = np.asarray(f.ds["usable"].values, bool)  # (plot, time): 8 MB at 100,000 x 80
    chosen = np.ones(usable.shape[0], bool)
    if bounds is not None and "lon" in f.ds.coords and "lat" in f.ds.coords:
        w, s, e, n = bounds
        lon, lat = f.ds["lon"].values, f.ds["lat"].values
        inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
        chosen = inside if inside.any() else chosen
    if not usable[chosen].any():
        raise EvidenceError(
            f"{f.path} has no usable plot-date (every scene cloudy or none covering the plots); there is no "
            "clear scene to draw. Check the run's imagery summary (summary.json, `imagery`)"
        )
    share = usable[chosen].mean(axis=0)
    t = int(np.argmax(share))
    day = pd.Timestamp(f.ds.indexes["time"][t]).strftime("%Y-%m-%d")
    items, _ = _items(f)
    same_day = [i for i, v in items.items() if v["datetime"][:10] == day]
    if len(same_day) == 1:  # one scene that day: no need to read the column of item ids
        item_id = same_day[0]
    else:
        ids = f.strings("item_id", time=t)[chosen & usable[:, t]]
        item_id = Counter(ids.tolist()).most_common(1)[0][0]
    return {
        "item_id": item_id,
        "date": day,
        "usable_share": float(share[t]),
        "n_plots": int(chosen.sum()),
        "attribution": str(f.ds.attrs.get("attribution", "Contains modified Copernicus Sentinel data")),
    }


def clearest_scene(out_dir: Path, bounds_wgs84: Sequence[float] | None = None) -> dict[str, Any]:
    """The scene with the highest share of usable plot-dates, for a project backdrop.

    Parameters
    ----------
    out_dir : pathlib.Path
    bounds_wgs84 : sequence of 4 float, optional
        ``(west, south, east, north)`` [degree]: count only plots whose centroid lies inside
        (all plots if none does, or if not given).

    Returns
    -------
    dict
        ``item_id``, ``date`` (YYYY-MM-DD), ``usable_share`` (usable plots / plots counted, on that
        date [1]), ``n_plots`` counted, ``attribution`` (to show under the picture). On a day with
        several scenes (tiles), the one holding most usable plots. Cached per process while the
        file is unchanged.

    Raises
    ------
    RunOutputError
        If ``plot_features.nc`` is missing or unreadable.
    EvidenceError
        If no plot-date is usable.
    """
    bounds = None if bounds_wgs84 is None else _bounds(bounds_wgs84)
    return dict(_clearest(_features(out_dir), bounds))


def project_background(
    out_dir: Path, bounds_wgs84: Sequence[float], max_px: int = 1024
) -> tuple[bytes, tuple[float, float, float, float]]:
    """A true-colour backdrop of the project's extent from its clearest scene (:func:`clearest_scene`).

    Returns ``(png, (west, south, east, north))`` as :func:`geodata.chips.background_png` (RGBA,
    EPSG:3857 grid, transparent outside the scene). The last few results are cached per process
    while ``plot_features.nc`` is unchanged. Raises as :func:`clearest_scene` and
    :func:`geodata.chips.background_png`.
    """
    bounds = _bounds(bounds_wgs84)
    scene = clearest_scene(out_dir, bounds)
    f = _features(out_dir)
    key = ("background", scene["item_id"], bounds, int(max_px))
    if key not in f.memo:
        hrefs, scale, offset = _scene(out_dir, scene["item_id"])
        kept = [k for k in list(f.memo) if k[0] == "background"]
        for old in kept[: max(0, len(kept) - _MAX_BACKGROUNDS + 1)]:
            f.memo.pop(old, None)
        f.memo[key] = background_png(hrefs, bounds, max_px, scale=scale, offset=offset)
    return f.memo[key]
