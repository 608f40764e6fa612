"""Shared fixtures: where the shared reference data lives, a seeded RNG, test settings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _find_shared() -> Path:
    """The project's ``shared/`` folder: ``MRV_SHARED_DIR``, else beside the checkout, else /work/shared."""
    candidates = [os.environ.get("MRV_SHARED_DIR"), REPO.parent / "shared", "/work/shared"]
    for c in candidates:
        if c and (Path(c) / "reference").is_dir():
            return Path(c)
    raise RuntimeError(
        "shared/ reference data not found beside the checkout nor at /work/shared; "
        "set MRV_SHARED_DIR to the folder that holds reference/ and data/imagery/"
    )


SHARED = _find_shared()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def rothc_reference_dir(shared_dir) -> Path:
    return shared_dir / "reference" / "rothc"


@pytest.fixture(scope="session")
def imagery_dir(shared_dir) -> Path:
    return shared_dir / "data" / "imagery"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)
