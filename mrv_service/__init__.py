"""The MRV application: configuration, store, ingest, pipeline, API, pages and CLI."""

__version__ = "0.1.0"
