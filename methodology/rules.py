"""The relaunched CCER scheme's hard rules, as checks a run reports (it never stops on them: a
failed rule is a registration blocker the documents list).

From the 温室气体自愿减排交易管理办法（试行）(MEE, 2023) and the CCER validation rules
(shared/domain/ccer_rules_and_templates.md):

* the project's construction (implementation) started after 8 November 2012;
* credited reductions were generated after 22 September 2020;
* each instalment of reductions is applied for within 5 years of its generation;
* the methodology is one the Ministry has issued (Arts. 8, 10, 17); neither CMS-083-V01 nor
  VM0042 is (the Ministry's list of August 2026);
* a plot is claimed once: not by two projects, not twice in one (checked on geometry by
  :func:`mrv_service.store.claims.overlapping_claims`, reported here).

The dates come from the methodology definition's ``hard_rules`` block. Pure: values in, a list of
findings out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["scheme_checks"]


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def scheme_checks(
    *,
    implementation_start: dt.date,
    vintages: Sequence[int],
    crediting_month: int,
    application_date: dt.date,
    ministry_issued: bool,
    methodology_id: str,
    hard_rules: Mapping[str, Any],
    overlapping_plots: int = 0,
) -> list[dict[str, Any]]:
    """Findings of the hard rules (module notes).

    Parameters
    ----------
    implementation_start : date
        First day of the project's implementation (the crediting start: the first season under
        the project practice).
    vintages : sequence of int
        Vintage years; vintage ``y`` runs from the crediting point of ``y - 1`` to that of ``y``
        (the end of ``crediting_month``).
    application_date : date
        When the reductions are (to be) applied for.
    hard_rules : mapping
        ``construction_start_after``, ``reductions_after`` (ISO dates), ``instalment_window_years``.

    Returns
    -------
    list of dict
        ``rule``, ``status`` (``pass``, ``fail`` or ``blocker``), ``detail``.

    Examples
    --------
    >>> rules = {"construction_start_after": "2012-11-08", "reductions_after": "2020-09-22",
    ...          "instalment_window_years": 5}
    >>> out = scheme_checks(implementation_start=dt.date(2024, 1, 1), vintages=[2024, 2025], crediting_month=8,
    ...                     application_date=dt.date(2031, 1, 1), ministry_issued=False,
    ...                     methodology_id="CMS-083-V01", hard_rules=rules)
    >>> [(f["rule"], f["status"]) for f in out]  # doctest: +NORMALIZE_WHITESPACE
    [('construction_start', 'pass'), ('reductions_after', 'pass'), ('instalment_window', 'fail'),
     ('methodology_issued', 'blocker'), ('unique_claims', 'pass')]
    """
    out = []
    start_after = _date(hard_rules["construction_start_after"])
    out.append(
        {
            "rule": "construction_start",
            "status": "pass" if implementation_start > start_after else "fail",
            "detail": f"implementation started {implementation_start:%Y-%m-%d}; must be after {start_after:%Y-%m-%d}",
        }
    )
    red_after = _date(hard_rules["reductions_after"])
    first = min(vintages) if vintages else None
    begin = (
        max(implementation_start, dt.date(first - 1, crediting_month, 28)) if first else implementation_start
    )
    out.append(
        {
            "rule": "reductions_after",
            "status": "pass" if begin > red_after else "fail",
            "detail": f"the first credited reductions start {begin:%Y-%m-%d}; must be after {red_after:%Y-%m-%d}",
        }
    )
    years = int(hard_rules["instalment_window_years"])
    oldest_ok = dt.date(application_date.year - years, application_date.month, min(application_date.day, 28))
    stale = [y for y in vintages if dt.date(y, crediting_month, 28) < oldest_ok]
    out.append(
        {
            "rule": "instalment_window",
            "status": "fail" if stale else "pass",
            "detail": (
                f"vintages {stale} ended more than {years} years before the application date {application_date:%Y-%m-%d}"
                if stale
                else f"every vintage ends within {years} years before the application date {application_date:%Y-%m-%d}"
            ),
        }
    )
    out.append(
        {
            "rule": "methodology_issued",
            "status": "pass" if ministry_issued else "blocker",
            "detail": (
                f"{methodology_id} is a methodology the Ministry has issued"
                if ministry_issued
                else f"{methodology_id} is not among the methodologies the Ministry has issued under the relaunched "
                "CCER (管理办法 2023 Arts. 8, 10, 17): a registration blocker; the calculation still runs"
            ),
        }
    )
    out.append(
        {
            "rule": "unique_claims",
            "status": "fail" if overlapping_plots else "pass",
            "detail": (
                f"{overlapping_plots} plot(s) overlap plots claimed by another project or twice in this one: refused "
                "(no credit), listed by plot"
                if overlapping_plots
                else "no plot overlaps a plot of another project in the store"
            ),
        }
    )
    return out
