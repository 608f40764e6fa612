"""Validation of the soil-carbon model against long-term field experiments (VMD0053 style).

Pure computation, arrays and dataclasses in and out (the file edge is :mod:`mrv_service.validate`):

* :mod:`models.validation.calendar`: a treatment's dated management events (the expanded schedule);
* :mod:`models.validation.forcing`: daily weather to RothC's monthly forcing, PET by Hargreaves &
  Samani (1985) with FAO-56 extraterrestrial radiation, irrigation added to rainfall;
* :mod:`models.validation.daycent_tables`: what each DayCent schedule option means (with sources);
* :mod:`models.validation.management`: the documented input rule, events -> seasons, passes, manure;
* :mod:`models.validation.monthly`: those records -> monthly model inputs;
* :mod:`models.validation.pairing`: which treatments differ in one practice only, and which way;
* :mod:`models.validation.statistics`: comparisons, bias, RMSE, interval coverage, the VMD0053 tests;
* :mod:`models.validation.rates`: comparisons as rates [t C ha-1 yr-1], prediction error, validated range;
* :mod:`models.validation.experiment`: one site through the model chain (spin-up under the
  pre-experiment practice, the inverse input fit, deterministic and Monte Carlo runs, calibration).
"""
