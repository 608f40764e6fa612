"""The state of RothC-26.3 at the end of a month.

:class:`RothCState`, and its conversions to and from the compiled kernels' (10, ncell) state array
(DPM, RPM, BIO, HUM, SMD, CO2 and the four pools' Ract, ``_state_array``) and the Dataset that
:func:`models.rothc.equilibrium` returns (``_state_dataset``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import xarray as xr

from models.errors import ModelInputError
from models.rothc.equations import delta14c_from_age
from models.rothc.parameters import _POOL_NAMES, IOM_AGE, OUTPUT_VARIABLES, RothCParameters

# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RothCState:
    """State of RothC at the end of a month; every field broadcasts to the (draw, plot) shape."""

    dpm: np.ndarray
    """Decomposable plant material [t C ha-1]."""
    rpm: np.ndarray
    """Resistant plant material [t C ha-1]."""
    bio: np.ndarray
    """Microbial biomass [t C ha-1]."""
    hum: np.ndarray
    """Humified organic matter [t C ha-1]."""
    smd: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Accumulated topsoil moisture deficit [mm] (<= 0)."""
    co2: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Cumulative respired carbon [t C ha-1]."""
    dpm_age: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Radiocarbon age of DPM [yr]."""
    rpm_age: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Radiocarbon age of RPM [yr]."""
    bio_age: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Radiocarbon age of BIO [yr]."""
    hum_age: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(()))
    """Radiocarbon age of HUM [yr]."""

    _FIELDS = ("dpm", "rpm", "bio", "hum", "smd", "co2", "dpm_age", "rpm_age", "bio_age", "hum_age")
    _DS_NAMES = ("DPM", "RPM", "BIO", "HUM", "SMD", "CO2", "DPM_Rage", "RPM_Rage", "BIO_Rage", "HUM_Rage")

    @classmethod
    def zeros(cls, shape: tuple[int, ...] = ()) -> RothCState:
        """All pools, SMD and ages zero: the start of the reference spin-up (Shell.for:199)."""
        z = np.zeros(shape)
        return cls(*(z for _ in cls._FIELDS))

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> RothCState:
        """From a Dataset with DPM, RPM, BIO, HUM [t C ha-1] and optionally SMD [mm], CO2,
        DPM_Rage ... HUM_Rage [yr] (as :func:`equilibrium` returns, or reference_equilibrium.csv)."""
        missing = [n for n in _POOL_NAMES if n not in ds]
        if missing:
            raise ModelInputError(
                f"initial state Dataset lacks {missing}; it needs DPM, RPM, BIO, HUM [t C ha-1] "
                "(and optionally SMD, CO2, DPM_Rage, RPM_Rage, BIO_Rage, HUM_Rage)"
            )
        vals = [ds[n] if n in ds else xr.DataArray(0.0) for n in cls._DS_NAMES]
        order = [d for d in ("draw", "plot") if d in ds.dims]
        bad = [d for d in ds.dims if d not in ("draw", "plot")]
        if bad:
            raise ModelInputError(f"initial state has dims {bad}; only 'draw' and 'plot' are allowed")
        arrays = [v.broadcast_like(ds[_POOL_NAMES[0]]).transpose(*order).values for v in vals]
        return cls(*arrays)

    def _ract(self, shape: tuple[int, ...], conr: float) -> np.ndarray:
        st = np.empty((10, int(np.prod(shape, dtype=np.int64))))
        for i, f in enumerate(self._FIELDS[:6]):
            st[i] = np.broadcast_to(np.asarray(getattr(self, f), dtype=np.float64), shape).ravel()
        for i in range(4):
            age = np.broadcast_to(
                np.asarray(getattr(self, self._FIELDS[6 + i]), dtype=np.float64), shape
            ).ravel()
            st[6 + i] = st[i] * np.exp(-conr * age)
        return st

    @classmethod
    def _from_ract(cls, st: np.ndarray, shape: tuple[int, ...], conr: float) -> RothCState:
        vals = [st[i].reshape(shape).copy() for i in range(6)]
        for i in range(4):
            c, r = st[i], st[6 + i]
            with np.errstate(divide="ignore", invalid="ignore"):
                age = np.where((c > 0) & (r > 0), np.log(c / np.where(r > 0, r, 1.0)) / conr, 0.0)
            vals.append(age.reshape(shape))
        return cls(*vals)


