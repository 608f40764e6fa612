"""``farmers.csv`` merged from the chunks' sums (:mod:`mrv_service.run.farmer_sums`) is the table
:func:`methodology.accounting.farmer_table` makes of every sum at once, whatever the chunks and
the block size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from methodology.accounting import farmer_table
from models.exact_sums import QUANTUM
from mrv_service.run import farmer_sums
from mrv_service.run.farmer_sums import merge_farmer_sums, write_farmer_sums


def _sums(ids, plots, net_t):
    return pd.DataFrame(
        {
            "plots": np.array(plots, dtype=np.int64),
            "net": np.rint(np.array(net_t) / QUANTUM).astype(np.int64),
        },
        index=pd.Index(ids, dtype=object, name="farmer_id"),
    )


def test_a_farmer_in_two_chunks_is_summed_by_hand(tmp_path):
    a = _sums(["F2", "F1"], [1, 2], [0.5, 1.25])
    b = _sums(["F1", "F3"], [1, 4], [-0.25, 3.0])
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    write_farmer_sums(a, paths[0]), write_farmer_sums(b, paths[1])
    n = merge_farmer_sums(paths, tmp_path / "farmers.csv", share=0.5)
    got = pd.read_csv(tmp_path / "farmers.csv", dtype={"farmer_id": str})
    assert n == 3
    # F1: 2 + 1 plots, 1.25 - 0.25 = 1.0 t CO2e, half of it the farmer's; F2 and F3 from one chunk
    assert got["farmer_id"].tolist() == ["F1", "F2", "F3"]
    assert got["plots"].tolist() == [3, 1, 4]
    assert got["net_t_co2e"].tolist() == [1.0, 0.5, 3.0]
    assert got["farmer_share_t_co2e"].tolist() == [0.5, 0.25, 1.5]


@pytest.mark.parametrize(
    ("chunks", "block", "max_open"), [(1, 100_000, 200), (4, 3, 200), (7, 1, 200), (3, 50, 200), (9, 4, 2)]
)
def test_the_merge_equals_the_table_of_all_sums_at_once(tmp_path, monkeypatch, chunks, block, max_open):
    rng = np.random.default_rng(chunks)
    # awkward ids: a comma, a quote, "NA", a number-like id, Chinese text, mixed case
    names = ["甲村-001", "a,b", 'q"x', "NA", "0012", "Z", "z", "F-10", "F-9"] + [
        f"F-{i:03d}" for i in range(40)
    ]
    parts = []
    for _c in range(chunks):
        ids = rng.choice(names, size=30)
        parts.append(
            pd.DataFrame({"farmer_id": ids, "net": rng.integers(-(2**40), 2**40, size=30)})
            .groupby("farmer_id", sort=True)
            .agg(plots=("net", "size"), net=("net", "sum"))
        )
    paths = [tmp_path / f"{i}.csv" for i in range(chunks)]
    for part, path in zip(parts, paths, strict=True):
        write_farmer_sums(part, path)
    monkeypatch.setattr(farmer_sums, "BLOCK_ROWS", block)
    monkeypatch.setattr(farmer_sums, "MAX_OPEN", max_open)  # 2: 9 files merged in three rounds
    n = merge_farmer_sums(paths, tmp_path / "farmers.csv", share=None)
    whole = farmer_table(pd.concat(parts))
    whole.to_csv(tmp_path / "whole.csv", index=False)
    assert n == len(whole)
    assert (tmp_path / "farmers.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_no_farmers_gives_the_header_only(tmp_path):
    write_farmer_sums(_sums([], [], []), tmp_path / "a.csv")
    assert merge_farmer_sums([tmp_path / "a.csv"], tmp_path / "farmers.csv") == 0
    assert (tmp_path / "farmers.csv").read_text(encoding="utf-8").strip() == "farmer_id,plots,net_t_co2e"
