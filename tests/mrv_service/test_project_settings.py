"""Project settings: validation with the key and the fix, defaults, set/unset, no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrv_service.project_settings import (
    SETTINGS,
    ProjectSettingsError,
    effective_settings,
    parse_setting,
    resolve_paths,
    set_setting,
    unset_setting,
    validate_settings,
)


def test_defaults_fill_what_the_project_does_not_set():
    eff = effective_settings({"imagery": {"max_cloud_cover": 40.0}})
    assert eff["imagery.max_cloud_cover"] == 40.0
    assert eff["imagery.collections"] == ["sentinel-2-l2a"]
    assert eff["model.depth_cm"] == 30.0  # IPCC Tier 1 depth
    assert eff["imagery.source"] is None
    assert set(eff) == set(SETTINGS)


def test_both_earth_search_collections_and_lists_from_the_command_line():
    assert parse_setting("imagery.collections", "sentinel-2-l2a, sentinel-2-c1-l2a") == [
        "sentinel-2-l2a",
        "sentinel-2-c1-l2a",
    ]
    assert parse_setting("imagery.bands", "red,nir,swir16") == ["red", "nir", "swir16"]
    assert parse_setting("imagery.require_scl", "false") is False
    assert parse_setting("imagery.max_items", "500") == 500
    assert parse_setting("imagery.max_cloud_cover", "none") is None
    assert parse_setting("imagery.start", "2023-04-01") == "2023-04-01"


@pytest.mark.parametrize(
    ("key", "text", "phrase"),
    [
        ("imagery.max_cloud_cover", "140", "outside 0-100"),
        ("imagery.max_cloud_cover", "lots", "is not a number"),
        ("imagery.max_items", "12.5", "whole number"),
        ("imagery.bands", "red,B99", "unknown item(s) ['B99']"),
        ("imagery.start", "2023/13/01", "YYYY-MM-DD"),
        ("model.depth_cm", "nan", "finite"),
        ("soil.ipcc_soil_class", "black_soil", "choose one of HAC"),
        ("weather.source", "internet", "choose one of store"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(key, text, phrase):
    with pytest.raises(ProjectSettingsError) as err:
        parse_setting(key, text)
    assert key in str(err.value) and phrase in str(err.value)


def test_unknown_keys_and_secrets_are_refused():
    with pytest.raises(ProjectSettingsError, match="known settings: imagery.source"):
        parse_setting("imagery.cloud", "3")
    with pytest.raises(ProjectSettingsError, match="MRV_STAC_API_KEY"):
        parse_setting("imagery.api_key", "s3cr3t")
    with pytest.raises(ProjectSettingsError, match="project.json: unknown setting 'imagery.token'"):
        validate_settings({"imagery": {"token": "s3cr3t"}}, "project.json")


def test_set_unset_and_date_order():
    s = set_setting({}, "imagery.start", "2024-01-01")
    s = set_setting(s, "imagery.end", "2025-12-31")
    assert s == {"imagery": {"start": "2024-01-01", "end": "2025-12-31"}}
    with pytest.raises(ProjectSettingsError, match="before imagery.start"):
        set_setting(s, "imagery.end", "2023-12-31")
    assert unset_setting(s, "imagery.start") == {"imagery": {"end": "2025-12-31"}}


def test_relative_catalog_path_resolves_against_project_json(tmp_path):
    s = resolve_paths({"imagery": {"source": "imagery/catalog.json"}}, tmp_path)
    assert s["imagery"]["source"] == str((tmp_path / "imagery" / "catalog.json").resolve())
    url = {"imagery": {"source": "https://earth-search.aws.element84.com/v1"}}
    assert resolve_paths(url, Path("/x")) == url
