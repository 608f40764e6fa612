"""The ingest's parse errors belong to the project's error family (STYLE.md section 5).

The cell parsers raise :class:`CellValueError`, an ``MRVError`` that is also a ``ValueError``,
so the ingests that catch ``ValueError`` and report the row keep working.
"""

import datetime as dt

import numpy as np
import pytest

from models.errors import MRVError
from mrv_service.ingest import cells, logs, plots, schema, soil
from mrv_service.ingest.cells import (
    CellValueError,
    UnknownSpellingError,
    is_blank,
    oversized_cells,
    parse_date,
    parse_enum,
    parse_id,
    parse_id_column,
    parse_number,
    text_column,
)
from mrv_service.ingest.months import month_start, parse_month
from mrv_service.ingest.vocabularies import CROPS
from mrv_service.ingest.weather_stations import ddmm_to_degrees

BAD_CELLS = [
    (parse_number, "12,5 kg"),
    (parse_number, True),
    (parse_number, "nan"),
    (parse_date, "yesterday"),
    (parse_date, "2024-02-30"),
    (parse_month, "May 2024"),
    (parse_month, "2024-13"),
    (parse_month, dt.date(2024, 5, 2)),
    (parse_month, 2024.1),
    (month_start, "soon"),
    (ddmm_to_degrees, 4375.0),  # 75 minutes
]


@pytest.mark.parametrize(("parse", "value"), BAD_CELLS)
def test_parse_errors_are_mrv_errors_and_value_errors(parse, value):
    with pytest.raises(CellValueError) as info:
        parse(value)
    exc = info.value
    assert isinstance(exc, MRVError) and isinstance(exc, ValueError)
    assert exc.value == value and repr(value) in str(exc)  # names the offending value
    assert exc.fix and exc.fix in str(exc)  # and the fix


def test_unknown_spelling_is_an_mrv_error_and_a_key_error():
    assert parse_enum("玉米", CROPS) == "maize"
    with pytest.raises(UnknownSpellingError) as info:
        parse_enum("spaceship", CROPS)
    assert isinstance(info.value, MRVError) and isinstance(info.value, KeyError)
    assert str(info.value).startswith("'spaceship' is not a known spelling; use one of maize/玉米")


@pytest.mark.parametrize("module", [schema, plots, soil, logs, cells])
def test_public_names_stay_importable(module):
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert schema.read_table.__module__ == "mrv_service.ingest.tables"
    assert schema.parse_number is parse_number


@pytest.mark.parametrize(
    ("column", "ids", "texts"),
    [
        # text and empty cells: the one-pass path
        (
            ["P1", " P2 ", "", "  ", None, "地块 3"],
            ["P1", "P2", None, None, None, "地块 3"],
            ["P1", "P2", None, None, None, "地块 3"],
        ),
        # numbers from GDAL go cell by cell: an integral float loses its .0 as an id only
        (
            [1001.0, 1002, np.int64(7), float("nan"), " x ", None],
            ["1001", "1002", "7", None, "x", None],
            ["1001.0", "1002", "7", None, "x", None],
        ),
        ([12.5, "\u3000", "a\tb "], ["12.5", None, "a\tb"], ["12.5", None, "a\tb"]),
    ],
)
def test_a_column_parses_like_its_cells_one_by_one(column, ids, texts):
    assert parse_id_column(column) == ids == [parse_id(v) for v in column]
    assert text_column(column) == texts == [None if is_blank(v) else str(v).strip() for v in column]


def test_oversized_cells_names_the_cells_text_cell_refuses():
    values = ["ok", "x" * 101, None, "nul\x00here", "y" * 100]
    found = oversized_cells(values, "the plot_id", 100)
    assert [i for i, _ in found] == [1, 3]
    assert "101 characters long; the store keeps at most 100" in found[0][1].message
    assert "NUL character" in found[1][1].message
    assert oversized_cells(values[:1] + values[2:3], "the plot_id", None) == []
