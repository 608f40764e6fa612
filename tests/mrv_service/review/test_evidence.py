"""Reading a run's outputs for the review pages (mrv_service.review.evidence).

The run is the imagery stage on the 40-plot sample county (``small_county``) for 2024, written as
``mrv run`` writes it; ``plot_trajectories.nc`` is a small file built here by its contract.
Expected values are read with xarray/numpy from the files themselves.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from matplotlib import colormaps
from PIL import Image

from geodata.chips import NDVI_CMAP, NDVI_LEVELS, NDVI_RANGE, OUTLINE_RGB
from geodata.pipeline import plot_time_series
from models.errors import MRVError
from mrv_service.review.evidence import (
    TRAJECTORY_VARIABLES,
    ChipDateError,
    ItemNotInRunError,
    PlotNotInRunError,
    RunOutputError,
    band_hrefs,
    chip_dates,
    clearest_scene,
    plot_chip_png,
    plot_series,
    plot_trajectory,
    project_background,
)


@pytest.fixture(scope="module")
def run(small_county, tmp_path_factory):
    """An output folder holding the imagery stage's plot_features.nc (2024) and the county."""
    plots = gpd.read_file(small_county / "plots.geojson")
    ds = plot_time_series(
        small_county / "imagery" / "catalog.json",
        plots[["plot_id", "geometry"]],
        datetime="2024-01-01/2024-12-31",
    )
    out = tmp_path_factory.mktemp("runs") / "test-project"
    out.mkdir()
    ds.to_netcdf(out / "plot_features.nc")
    with xr.open_dataset(out / "plot_features.nc") as f:
        features = f.load()
    return {"out": out, "plots": plots.set_index("plot_id"), "features": features, "county": small_county}


def _trajectories(path: Path, plots: list[str]) -> xr.Dataset:
    """A plot_trajectories.nc by its contract: (plot, year), float, units t C ha-1."""
    years = np.arange(2024, 2034)
    k = np.arange(len(plots))[:, None]
    t = (years - 2024)[None, :]
    values = {
        "soc_baseline": 45.0 + 0.1 * k + 0.01 * t,
        "soc_project": 45.0 + 0.1 * k + 0.27 * t,
        "litter_baseline": 0.4 + 0 * t + 0 * k,
        "litter_project": 2.5 + 0.05 * k + 0 * t,
        "delta_p5": -0.05 * t + 0 * k,
        "delta_p95": 0.6 * t + 0.01 * k,
    }
    ds = xr.Dataset(
        {n: (("plot", "year"), v.astype(float), {"units": "t C ha-1"}) for n, v in values.items()},
        coords={"plot": np.array(plots, dtype=str), "year": years},
    )
    ds.to_netcdf(path)
    return ds


def test_plot_series_is_the_plots_row_of_plot_features(run):
    f = run["features"]
    for pid in (str(f["plot"].values[0]), str(f["plot"].values[-1])):
        s = plot_series(run["out"], pid)
        assert list(s.columns) == ["time", "ndvi", "ndti", "usable", "item_id"]
        row = f.sel(plot=pid)
        np.testing.assert_array_equal(s["time"].to_numpy(), f["time"].values)
        np.testing.assert_array_equal(s["ndvi"].to_numpy(), row["ndvi"].values)  # NaN where not usable
        np.testing.assert_array_equal(s["ndti"].to_numpy(), row["ndti"].values)
        assert s["usable"].dtype == bool and (s["usable"].to_numpy() == row["usable"].values).all()
        assert s["item_id"].tolist() == [str(v) for v in row["item_id"].values]
        assert s["usable"].any() and not s["usable"].all()  # the county has clouds


def test_chip_dates_are_the_usable_dates_only(run):
    f = run["features"]
    pid = str(f["plot"].values[3])
    row = f.sel(plot=pid)
    usable = row["usable"].values
    dates = chip_dates(run["out"], pid)
    assert [d["date"] for d in dates] == [
        pd.Timestamp(t).strftime("%Y-%m-%d") for t in f["time"].values[usable]
    ]
    assert [d["item_id"] for d in dates] == [str(v) for v in row["item_id"].values[usable]]
    np.testing.assert_array_equal([d["ndvi"] for d in dates], row["ndvi"].values[usable])
    assert all(np.isfinite(d["ndvi"]) for d in dates)


