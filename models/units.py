"""Unit conversions, in one place (ARCHITECTURE.md: "Conversions (44/12, mu to ha = 1/15) live in one place")."""

from __future__ import annotations

#: Molar mass ratio CO2 / C [t CO2 (t C)-1] = 44.0095 / 12.011 rounded as IPCC does (IPCC 2006 Vol. 4
#: Ch. 2 Eq. 2.2 and throughout: "44/12").
C_TO_CO2 = 44.0 / 12.0

#: Mu (亩) per hectare [mu ha-1]: 1 mu = 10,000/15 m2 = 666.67 m2 (市制 land unit, exact), so a
#: rate per mu x 15 is the rate per ha.
MU_PER_HA = 15.0

#: Kilograms per jin (斤) [kg jin-1]: the market jin is 0.5 kg (市斤, statutory since 1959).
KG_PER_JIN = 0.5

#: SOC per unit SOM [g C (g SOM)-1]: the van Bemmelen factor 1/1.724 = 0.58, the conventional
#: conversion in NY/T 1121.6-2006 (土壤检测 第6部分: 土壤有机质的测定, SOM = SOC x 1.724) and in
#: D. W. Nelson and L. E. Sommers, "Total carbon, organic carbon, and organic matter", Methods of
#: Soil Analysis Part 3, SSSA Book Series 5, 1996, pp. 961-1010, doi:10.2136/sssabookser5.3.c34.
SOM_TO_SOC = 0.58


def t_c_to_t_co2e(t_c):
    """Carbon [t C] to CO2 equivalent [t CO2e] (x 44/12)."""
    return t_c * C_TO_CO2
