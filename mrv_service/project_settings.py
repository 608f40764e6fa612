"""The settings a run needs, stored with each project: imagery, weather, model, soil defaults.

A project stores only the values its owner set (``Project.settings``, a nested JSON object such as
``{"imagery": {"max_cloud_cover": 40}}``); every other key takes the default documented in
:data:`SETTINGS`. ``project.json`` may carry the same object under ``"settings"``; ``mrv project
set PROJECT KEY=VALUE`` edits it and ``mrv project show`` prints the effective values.

Secrets never live here: an API key for a commercial STAC comes from ``MRV_STAC_API_KEY`` (see
:mod:`mrv_service.config`). Only the keys of :data:`SETTINGS` are accepted, so nothing else can be
stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from geodata.defaults import DEFAULT_BANDS, DEFAULT_MAX_ITEMS, DEFAULT_MIN_VALID_FRACTION
from geodata.sentinel2 import REFLECTANCE_BANDS
from models.crediting import DEFAULT_CREDITING_MONTH
from models.errors import MRVError
from models.soil import DEFAULT_CLAY_PCT, DEFAULT_DEPTH_CM, DEFAULT_IPCC_SOIL_CLASS, IPCC_SOIL_CLASSES

__all__ = [
    "SETTINGS",
    "ProjectSettingsError",
    "SettingSpec",
    "effective_settings",
    "parse_setting",
    "validate_settings",
    "set_setting",
    "unset_setting",
    "resolve_paths",
]


class ProjectSettingsError(MRVError, ValueError):
    """A project setting is unknown or its value is not accepted (the message names the key and the fix)."""


@dataclasses.dataclass(frozen=True)
class SettingSpec:
    """One project setting: its type, default and the rule its value must follow."""

    key: str
    """Dotted key, e.g. ``imagery.max_cloud_cover``."""
    kind: str
    """``str``, ``float``, ``int``, ``bool``, ``date``, ``list`` or ``choice``."""
    default: Any
    """Default value (``None`` where the default is derived, see ``help``)."""
    help: str
    """What it means, with its unit in brackets and where the default comes from."""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    """Allowed values (``choice``; for ``list``: allowed items)."""
    nullable: bool = False
    """``None`` (unset in JSON, ``none`` on the command line) is a valid value."""


def _spec(*args, **kw) -> SettingSpec:
    return SettingSpec(*args, **kw)


SETTINGS: dict[str, SettingSpec] = {
    s.key: s
    for s in (
        _spec(
            "imagery.source",
            "str",
            None,
            "STAC API URL (http/https) or path of a local static catalog.json; default: MRV_STAC_URL",
            nullable=True,
        ),
        _spec(
            "imagery.collections",
            "list",
            ("sentinel-2-l2a",),
            "STAC collections searched: sentinel-2-l2a (Earth Search v1, Planetary Computer, the sample) "
            "or sentinel-2-c1-l2a (Earth Search collection 1), or your catalog's own id",
        ),
        _spec(
            "imagery.start",
            "date",
            None,
            "first acquisition date searched; default: 1 January of the first baseline year",
            nullable=True,
        ),
        _spec(
            "imagery.end",
            "date",
            None,
            "last acquisition date searched; default: 31 December of the last project year",
            nullable=True,
        ),
        _spec(
            "imagery.max_cloud_cover",
            "float",
            None,
            "scene-level eo:cloud_cover limit [%]; none keeps every scene (the SCL mask screens pixels)",
            low=0.0,
            high=100.0,
            nullable=True,
        ),
        _spec(
            "imagery.max_items",
            "int",
            DEFAULT_MAX_ITEMS,
            "largest number of STAC items a run may read; a search matching more stops the run "
            "(narrow the dates or the cloud limit, or raise this) [1]",
            low=1,
            high=1_000_000,
        ),
        _spec(
            "imagery.bands",
            "list",
            tuple(DEFAULT_BANDS),
            "reflectance bands reported per plot (Earth Search keys); NDVI/NDTI/BSI add what they need",
            choices=tuple(REFLECTANCE_BANDS),
        ),
        _spec(
            "imagery.require_scl",
            "bool",
            True,
            "skip scenes without a scene classification (SCL) asset; false uses them unmasked",
        ),
        _spec(
            "imagery.min_valid_fraction",
            "float",
            DEFAULT_MIN_VALID_FRACTION,
            "clear fraction of a plot for a usable plot-date [1]",
            low=0.0,
            high=1.0,
        ),
        _spec(
            "weather.source",
            "choice",
            "store",
            "where the run reads monthly weather: store = what `mrv ingest weather` loaded",
            choices=("store",),
        ),
        _spec(
            "weather.max_station_distance_km",
            "float",
            50.0,
            "largest distance from a plot to its nearest weather station [km] (a service choice)",
            low=0.0,
            high=1000.0,
        ),
        _spec(
            "model.depth_cm",
            "float",
            DEFAULT_DEPTH_CM,
            "soil depth modelled and credited [cm]; soil samples must cover 0 to this depth "
            "(default: the IPCC Tier 1 depth, 2006 GL Vol. 4 Ch. 2 section 2.3.3.1)",
            low=5.0,
            high=100.0,
        ),
        _spec(
            "model.monte_carlo_draws",
            "int",
            1000,
            "Monte Carlo draws [1]; the estimate is their mean and its 90 % interval (VM0042 v2.2 p. 78 "
            "suggests 500-1,000)",
            low=2,
            high=100_000,
        ),
        _spec(
            "model.crediting_month",
            "int",
            DEFAULT_CREDITING_MONTH,
            "month whose end is the yearly crediting point [1-12] (default 8: August, before harvest)",
            low=1,
            high=12,
        ),
        _spec(
            "accounting.application_date",
            "date",
            None,
            "date the reductions are applied for (the 5-year instalment rule); default: the day of the run",
            nullable=True,
        ),
        _spec(
            "accounting.farmer_share",
            "float",
            None,
            "share of each plot's net credit that goes to its farmer [0-1] (farmers.csv); default: none defined",
            nullable=True,
            low=0.0,
            high=1.0,
        ),
        _spec(
            "verification.misclassification_draw",
            "bool",
            True,
            "carry the detectors' error into the credit: each credited practice claim holds in a Monte Carlo "
            "draw with the probability the imagery gives it (models.verification.credit)",
        ),
        _spec(
            "soil.clay_pct",
            "float",
            DEFAULT_CLAY_PCT,
            "clay content used where no plot texture is known [%]",
            low=1.0,
            high=90.0,
        ),
        _spec(
            "soil.ipcc_soil_class",
            "choice",
            DEFAULT_IPCC_SOIL_CLASS,
            "IPCC soil class of the project's soils for Tier 1 (2019 Refinement Vol. 4 Table 2.3)",
            choices=IPCC_SOIL_CLASSES,
        ),
        _spec(
            "plots.max_distance_km",
            "float",
            60.0,
            "largest distance of a plot from the project's region centre (region.lon/lat) [km]; "
            "farther plots are rejected at ingest (a service choice: a large county's radius)",
            low=0.1,
            high=2000.0,
        ),
    )
}
"""Every project setting, its default and its rule (the one place they are defined)."""

_TRUE = {"true", "yes", "1", "on", "是"}
_FALSE = {"false", "no", "0", "off", "否"}


def _fail(key: str, message: str, fix: str) -> ProjectSettingsError:
    return ProjectSettingsError(f"setting {key}: {message}; {fix}")


def _check(spec: SettingSpec, value: Any) -> Any:
    """Validate a value of the right Python type against the spec; returns it normalised."""
    key = spec.key
    if value is None:
        if spec.nullable:
            return None
        raise _fail(key, "may not be empty", f"give a value ({spec.help})")
    if spec.kind in ("float", "int"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(key, f"{value!r} is not a number", f"give a number ({spec.help})")
        if not math.isfinite(float(value)):
            raise _fail(key, f"{value!r} is not a finite number", "give a finite number")
        if spec.kind == "int":
            if float(value) != int(value):
                raise _fail(key, f"{value!r} is not a whole number", "give a whole number")
            value = int(value)
        else:
            value = float(value)
        if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
            raise _fail(
                key,
                f"{value!r} is outside {spec.low:g}-{spec.high:g}",
                f"give a value in that range ({spec.help})",
            )
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise _fail(key, f"{value!r} is not true or false", "write true or false")
        return value
    if spec.kind == "date":
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise _fail(key, f"{value!r} is not a date", "write it as YYYY-MM-DD") from None
    if spec.kind == "list":
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise _fail(key, f"{value!r} is not a list", "give a list (comma-separated on the command line)")
        items = [str(v).strip() for v in value]
        if not items or any(not v for v in items):
            raise _fail(key, "needs at least one non-empty item", f"e.g. {','.join(spec.default)}")
        if spec.choices is not None:
            bad = [v for v in items if v not in spec.choices]
            if bad:
                raise _fail(key, f"unknown item(s) {bad}", f"choose from {', '.join(spec.choices)}")
        return list(dict.fromkeys(items))
    if spec.kind == "choice":
        if str(value) not in (spec.choices or ()):
            raise _fail(key, f"{value!r} is not accepted", f"choose one of {', '.join(spec.choices or ())}")
        return str(value)
    if spec.kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise _fail(key, f"{value!r} is not a non-empty text", f"give a text ({spec.help})")
        return value.strip()
    raise AssertionError(f"unknown setting kind {spec.kind!r}")  # pragma: no cover


def parse_setting(key: str, text: str) -> Any:
    """Parse a command-line value (``KEY=TEXT``) into the setting's type and validate it."""
    spec = _lookup(key)
    raw = text.strip()
    if raw.lower() in ("none", "null", "") and spec.nullable:
        return None
    if spec.kind in ("float", "int"):
        try:
            value: Any = float(raw) if spec.kind == "float" else float(raw)
        except ValueError:
            raise _fail(key, f"{text!r} is not a number", f"give a number ({spec.help})") from None
        return _check(spec, value)
    if spec.kind == "bool":
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _fail(key, f"{text!r} is not true or false", "write true or false")
    if spec.kind == "list":
        return _check(spec, [v for v in raw.split(",")])
    return _check(spec, raw)


