"""The plausibility guard: a modelled practice effect against the range the validation supports.

``mrv validate`` compares the model with long-term experiments per practice category (tillage,
residue, manure, nitrogen, rotation) and records, per category, the range of SOC change rates
[t C ha-1 yr-1] of a practice change that the experiments support
(:data:`models.calibration.VALIDATED_RATE_RANGE`). A project whose modelled rate per hectare and
year for a practice change lies outside that range is outside what the model was shown to do: the
run warns and the summary says so. A change in several categories at once (e.g. no-till with
straw retained instead of plough with straw removed) is checked against the sum of the
categories' ranges: an assumption (the paired experiments change one practice at a time, so their
interaction is not validated), stated in the warning.

Pure: numbers in, a dataclass out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from models import calibration

__all__ = ["RateCheck", "check_rate", "practice_categories"]


@dataclass(frozen=True)
class RateCheck:
    """Outcome of :func:`check_rate`."""

    range: tuple[float, float] | None
    """Validated range of the categories [t C ha-1 yr-1] (None: no category validated)."""
    within: bool | None
    """Whether the rate lies inside it (None when there is no range)."""
    warning: str | None
    """The message for the run log and the summary, or None."""


def practice_categories(
    tier1_baseline: str, tier1_project: str, baseline_practice: str, project_practice: str
) -> tuple[str, ...]:
    """Practice categories a change touches, from the Tier 1 levels (``tillage / input``) and the
    logged ``tillage + residue`` methods of the baseline and the project.

    Examples
    --------
    >>> practice_categories("full_till / low", "no_till / medium", "rotary + removed", "no_till + mulched")
    ('tillage', 'residue')
    >>> practice_categories("full_till / low", "full_till / low", "rotary + removed", "plough + removed")
    ('tillage',)
    """
    t_base, i_base = (x.strip() for x in tier1_baseline.split("/"))
    t_proj, i_proj = (x.strip() for x in tier1_project.split("/"))
    till_base, res_base = (x.strip() for x in baseline_practice.split("+"))
    till_proj, res_proj = (x.strip() for x in project_practice.split("+"))
    cats = []
    if t_base != t_proj or till_base != till_proj:
        cats.append("tillage")
    if i_base != i_proj or res_base != res_proj:
        cats.append("residue")
    return tuple(cats)


def check_rate(
    rate: float,
    categories: Sequence[str],
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> RateCheck:
    """Is a modelled rate [t C ha-1 yr-1] inside the validated range of its practice categories?

    Parameters
    ----------
    rate : float
        Mean modelled SOC change rate of the practice change [t C ha-1 yr-1].
    categories : sequence of str
        Categories it touches (:func:`practice_categories`).
    ranges : mapping, optional
        Validated range per category (default :data:`models.calibration.VALIDATED_RATE_RANGE`).

    Examples
    --------
    >>> check_rate(0.3, ["residue"], {"residue": (0.0, 0.5)}).within
    True
    >>> c = check_rate(0.9, ["tillage", "residue"], {"tillage": (-0.1, 0.3), "residue": (0.0, 0.5)})
    >>> c.range, c.within
    ((-0.1, 0.8), False)
    """
    table = calibration.VALIDATED_RATE_RANGE if ranges is None else ranges
    known = [c for c in categories if c in table]
    if not known:
        return RateCheck(None, None, None)
    lo = sum(table[c][0] for c in known)
    hi = sum(table[c][1] for c in known)
    within = lo <= rate <= hi
    warning = None
    if not within:
        joint = (
            " (the categories' ranges added: their interaction is not validated)" if len(known) > 1 else ""
        )
        warning = (
            f"modelled rate {rate:.3f} t C/ha/yr lies outside the validated range {lo:.3f} to {hi:.3f} t C/ha/yr "
            f"for {' + '.join(known)}{joint}; review the inputs before claiming (docs/VALIDATION.md)"
        )
    return RateCheck((float(lo), float(hi)), bool(within), warning)
