"""``mrv demo``'s first half: the bundled sample county, created if absent and loaded into the store
as a user would load their own project (``mrv project create`` + ``mrv ingest``). The second half
is exactly ``mrv run`` on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mrv_service.config import Settings
from mrv_service.sample.generator import SampleError

__all__ = ["SAMPLE_UPLOADS", "NotASampleError", "ensure_sample", "load_sample"]

SAMPLE_UPLOADS = (
    ("plots", "plots.geojson"),
    ("logs", "activity_logs_baseline.csv"),
    ("logs", "activity_logs_project.xlsx"),
    ("soil", "soil_samples.csv"),
    ("weather", "weather_monthly.csv"),
)
"""The sample county's files, in the order a user uploads them."""

Echo = Callable[[str], Any]


class NotASampleError(SampleError):
    """A directory given as the sample county holds something else."""


def ensure_sample(sample_dir: Path, echo: Echo = print) -> dict[str, Any]:
    """Create the sample county in ``sample_dir`` unless it is already there; return its project.json."""
    from mrv_service.sample import create_sample

    complete = (sample_dir / "project.json").is_file() and (sample_dir / "imagery" / "catalog.json").is_file()
    if complete:
        echo(f"sample county: {sample_dir} (present)")
    elif sample_dir.exists() and any(sample_dir.iterdir()):
        raise NotASampleError(
            f"{sample_dir} is not empty and holds no sample county (project.json and imagery/catalog.json); "
            "give an empty or new folder to `mrv demo --sample`. For your own project use `mrv project create`, "
            "`mrv ingest` and `mrv run` (README, 'Your own project')"
        )
    else:
        echo(f"sample county: generating in {sample_dir} ...")
        from tqdm import tqdm

        create_sample(
            sample_dir, progress=lambda steps: tqdm(steps, desc="sample county", unit="step", leave=False)
        )
    return json.loads((sample_dir / "project.json").read_text(encoding="utf-8"))


def load_sample(settings: Settings, echo: Echo = print) -> str:
    """Create the sample county if needed, create its project and ingest its files; returns the
    project name. Uploads already in the store are recognised by their SHA-256 and change nothing."""
    from mrv_service.ingest import INGEST_FUNCTIONS, IngestError
    from mrv_service.store.db import init_db, make_engine, session_scope
    from mrv_service.store.projects import ensure_project_from_json

    sample_dir = settings.sample_dir
    project_json = ensure_sample(sample_dir, echo)
    # a sample written before project.json carried settings: its imagery is the bundled catalog
    project_json.setdefault("settings", {"imagery": {"source": "imagery/catalog.json"}})
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            # the demo owns the sample's project: the store follows the sample's project.json
            project = ensure_project_from_json(session, project_json, base_dir=sample_dir, update=True)
            name = project.name
        for kind, file in SAMPLE_UPLOADS:
            with session_scope(engine) as session:
                try:
                    report = INGEST_FUNCTIONS[kind](
                        session, name, sample_dir / file, uploaded_by="mrv demo", id_salt=settings.id_salt
                    )
                except IngestError as exc:
                    raise SampleError(f"the sample county's {file} was rejected: {exc}") from exc
            if report.status == "already_ingested":
                echo(f"ingest {file}: already ingested (same SHA-256), nothing changed")
            else:
                d = report.to_dict()
                echo(
                    f"ingest {file}: {d['status']} ({d['rows_accepted']} rows accepted, {d['rows_inserted']} inserted, "
                    f"{d['rows_unchanged']} unchanged, {d['rows_warned']} with warnings)"
                )
    finally:
        engine.dispose()
    return name
