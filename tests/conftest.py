"""Session fixtures: where the bundled reference data lives (``tests/data``), a seeded RNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def rothc_reference_dir() -> Path:
    """Official Rothamsted RothC-26.3 inputs and outputs (``tests/data/rothc``, see its README)."""
    return TEST_DATA / "rothc"


@pytest.fixture(scope="session")
def imagery_dir() -> Path:
    """Real Sentinel-2 fixtures, STAC items and field polygons (``tests/data/imagery``, see its README)."""
    return TEST_DATA / "imagery"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)
