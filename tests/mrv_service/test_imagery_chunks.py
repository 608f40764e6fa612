"""The imagery stage's pieces by chunk: counts of a series (by hand on a 3-plot series), their sum
over chunks, the chunks' files concatenated one at a time, and one warning for the plots no scene
covers, whichever chunks they are in."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr

from geodata.errors import PlotNotCoveredWarning
from mrv_service.run import imagery_chunks
from mrv_service.run.imagery_chunks import ChunkImagery, _warn_not_covered, concat_features
from mrv_service.run.imagery_summary import ImageryCounts, imagery_counts


def _series(ids, observed, count, usable) -> xr.Dataset:
    n, t = np.shape(observed)
    return xr.Dataset(
        {
            "ndvi": (("plot", "time"), np.where(usable, 0.5, np.nan), {"units": "1"}),
            "observed": (("plot", "time"), np.array(observed, bool)),
            "count": (("plot", "time"), np.array(count, float)),
            "usable": (("plot", "time"), np.array(usable, bool)),
            "item_id": (("plot", "time"), np.where(observed, "S2B_X", "").astype(str)),
        },
        coords={"plot": list(ids), "time": np.arange(t).astype("datetime64[D]").astype("datetime64[ns]")},
    )


A = _series(
    ["P1", "P2", "P3"],
    observed=[[1, 1], [1, 0], [0, 0]],
    count=[[4.0, 0.0], [2.5, np.nan], [np.nan, np.nan]],
    usable=[[1, 0], [1, 0], [0, 0]],
)
B = _series(["P4"], observed=[[1, 1]], count=[[0.0, 3.0]], usable=[[0, 1]])


def test_counts_by_hand_and_their_sum():
    a = imagery_counts(A)
    # usable: P1 day 0, P2 day 0; observed: 3 plot-dates; observed without a clear pixel: P1 day 1
    # (count 0); P3 never observed
    assert a == ImageryCounts(3, 2, 2, 2, 3, 1, 1)
    assert a + imagery_counts(B) == ImageryCounts(4, 2, 3, 3, 5, 2, 1)
    assert ImageryCounts.total([a, imagery_counts(B)]) == imagery_counts(xr.concat([A, B], "plot"))
    with pytest.raises(ValueError, match="dates"):
        a + ImageryCounts(1, 3, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("open_parts", [1, 4])
def test_the_chunks_files_concatenated_are_the_series(tmp_path, monkeypatch, open_parts):
    """Six parts (each plot of A and B its own, the scene ids differing), fewer files open at a
    time than parts: the file is the series concatenated, its scene ids in plot order."""
    monkeypatch.setattr(imagery_chunks, "OPEN_PARTS", open_parts)
    series = xr.concat([A, B, A, B], "plot")
    series["item_id"] = series["item_id"].copy(data=np.array([f"S2{i}" for i in range(16)]).reshape(8, 2))
    series = series.assign_coords(plot=[f"P{i}" for i in range(8)])
    cuts = [0, 1, 3, 4, 5, 7, 8]
    parts = []
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        parts.append(tmp_path / f"{i}.nc")
        series.isel(plot=slice(a, b)).assign_attrs(usable_plot_dates=-1).to_netcdf(parts[-1])
    attrs = {"usable_plot_dates": 3, "source": "catalog.json"}
    with pytest.raises(ValueError, match="wider"):  # a width that would cut the ids
        concat_features(parts, attrs, tmp_path / "cut.nc", {"item_id": "<U3"})
    concat_features(parts, attrs, tmp_path / "all.nc", {"item_id": "<U4"})
    with xr.open_dataset(tmp_path / "all.nc") as got:
        expected = series.assign_attrs(usable_plot_dates=3, source="catalog.json")
        xr.testing.assert_identical(got.load(), expected)
        assert got["item_id"].values[6].tolist() == ["S212", "S213"]


class _Series:
    """What the warning reads of the chunked series: 4 scenes used and their extent."""

    attrs = {"n_scenes": 4}
    used_extent = "lon 124.0000..124.5000, lat 43.0000..43.5000"


_COUNTS = ImageryCounts(1, 2, 0, 0, 0, 0, 1)


def test_one_warning_names_the_plots_outside_every_scene_of_all_chunks():
    counts = _COUNTS
    chunks = [
        ChunkImagery(counts, 1, ("P1",), (125.0, 44.0, 125.1, 44.1)),
        ChunkImagery(counts, 0, (), None),
        ChunkImagery(counts, 2, ("P9", "P10"), (126.0, 43.9, 126.2, 44.0)),
    ]
    with pytest.warns(PlotNotCoveredWarning) as caught:
        _warn_not_covered(_Series(), chunks)
    assert len(caught) == 1
    text = str(caught[0].message)
    assert text.startswith(
        "3 plot(s) lie outside every scene footprint, their series are NaN: ['P1', 'P9', 'P10']"
    )
    assert "The footprints of the 4 scene(s) used span lon 124.0000..124.5000" in text
    assert "these plots span lon 125.0000..126.2000, lat 43.9000..44.1000" in text


def test_the_warning_counts_every_plot_outside_and_names_the_first_ten():
    counts = _COUNTS
    # a chunk returns how many of its plots no scene covers and only its first ten ids
    chunks = [
        ChunkImagery(counts, 1, ("P1",), (125.0, 44.0, 125.1, 44.1)),
        ChunkImagery(counts, 25, tuple(f"Q{i}" for i in range(10)), (126.0, 43.9, 126.2, 44.0)),
    ]
    with pytest.warns(PlotNotCoveredWarning) as caught:
        _warn_not_covered(_Series(), chunks)
    first = ["P1"] + [f"Q{i}" for i in range(9)]
    assert str(caught[0].message).startswith(
        f"26 plot(s) lie outside every scene footprint, their series are NaN: {first} ..."
    )
