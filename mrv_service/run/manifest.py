"""The run manifest: what a run read, with which code and parameters, and when.

``run_manifest.json`` lets a validator (or a later run) check that a result comes from given
inputs: the SHA-256 of every uploaded file the store holds rows from, a digest of the store rows
the run used, the imagery items and the SHA-256 of every local asset file read, the code version,
the parameters and seed, the start and end time and the time of each stage.

Remote imagery assets (``http(s)://``) are listed with their href but not hashed: hashing would
download whole files, which the windowed reads avoid.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mrv_service import __version__
from mrv_service.ingest.report import file_sha256

__all__ = ["code_version", "imagery_inputs", "output_hashes", "PACKAGES"]

PACKAGES = (
    "numpy",
    "pandas",
    "xarray",
    "numba",
    "rasterio",
    "shapely",
    "pyproj",
    "pystac",
    "pystac-client",
    "scipy",
    "SQLAlchemy",
)
"""Libraries whose versions the manifest records."""


def code_version() -> dict[str, Any]:
    """The service version, the git commit of the checkout (when run from one), Python and library versions."""
    commit = None
    repo = Path(__file__).resolve().parents[2]
    if (repo / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(repo), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            commit = out.stdout.strip() or None
            dirty = subprocess.run(
                ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.strip()
            if commit and dirty:
                commit += "+uncommitted"
        except (OSError, subprocess.SubprocessError):
            commit = None
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "mrv": __version__,
        "git_commit": commit,
        "python": platform.python_version(),
        "packages": versions,
    }


def imagery_inputs(attrs: Mapping[str, Any], hash_local: bool = True) -> dict[str, Any]:
    """The STAC items a features series was computed from, with their asset hrefs and hashes.

    Reads the series' ``attrs["items"]`` (a JSON list of ``{id, collection, datetime, assets:
    {key: href}}`` written by the imagery stage) and ``attrs["source"]``.
    """
    import json

    items = json.loads(attrs.get("items", "[]"))
    for item in items:
        hashed = {}
        for key, href in item.get("assets", {}).items():
            entry: dict[str, Any] = {"href": href}
            path = Path(href[7:] if href.startswith("file://") else href)
            if hash_local and "://" not in href.replace("file://", "") and path.is_file():
                entry["sha256"] = file_sha256(path)
                entry["bytes"] = path.stat().st_size
            hashed[key] = entry
        item["assets"] = hashed
    return {"source": attrs.get("source"), "items": items}


def output_hashes(directory: Path, names: list[str]) -> dict[str, str]:
    """SHA-256 of the output files."""
    return {n: file_sha256(directory / n) for n in names if (directory / n).is_file()}


def now_utc() -> str:
    """The current time, ISO 8601 UTC."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
