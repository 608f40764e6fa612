"""Soil-carbon science: RothC-26.3, IPCC Tier 1, carbon inputs, Monte Carlo.

Pure computation on numpy arrays and xarray objects: no files, network or database here.
"""
