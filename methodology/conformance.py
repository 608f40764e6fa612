"""Conformance of a generated CCER document (the JSON model of :mod:`mrv_service.documents.content`)
with its methodology definition and the relaunched CCER's hard rules.

:func:`check_document` returns one :class:`Finding` per problem:

``missing`` (always fails)
    A required key (:data:`REQUIRED_KEYS`, the keys tools read), an item the definition's
    ``documents`` list requires of this kind of document (a section, or a table in it:
    :data:`ITEM_SECTIONS`), a table number without its value and source, or an item of the
    definition that is not official but is absent from the unverified-items annex.
``out_of_range`` (always fails)
    A value that cannot be right: a plot area not above 0, a credited quantity outside its own
    90 % interval, a date that is not ISO, a crediting period that ends before it starts or starts
    before the construction, an accounting period or a vintage outside the crediting period, plots
    that do not add up to the vintages, a methodology marked as issued that the definition says
    is not.
``unverified`` (informational, never fails)
    Every item of the definition whose status is ``secondary`` or ``reconstructed``
    (:meth:`methodology.definition.Definition.items_by_status`).
``hard_rule`` and ``blocker`` (fail only ``for_registration``)
    The rules of the 管理办法 (2023), re-checked from the document's own dates: construction
    started after ``hard_rules.construction_start_after`` (Art. 10), every vintage's reductions
    generated after ``hard_rules.reductions_after`` (Art. 17), every vintage within
    ``instalment_window_years`` before the application date (Art. 17), no plot claimed twice (the
    ``unique_claims`` entry of the document's blockers annex), and (``blocker``) a methodology the
    Ministry has issued (Arts. 8, 10, 17), plus any other blocker the document's annex lists.

Pure: a dict and a definition in, a list out.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ITEM_SECTIONS",
    "REQUIRED_KEYS",
    "REPORT_REQUIRED_KEYS",
    "STATUSES",
    "Finding",
    "check_document",
    "failing",
]

STATUSES = ("missing", "out_of_range", "unverified", "hard_rule", "blocker")

REQUIRED_KEYS: tuple[str, ...] = (
    "kind",
    "methodology.id",
    "methodology.version",
    "project.name",
    "project.construction_start",
    "crediting_period.start",
    "crediting_period.end",
    "vintages",
    "vintages[].year",
    "vintages[].credited_t_co2e",
    "vintages[].ci90_low_t_co2e",
    "vintages[].ci90_high_t_co2e",
    "plots",
    "plots[].plot_id",
    "plots[].area_ha",
    "plots[].credited_t_co2e",
)
"""Keys every document must hold (``name[]`` : the key of every entry of the list ``name``)."""

REPORT_REQUIRED_KEYS: tuple[str, ...] = ("accounting_period.start", "accounting_period.end")
"""Further keys of an emission-reduction report."""

DOCUMENT_KINDS = {"pdd": "pdd", "reduction_report": "accounting_report"}
"""Document ``kind`` -> the ``document`` value of the definition's items it must hold."""

ITEM_SECTIONS: dict[str, tuple[str, str | None]] = {
    # project design document
    "basic project requirements": ("basic_requirements", None),
    "project type and field": ("type_and_field", None),
    "project description": ("description", None),
    "choice of methodology": ("methodology_choice", None),
    "application of the methodology (boundary, baseline, calculation)": ("methodology_application", None),
    "start date (with evidence)": ("start_date", None),
    "crediting period and lifetime": ("crediting_period", None),
    "environmental impact and sustainable development": ("environment_and_sustainability", None),
    "reality, uniqueness and additionality": ("basic_requirements", "真实性、唯一性和额外性"),
    "monitoring plan": ("methodology_application", "监测计划"),
    "evidence annex (land tenure per plot, start date, data sources)": ("basic_requirements", "证据清单"),
    "public comments and responses": ("environment_and_sustainability", "公众意见"),
    # emission-reduction accounting report
    "accounting period": ("implementation", "核算期"),
    "implementation against the PDD": ("implementation", "实施"),
    "monitoring plan against the methodology, and monitoring against the plan": (
        "monitoring_results",
        "监测与监测计划的符合性",
    ),
    "calibration frequency of instruments": ("data_flow", "校准"),
    "data flow of each parameter (measure, record, transfer, aggregate)": ("data_flow", "数据流"),
    "cross-checks against production, purchase and financial records": ("monitoring_results", "交叉核对"),
    "QA/QC procedures": ("data_flow", "质量保证"),
    "changes to the monitoring plan or parameters": ("implementation", "变更"),
    "calculation of the reductions (accuracy, conservativeness)": ("calculation", None),
    "uniqueness of the reductions": ("credited", "唯一性"),
}
"""Definition item (``documents[].item``) -> (section id, text a table caption or sub-heading of
that section contains, or None when the section itself is the item). An item not listed here is
found by its ``item_zh`` or ``item`` text in a section title, sub-heading or table caption."""

