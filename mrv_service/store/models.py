"""The store's tables as SQLAlchemy 2 typed declarative models.

The same models run on SQLite (the no-set-up default) and PostgreSQL: geometry is kept as WKT
text in EPSG:4326 (lon/lat), so no PostGIS is needed; typed attributes of activity records are a
JSON column. The schema is created and upgraded by the Alembic migrations in
``mrv_service/store/migrations`` (:func:`mrv_service.store.db.init_db`), never by ``create_all``.

Units are in the column names where a column holds a quantity (``area_ha``, ``soc_g_kg``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "Organisation",
    "Project",
    "Farmer",
    "Plot",
    "PlotFlag",
    "ActivityRecord",
    "SoilSample",
    "Upload",
    "WeatherStation",
    "WeatherMonth",
    "Run",
    "VerificationFlag",
    "Detector",
    "SeasonReview",
    "PlotResult",
    "ROLES",
    "User",
    "ApiToken",
    "AuditEntry",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable names for migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Organisation(Base):
    """A tenant: the aggregator or developer that owns projects."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    projects: Mapped[list[Project]] = relationship(back_populates="organisation")
    users: Mapped[list[User]] = relationship(back_populates="organisation")


class Project(Base):
    """A carbon project: one methodology, one region, one crediting period."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str | None] = mapped_column(String(200))
    methodology_id: Mapped[str] = mapped_column(String(100))
    province: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(100))
    county: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The full region mapping of ``project.json`` (province, city, county, lon, lat)."""
    crediting_start: Mapped[dt.date] = mapped_column(Date)
    crediting_end: Mapped[dt.date] = mapped_column(Date)
    baseline_years: Mapped[list[Any]] = mapped_column(JSON, default=list)
    project_years: Mapped[list[Any]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The run settings the user set (imagery, weather, model, soil defaults); unset keys take
    the documented defaults of :mod:`mrv_service.project_settings`. Never secrets."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    organisation: Mapped[Organisation] = relationship(back_populates="projects")


class Upload(Base):
    """One uploaded file (plots, activity logs or soil samples) and its validation report."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_project_kind_sha256", "project_id", "kind", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    """``plots``, ``logs``, ``soil`` or ``weather``."""
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    status: Mapped[str] = mapped_column(String(20))
    """``accepted`` or ``rejected``."""
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_warned: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Farmer(Base):
    """A household operating plots. The national id is kept only as a salted SHA-256 hash."""

    __tablename__ = "farmers"
    __table_args__ = (UniqueConstraint("project_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    village: Mapped[str | None] = mapped_column(String(200))
    national_id_hash: Mapped[str | None] = mapped_column(String(64))
    """hex SHA-256 of ``salt + national id``; never the raw number."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Plot(Base):
    """A farmed plot: polygon in EPSG:4326 (WKT), area in its UTM zone [ha]."""

    __tablename__ = "plots"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        Index("ix_plots_project_area", "project_id", "area_ha"),  # the plot list sorted by area
        Index("ix_plots_project_id_id", "project_id", "id"),  # a project's plots in id order (paging)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmers.id", ondelete="SET NULL"), index=True)
    geometry_wkt: Mapped[str] = mapped_column(Text)
    """Polygon in EPSG:4326, x = longitude, y = latitude."""
    area_ha: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)
    utm_epsg: Mapped[int] = mapped_column(Integer)
    county: Mapped[str | None] = mapped_column(String(100))
    cropping_system: Mapped[str | None] = mapped_column(String(100))
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PlotFlag(Base):
    """Something a reviewer should look at for a plot (ingest warnings now; verification later)."""

    __tablename__ = "plot_flags"
    __table_args__ = (Index("ix_plot_flags_plot_status", "plot_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plot_id: Mapped[int] = mapped_column(ForeignKey("plots.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(50))
    """Who raised it: ``ingest``, later ``verification`` ..."""
    kind: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(10), default="warning")
    status: Mapped[str] = mapped_column(String(10), default="open")
    """``open`` or ``resolved``."""
    message: Mapped[str] = mapped_column(Text)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ActivityRecord(Base):
    """One field operation on one plot, in canonical units (DATA_FORMATS.md section 2).

    ``attributes`` holds the canonical fields present for the activity, keyed by the canonical
    name, in the canonical unit of :data:`mrv_service.ingest.fields.LOG_FIELDS` (e.g.
    ``{"n_rate": 180.0}`` [kg N ha-1], ``{"yield": 9.5}`` [t ha-1], ``{"diesel": 12.0}`` [L]).
    ``natural_key`` (``date|activity|discriminator``) makes re-uploads idempotent.
    """

    __tablename__ = "activity_records"
    __table_args__ = (
        UniqueConstraint("plot_id", "natural_key"),
        Index("ix_activity_records_activity", "activity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plot_id: Mapped[int] = mapped_column(ForeignKey("plots.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    activity: Mapped[str] = mapped_column(String(30))
    crop: Mapped[str | None] = mapped_column(String(30))
    method: Mapped[str | None] = mapped_column(String(30))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    natural_key: Mapped[str] = mapped_column(String(300))
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id", ondelete="SET NULL"))
    source_row: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class SoilSample(Base):
    """A lab result for one soil layer (DATA_FORMATS.md section 3) with derived SOC and stock."""

    __tablename__ = "soil_samples"
    __table_args__ = (UniqueConstraint("project_id", "sample_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    sample_id: Mapped[str] = mapped_column(String(100))
    plot_id: Mapped[int | None] = mapped_column(ForeignKey("plots.id", ondelete="SET NULL"), index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    date: Mapped[dt.date | None] = mapped_column(Date)
    depth_top_cm: Mapped[float] = mapped_column(Float)
    depth_bottom_cm: Mapped[float] = mapped_column(Float)
    soc_measured_g_kg: Mapped[float | None] = mapped_column(Float)
    som_g_kg: Mapped[float | None] = mapped_column(Float)
    bulk_density_g_cm3: Mapped[float | None] = mapped_column(Float)
    coarse_fraction: Mapped[float] = mapped_column(Float, default=0.0)
    lab: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[str | None] = mapped_column(String(100))
    soc_g_kg: Mapped[float] = mapped_column(Float)
    """SOC [g/kg]: measured, or SOM x 0.58."""
    soc_stock_t_ha: Mapped[float | None] = mapped_column(Float)
    """SOC stock of the layer [t C/ha]; None without a bulk density."""
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id", ondelete="SET NULL"))
    source_row: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class WeatherStation(Base):
    """A weather record's station: one per project when the file names none (``station_id``
    ``project``), else the stations the files name, with their location when given."""

    __tablename__ = "weather_stations"
    __table_args__ = (UniqueConstraint("project_id", "station_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    station_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    lon: Mapped[float | None] = mapped_column(Float)
    """Longitude [degree east], EPSG:4326."""
    lat: Mapped[float | None] = mapped_column(Float)
    """Latitude [degree north], EPSG:4326."""
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class WeatherMonth(Base):
    """Monthly weather of one station: the RothC climate forcing, in canonical units."""

    __tablename__ = "weather_months"
    __table_args__ = (UniqueConstraint("station_pk", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_pk: Mapped[int] = mapped_column(ForeignKey("weather_stations.id", ondelete="CASCADE"))
    month: Mapped[dt.date] = mapped_column(Date)
    """First day of the month."""
    tmean_degc: Mapped[float] = mapped_column(Float)
    """Monthly mean air temperature [degC]."""
    precip_mm: Mapped[float] = mapped_column(Float)
    """Monthly precipitation [mm]."""
    pan_evap_mm: Mapped[float] = mapped_column(Float)
    """Monthly open-pan evaporation [mm] (from potential evapotranspiration when the file gave
    that: pan = PET / 0.75, the RothC-26.3 pan factor)."""
    evap_source: Mapped[str] = mapped_column(String(10), default="pan")
    """``pan`` (open-pan evaporation as uploaded) or ``pet`` (converted from PET)."""
    days: Mapped[int | None] = mapped_column(Integer)
    """Daily records aggregated into the month; None for a monthly upload."""
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id", ondelete="SET NULL"))
    source_row: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Run(Base):
    """One ``mrv run`` of a project: its state, stages, timings and manifest.

    At most one run per project is ``running`` (a partial unique index), which is how two runs
    of one project at once are refused, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_project_id", "project_id"),
        Index(
            "uq_runs_project_running",
            "project_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    """``running``, ``succeeded`` or ``failed``."""
    stages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """The stages this run computes (the others are carried over from the previous run)."""
    stage: Mapped[str | None] = mapped_column(String(50))
    """The stage in progress (or the last one reached)."""
    seed: Mapped[int | None] = mapped_column(Integer)
    out_dir: Mapped[str] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Wall time per stage [s]."""
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    percentage: Mapped[float | None] = mapped_column(Float)
    """How far the run is [0-100] (reported by a run started over the API)."""
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Set to stop the run at its next safe point (``DELETE`` of the run over the API)."""
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """Last sign of life of the process executing the run (None until one takes it over); see
    :func:`mrv_service.store.runs.heartbeat`."""


class VerificationFlag(Base):
    """One practice of one plot-season as a run verified it: the logged practice against the one
    detected from Sentinel-2, how bad a mismatch is and where its review stands.

    Written per run by :func:`mrv_service.store.verification.replace_run_flags` (a run's flags
    are replaced as a whole); deleting the run, its project or the plot deletes the flags.
    Vocabularies (checked by that function, not by the database):
    ``practice`` :data:`~mrv_service.store.verification.PRACTICES`, ``severity``
    :data:`~mrv_service.store.verification.SEVERITIES`, ``review_status``
    :data:`~mrv_service.store.verification.REVIEW_STATUSES`.
    """

    __tablename__ = "verification_flags"
    __table_args__ = (
        UniqueConstraint("run_id", "plot_id", "season_year", "practice"),
        Index("ix_verification_flags_run_id", "run_id"),
        Index("ix_verification_flags_project_plot", "project_id", "plot_id"),
        Index("ix_verification_flags_project_severity", "project_id", "severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    plot_id: Mapped[int] = mapped_column(ForeignKey("plots.id", ondelete="CASCADE"))
    """The plot's row id (``plots.id``), not its external id."""
    season_year: Mapped[int] = mapped_column(Integer)
    """Calendar year of the growing season."""
    practice: Mapped[str] = mapped_column(String(20))
    """``tillage``, ``residue``, ``sowing``, ``harvest`` or ``green_cover``."""
    logged: Mapped[str | None] = mapped_column(String(50))
    """The practice as the activity log gives it (None: nothing logged)."""
    detected: Mapped[str | None] = mapped_column(String(50))
    """The practice class the detector found (None: no usable imagery or no detector)."""
    probability: Mapped[float | None] = mapped_column(Float)
    """Probability of the detected class [1], in [0, 1]; None without a detection."""
    severity: Mapped[str] = mapped_column(String(20))
    """``info``, ``warning``, ``critical`` or ``unverifiable``."""
    reason: Mapped[str] = mapped_column(Text)
    """Why the flag has its severity, for the reviewer."""
    review_status: Mapped[str] = mapped_column(String(20), default="open")
    """``open``, ``accepted``, ``rejected``, ``evidence_requested`` or ``overridden``."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class SeasonReview(Base):
    """A reviewer's standing decision on one practice of one plot-season (the latest one; each
    decision is also in the audit trail). Unlike a run's flags it outlives runs: the next run
    reads it (:mod:`mrv_service.store.reviews`). ``decision``: ``accept`` (the logged practice
    stands), ``reject`` (the plot-season earns no credit), ``request_evidence`` (pending) or
    ``override`` (the practice is modelled as ``method``)."""

    __tablename__ = "season_reviews"
    __table_args__ = (
        UniqueConstraint("project_id", "plot_id", "season_year", "practice"),
        Index("ix_season_reviews_plot_id", "plot_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    plot_id: Mapped[int] = mapped_column(ForeignKey("plots.id", ondelete="CASCADE"))
    """The plot's row id (``plots.id``)."""
    season_year: Mapped[int] = mapped_column(Integer)
    practice: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(20))
    method: Mapped[str | None] = mapped_column(String(50))
    """The method an ``override`` sets (None otherwise)."""
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(320))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PlotResult(Base):
    """One plot's headline result of one succeeded run (the rows of ``plot_results.csv`` the
    pages filter and sort on), written when the run is published."""

    __tablename__ = "plot_results"
    __table_args__ = (
        UniqueConstraint("run_id", "plot_id"),
        Index("ix_plot_results_run_net", "run_id", "net_t_co2e"),
        Index("ix_plot_results_run_severity", "run_id", "worst_severity"),
        Index("ix_plot_results_plot_id", "plot_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    plot_id: Mapped[int] = mapped_column(ForeignKey("plots.id", ondelete="CASCADE"))
    baseline_practice: Mapped[str | None] = mapped_column(String(100))
    project_practice: Mapped[str | None] = mapped_column(String(100))
    delta_t_co2e: Mapped[float | None] = mapped_column(Float)
    """Mean soil SOC change of the plot over the crediting points so far [t CO2e]."""
    delta_t_co2e_p5: Mapped[float | None] = mapped_column(Float)
    delta_t_co2e_p95: Mapped[float | None] = mapped_column(Float)
    net_t_co2e: Mapped[float | None] = mapped_column(Float)
    """The plot's share of the credited net emission reductions [t CO2e]."""
    worst_severity: Mapped[str | None] = mapped_column(String(20))
    """The most blocking severity among the plot's flags in the run (None: no flag)."""
    n_flags: Mapped[int] = mapped_column(Integer, default=0)


class Detector(Base):
    """A trained practice detector: its model file, the hash of its training data and its metrics.

    At most one detector per (project, practice) is ``active``, enforced by partial unique
    indexes on SQLite and PostgreSQL alike: ``uq_detectors_project_practice_active`` for project
    detectors and ``uq_detectors_default_practice_active`` for the bundled defaults
    (``project_id`` NULL; a unique index treats NULLs as distinct, hence the second index).
    """

    __tablename__ = "detectors"
    __table_args__ = (
        Index("ix_detectors_project_practice_active", "project_id", "practice", "active"),
        Index(
            "uq_detectors_project_practice_active",
            "project_id",
            "practice",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index(
            "uq_detectors_default_practice_active",
            "practice",
            unique=True,
            sqlite_where=text("active AND project_id IS NULL"),
            postgresql_where=text("active AND project_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    """The project it was trained for; None for a bundled (default) detector."""
    practice: Mapped[str] = mapped_column(String(20))
    """The practice it detects (see :class:`VerificationFlag`)."""
    model_path: Mapped[str] = mapped_column(Text)
    """The model file, relative to the data directory (POSIX separators)."""
    training_sha256: Mapped[str] = mapped_column(String(64))
    """hex SHA-256 of the training data."""
    n_training: Mapped[int] = mapped_column(Integer)
    """Number of training samples (plot-seasons)."""
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Validation metrics of the training (e.g. accuracy, F1 [1])."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether it is the detector in use for its (project, practice)."""


ROLES = ("admin", "developer", "agronomist", "viewer")
"""The roles of a user: ``admin`` (everything in its organisation), ``developer`` (uploads, runs,
documents), ``agronomist`` (reads, reviews), ``viewer`` (reads)."""


class User(Base):
    """A person (or machine) of one organisation, with one role (:data:`ROLES`)."""

    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_organisation_id", "organisation_id"),
        CheckConstraint("role IN ('admin', 'developer', 'agronomist', 'viewer')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    """``admin``, ``developer``, ``agronomist`` or ``viewer``."""
    password_hash: Mapped[str | None] = mapped_column(Text)
    """argon2id hash of the password (pages); None for token-only users."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    organisation: Mapped[Organisation] = relationship(back_populates="users")


class ApiToken(Base):
    """An API token of a user, kept only as its SHA-256 (the token itself is shown once)."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    """hex SHA-256 of the token."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(Base):
    """One entry of the hash-chained audit trail (see :mod:`mrv_service.store.audit`).

    Entries are only appended: ``seq`` counts 1, 2, 3, ... without gaps over the whole log,
    ``prev_sha256`` is the previous entry's ``entry_sha256`` (64 zeros for the first), and
    ``entry_sha256`` is the SHA-256 of the canonical JSON of seq, prev_sha256, created_at,
    actor, action, organisation_id, project_id and payload; ``signature`` is its HMAC-SHA256
    with the server key (``MRV_AUDIT_KEY``). No foreign key on ``project_id``: an entry outlives
    a deleted project.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_organisation_id_seq", "organisation_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    """The organisation the entry belongs to; None for a system entry (an organisation with
    entries cannot be deleted: the log is never shortened)."""
    project_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    """``upload``, ``run_started``, ``run_finished``, ``run_failed``, ``review``,
    ``setting_change``, ``document_issued``, ..."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What happened, as canonical JSON data (hashed as stored)."""
    created_at: Mapped[str] = mapped_column(String(40))
    """ISO 8601 with time zone, as hashed (text, so it reads back byte for byte)."""
    prev_sha256: Mapped[str] = mapped_column(String(64))
    entry_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
    """hex HMAC-SHA256 of ``entry_sha256`` with the server key."""
