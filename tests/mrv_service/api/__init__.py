"""Tests of the REST API (mrv_service.api)."""
