"""Methodology definitions as data, the accounting equations and the document generators."""
