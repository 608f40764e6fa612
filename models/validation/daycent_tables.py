"""DayCent's schedule vocabulary -> what the input rule reads from it: tillage, harvest, manure, crops.

The tables of :mod:`models.validation.management` with their sources: each DayCent ``CULT``,
``HARV`` and ``OMAD`` option and crop code used by the experiments, the canonical tillage method,
the share of residue a harvest leaves, the manure C of an application, the IPCC residue row of a
crop, and the combustion factor of a field burning.

References
----------
.. [1] IPCC (2019). 2019 Refinement to the 2006 IPCC Guidelines, Vol. 4, Ch. 11, Eq. 11.6, Table
   11.1a; Ch. 5 Eq. 5.0h (C fraction 0.42).
.. [2] IPCC (2006). 2006 IPCC Guidelines, Vol. 4, Ch. 2, Table 2.6: combustion factors of
   post-harvest field burning, wheat residues 0.90, maize and rice residues 0.80.
.. [3] DayCent parameter files cult.100, harv.100 and omad.100 distributed with the experiments'
   schedules: github.com/spark-brc/daycentpy, ``DayCent_data/Brookings/cult.100``,
   ``DayCent_data/Brookings/harv.100``, ``DayCent_data/Rodale/omad.100``, ``DayCent_data/Davis/omad.100``
   (commit c8ca673). cult.100: CULTRA(6) = fraction of surface litter moved into the soil;
   harv.100: RMVSTR = fraction of the above-ground residue removed, AGLREM = fraction of live shoots
   left standing, FLGHRV = 1 for a grain harvest; omad.100: ASTGC = "grams of C added" per m2.
.. [4] P. E. Rasmussen and W. J. Parton, "Long-term effects of residue management in wheat-fallow:
   I. Inputs, yield, and soil organic matter", Soil Sci. Soc. Am. J. 58:523-530, 1994,
   doi:10.2136/sssaj1994.03615995005800020039x (Pendleton: 22.4 Mg wet manure ha-1 crop-1 supplying
   111 kg N ha-1 crop-1; 2.24 Mg pea vine residue ha-1 crop-1).
.. [5] IPCC (2019), 2019 Refinement, Vol. 4, Ch. 5, Table 5.5 and its definitions of full, reduced
   and no tillage (full: < 30 % residue cover at planting; reduced: > 30 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from models.inputs import residue_parameter

__all__ = [
    "COMBUSTION_FACTOR",
    "CROP_IPCC_ROW",
    "HARVEST_OPTIONS",
    "MAIN_KINDS",
    "MANURE_OPTIONS",
    "TILLAGE_OPTIONS",
    "HarvestOption",
    "ManureOption",
    "TillageOption",
    "above_ground_share",
]

# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TillageOption:
    """What a DayCent ``CULT`` option means here."""

    method: str | None
    """Canonical tillage method (:data:`models.surface.BURIAL_FRACTION`), None if not a tillage pass."""
    kills: bool
    """Ends a standing crop that was not harvested (primary tillage, herbicide)."""
    daycent_burial: float
    """DayCent's CULTRA(6), the fraction of surface litter it moves into the soil [1] (for reference)."""
    description: str
    """cult.100's name of the option."""


_T = TillageOption
#: DayCent ``CULT`` options -> canonical methods. Reasoning: an implement that leaves less than
#: 30 % of the residue on the surface is full tillage in IPCC's definitions [5]_; DayCent's own
#: burial (CULTRA(6)) >= 0.9 for the mouldboard plough (K, P) and the chisel plough followed by an
#: offset disk (J, with the plough's decomposition effect, CLTEFF 13.6 against 14.0), so those are
#: ``plough``. Disks, field and row cultivators, sweeps and rod weeders do not invert the soil and
#: leave 40-90 % of the residue: reduced tillage [5]_, ``reduced`` (burial 0.5; DayCent's 0.1-0.6).
#: No DayCent option is a rotary tiller or a subsoiler (Goias' "deep subsoiling" is written as K,
#: the mouldboard plough), so ``rotary`` and ``subsoiling`` are not used. No-till drills (NOTILL,
#: NDRIL) are ``no_till`` (the planter's pass, burial 0.05). Herbicide, shredder and mowing are
#: not tillage; herbicide and mowing end a standing cover crop.
TILLAGE_OPTIONS: Mapping[str, TillageOption] = MappingProxyType(
    {
        "K": _T("plough", True, 0.95, "Moldboard Plow"),
        "P": _T("plough", True, 0.90, "PLOWING (~K)"),
        "CTIL": _T("plough", True, 0.95, "Conventional Tillage (~J)"),
        "J": _T("plough", True, 0.92, "Point Chisel Offset Disk"),
        "I": _T("reduced", True, 0.60, "Offset and Tandem Disks"),
        "IK": _T("reduced", True, 0.60, "Offset and Tandem Disks modified for 100% kill"),
        "H": _T("reduced", True, 0.53, "Disks Point Chisel Tandem Disk"),
        "G": _T("reduced", True, 0.45, "Multiple Tandem"),
        "F": _T("reduced", False, 0.37, "Field Cultivator and Tandem Disk"),
        "E": _T("reduced", False, 0.30, "SWEEPS and TANDEM DISKS"),
        "D": _T("reduced", False, 0.25, "Field and Row Cultivators"),
        "C": _T("reduced", False, 0.17, "Field Cultivators and Planters"),
        "B": _T("reduced", False, 0.50, "Planters and Cultivators"),
        "ROW": _T("reduced", False, 0.50, "ROW-CULTIVATOR (~D)"),
        "CULT": _T("reduced", False, 0.50, "CULTIVATOR (~C)"),
        "DRILL": _T("reduced", False, 0.20, "DRILL (~B)"),
        "A": _T("reduced", False, 0.20, "RodWeed Row Plant"),
        "R": _T("reduced", False, 0.20, "RODWEEDER"),
        "S": _T("reduced", False, 0.10, "SWEEP (~E)"),
        "NOTILL": _T("no_till", False, 0.0, "New Notill Drill (~A)"),
        "NDRIL": _T("no_till", False, 0.05, "NO-TILL-DRILL (~A)"),
        "HERB": _T(None, True, 0.0, "HERBICIDE"),
        "SUMF": _T(None, True, 0.0, "Summer Fallow (HERBICIDE)"),
        "MOW": _T(None, True, 0.0, "Mow event"),
        "SHRD": _T(None, False, 0.0, "Shredder"),
        "W": _T(None, False, 0.5, "WORM_MIXING"),
    }
)
"""``CULT`` option -> :class:`TillageOption` (DayCent cult.100 [3]_)."""


