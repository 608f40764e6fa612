"""``mrv run`` against a real STAC API on loopback (rustac serving the sample county's items),
with the project's collection, dates, cloud limit and item cap: the same results as from the
static catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pystac
import pytest
import xarray as xr
from click.testing import CliRunner

from mrv_service.cli import cli
from tests.mrv_service.conftest import cli_env
from tests.stac_server import serve_stac

FILTERS = [
    "imagery.collections=sentinel-2-l2a",
    "imagery.start=2022-01-01",
    "imagery.end=2025-10-31",
    "imagery.max_cloud_cover=60",
    "imagery.max_items=60",
]


@pytest.fixture(scope="module")
def item_collection(small_county, tmp_path_factory):
    """The sample county's items as one item collection whose asset hrefs are file:// URIs of the
    local COGs (what a STAC API of these files would serve)."""
    catalog = pystac.Catalog.from_file(str(small_county / "imagery" / "catalog.json"))
    items = []
    for item in catalog.get_items(recursive=True):
        item.make_asset_hrefs_absolute()
        d = item.to_dict(include_self_link=False, transform_hrefs=False)
        d["links"] = []
        for asset in d["assets"].values():
            asset["href"] = Path(asset["href"]).as_uri()
        items.append(d)
    path = tmp_path_factory.mktemp("stac") / "sample_items.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": items}), encoding="utf-8")
    return path, items


def _project(tmp_path, small_county, name):
    """A project of the small county's plots under another name (its own project.json)."""
    pj = json.loads((small_county / "project.json").read_text(encoding="utf-8"))
    pj["name"] = name
    pj.pop("settings")
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(pj, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_run_on_a_stac_api_equals_the_static_catalog(small_county, item_collection, tmp_path):
    ic_path, items = item_collection
    env = cli_env(tmp_path)
    runner = CliRunner()
    with serve_stac([ic_path]) as url:
        for name, source in (
            ("via-api", url),
            ("via-catalog", str(small_county / "imagery" / "catalog.json")),
        ):
            for args in (
                ["project", "create", str(_project(tmp_path, small_county, name))],
                ["project", "set", name, f"imagery.source={source}", *FILTERS],
                ["ingest", "plots", name, str(small_county / "plots.geojson")],
                ["run", name, "--stage", "imagery"],
            ):
                r = runner.invoke(cli, args, env=env)
                assert r.exit_code == 0, f"{args}: {r.output}"

        api = xr.open_dataset(tmp_path / "out" / "via-api" / "plot_features.nc")
        static = xr.open_dataset(tmp_path / "out" / "via-catalog" / "plot_features.nc")
        for name in static.data_vars:
            xr.testing.assert_identical(api[name], static[name])

        # the filters did their work: only items of 2022-01..2025-10 with cloud <= 60 %
        expected = {
            i["id"]
            for i in items
            if "2022-01-01" <= i["properties"]["datetime"][:10] <= "2025-10-31"
            and i["properties"]["eo:cloud_cover"] <= 60
        }
        assert 0 < len(expected) < len(items)
        used = {i["id"] for i in json.loads(api.attrs["items"])}
        assert used == expected
        summary = json.loads((tmp_path / "out" / "via-api" / "summary.json").read_text(encoding="utf-8"))
        assert summary["imagery"]["search"]["source"] == url
        api.close()
        static.close()

        # an item cap below what the search matches stops the run instead of truncating it
        r = runner.invoke(cli, ["project", "set", "via-api", "imagery.max_items=5"], env=env)
        assert r.exit_code == 0
        r = runner.invoke(cli, ["run", "via-api", "--stage", "imagery"], env=env)
        assert r.exit_code == 1
        assert "matched more than 5 items" in r.output and "imagery.max_items" in r.output


def test_an_unreachable_stac_api_is_a_clear_error(small_county, tmp_path):
    env = cli_env(tmp_path)
    runner = CliRunner()
    for args in (
        ["project", "create", str(_project(tmp_path, small_county, "offline"))],
        ["project", "set", "offline", "imagery.source=http://127.0.0.1:9"],
        ["ingest", "plots", "offline", str(small_county / "plots.geojson")],
    ):
        assert runner.invoke(cli, args, env=env).exit_code == 0
    r = runner.invoke(cli, ["run", "offline", "--stage", "imagery"], env=env)
    assert r.exit_code == 1
    assert "http://127.0.0.1:9" in r.output and "unreachable" in r.output
    assert "Traceback" not in r.output
