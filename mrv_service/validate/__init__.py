"""``mrv validate``: the soil-carbon model against long-term field experiments (VMD0053 style).

The file edge and the orchestration; the science is in :mod:`models.validation`.

* :mod:`mrv_service.validate.errors`: the errors a site folder can raise (each names file, line, fix);
* :mod:`mrv_service.validate.schedule`: DayCent schedule files (``.sch``), blocks and repeats expanded;
* :mod:`mrv_service.validate.sites`: a site folder -> :class:`~mrv_service.validate.sites.SiteData`;
* :mod:`mrv_service.validate.prepare`: a site, read -> model inputs, control and pairs;
* :mod:`mrv_service.validate.pipeline`: read every site, calibrate, run, compare, summarise;
* :mod:`mrv_service.validate.report`: ``validation.json`` and the self-contained ``validation.html``
  (plots: :mod:`mrv_service.validate.svgplot`).
"""