@dataclass(frozen=True)
class HarvestOption:
    """What a DayCent ``HARV`` option removes."""

    kind: str
    """``grain``, ``silage`` or ``root`` (a main-crop harvest: one unit of input), ``forage`` or
    ``mow`` (the season counts pro rata, :attr:`ManagementRule.non_grain_per_year`)."""
    retained: float
    """Fraction of the above-ground residue left on the field [1]."""
    arithmetic: str
    """How ``retained`` follows from harv.100."""


_H = HarvestOption
#: DayCent ``HARV`` options (harv.100 [3]_): retained = 1 - (1 - AGLREM) x RMVSTR for cuts of the
#: whole shoot (FLGHRV = 0), 1 - RMVSTR for grain harvests (FLGHRV = 1, the grain is the product).
HARVEST_OPTIONS: Mapping[str, HarvestOption] = MappingProxyType(
    {
        "G": _H("grain", 1.0, "grain only, RMVSTR 0"),
        "GR": _H("grain", 1.0, "grain with return, RMVSTR 0"),
        "GRR": _H("grain", 1.0, "rice before ratoon, RMVSTR 0"),
        "G10S": _H("grain", 0.9, "RMVSTR 0.10"),
        "G40S": _H("grain", 0.6, "RMVSTR 0.40"),
        "GS": _H("grain", 0.5, "RMVSTR 0.50"),
        "G50S": _H("grain", 0.5, "RMVSTR 0.50"),
        "G75S": _H("grain", 0.25, "RMVSTR 0.75"),
        "G90S": _H("grain", 0.1, "RMVSTR 0.90"),
        "HS": _H("grain", 0.1, "harvester-shredder, RMVSTR 0.90"),
        "PINE": _H("grain", 1.0, "pineapple, RMVSTR 0"),
        "SIL": _H("silage", 0.19, "1 - (1 - 0.1) x 0.9: AGLREM 0.1, RMVSTR 0.9"),
        "ROOT": _H("root", 0.85, "RMVSTR 0.15 (the roots are the product)"),
        "R": _H("root", 0.85, "RMVSTR 0.15 (the roots are the product)"),
        "CANE": _H("silage", 0.001, "RMVSTR 0.999"),
        "GCANE": _H("silage", 0.15, "RMVSTR 0.85"),
        "H": _H("forage", 0.1925, "1 - (1 - 0.15) x 0.95 (removes 81 %)"),
        "H76": _H("forage", 0.24, "1 - (1 - 0.20) x 0.95 (removes 76 %)"),
        "H90": _H("forage", 0.0975, "1 - (1 - 0.05) x 0.95 (removes 90 %)"),
        "HAY": _H("forage", 0.40, "1 - (1 - 0.20) x 0.75 (removes 60 %)"),
        "MOW": _H("mow", 1.0, "cut and left, RMVSTR 0"),
        "MOWT": _H("mow", 1.0, "cut and left, RMVSTR 0"),
    }
)
"""``HARV`` option -> :class:`HarvestOption` (DayCent harv.100 [3]_)."""

MAIN_KINDS: tuple[str, ...] = ("grain", "silage", "root")
"""Harvest kinds that end a main-crop season (one nominal unit of input)."""


@dataclass(frozen=True)
class ManureOption:
    """The carbon an ``OMAD`` option adds."""

    carbon: float | None
    """C added per event [t C ha-1]; None when the amount is not known (the treatment is skipped)."""
    source: str
    """Where the amount comes from, or why it is unknown."""