def _lookup(key: str) -> SettingSpec:
    spec = SETTINGS.get(key)
    if spec is None:
        secretish = any(w in key.lower() for w in ("key", "token", "password", "secret"))
        fix = (
            "secrets are never stored with a project: set MRV_STAC_API_KEY in the environment"
            if secretish
            else f"known settings: {', '.join(SETTINGS)}"
        )
        raise ProjectSettingsError(f"unknown setting {key!r}; {fix}")
    return spec


def _flatten(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in settings.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        group, name = key.split(".", 1)
        out.setdefault(group, {})[name] = value
    return out


def validate_settings(settings: Mapping[str, Any] | None, source: str = "settings") -> dict[str, Any]:
    """Check a nested settings object (as in ``project.json``) and return it normalised.

    Raises
    ------
    ProjectSettingsError
        For an unknown key or a value its rule does not accept; the message names ``source``.
    """
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise ProjectSettingsError(
            f'{source}: settings must be an object of groups, e.g. {{"imagery": {{...}}}}'
        )
    flat = {}
    for key, value in _flatten(settings).items():
        try:
            flat[key] = _check(_lookup(key), value)
        except ProjectSettingsError as exc:
            raise ProjectSettingsError(f"{source}: {exc}") from None
    out = _nest(flat)
    _check_dates(effective_settings(out))
    return out


def _check_dates(eff: Mapping[str, Any]) -> None:
    start, end = eff["imagery.start"], eff["imagery.end"]
    if start is not None and end is not None and end < start:
        raise ProjectSettingsError(
            f"setting imagery.end ({end}) is before imagery.start ({start}); swap them"
        )


def effective_settings(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every setting by dotted key: the stored value where set, else the default."""
    flat = _flatten(stored or {})
    out = {}
    for key, spec in SETTINGS.items():
        v = flat.get(key, spec.default)
        out[key] = list(v) if isinstance(v, tuple) else v
    return out


def set_setting(stored: Mapping[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    """A copy of ``stored`` with ``key`` set to ``value`` (already parsed), validated."""
    flat = _flatten(stored or {})
    flat[key] = _check(_lookup(key), value)
    out = _nest(flat)
    _check_dates(effective_settings(out))
    return out


def unset_setting(stored: Mapping[str, Any] | None, key: str) -> dict[str, Any]:
    """A copy of ``stored`` without ``key`` (so it takes its default again)."""
    _lookup(key)
    flat = _flatten(stored or {})
    flat.pop(key, None)
    return _nest(flat)


def resolve_paths(settings: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Make a relative local ``imagery.source`` absolute against ``base`` (the project.json folder)."""
    flat = _flatten(settings)
    src = flat.get("imagery.source")
    if isinstance(src, str) and "://" not in src and not Path(src).is_absolute():
        flat["imagery.source"] = str((base / src).resolve())
    return _nest(flat)


def describe(stored: Mapping[str, Any] | None) -> list[tuple[str, Any, bool, str]]:
    """``(key, effective value, is_default, help)`` for every setting, for ``mrv project show``."""
    flat = _flatten(stored or {})
    eff = effective_settings(stored)
    return [(k, eff[k], k not in flat, SETTINGS[k].help) for k in SETTINGS]