def test_band_hrefs_are_the_scenes_cogs(run):
    item_id = chip_dates(run["out"], str(run["features"]["plot"].values[0]))[0]["item_id"]
    hrefs = band_hrefs(run["out"], item_id)
    folder = (run["county"] / "imagery" / "sentinel-2-l2a" / item_id).resolve()
    names = {
        "blue": "B02",
        "green": "B03",
        "red": "B04",
        "nir": "B08",
        "swir16": "B11",
        "swir22": "B12",
        "scl": "SCL",
    }
    assert hrefs == {k: str(folder / f"{v}.tif") for k, v in names.items()}
    assert all(Path(h).is_absolute() and Path(h).is_file() for h in hrefs.values())
    with pytest.raises(ItemNotInRunError, match="S2X_NOT_A_SCENE"):
        band_hrefs(run["out"], "S2X_NOT_A_SCENE")


def test_band_hrefs_of_an_older_run_come_from_its_catalog(run, tmp_path):
    # runs before the `items` attribute: the hrefs come from the local catalog the run names
    old = run["features"].copy()
    del old.attrs["items"]
    (tmp_path / "old").mkdir()
    old.to_netcdf(tmp_path / "old" / "plot_features.nc")
    item_id = chip_dates(run["out"], str(old["plot"].values[0]))[0]["item_id"]
    assert band_hrefs(tmp_path / "old", item_id) == band_hrefs(run["out"], item_id)


def test_the_chip_of_a_usable_date_shows_the_runs_plot_ndvi(run):
    # The chip's NDVI colours inside the plot against the pipeline's coverage-weighted plot mean:
    # the chip used the item's reflectance offset (-0.1) and the run's plot geometry and date.
    f = run["features"]
    rgba = colormaps[NDVI_CMAP].resampled(NDVI_LEVELS)(np.arange(NDVI_LEVELS))
    lut = {tuple(int(v) for v in c): k for k, c in enumerate(np.round(rgba[:, :3] * 255).astype(int))}
    step = (NDVI_RANGE[1] - NDVI_RANGE[0]) / NDVI_LEVELS
    checked = 0
    for pid in [str(p) for p in f["plot"].values[:10]]:
        dates = [d for d in chip_dates(run["out"], pid) if 0.3 < d["ndvi"] < 0.8]
        if not dates:
            continue
        d = dates[0]
        geom = run["plots"].geometry[pid]
        png = plot_chip_png(run["out"], pid, geom, d["date"], "ndvi", size_px=300)
        img = Image.open(io.BytesIO(png))
        assert img.size == (300, 300)
        left, bottom, right, top = (float(v) for v in img.text["bounds"].split())
        utm = gpd.GeoSeries([geom], crs=4326).to_crs(img.text["crs"]).iloc[0]
        px = (right - left) / 300
        cx, cy = np.meshgrid(left + (np.arange(300) + 0.5) * px, top - (np.arange(300) + 0.5) * px)
        inside = shapely.contains_xy(utm.buffer(-2 * px), cx, cy)  # clear of the outline
        colours = np.asarray(img.convert("RGB"))[inside]
        assert not (colours == OUTLINE_RGB).all(axis=1).any()
        values = [NDVI_RANGE[0] + (lut[tuple(int(v) for v in c)] + 0.5) * step for c in colours]
        assert np.mean(values) == pytest.approx(d["ndvi"], abs=0.03)
        checked += 1
    assert checked >= 3


def test_a_date_that_is_not_usable_names_the_date_and_lists_the_usable_ones(run):
    f = run["features"]
    pid = str(f["plot"].values[0])
    row = f.sel(plot=pid)
    cloudy = pd.Timestamp(f["time"].values[~row["usable"].values][0]).strftime("%Y-%m-%d")
    usable = [d["date"] for d in chip_dates(run["out"], pid)]
    geom = run["plots"].geometry[pid]
    for bad in (cloudy, "2019-01-01", "yesterday"):
        with pytest.raises(ChipDateError) as err:
            plot_chip_png(run["out"], pid, geom, bad, "truecolor")
        msg = str(err.value)
        assert repr(bad) in msg and pid in msg and ", ".join(usable) in msg and "YYYY-MM-DD" in msg
        assert isinstance(err.value, LookupError) and isinstance(err.value, MRVError)


