"""Evidence for the review pages of one plot: reading a run's published outputs
(:mod:`mrv_service.review.evidence`: the plot's Sentinel-2 series, image chips, SOC trajectory,
a project backdrop) and drawing them (:mod:`mrv_service.review.charts`: SVG charts;
:mod:`geodata.chips`: PNG chips). Pure functions of an output folder and ids; no Flask here."""
