"""Unit conversions, in one place (ARCHITECTURE.md: "Conversions (44/12, mu to ha = 1/15) live in one place")."""

from __future__ import annotations

#: Molar mass ratio CO2 / C [t CO2 (t C)-1] = 44.0095 / 12.011 rounded as IPCC does (IPCC 2006 Vol. 4
#: Ch. 2 Eq. 2.2 and throughout: "44/12").
C_TO_CO2 = 44.0 / 12.0

#: Hectares per mu (亩) [ha mu-1]: 1 mu = 666.67 m2 = 1/15 ha (China's statutory land unit).
HA_PER_MU = 1.0 / 15.0

#: Kilograms per jin (斤) [kg jin-1]: the market jin is 0.5 kg (市斤, statutory since 1959).
KG_PER_JIN = 0.5

#: Mineral soil: SOC = SOM x 0.58 [g C (g SOM)-1], the van Bemmelen factor 1/1.724 used by
#: China's soil-testing standard NY/T 1121.6-2006 (organic matter = organic C x 1.724).
SOM_TO_SOC = 0.58


def t_c_to_t_co2e(t_c):
    """Carbon [t C] to CO2 equivalent [t CO2e] (x 44/12)."""
    return t_c * C_TO_CO2