_KEY_SECTIONS = {
    "kind": "cover",
    "methodology": "methodology_choice",
    "project": "cover",
    "project.construction_start": "start_date",
    "crediting_period": "crediting_period",
    "accounting_period": "implementation",
    "vintages": "methodology_application",
    "plots": "participants",
}
_REPORT_KEY_SECTIONS = {"vintages": "credited", "plots": "credited"}

_NUMERIC_TEXT = re.compile(r"^[-+−]?[\d,]*\.?\d+(e[-+]?\d+)?\s*(%|‰)?$", re.I)
_TOLERANCE = 0.0015
"""Absolute tolerance [t CO2e] of comparisons between rounded quantities (3 decimals)."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem of a document."""

    item: str
    """The key path, definition item or rule (``project.construction_start``, ``monitoring plan``,
    ``instalment_window``)."""
    section: str
    """The section id where it belongs."""
    status: str
    """``missing``, ``out_of_range``, ``unverified``, ``hard_rule`` or ``blocker``."""
    why: str
    fix: str
    fails: bool
    """Whether it makes the check fail (exit 1)."""


def failing(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that fail the check."""
    return [f for f in findings if f.fails]


def _get(doc: Any, dotted: str) -> tuple[bool, Any]:
    node = doc
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value is not None else None
    except ValueError:
        return None


def _section_of(key: str, kind: str) -> str:
    root = key.split("[")[0]
    if kind == "reduction_report" and root.split(".")[0] in _REPORT_KEY_SECTIONS:
        return _REPORT_KEY_SECTIONS[root.split(".")[0]]
    return _KEY_SECTIONS.get(root) or _KEY_SECTIONS.get(root.split(".")[0], "(top level)")


def _required(doc: Mapping[str, Any], kind: str) -> list[Finding]:
    out = []
    keys = REQUIRED_KEYS + (REPORT_REQUIRED_KEYS if kind == "reduction_report" else ())
    for key in keys:
        if "[]." in key:
            lst, sub = key.split("[].")
            found, items = _get(doc, lst)
            if not found or not isinstance(items, list) or not items:
                continue  # reported for the list itself
            lacking = [i for i, x in enumerate(items) if not isinstance(x, Mapping) or _blank(x.get(sub))]
            if lacking:
                out.append(
                    Finding(
                        key,
                        _section_of(lst, kind),
                        "missing",
                        f"{len(lacking)} of {len(items)} entries of {lst} have no {sub} (first: entry {lacking[0] + 1})",
                        f"give every entry of {lst} its {sub}",
                        True,
                    )
                )
            continue
        found, value = _get(doc, key)
        if key in ("vintages", "plots"):
            if not found or not isinstance(value, list) or not value:
                out.append(
                    Finding(
                        key,
                        _section_of(key, kind),
                        "missing",
                        f"the document has no {key}" if not found else f"{key} is empty or not a list",
                        f"add {key}: a list with an entry per {'vintage' if key == 'vintages' else 'plot'}",
                        True,
                    )
                )
            continue
        if not found or _blank(value):
            out.append(
                Finding(
                    key,
                    _section_of(key, kind),
                    "missing",
                    f"required key {key} is {'absent' if not found else 'empty'}",
                    f"add {key} to the document (tools that read CCER documents rely on it)",
                    True,
                )
            )
    return out


def _texts(section: Mapping[str, Any]) -> list[str]:
    """Title, sub-headings and table and figure captions of a section."""
    out = [str(section.get("title_zh") or ""), str(section.get("title_en") or "")]
    for block in section.get("blocks") or []:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "heading":
            out.append(str(block.get("text") or ""))
        if block.get("type") in ("table", "figure"):
            out += [str(block.get("caption_zh") or ""), str(block.get("caption_en") or "")]
    return out


def _items(doc: Mapping[str, Any], definition: Any, kind: str) -> list[Finding]:
    want = DOCUMENT_KINDS.get(kind)
    sections = {
        str(s.get("id")): s for s in (doc.get("sections") or []) if isinstance(s, Mapping) and s.get("id")
    }
    out = []
    for entry in definition.to_dict().get("documents") or []:
        if entry.get("document", "pdd") != want:
            continue
        item, item_zh = str(entry["item"]), str(entry.get("item_zh") or "")
        target = ITEM_SECTIONS.get(item)
        if target is not None:
            sid, marker = target
            sec = sections.get(sid)
            ok = sec is not None and (marker is None or any(marker in t for t in _texts(sec)))
            where = sid
        else:
            hits = [
                sid
                for sid, sec in sections.items()
                if any(x and x in t for t in _texts(sec) for x in (item_zh, item))
            ]
            ok, where = bool(hits), (hits[0] if hits else "(none)")
        if not ok:
            what = f"section {where!r}" + (
                f" with a table or sub-heading on {target[1]!r}" if target and target[1] else ""
            )
            out.append(
                Finding(
                    item,
                    where,
                    "missing",
                    f"the definition {definition.id} requires {item_zh or item} ({item}) in the {kind}; "
                    f"the document has no {what if target else 'section or table naming it'} "
                    f"(source: {' '.join(str(entry.get('source', '')).split())})",
                    f"add {what if target else 'a section or table titled ' + repr(item_zh or item)} "
                    "(regenerate it with `mrv document PROJECT`)",
                    True,
                )
            )
    return out


def _tables(doc: Mapping[str, Any]) -> list[Finding]:
    values = doc.get("values")
    if not isinstance(values, Mapping):
        return [
            Finding(
                "values",
                "(top level)",
                "missing",
                "the document has no values: its numbers cannot be traced to their inputs",
                "add values: {key: {value, unit, source}} for every number in a table",
                True,
            )
        ]
    out = []
    for section in doc.get("sections") or []:
        for block in section.get("blocks") or []:
            if not isinstance(block, Mapping) or block.get("type") != "table":
                continue
            rows, keys = block.get("rows") or [], block.get("value_keys")
            tid = f"table {block.get('id')}"
            if not isinstance(keys, list) or len(keys) != len(rows):
                out.append(
                    Finding(
                        f"{tid}.value_keys",
                        str(section.get("id")),
                        "missing",
                        f"{tid} ({block.get('caption_en')}) has no value_keys for each row",
                        "give value_keys: one key (or null) per cell",
                        True,
                    )
                )
                continue
            bad: list[str] = []
            for r, (row, krow) in enumerate(zip(rows, keys, strict=True)):
                for c, cell in enumerate(row):
                    numeric = _number(cell) is not None or (
                        isinstance(cell, str) and bool(_NUMERIC_TEXT.match(cell.strip()))
                    )
                    if not numeric:
                        continue
                    key = krow[c] if isinstance(krow, list) and c < len(krow) else None
                    entry = values.get(key) if key is not None else None
                    source = entry.get("source") if isinstance(entry, Mapping) else None
                    if not isinstance(source, Mapping) or _blank(source.get("inputs")):
                        bad.append(f"row {r + 1} column {c + 1} ({cell!r}, key {key!r})")
                    elif _number(cell) is not None and _number(entry.get("value")) != _number(cell):
                        bad.append(f"row {r + 1} column {c + 1} ({cell!r} differs from values[{key!r}])")
            if bad:
                out.append(
                    Finding(
                        f"{tid}.values",
                        str(section.get("id")),
                        "missing",
                        f"{len(bad)} number(s) of {tid} ({block.get('caption_en')}) have no value with a source: "
                        + "; ".join(bad[:5])
                        + (" ..." if len(bad) > 5 else ""),
                        "register each number in values with its source (inputs, parameter, equation)",
                        True,
                    )
                )
    return out


def _ranges(doc: Mapping[str, Any], definition: Any, kind: str) -> list[Finding]:
    out = []

    def bad(item: str, why: str, fix: str, section: str | None = None) -> None:
        out.append(Finding(item, section or _section_of(item, kind), "out_of_range", why, fix, True))

    dates: dict[str, dt.date] = {}
    for key in (
        "project.construction_start",
        "crediting_period.start",
        "crediting_period.end",
        "accounting_period.start",
        "accounting_period.end",
    ):
        found, value = _get(doc, key)
        if not found or _blank(value):
            continue
        d = _date(value)
        if d is None:
            bad(key, f"{value!r} is not an ISO date", "write it as YYYY-MM-DD")
        else:
            dates[key] = d
    cs, ce = dates.get("crediting_period.start"), dates.get("crediting_period.end")
    start = dates.get("project.construction_start")
    if cs and ce and ce < cs:
        bad(
            "crediting_period.end",
            f"the crediting period ends ({ce}) before it starts ({cs})",
            "correct the crediting period",
        )
    if cs and start and cs < start:
        bad(
            "crediting_period.start",
            f"the crediting period starts ({cs}) before the construction start ({start})",
            "start the crediting period on or after the construction start",
        )
    if kind == "reduction_report":
        a_s, a_e = dates.get("accounting_period.start"), dates.get("accounting_period.end")
        if a_s and a_e and a_e < a_s:
            bad(
                "accounting_period.end",
                f"the accounting period ends ({a_e}) before it starts ({a_s})",
                "correct it",
            )
        if cs and ce and a_s and a_e and (a_s < cs or a_e > ce):
            bad(
                "accounting_period",
                f"the accounting period {a_s} to {a_e} is not inside the crediting period {cs} to {ce} "
                "(CNCA-CCER-01:2023 section 2: 核算期 lies within the 计入期)",
                "choose an accounting period inside the crediting period",
            )
    vintages = doc.get("vintages") if isinstance(doc.get("vintages"), list) else []
    years = []
    for v in vintages:
        if not isinstance(v, Mapping):
            continue
        y = v.get("year")
        years.append(y)
        c, lo, hi = (_number(v.get(k)) for k in ("credited_t_co2e", "ci90_low_t_co2e", "ci90_high_t_co2e"))
        if any(
            v.get(k) is not None and x is None
            for k, x in zip(
                ("credited_t_co2e", "ci90_low_t_co2e", "ci90_high_t_co2e"), (c, lo, hi), strict=True
            )
        ):
            bad(
                f"vintages[{y}]",
                f"vintage {y}: a credited quantity or its interval is not a number",
                "give numbers [t CO2e]",
            )
            continue
        if (
            c is not None
            and lo is not None
            and hi is not None
            and not (lo - _TOLERANCE <= c <= hi + _TOLERANCE)
        ):
            bad(
                f"vintages[{y}].credited_t_co2e",
                f"vintage {y}: credited {c} t CO2e lies outside its own 90 % interval [{lo}, {hi}]",
                "recompute the vintage: the estimate must lie inside its interval",
            )
        end = _date(v.get("period_end")) or (dt.date(int(y), 12, 31) if isinstance(y, int) else None)
        vstart = _date(v.get("period_start")) or (dt.date(int(y), 1, 1) if isinstance(y, int) else None)
        if cs and ce and end and vstart and (vstart < cs or end > ce):
            bad(
                f"vintages[{y}]",
                f"vintage {y} ({vstart} to {end}) is not inside the crediting period {cs} to {ce}",
                "credit only vintages inside the crediting period",
            )
        a_s, a_e = dates.get("accounting_period.start"), dates.get("accounting_period.end")
        if kind == "reduction_report" and a_s and a_e and end and not (a_s <= end <= a_e):
            bad(
                f"vintages[{y}]",
                f"vintage {y} (crediting point {end}) is not in the accounting period {a_s} to {a_e}",
                "report only the vintages of the accounting period",
            )
    dup = sorted({y for y in years if years.count(y) > 1}, key=str)
    if dup:
        bad("vintages[].year", f"vintage(s) {dup} listed more than once", "list each vintage once")
    plots = doc.get("plots") if isinstance(doc.get("plots"), list) else []
    small = [
        str(p.get("plot_id"))
        for p in plots
        if isinstance(p, Mapping) and _number(p.get("area_ha")) is not None and p["area_ha"] <= 0
    ]
    nonnum = [
        str(p.get("plot_id"))
        for p in plots
        if isinstance(p, Mapping) and p.get("area_ha") is not None and _number(p.get("area_ha")) is None
    ]
    if small or nonnum:
        ids = small + nonnum
        bad(
            "plots[].area_ha",
            f"{len(ids)} plot(s) with an area that is not a number above 0 ha: {', '.join(ids[:5])}",
            "correct the plot boundaries (mrv ingest plots) and regenerate the document",
        )
    ids = [p.get("plot_id") for p in plots if isinstance(p, Mapping)]
    dup_ids = sorted({str(i) for i, n in collections.Counter(ids).items() if n > 1})  # list.count: O(n^2)
    if dup_ids:
        bad(
            "plots[].plot_id",
            f"plot id(s) listed more than once: {', '.join(dup_ids[:5])}",
            "list each plot once",
        )
    pc = [_number(p.get("credited_t_co2e")) for p in plots if isinstance(p, Mapping)]
    vc = [_number(v.get("credited_t_co2e")) for v in vintages if isinstance(v, Mapping)]
    if plots and vintages and all(x is not None for x in pc + vc):
        sp, sv = sum(pc), sum(vc)
        tol = 0.0001 * len(pc) + 0.01
        if abs(sp - sv) > tol:
            bad(
                "plots[].credited_t_co2e",
                f"the plots add up to {sp:.3f} t CO2e, the vintages to {sv:.3f} t CO2e",
                "regenerate the document from one run: plots and vintages must add up",
            )
    if definition is not None:
        found, issued = _get(doc, "methodology.ministry_issued")
        if found and issued is True and not definition.ministry_issued:
            bad(
                "methodology.ministry_issued",
                f"the document says {definition.id} was issued by the Ministry; its definition says it was not",
                "set methodology.ministry_issued to false",
                "methodology_choice",
            )
        found, mid = _get(doc, "methodology.id")
        if found and mid and str(mid) != definition.id:
            bad(
                "methodology.id",
                f"the document names {mid}, checked against {definition.id}",
                "check it against its own definition",
            )
    return out


def _hard_rules(
    doc: Mapping[str, Any], definition: Any, kind: str, application_date: dt.date, for_registration: bool
) -> list[Finding]:
    out = []
    rules = definition.rule("hard_rules") if definition is not None else {}

    def add(rule: str, section: str, status: str, why: str, fix: str) -> None:
        out.append(Finding(rule, section, status, why, fix, for_registration))

    start = _date(_get(doc, "project.construction_start")[1])
    after = _date(rules.get("construction_start_after", "2012-11-08"))
    if start and after and not start > after:
        add(
            "construction_start",
            "start_date",
            "hard_rule",
            f"construction started {start}; the 管理办法 (2023) Art. 10 requires after {after}",
            "only projects whose construction started after that date can be registered",
        )
    red_after = _date(rules.get("reductions_after", "2020-09-22"))
    cs = _date(_get(doc, "crediting_period.start")[1])
    vintages = (
        [v for v in (doc.get("vintages") or []) if isinstance(v, Mapping)]
        if isinstance(doc.get("vintages"), list)
        else []
    )
    early, stale = [], []
    years = int(rules.get("instalment_window_years", 5))
    oldest_ok = dt.date(application_date.year - years, application_date.month, min(application_date.day, 28))
    for v in vintages:
        y = v.get("year")
        if not isinstance(y, int):
            continue
        vstart = _date(v.get("period_start")) or max(
            x for x in (dt.date(y, 1, 1), start, cs) if x is not None
        )
        vend = _date(v.get("period_end")) or dt.date(y, 12, 31)
        if red_after and vstart <= red_after:
            early.append(f"{y} (from {vstart})")
        if vend < oldest_ok:
            stale.append(f"{y} (to {vend})")
    sec = "credited" if kind == "reduction_report" else "crediting_period"
    if early:
        add(
            "reductions_after",
            sec,
            "hard_rule",
            f"vintage(s) {', '.join(early)} include reductions generated on or before {red_after} (管理办法 2023 Art. 17)",
            f"credit only reductions generated after {red_after}",
        )
    if stale:
        add(
            "instalment_window",
            sec,
            "hard_rule",
            f"vintage(s) {', '.join(stale)} ended more than {years} years before the application date "
            f"{application_date} (管理办法 2023 Art. 17)",
            "apply within the window (give --application-date), or leave those vintages out",
        )
    annexes = doc.get("annexes") if isinstance(doc.get("annexes"), Mapping) else None
    blockers = annexes.get("blockers") if annexes is not None else None
    if not isinstance(blockers, list):
        add(
            "unique_claims",
            "annex_blockers",
            "hard_rule",
            "the document has no blockers annex: the uniqueness of its plots is not evidenced",
            "regenerate it from a run (its scheme checks include the plot-overlap check)",
        )
        blockers = []
    handled = {"construction_start", "reductions_after", "instalment_window", "methodology_issued"}
    for b in blockers:
        if not isinstance(b, Mapping) or b.get("status") == "pass":
            continue
        rule = str(b.get("rule"))
        if rule == "unique_claims":
            add(
                "unique_claims",
                "annex_blockers",
                "hard_rule",
                f"plots are claimed twice: {b.get('detail')} (管理办法 2023 Arts. 10, 48 唯一性)",
                "remove the overlapping plots or resolve the claim with the other project",
            )
        elif rule not in handled:
            add(
                rule,
                "annex_blockers",
                "blocker",
                str(b.get("detail") or "listed as a blocker"),
                "resolve it before registration",
            )
    issued = _get(doc, "methodology.ministry_issued")[1]
    if issued is not True:
        mid = _get(doc, "methodology.id")[1]
        add(
            "methodology_issued",
            "methodology_choice",
            "blocker",
            f"{mid} is not a methodology the Ministry of Ecology and Environment has issued under the relaunched CCER "
            "(管理办法 2023 Arts. 8, 10, 17)",
            "register under an MEE-issued methodology covering the project, when there is one",
        )
    return out


def check_document(
    doc: Mapping[str, Any],
    definition: Any,
    *,
    for_registration: bool,
    application_date: dt.date | None = None,
) -> list[Finding]:
    """Check a document model against its methodology definition (module notes).

    Parameters
    ----------
    doc : mapping
        The document (``pdd.json`` or ``reduction_report.json`` parsed).
    definition : methodology.definition.Definition or None
        Its methodology definition; None when it cannot be loaded (only the keys, ranges and
        hard rules are checked then, and a finding says so).
    for_registration : bool
        Whether the hard rules and blockers fail (they are listed either way).
    application_date : date, optional
        The date of the application for the instalment window (default: today).

    Returns
    -------
    list of Finding
        Failing ones first (in the order missing, out_of_range, hard_rule, blocker), then the
        informational ones.
    """
    if not isinstance(doc, Mapping):
        return [
            Finding(
                "(document)",
                "(top level)",
                "missing",
                f"the document is a {type(doc).__name__}, not an object",
                "give the JSON document",
                True,
            )
        ]
    application_date = application_date or dt.date.today()
    kind = str(doc.get("kind") or "pdd")
    findings = _required(doc, kind)
    if kind not in DOCUMENT_KINDS and "kind" in doc:
        findings.append(
            Finding(
                "kind",
                "cover",
                "out_of_range",
                f"unknown document kind {doc.get('kind')!r}",
                f"use one of {', '.join(DOCUMENT_KINDS)}",
                True,
            )
        )
    if definition is None:
        findings.append(
            Finding(
                "methodology.id",
                "methodology_choice",
                "missing",
                "the methodology definition could not be loaded: the items it requires were not checked",
                "name a shipped definition in methodology.id (see methodology/definitions)",
                True,
            )
        )
    else:
        findings += _items(doc, definition, kind)
    findings += _tables(doc)
    findings += _ranges(doc, definition, kind)
    findings += _hard_rules(doc, definition, kind, application_date, for_registration)
    if definition is not None:
        findings += _unverified_items(doc, definition)
    order = {s: i for i, s in enumerate(("missing", "out_of_range", "hard_rule", "blocker", "unverified"))}
    return sorted(findings, key=lambda f: (not f.fails, order.get(f.status, 9)))


def _unverified_items(doc: Mapping[str, Any], definition: Any) -> list[Finding]:
    out = []
    annexes = doc.get("annexes") if isinstance(doc.get("annexes"), Mapping) else {}
    listed = {str(x.get("path")) for x in (annexes.get("unverified_items") or []) if isinstance(x, Mapping)}
    absent = []
    for status, paths in definition.items_by_status().items():
        for path in paths:
            out.append(
                Finding(
                    path,
                    "annex_unverified",
                    "unverified",
                    f"{status}: not read in the official text of {definition.id}",
                    "check it against the official text and mark it official in the definition, or keep it in the annex",
                    False,
                )
            )
            if path not in listed:
                absent.append(path)
    if absent:
        out.append(
            Finding(
                "annexes.unverified_items",
                "annex_unverified",
                "missing",
                f"the annex of unverified items lacks {len(absent)} item(s) of {definition.id}: "
                + ", ".join(absent[:5])
                + (" ..." if len(absent) > 5 else ""),
                "list every secondary or reconstructed item of the definition in the annex (regenerate the document)",
                True,
            )
        )
    return out
