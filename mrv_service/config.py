"""One settings object, read from ``MRV_``-prefixed environment variables.

Only ``mrv_service`` reads the environment (STYLE.md section 1); everything else is handed
the values it needs.

| variable | meaning | default |
|---|---|---|
| ``MRV_DATA_DIR`` | working data directory | ``./data`` |
| ``MRV_DATABASE_URL`` | SQLAlchemy URL of the store | ``sqlite:///<MRV_DATA_DIR>/mrv.sqlite`` |
| ``MRV_STAC_URL`` | STAC API URL or path of a local ``catalog.json`` | the sample county's catalog |
| ``MRV_DASK_SCHEDULER`` | address of a Dask scheduler | none: local threads |
| ``MRV_OUTPUT_DIR`` | where results and documents are written | ``./out`` |
| ``MRV_SAMPLE_DIR`` | where ``mrv demo`` keeps the bundled sample county | ``<MRV_DATA_DIR>/sample/lishu`` |
| ``MRV_ID_SALT`` | salt for hashing farmers' national ids | a fixed development salt |
| ``MRV_AUDIT_KEY`` | server key signing the audit trail (HMAC-SHA256) | a fixed development key (warned about) |
| ``MRV_SECRET_KEY`` | key signing the pages' session cookies and CSRF tokens | a fixed development key (warned about) |
| ``MRV_STAC_API_KEY`` | API key of a commercial STAC API (never stored with a project) | none |
| ``MRV_STAC_API_KEY_HEADER`` | HTTP header that carries it | ``Authorization`` (as ``Bearer KEY``) |
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

PREFIX = "MRV_"
DEV_ID_SALT = "mrv-development-salt-change-me"
DEV_AUDIT_KEY = "mrv-development-audit-key-change-me"
DEV_SECRET_KEY = "mrv-development-secret-key-change-me"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Runtime settings of the service; build one with :func:`load_settings`."""

    data_dir: Path
    """Working data directory (SQLite file, sample county)."""
    database_url: str
    """SQLAlchemy database URL (SQLite file by default, ``postgresql+psycopg://`` at scale)."""
    stac_url: str | None
    """STAC API URL or local ``catalog.json``; ``None`` means the sample county's catalog."""
    dask_scheduler: str | None
    """Dask scheduler address; ``None`` runs on local threads (or on :attr:`dask_workers`)."""
    output_dir: Path
    """Where results and documents are written."""
    sample_dir: Path
    """Where the bundled sample county lives."""
    id_salt: str = dataclasses.field(repr=False)
    """Salt for hashing national ids (set a secret one in production)."""
    audit_key: str = dataclasses.field(default=DEV_AUDIT_KEY, repr=False)
    """Server key signing the audit trail (set a secret one in production)."""
    secret_key: str = dataclasses.field(default=DEV_SECRET_KEY, repr=False)
    """Key signing the review pages' session cookies and CSRF tokens (set a secret one in production)."""
    stac_api_key: str | None = dataclasses.field(default=None, repr=False)
    """API key of a commercial STAC API; only from the environment, never stored."""
    stac_api_key_header: str = "Authorization"
    """HTTP header carrying the key; ``Authorization`` sends ``Bearer KEY``."""
    dask_workers: int = 0
    """Without a scheduler: a run starts a Dask ``LocalCluster`` of this many worker processes
    (one thread each) for its stages; 0 runs in the run's own process."""
    chunk_plots: int = 2000
    """Plots per chunk of the verification and models stages (the results do not depend on it;
    a worker's memory grows with it)."""

    def stac_headers(self) -> dict[str, str] | None:
        """HTTP headers for STAC API requests (None without a key)."""
        if not self.stac_api_key:
            return None
        if self.stac_api_key_header.lower() == "authorization":
            return {"Authorization": f"Bearer {self.stac_api_key}"}
        return {self.stac_api_key_header: self.stac_api_key}

    def replace(self, **changes) -> Settings:
        """A copy with some fields changed (tests use this)."""
        return dataclasses.replace(self, **changes)


class SettingsError(ValueError):
    """An ``MRV_`` environment variable holds a value the service cannot use."""


def load_settings(env: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Read settings from ``env`` (default: ``os.environ``), then apply ``overrides``."""
    env = os.environ if env is None else env
    data_dir = Path(env.get(PREFIX + "DATA_DIR", "data")).absolute()
    settings = Settings(
        data_dir=data_dir,
        database_url=env.get(PREFIX + "DATABASE_URL") or f"sqlite:///{data_dir / 'mrv.sqlite'}",
        stac_url=env.get(PREFIX + "STAC_URL") or None,
        dask_scheduler=env.get(PREFIX + "DASK_SCHEDULER") or None,
        output_dir=Path(env.get(PREFIX + "OUTPUT_DIR", "out")).absolute(),
        sample_dir=Path(env.get(PREFIX + "SAMPLE_DIR") or data_dir / "sample" / "lishu").absolute(),
        id_salt=env.get(PREFIX + "ID_SALT", DEV_ID_SALT),
        audit_key=env.get(PREFIX + "AUDIT_KEY") or DEV_AUDIT_KEY,
        secret_key=env.get(PREFIX + "SECRET_KEY") or DEV_SECRET_KEY,
        stac_api_key=env.get(PREFIX + "STAC_API_KEY") or None,
        stac_api_key_header=env.get(PREFIX + "STAC_API_KEY_HEADER") or "Authorization",
        dask_workers=_count(env, "DASK_WORKERS", 0, low=0),
        chunk_plots=_count(env, "CHUNK_PLOTS", 2000, low=1),
    )
    return settings.replace(**overrides) if overrides else settings


def _count(env: Mapping[str, str], name: str, default: int, *, low: int) -> int:
    """A whole-number setting, refused with the variable's name when it is not one."""
    raw = env.get(PREFIX + name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low:
        raise SettingsError(f"{PREFIX}{name}={raw!r} must be a whole number >= {low}; unset it for {default}")
    return value
