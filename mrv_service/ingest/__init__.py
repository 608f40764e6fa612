"""Ingest of user uploads with validation: plots, activity logs, soil samples, weather.

Every function validates the whole file first, writes all-or-nothing, is idempotent (same bytes
-> "already ingested"; same rows -> natural-key upsert, nothing changed) and returns an
:class:`UploadReport`; a rejected file raises :class:`IngestError` carrying its report.
"""

from mrv_service.ingest.logs import ingest_logs
from mrv_service.ingest.plots import ingest_plots
from mrv_service.ingest.report import IngestError, Issue, UploadReport
from mrv_service.ingest.soil import ingest_soil
from mrv_service.ingest.weather import ingest_weather

INGEST_FUNCTIONS = {
    "plots": ingest_plots,
    "logs": ingest_logs,
    "soil": ingest_soil,
    "weather": ingest_weather,
}
"""Upload kind -> ingest function (all share one signature)."""

__all__ = [
    "INGEST_FUNCTIONS",
    "IngestError",
    "Issue",
    "UploadReport",
    "ingest_logs",
    "ingest_plots",
    "ingest_soil",
    "ingest_weather",
]
