"""Per-pixel spectral indices of Sentinel-2 surface reflectance (pure numpy).

Definition used throughout the project: a plot's index for a date is the **coverage-weighted
mean of the per-pixel index** over the plot's clear pixels (not the index of the plot's mean
reflectances). Per-pixel indices are what the tillage and residue literature calibrates against,
and the mean of ratios is robust to a few mixed edge pixels. Pixels where an index's denominator
is zero give NaN and drop out of that index's mean only.

Band names follow Earth Search v1 asset keys: ``blue`` B02, ``green`` B03, ``red`` B04,
``nir`` B08, ``swir16`` B11, ``swir22`` B12; all surface reflectance [1].

References
----------
.. [1] J. W. Rouse, R. H. Haas, J. A. Schell and D. W. Deering, "Monitoring vegetation systems in
   the Great Plains with ERTS", Third ERTS Symposium, NASA SP-351, vol. 1, pp. 309-317, 1974.
.. [2] A. P. van Deventer, A. D. Ward, P. H. Gowda and J. G. Lyon, "Using Thematic Mapper data to
   identify contrasting soil plains and tillage practices", Photogrammetric Engineering and
   Remote Sensing, vol. 63, no. 1, pp. 87-93, 1997.
.. [3] A. Rikimaru, P. S. Roy and S. Miyatake, "Tropical forest cover density mapping", Tropical
   Ecology, vol. 43, no. 1, pp. 39-47, 2002.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from geodata.errors import SpectralIndexError

__all__ = ["INDICES", "INDEX_BANDS", "INDEX_ATTRS", "bsi", "compute_indices", "ndti", "ndvi"]


def _normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    s = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s != 0, (a - b) / np.where(s != 0, s, 1.0), np.nan)


def ndvi(red: np.ndarray, nir: np.ndarray) -> np.ndarray:
    """Normalised difference vegetation index [1].

    Parameters
    ----------
    red, nir : numpy.ndarray
        Surface reflectance of B04 and B08 [1].

    Returns
    -------
    numpy.ndarray
        NDVI [1]; NaN where ``nir + red == 0``.

    Notes
    -----
    NDVI = (B08 - B04) / (B08 + B04)  (Rouse et al. 1974, module reference [1]).

    Examples
    --------
    >>> float(ndvi(0.05, 0.35))
    0.75
    """
    return _normalized_difference(nir, red)


def ndti(swir16: np.ndarray, swir22: np.ndarray) -> np.ndarray:
    """Normalised difference tillage index [1].

    Parameters
    ----------
    swir16, swir22 : numpy.ndarray
        Surface reflectance of B11 (1.6 um) and B12 (2.2 um) [1].

    Returns
    -------
    numpy.ndarray
        NDTI [1]; NaN where ``B11 + B12 == 0``.

    Notes
    -----
    NDTI = (B11 - B12) / (B11 + B12), the Landsat TM5/TM7 index of van Deventer et al. (1997,
    module reference [2]) on the matching Sentinel-2 SWIR bands. Crop residue raises it.

    Examples
    --------
    >>> round(float(ndti(0.30, 0.20)), 12)
    0.2
    """
    return _normalized_difference(swir16, swir22)


def bsi(blue: np.ndarray, red: np.ndarray, nir: np.ndarray, swir16: np.ndarray) -> np.ndarray:
    """Bare soil index [1].

    Parameters
    ----------
    blue, red, nir, swir16 : numpy.ndarray
        Surface reflectance of B02, B04, B08, B11 [1].

    Returns
    -------
    numpy.ndarray
        BSI [1] in [-1, 1]; positive for bare soil; NaN where the denominator is zero.

    Notes
    -----
    BSI = ((B11 + B04) - (B08 + B02)) / ((B11 + B04) + (B08 + B02)), Rikimaru et al. (2002,
    module reference [3]), there with Landsat TM bands 5, 3, 4, 1.

    Examples
    --------
    >>> round(float(bsi(0.05, 0.10, 0.20, 0.35)), 12)
    0.285714285714
    """
    return _normalized_difference(np.asarray(swir16, float) + red, np.asarray(nir, float) + blue)


INDEX_BANDS: Mapping[str, tuple[str, ...]] = {
    "ndvi": ("red", "nir"),
    "ndti": ("swir16", "swir22"),
    "bsi": ("blue", "red", "nir", "swir16"),
}
"""Bands each index needs (Earth Search v1 asset keys), in argument order."""

INDICES: Mapping[str, Callable[..., np.ndarray]] = {"ndvi": ndvi, "ndti": ndti, "bsi": bsi}
"""Index name -> per-pixel function."""

INDEX_ATTRS: Mapping[str, dict[str, str]] = {
    "ndvi": {
        "units": "1",
        "long_name": "normalised difference vegetation index (B08-B04)/(B08+B04)",
        "references": "Rouse et al. 1974, NASA SP-351 vol. 1 pp. 309-317",
    },
    "ndti": {
        "units": "1",
        "long_name": "normalised difference tillage index (B11-B12)/(B11+B12)",
        "references": "van Deventer et al. 1997, PE&RS 63(1):87-93",
    },
    "bsi": {
        "units": "1",
        "long_name": "bare soil index ((B11+B04)-(B08+B02))/((B11+B04)+(B08+B02))",
        "references": "Rikimaru, Roy & Miyatake 2002, Tropical Ecology 43(1):39-47",
    },
}
"""CF attributes of each index variable."""


def compute_indices(bands: Mapping[str, np.ndarray], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per-pixel indices from a mapping of band name -> reflectance array.

    Parameters
    ----------
    bands : mapping of str to numpy.ndarray
        Reflectance [1] per Earth Search band key; NaN marks invalid pixels.
    names : tuple of str
        Index names among :data:`INDICES`.

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    geodata.errors.SpectralIndexError
        (a :class:`KeyError`) If an index is unknown or a band it needs is missing from ``bands``.
    """
    out = {}
    for name in names:
        if name not in INDICES:
            raise SpectralIndexError(f"unknown index {name!r}; choose from {sorted(INDICES)}")
        need = INDEX_BANDS[name]
        missing = [b for b in need if b not in bands]
        if missing:
            raise SpectralIndexError(
                f"index {name!r} needs bands {list(need)}; missing {missing}: load those bands or drop "
                "the index"
            )
        out[name] = INDICES[name](*(bands[b] for b in need))
    return out
