"""Default choices of the per-plot imagery extraction (:func:`geodata.pipeline.plot_time_series`).

A light module on purpose: project settings (:mod:`mrv_service.project_settings`) take their
imagery defaults from here without importing the pipeline and its dependencies.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_INDICES",
    "DEFAULT_MIN_VALID_FRACTION",
    "DEFAULT_MAX_ITEMS",
    "NEGATIVE_REFLECTANCE_TOLERANCE",
    "NEGATIVE_REFLECTANCE_MAX_SHARE",
]

DEFAULT_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22")
"""Reflectance bands reported by default (Earth Search v1 keys: B02, B03, B04, B08, B11, B12)."""
DEFAULT_INDICES: tuple[str, ...] = ("ndvi", "ndti", "bsi")
"""Indices reported by default (:mod:`geodata.features`)."""
DEFAULT_MIN_VALID_FRACTION = 0.8
"""Default minimum clear fraction of a plot for a usable date [1]: a project choice (not from a
published source) so that a plot mean is dominated by clear pixels; configurable."""
DEFAULT_MAX_ITEMS = 2000
"""Default largest number of STAC items a run reads [1]: a service choice with headroom over the
scenes of a county over 5 years (73 acquisitions a year per tile at the 5-day revisit, x 5 years x
up to 4 overlapping tiles = 1,460); the same default as the project setting ``imagery.max_items``."""
NEGATIVE_REFLECTANCE_TOLERANCE = -0.005
"""Reflectance below which a clear pixel counts as negative [1]: a service choice, a few times the
L2A surface-reflectance noise over land (ACIX, Doxani et al. 2018, Remote Sens. 10(2), 352), so
noise alone hardly crosses it while a wrongly applied -0.1 offset does over any dark surface."""
NEGATIVE_REFLECTANCE_MAX_SHARE = 0.01
"""Share of a scene's clear pixels under the plots with negative reflectance above which its
offset is reported as likely wrong [1] (service choice)."""
