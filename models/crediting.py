"""When the credited soil carbon is read: the yearly crediting point.

The credited quantity is the soil organic carbon of the modelled layer (DPM + RPM + BIO + HUM +
IOM; surface residue excluded) at the **same point of every year**, the end of the crediting month
(:mod:`models.scenarios` computes the project minus baseline difference there). August is the
default for Northeast China's single spring-sown crop (sown late April-May, harvested late
September-October, shared/domain/lishu.md section 3): before the harvest, when last season's
residue has had a growing season to decompose and this season's has not yet fallen, so that a
credit is never a pile of fresh straw that will be respired next spring. A methodology definition
binds to this quantity (``soil_points`` / ``vintages`` of :class:`models.scenarios.ScenarioResult`).
"""

from __future__ import annotations

__all__ = ["DEFAULT_CREDITING_MONTH"]

DEFAULT_CREDITING_MONTH = 8
"""Month whose end is the yearly crediting point [1-12] (module notes: August, before harvest)."""
