"""The bundled sample county: Lishu County (梨树县), Jilin, maize smallholders adopting no-till.

``create_sample(directory)`` writes a deterministic, realistic sample project (plots, farmers,
activity logs with some deliberately contradicted entries, soil samples, monthly weather,
synthetic truth tables and, through :mod:`mrv_service.sample.imagery`, Sentinel-2-like COGs
with a static STAC catalog). ``generate()`` builds the same data in memory without writing.
The file formats are those of ``docs/DATA_FORMATS.md``.
"""

from mrv_service.sample.generator import (
    DEFAULT_N_PLOTS,
    DEFAULT_SEED,
    SampleData,
    SampleError,
    SampleExistsError,
    SampleGenerationError,
    SampleSummary,
    create_sample,
    generate,
    national_id_check_digit,
    write_sample,
)

__all__ = [
    "DEFAULT_N_PLOTS",
    "DEFAULT_SEED",
    "SampleData",
    "SampleError",
    "SampleExistsError",
    "SampleGenerationError",
    "SampleSummary",
    "create_sample",
    "generate",
    "national_id_check_digit",
    "write_sample",
]
