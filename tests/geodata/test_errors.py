"""Every error geodata raises is an MRVError and the builtin its callers catch, with a message
naming the offending value and the fix (STYLE.md section 5)."""

from __future__ import annotations

import inspect

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

import geodata.errors
from geodata.errors import GridMismatchError, ImageryRequestError, SpectralIndexError
from geodata.features import compute_indices
from geodata.pipeline import plot_time_series
from geodata.stac import parse_datetime_range, search_items
from geodata.zonal import coverage_weights
from models.errors import MRVError, MRVWarning


def _plots() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"plot_id": ["p1"]}, geometry=[shapely.box(124.30, 43.40, 124.301, 43.401)], crs="EPSG:4326"
    )


def _weights():
    return coverage_weights([shapely.box(0, 0, 10, 10)], Affine(10, 0, 0, 0, -10, 30), (3, 3))


# (call raising the error, error class, builtin, text of the message: the value and the fix).
# No source is opened: every check runs before the catalog is read (the path does not exist).
CASES = {
    "datetime not ISO 8601": (
        lambda: parse_datetime_range("2024-13-45"),
        ImageryRequestError,
        ValueError,
        "datetime '2024-13-45' is not ISO 8601; use e.g. '2024-05'",
    ),
    "datetime pair with one end": (
        lambda: parse_datetime_range(("2024",)),
        ImageryRequestError,
        ValueError,
        "datetime range ('2024',) must have two ends (start, end); pass a pair, with None or '..'",
    ),
    "bbox min above max": (
        lambda: search_items("no-catalog.json", bbox=(125.0, 43.0, 124.0, 44.0)),
        ImageryRequestError,
        ValueError,
        "bbox (125.0, 43.0, 124.0, 44.0) must be (min_lon, min_lat, max_lon, max_lat)",
    ),
    "max_items below 1": (
        lambda: search_items("no-catalog.json", max_items=0),
        ImageryRequestError,
        ValueError,
        "max_items=0 must be at least 1 (or None for no limit)",
    ),
    "min_valid_fraction above 1": (
        lambda: plot_time_series("no-catalog.json", _plots(), min_valid_fraction=1.5),
        ImageryRequestError,
        ValueError,
        "min_valid_fraction=1.5 must be within [0, 1] (default 0.8)",
    ),
    "unknown index in the pipeline": (
        lambda: plot_time_series("no-catalog.json", _plots(), indices=("evi",)),
        SpectralIndexError,
        KeyError,
        "unknown index 'evi'; choose from ['bsi', 'ndti', 'ndvi']",
    ),
    "unknown index": (
        lambda: compute_indices({}, ("evi",)),
        SpectralIndexError,
        KeyError,
        "unknown index 'evi'; choose from ['bsi', 'ndti', 'ndvi']",
    ),
    "index without its bands": (
        lambda: compute_indices({"red": np.zeros(2)}, ("ndvi",)),
        SpectralIndexError,
        KeyError,
        "index 'ndvi' needs bands ['red', 'nir']; missing ['nir']: load those bands or drop the index",
    ),
    "array off the weights' grid": (
        lambda: _weights().gather(np.zeros((4, 4))),
        GridMismatchError,
        ValueError,
        "array of shape (4, 4) does not match the weights' grid (3, 3); read the same window",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_error_is_mrv_error_and_builtin_with_its_message(case):
    call, cls, builtin, text = CASES[case]
    with pytest.raises(cls) as info:
        call()
    assert isinstance(info.value, MRVError)
    assert isinstance(info.value, builtin)
    message = str(info.value)
    assert text in message
    assert not message.startswith(("'", '"'))  # KeyError would quote it


def test_every_geodata_error_and_warning_is_in_the_family():
    classes = [c for _, c in inspect.getmembers(geodata.errors, inspect.isclass)]
    errors = [c for c in classes if issubclass(c, Exception) and not issubclass(c, Warning)]
    warns = [c for c in classes if issubclass(c, Warning)]
    assert all(issubclass(c, MRVError) for c in errors)
    assert all(issubclass(c, MRVWarning) for c in warns)
    # each error subclass of MRVError also inherits a builtin
    builtins = (ValueError, KeyError, LookupError, OSError)
    assert all(issubclass(c, builtins) for c in errors if c is not MRVError)


def test_moved_names_are_the_same_objects_where_they_were():
    import geodata.pipeline
    import geodata.plots
    import geodata.stac

    assert geodata.stac.StacSearchError is geodata.errors.StacSearchError
    assert geodata.stac.TooManyItemsError is geodata.errors.TooManyItemsError
    assert geodata.pipeline.SceneSkippedWarning is geodata.errors.SceneSkippedWarning
    assert geodata.pipeline.PlotNotCoveredWarning is geodata.errors.PlotNotCoveredWarning
    for module in (geodata.plots, geodata.stac, geodata.pipeline):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
