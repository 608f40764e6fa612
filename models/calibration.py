"""Calibration of the soil-carbon model chain on long-term experiments, what was adopted, and the
validated ranges and model errors the project runs use, as data with provenance.

Produced by ``mrv validate`` on the 22 long-term experiments of ``shared/reference/soc_long_term``
(docs/VALIDATION.md has the method and the tables); the numbers are copied from the runs'
``validation.json`` and are constants, not a file read at runtime. Re-run both commands of
:data:`PROVENANCE` and update them together when the model or the data change.

* :data:`CALIBRATED`: the grid optimum of the free parameters of
  :class:`models.chain.SoilCarbonParameters` on the calibration sites only (grid search within
  ``SoilCarbonParameters().ranges``, minimising the RMSE of the tillage and residue pair
  differences [t C ha-1]); kept as the record of the calibration;
* :data:`ADOPTED`: the values project runs use. **Adoption rule** (declared before looking at the
  held-out sites): a calibrated value replaces the literature prior only if it lowers the
  calibration objective by at least 5 %. Over the whole 388-point grid the RMSE spans 5.72 to 5.90
  t C ha-1 (3 %): the experiments do not identify these parameters (each observed stock carries
  ~2 t C ha-1 of measurement error, the practice effects are a few tenths of a t C ha-1 a year), so
  the literature priors are kept and their full ranges go into the Monte Carlo
  (:func:`models.uncertainty.chain_parameter_specs`);
* :data:`MODEL_ERROR_RATE`: the model's prediction error of a practice effect [t C ha-1 yr-1] with
  the adopted parameters, per category: ``sqrt(bias^2 + se^2 + max(0, var_resid - var_meas))`` of
  the modelled minus observed paired-difference rates (comparisons >= 5 years after the start):
  the systematic error (bias and its standard error) plus the residual variance not explained by
  the measurement error of the observations (5 % CV per stock, :mod:`models.validation.statistics`);
  :data:`PREDICTION_ERROR_RATE` is the raw residual sd (measurement noise included), for reference;
* :data:`VALIDATED_RATE_RANGE`: per category the 5-95 % range of the modelled paired-difference
  rates [t C ha-1 yr-1] at the experiments: the practice effects the model was tested at;
  :mod:`models.plausibility` checks a project's modelled rate against it (the observed rates, in
  validation.json ``validated_rate_range``, scatter from -0.8 to 1.2 t C ha-1 yr-1 for tillage,
  mostly measurement noise, and would check nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ADOPTED",
    "CALIBRATED",
    "MODEL_ERROR_RATE",
    "PREDICTION_ERROR_RATE",
    "PROVENANCE",
    "VALIDATED_RATE_RANGE",
]

CALIBRATED: Mapping[str, float] = MappingProxyType(
    {"surface_decay": 0.6, "surface_to_soil": 1.0, "tillage_scale": 2.375}
)
"""Grid optimum on the calibration sites (validation.json ``calibrated_parameters``; RMSE 5.72 t C
ha-1); ``surface_decay`` [yr-1], ``surface_to_soil`` [1], ``tillage_scale`` [1]. Not adopted."""

ADOPTED: Mapping[str, float] = MappingProxyType(
    {"surface_decay": 0.3, "surface_to_soil": 0.5, "tillage_scale": 1.0}
)
"""The parameters project runs use: the literature priors (module notes, adoption rule; each
field of :class:`models.chain.SoilCarbonParameters` cites its source)."""

MODEL_ERROR_RATE: Mapping[str, float] = MappingProxyType(
    {
        # held-out sites, adopted parameters (``mrv validate ... --calibrate-sites none``), n pairs:
        "tillage": 0.165,  # n = 31: bias -0.131, se 0.101, no excess variance
        "residue": 0.259,  # n = 15: bias 0.182, se 0.185, no excess variance
        "nitrogen": 0.058,  # n = 32
        "rotation/other": 0.243,  # n = 47: excess variance sd 0.236
        "manure": 0.110,  # n = 38, all sites (the only manure site is a calibration site)
        "pooled": 0.059,  # n = 125
    }
)
"""Prediction error of a practice effect [t C ha-1 yr-1] (module notes)."""

PREDICTION_ERROR_RATE: Mapping[str, float] = MappingProxyType(
    {
        "tillage": 0.570,
        "residue": 0.716,
        "nitrogen": 0.322,
        "rotation/other": 0.398,
        "manure": 0.143,
        "pooled": 0.478,
    }
)
"""RMSE of the modelled minus observed paired-difference rates [t C ha-1 yr-1], measurement noise
of the observations included (same comparisons as :data:`MODEL_ERROR_RATE`)."""

VALIDATED_RATE_RANGE: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "tillage": (-0.165, 0.035),  # n = 68
        "residue": (0.086, 0.442),  # n = 29
        "nitrogen": (-0.012, 0.063),  # n = 78
        "rotation/other": (-0.004, 0.475),  # n = 51
        "manure": (0.037, 0.167),  # n = 38
    }
)
"""5-95 % of the modelled paired-difference rates per category at all sites [t C ha-1 yr-1]
(adopted parameters, comparisons >= 5 years after the start)."""

PROVENANCE: Mapping[str, object] = MappingProxyType(
    {
        "source": "mrv validate on shared/reference/soc_long_term (22 sites), 2026-11-30; literature priors adopted",
        "commands": (
            "mrv validate ../shared/reference/soc_long_term",
            "mrv validate ../shared/reference/soc_long_term --calibrate-sites none --out out/validation_prior",
        ),
        "date": "2026-11-30",
        "calibration_sites": ("Brookings", "FortValley", "Mandan", "ORpegn", "Sidney"),
        "calibration_rule": "every other site, alphabetically, of those with a tillage or residue pair (starting with the first)",
        "held_out_sites": (
            "Broadbalk",
            "Dalhart",
            "Davis",
            "FivePoints",
            "FortCollins",
            "Goias",
            "Ithaca2",
            "IthacaNE",
            "LethbridgeABC",
            "NarrabriField6",
            "NarrabriFieldC1",
            "NarrabriFieldD1",
            "Rodale",
            "Rosemount",
            "RussellR",
            "Saginaw",
            "SwiftCurrent",
        ),
        "grid_rmse_t_c_ha": (5.72, 5.90),
        "n_draws": 200,
        "seed": 20261121,
    }
)
"""Where the numbers come from."""
