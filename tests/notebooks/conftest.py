"""The small sample county, run once, for the notebooks (re-exports the session fixture)."""

from tests.mrv_service.conftest import small_county  # noqa: F401