def test_an_unknown_plot_or_folder_names_it_and_the_fix(run, tmp_path):
    with pytest.raises(PlotNotInRunError) as err:
        plot_series(run["out"], "LS-999999")
    assert "'LS-999999'" in str(err.value) and "mrv run PROJECT" in str(err.value)
    with pytest.raises(PlotNotInRunError, match="LS-999999"):
        chip_dates(run["out"], "LS-999999")
    with pytest.raises(RunOutputError) as err:
        plot_series(tmp_path / "no-such-run", "LS-000001")
    assert "plot_features.nc does not exist" in str(err.value) and "mrv run PROJECT" in str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "plot_features.nc").write_text("not netCDF")
    with pytest.raises(RunOutputError, match="cannot read"):
        plot_series(tmp_path / "broken", "LS-000001")


def test_plot_trajectory_is_the_plots_row_or_none_for_older_runs(run, tmp_path):
    assert plot_trajectory(run["out"], str(run["features"]["plot"].values[0])) is None  # no file: older run
    out = tmp_path / "with-trajectories"
    out.mkdir()
    ids = [str(p) for p in run["features"]["plot"].values]
    written = _trajectories(out / "plot_trajectories.nc", ids)
    traj = plot_trajectory(out, ids[7])
    assert traj.sizes == {"year": 10} and traj["year"].values.tolist() == list(range(2024, 2034))
    assert str(traj["plot"].values) == ids[7]
    for name in TRAJECTORY_VARIABLES:
        np.testing.assert_array_equal(traj[name].values, written[name].sel(plot=ids[7]).values)
        assert traj[name].attrs["units"] == "t C ha-1"
    with pytest.raises(PlotNotInRunError, match="'LS-999999'"):
        plot_trajectory(out, "LS-999999")
    partial = written.drop_vars(["delta_p5", "delta_p95"])
    (tmp_path / "partial").mkdir()
    partial.to_netcdf(tmp_path / "partial" / "plot_trajectories.nc")
    with pytest.raises(RunOutputError, match=r"lacks \['delta_p5', 'delta_p95'\]"):
        plot_trajectory(tmp_path / "partial", ids[0])


def test_a_republished_file_is_read_again(run, tmp_path):
    # `mrv run` publishes a new folder by renaming: the cached open file must not answer for it
    out = tmp_path / "republished"
    out.mkdir()
    f = run["features"]
    f.to_netcdf(out / "plot_features.nc")
    pid = str(f["plot"].values[0])
    before = plot_series(out, pid)
    changed = f.copy(deep=True)
    changed["ndvi"] = changed["ndvi"] + 0.01
    changed.to_netcdf(out / "next.nc")
    os.replace(out / "next.nc", out / "plot_features.nc")
    after = plot_series(out, pid)
    np.testing.assert_allclose(after["ndvi"], before["ndvi"] + 0.01)


def test_the_backdrop_comes_from_the_scene_with_most_usable_plots(run):
    f = run["features"]
    share = f["usable"].mean("plot").values
    t = int(np.argmax(share))
    ids = f["item_id"].values[:, t][f["usable"].values[:, t]]
    bounds = tuple(float(v) for v in run["plots"].total_bounds)
    scene = clearest_scene(run["out"], bounds)
    assert scene["date"] == pd.Timestamp(f["time"].values[t]).strftime("%Y-%m-%d")
    assert scene["item_id"] == pd.Series(ids).mode()[0]
    assert scene["usable_share"] == pytest.approx(share.max()) and scene["n_plots"] == f.sizes["plot"]
    assert "Copernicus" in scene["attribution"]
    png, out_bounds = project_background(run["out"], bounds, max_px=256)
    img = Image.open(io.BytesIO(png))
    assert out_bounds == bounds and img.mode == "RGBA" and max(img.size) <= 256
    items = json.loads(f.attrs["items"])
    assert scene["item_id"] in {i["id"] for i in items}
