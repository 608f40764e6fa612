"""The weather stations of a project's plots when the run holds them by chunk
(mrv_service.run.stages.used_stations): the same stations as of the whole table, and plots too far
from every station counted over all the chunks, not only the first chunk with one."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from mrv_service.run.inputs import ProjectInputs
from mrv_service.run.plot_parts import write_plot_parts
from mrv_service.run.stages import RunNotReadyError, assign_stations, used_stations
from mrv_service.store.reads import RowsDigest
from tests.mrv_service.conftest import project_info


def _inputs(tmp_path, limit_km: float) -> tuple[ProjectInputs, ProjectInputs]:
    """(by chunk of 3, whole) inputs of 7 plots 0.001 degree wide at lon 110 + 0.01 k, lat 30
    (k = 0..6; 0.01 degree is 0.96 km there), and stations S1 at lon 110.0005 and S2 at 110.0805."""
    project = project_info(settings={"weather.max_station_distance_km": limit_km})
    rows = []
    for k in range(7):
        x = 110 + 0.01 * k
        wkt = f"POLYGON (({x} 30, {x + 0.001} 30, {x + 0.001} 30.001, {x} 30.001, {x} 30))"
        rows.append((f"P{k}", 0.1, wkt, "F", "V"))
    parts = write_plot_parts([rows], 3, tmp_path, RowsDigest())
    stations = pd.DataFrame(
        {"station_id": ["S1", "S2"], "name": ["a", "b"], "lon": [110.0005, 110.0805], "lat": [30.0005] * 2}
    )
    empty = pd.DataFrame()
    chunked = ProjectInputs(project, None, empty, empty, stations, empty, [], {}, {}, plot_parts=parts)
    return chunked, dataclasses.replace(chunked, plots=parts.whole(), plot_parts=None)


def test_the_stations_used_are_those_of_the_whole_table(tmp_path):
    chunked, whole = _inputs(tmp_path, 100.0)
    table = assign_stations(whole)
    # nearest by hand: P0-P3 (0 to 2.9 km from S1) use S1; P4 is about as far from both; P5, P6 (2.9 and 1.9 km from S2) use S2
    assert table.loc[["P0", "P1", "P2", "P3"], "station_id"].tolist() == ["S1"] * 4
    assert table.loc[["P5", "P6"], "station_id"].tolist() == ["S2", "S2"]
    assert used_stations(chunked) == used_stations(whole) == ["S1", "S2"]
    assert assign_stations(chunked).equals(table)


def test_plots_too_far_are_counted_over_every_chunk(tmp_path):
    chunked, whole = _inputs(tmp_path, 1.5)
    # within 1.5 km: P0 (0 km from S1), P1 (0.96 km from S1); the other five are 1.9 km or more
    # from both, in all three chunks (P0-P2 | P3-P5 | P6)
    for inputs in (chunked, whole):
        with pytest.raises(
            RunNotReadyError,
            match=r"^5 plot\(s\) lie farther than 1\.5 km .*first: \['P2', 'P3', 'P4', 'P5', 'P6'\]",
        ):
            used_stations(inputs)
