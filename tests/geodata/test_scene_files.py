"""The time series by plot chunk (geodata.scene_files): the chunks' series, concatenated, are the
whole series bit for bit, for any chunk boundaries, and a plot no scene covers is reported by its
chunk."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr

from geodata.errors import PlotNotCoveredWarning, RasterReadError
from geodata.pipeline import plot_time_series, plot_time_series_by_chunk
from geodata.scene_files import assemble_chunk


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    from mrv_service.sample.generator import create_sample

    d = tmp_path_factory.mktemp("scene_files") / "county"
    create_sample(d, n_plots=24, imagery=True)
    plots = gpd.read_file(d / "plots.geojson")[["plot_id", "geometry"]]
    # one plot moved 0.5 degree east, outside every scene: its series is NaN in both paths
    far = plots.iloc[[7]].copy()
    far["plot_id"] = "ZZ-far"
    far["geometry"] = shapely.affinity.translate(far.geometry.iloc[0], xoff=0.5)
    plots = gpd.GeoDataFrame(pd.concat([plots, far], ignore_index=True), crs=plots.crs)
    catalog = d / "imagery" / "catalog.json"
    with pytest.warns(PlotNotCoveredWarning, match="1 plot"):
        whole = plot_time_series(catalog, plots, scheduler="sync")
    return catalog, plots, whole


class _OnDisk:
    """Plots in a file that the tile task reads (geodata.pipeline.PlotsOnDisk); counts its reads."""

    def __init__(self, plots, path):
        plots.to_pickle(path)
        self.path, self.n, self.reads = path, len(plots), 0
        self.total_bounds = tuple(float(v) for v in plots.geometry.to_crs(4326).total_bounds)

    def __len__(self):
        return self.n

    def whole(self):
        self.reads += 1
        return pd.read_pickle(self.path)


def _chunked(catalog, plots, tmp_path, starts, on_disk=False):
    source = _OnDisk(plots, tmp_path / "plots.pkl") if on_disk else plots
    series = plot_time_series_by_chunk(catalog, source, tmp_path / "scenes", starts, scheduler="sync")
    if on_disk:  # read by each tile's set-up task, and only there
        assert source.reads == len({key.split("-")[2] for key, _ in series.scenes}) >= 1
    bounds = [*starts, len(plots)]
    parts, far = [], []
    p4326 = plots.geometry.to_crs(4326)
    for i in range(len(starts)):
        a, b = bounds[i], bounds[i + 1]
        chunk = assemble_chunk(series, i, plots["plot_id"].to_numpy()[a:b], p4326.iloc[a:b])
        parts.append(chunk.features)
        far += list(plots["plot_id"].to_numpy()[a:b][chunk.not_covered])
    return series, parts, far


@pytest.mark.parametrize(
    ("starts", "on_disk"),
    [
        ([0], False),
        ([0, 5, 6, 17], False),
        ([0, 5, 6, 17], True),
        ([0, 1, 2, 3, 4, 8, 12, 16, 20, 24], False),
    ],
)
def test_the_chunks_concatenated_are_the_whole_series(county, tmp_path, starts, on_disk):
    """Also with the plots in a file the tasks read (the run's plots by chunk): same series."""
    catalog, plots, whole = county
    series, parts, far = _chunked(catalog, plots, tmp_path, starts, on_disk)
    assert far == ["ZZ-far"]
    joined = xr.concat(parts, dim="plot", data_vars="minimal", coords="minimal", combine_attrs="override")
    # the plot-date counts in attrs are sums over the chunks; every other attribute is the scenes'
    joined.attrs["usable_plot_dates"] = sum(p.attrs["usable_plot_dates"] for p in parts)
    joined.attrs["observed_plot_dates"] = sum(p.attrs["observed_plot_dates"] for p in parts)
    xr.testing.assert_identical(joined, whole)
    assert whole.attrs["usable_plot_dates"] > 0  # the comparison is not of empty series
    assert int(np.isfinite(whole["ndvi"]).sum()) > 0
    # the scene results keep no plot statistics: only counts per chunk
    for _, r in series.scenes:
        assert r.mean is None and len(r.plot_index) == 0
        assert r.chunk_counts == () or len(r.chunk_counts) == len(starts)


def test_a_missing_scene_file_is_a_clear_error(county, tmp_path):
    catalog, plots, _ = county
    series = plot_time_series_by_chunk(catalog, plots, tmp_path / "scenes", [0, 12], scheduler="sync")
    victim = sorted((tmp_path / "scenes" / "00001").glob("*.npz"))[0]
    victim.unlink()
    with pytest.raises(RasterReadError, match=r"plot chunk 1 .*run again"):
        assemble_chunk(series, 1, plots["plot_id"].to_numpy()[12:], plots.geometry.to_crs(4326).iloc[12:])


def test_chunk_starts_must_begin_at_zero_and_ascend(county, tmp_path):
    from geodata.errors import ImageryRequestError

    catalog, plots, _ = county
    with pytest.raises(ImageryRequestError, match="ascending and begin at 0"):
        plot_time_series_by_chunk(catalog, plots, tmp_path, [3, 10])