_M = ManureOption
#: ``OMAD`` options -> C per event. DayCent's omad.100 ``ASTGC`` is the C added per event
#: [g C m-2] (x 0.01 -> t C ha-1) [3]_.
MANURE_OPTIONS: Mapping[str, ManureOption] = MappingProxyType(
    {
        "POUL1": _M(3.00, "omad.100 POUL1 'composted poultry', ASTGC 300 g C m-2 [3]"),
        "POUL2": _M(3.50, "omad.100 POUL2 'composted poultry', ASTGC 350 g C m-2 [3]"),
        "FYM1": _M(10.20, "omad.100 FYM1 'FarmYard Manure - Broadbalk', ASTGC 1020 g C m-2 [3]"),
        "CAT1": _M(
            2.372, "omad.100 CAT1 'composted cattle manure to corn - Rodale', ASTGC 237.2 g C m-2 [3]"
        ),
        "CAT2": _M(
            4.56, "omad.100 CAT2 'composted cattle manure to soybean - Rodale', ASTGC 456 g C m-2 [3]"
        ),
        "ORMN": _M(
            1.40,
            "derived: 111 kg N ha-1 per application in 22.4 Mg wet beef manure (Rasmussen & Parton 1994 [4]) "
            "x C:N 12.6 (omad.100 BEEF 'LRR beef solid' ASTREC(1) [3]); omad.100 ORMN itself not in the source",
        ),
        "ORPV": _M(
            0.94,
            "derived: 2.24 Mg pea vine residue ha-1 per application (Rasmussen & Parton 1994 [4], taken as dry "
            "matter) x 0.42 kg C (kg d.m.)-1 (IPCC 2019 Eq. 5.0h); omad.100 ORPV itself not in the source",
        ),
        "POUL": _M(
            None,
            "omad.100 POUL is an 'LRR poultry solid Inventory' placeholder (ASTGC 1 g C m-2, to be scaled by "
            "the OMAD scalar, which the schedule switches off): the applied amount is not in the data",
        ),
    }
)
"""``OMAD`` option -> :class:`ManureOption`."""

#: DayCent crop codes -> the row of ``models/data/crop_residue_parameters.csv`` (IPCC 2019 Table
#: 11.1a) used for the above-ground share. The table has five rows; every crop takes the nearest:
#: maize (C4 cereals: maize, sorghum), wheat, soybean (legumes: soybean, pea, beans, vetch,
#: clover, alfalfa, legume cover mixtures), generic_grains (other cereals and every other crop).
#: The share varies only between 0.69 (maize) and 0.78 (soybean). ``FALW`` is no crop.
CROP_IPCC_ROW: Mapping[str, str] = MappingProxyType(
    {
        "C6": "maize",
        "C5": "maize",
        "C4": "maize",
        "C": "maize",
        "SORG": "maize",
        "W": "wheat",
        "W1": "wheat",
        "W2": "wheat",
        "W3": "wheat",
        "SW": "wheat",
        "SW1": "wheat",
        "SW2": "wheat",
        "SW3": "wheat",
        "SW3EG": "wheat",
        "SYBN": "soybean",
        "PEA": "soybean",
        "DBEAN": "soybean",
        "VETCH": "soybean",
        "CLV1": "soybean",
        "ALF": "soybean",
        "MXNL": "soybean",
        "MXNLL": "soybean",
        "RICE": "rice",
        "MXNNL": "generic_grains",
        "RYE": "generic_grains",
        "OAT1": "generic_grains",
        "OAT2": "generic_grains",
        "BAR3": "generic_grains",
        "FLAX": "generic_grains",
        "SUN": "generic_grains",
        "SAFF": "generic_grains",
        "COT": "generic_grains",
        "JTOM": "generic_grains",
        "POT": "generic_grains",
        "SUGB": "generic_grains",
        "TKNBM": "generic_grains",
        "G1WEED": "generic_grains",
    }
)
"""DayCent crop code -> IPCC residue row."""

COMBUSTION_FACTOR: Mapping[str, float] = MappingProxyType(
    {"wheat": 0.90, "maize": 0.80, "rice": 0.80, "generic_grains": 0.80, "soybean": 0.80}
)
"""Share of the residue on the surface a field burning consumes [1] (IPCC 2006 Vol. 4 Table 2.6
[2]_: wheat 0.90, maize and rice 0.80; other crops take 0.80)."""


def above_ground_share(row: str) -> float:
    """Above-ground share of a season's residue C [1]: R_AG / (R_AG + (1 + R_AG) RS).

    Parameters
    ----------
    row : str
        IPCC residue row (:data:`CROP_IPCC_ROW` values).

    Examples
    --------
    Maize, R_AG 1.0 and RS 0.22 (IPCC 2019 Table 11.1a): 1 / (1 + 2 x 0.22) = 0.6944.

    >>> round(above_ground_share("maize"), 4)
    0.6944
    """
    r_ag = residue_parameter(row, "r_ag").value
    rs = residue_parameter(row, "rs").value
    return r_ag / (r_ag + (1.0 + r_ag) * rs)