def _state_array(
    initial: RothCState | xr.Dataset, ndraw: int, nplot: int, has_draw: bool, conr: float
) -> np.ndarray:
    if isinstance(initial, xr.Dataset):
        ds = initial
        if "plot" not in ds.dims:
            ds = ds.expand_dims(plot=nplot)
        if has_draw and "draw" not in ds.dims:
            ds = ds.expand_dims(draw=ndraw)
        initial = RothCState.from_dataset(ds)
    shape = (ndraw, nplot)
    try:
        return initial._ract(shape, conr)
    except ValueError as exc:
        raise ModelInputError(
            f"initial state arrays do not broadcast to (draw, plot) = {shape}: {exc}; "
            "give scalars, (plot,) or (draw, plot) arrays"
        ) from exc


def _state_dataset(
    inputs: xr.Dataset,
    state: np.ndarray,
    soil: tuple[np.ndarray, ...],
    sst: np.ndarray,
    ndraw: int,
    nplot: int,
    has_draw: bool,
    par: RothCParameters,
    months: np.ndarray | None,
) -> xr.Dataset:
    shape = (ndraw, nplot)
    st = RothCState._from_ract(state, shape, par.conr)
    dims = ("draw", "plot") if has_draw else ("plot",)

    def shaped(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a).reshape(shape)
        return a if has_draw else a[0]

    d_i = np.arange(ndraw)[:, None] * sst[2, 0] + np.arange(nplot)[None, :] * sst[2, 1]
    iom = soil[2][d_i]
    soc = state[0:4].sum(axis=0).reshape(shape) + iom
    ract = state[6:10].sum(axis=0).reshape(shape) + iom * np.exp(-par.conr * IOM_AGE)
    with np.errstate(divide="ignore", invalid="ignore"):
        tage = np.where((soc > 0) & (ract > 0), np.log(soc / np.where(ract > 0, ract, 1.0)) / par.conr, 0.0)
    data: dict[str, tuple[Any, ...]] = {}
    for name, f in zip(_POOL_NAMES, ("dpm", "rpm", "bio", "hum"), strict=True):
        data[name] = (
            dims,
            shaped(getattr(st, f)),
            {"units": "t C ha-1", "long_name": OUTPUT_VARIABLES[name][1]},
        )
    data["IOM"] = (dims, shaped(iom), {"units": "t C ha-1", "long_name": OUTPUT_VARIABLES["IOM"][1]})
    data["SOC"] = (dims, shaped(soc), {"units": "t C ha-1", "long_name": OUTPUT_VARIABLES["SOC"][1]})
    data["SMD"] = (dims, shaped(st.smd), {"units": "mm", "long_name": OUTPUT_VARIABLES["SMD"][1]})
    data["CO2"] = (dims, shaped(st.co2), {"units": "t C ha-1", "long_name": OUTPUT_VARIABLES["CO2"][1]})
    for name, f in zip(_POOL_NAMES, ("dpm_age", "rpm_age", "bio_age", "hum_age"), strict=True):
        data[f"{name}_Rage"] = (
            dims,
            shaped(getattr(st, f)),
            {"units": "yr", "long_name": f"radiocarbon age of {name}"},
        )
    data["Total_Rage"] = (
        dims,
        shaped(tage),
        {"units": "yr", "long_name": OUTPUT_VARIABLES["radiocarbon_age"][1]},
    )
    data["delta14C"] = (
        dims,
        shaped(delta14c_from_age(tage)),
        {"units": "1e-3", "long_name": OUTPUT_VARIABLES["delta14C"][1]},
    )
    if months is not None:
        data["spinup_months"] = (
            dims,
            shaped(months),
            {"units": "month", "long_name": "months run by the spin-up"},
        )
    coords = {d: inputs.coords[d] for d in dims if d in inputs.coords}
    return xr.Dataset(data, coords=coords)
