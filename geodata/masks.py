"""Sentinel-2 L2A Scene Classification (SCL) cloud masks.

The SCL band of Sen2Cor classifies each 20 m pixel into 12 classes ([1]_, Table "Scene
Classification Values"; [2]_ section 3.6):

====  =====================================  ============================
code  class                                  kept by default here?
====  =====================================  ============================
0     no data                                no
1     saturated or defective                 no
2     dark area pixels / topographic shadow  no
3     cloud shadows                          no
4     vegetation                             **yes**
5     not vegetated (bare soil)              **yes**
6     water                                  if ``keep_water`` (off)
7     unclassified                           if ``keep_unclassified`` (off)
8     cloud, medium probability              no
9     cloud, high probability                no
10    thin cirrus                            no
11    snow or ice                            no
====  =====================================  ============================

Decisions (documented here and in :class:`MaskConfig`): cropland plots are vegetation or bare
soil, so 4 and 5 are kept. Water (6) is off by default because on a dry-land plot it is almost
always a misclassified cloud shadow or a flooded (unrepresentative) date; paddy projects switch it
on. Unclassified (7) is off by default: before processing baseline 02.08 Sen2Cor labelled class 7
"cloud low probability" [2]_, and in later baselines it still concentrates at cloud and shadow
edges, so keeping it contaminates means more often than dropping it loses plot area.

The class table itself (:data:`SCL_CLASSES`, :data:`geodata.sentinel2.SCL_CODES`) lives in
:mod:`geodata.sentinel2`.

References
----------
.. [1] ESA, "Sentinel-2 MSI Level-2A Algorithm Overview / Scene Classification", Sentinel Online,
   https://sentiwiki.copernicus.eu/web/s2-processing (SCL legend).
.. [2] U. Müller-Wilm, "Sen2Cor Configuration and User Manual", ESA, S2-PDGS-MPC-L2A-SUM-V2.9,
   2020, section 3.6 "Scene Classification".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geodata.sentinel2 import SCL_CLASSES, SCL_CODES

__all__ = ["SCL_CLASSES", "MaskConfig", "scl_valid_mask"]

# SCL_CLASSES (code -> class name) is re-exported from geodata.sentinel2, its one home.


@dataclass(frozen=True)
class MaskConfig:
    """Which SCL classes count as clear observations of the plot surface."""

    keep_water: bool = False
    """Keep SCL 6 (water); off by default (dry-land cropland)."""
    keep_unclassified: bool = False
    """Keep SCL 7 (unclassified); off by default (cloud-edge contamination, see module notes)."""

    @property
    def keep_classes(self) -> tuple[int, ...]:
        """The SCL codes treated as valid."""
        keep = [SCL_CODES["vegetation"], SCL_CODES["not_vegetated"]]
        if self.keep_water:
            keep.append(SCL_CODES["water"])
        if self.keep_unclassified:
            keep.append(SCL_CODES["unclassified"])
        return tuple(keep)


def scl_valid_mask(scl: np.ndarray, config: MaskConfig | None = None) -> np.ndarray:
    """Boolean mask of clear pixels from an SCL array.

    Parameters
    ----------
    scl : numpy.ndarray of int
        SCL codes (0-11), any shape.
    config : MaskConfig, optional
        Classes to keep; default keeps 4 (vegetation) and 5 (not vegetated).

    Returns
    -------
    numpy.ndarray of bool
        True where the pixel is a clear observation.

    Examples
    --------
    >>> scl_valid_mask(np.array([0, 3, 4, 5, 6, 7, 8, 9, 10, 11])).astype(int).tolist()
    [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
    >>> scl_valid_mask(np.array([6, 7]), MaskConfig(keep_water=True)).tolist()
    [True, False]
    """
    config = config or MaskConfig()
    return np.isin(np.asarray(scl), np.asarray(config.keep_classes, dtype=np.asarray(scl).dtype))
