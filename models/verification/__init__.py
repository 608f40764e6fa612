"""Practice verification: features of each plot-season from Sentinel-2, detectors of tillage,
residue, green cover and season dates, their evaluation, and the reconciliation of the logs with
what the imagery shows (flags). Pure: DataFrames and Datasets in, DataFrames and estimators out."""
