"""The emission-reduction accounting report (减排量核算报告) as a document model
(:mod:`mrv_service.documents.content`), for one accounting period (核算期) inside the crediting period.

Sections, in this order (CNCA-CCER-01:2023 section 5 verification items; 管理办法 (2023) Arts. 18-20)::

    implementation       实施情况 (accounting period, implementation against the PDD, changes)
    monitoring_results   监测结果 (monitoring against the plan, practices verified from imagery,
                         flags by practice and severity and how each was resolved, cross-checks)
    data_flow            数据流 (per monitoring parameter: measured -> recorded -> transferred ->
                         aggregated, naming the files and tables; calibration and QA/QC; uploads)
    calculation          计算过程 (removals -> deduction -> buffer -> emissions -> leakage -> net)
    credited             减排量 (per vintage in the accounting period; uniqueness)
    annex_unverified     附件一 未经官方原文核实的内容
    annex_blockers       附件二 注册障碍

A vintage belongs to the period when its crediting point (the end of its crediting month) falls
in it. Pure: the run's files are read by :func:`mrv_service.documents.content.read_run`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mrv_service.documents.content import (
    TEMPLATE_NOTE,
    Builder,
    DocumentContentError,
    Num,
    RunFiles,
    count_num,
    header,
    location_map_data,
    param_num,
    plot_rows,
    practice_kind_zh,
    register_vintage,
    severity_zh,
    source_text,
    status_zh,
    unit_text,
    unverified_items,
    unverified_table,
    vintage_chart_data,
    vintage_rows,
)
from mrv_service.documents.pdd_content import OWNER, RUN, add_blockers_annex, upload_text

__all__ = ["REPORT_SECTIONS", "report_document"]

REPORT_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("implementation", "实施情况", "Implementation"),
    ("monitoring_results", "监测结果", "Monitoring results"),
    ("data_flow", "数据流", "Data flow"),
    ("calculation", "计算过程", "Calculation"),
    ("credited", "减排量", "Credited reductions"),
    ("annex_unverified", "附件一 未经官方原文核实的内容", "Annex 1: items not verified in official text"),
    ("annex_blockers", "附件二 注册障碍", "Annex 2: registration blockers"),
)
"""(id, Chinese title, English title) of the report's sections, in order."""

_TITLES = {sid: (zh, en) for sid, zh, en in REPORT_SECTIONS}

RESOLUTION = {
    "critical": "按影像检测到的做法核算（方法学定义 verification_rule: {rule}），基准线回顾期同样处理",
    "warning": "按记录的做法核算，列入现场核查清单",
    "info": "仅作提示，不影响核算",
    "unverifiable": "按记录的做法核算，其为真的概率（确认率）计入蒙特卡洛不确定性；需业主补充证据",
}
"""How each flag severity is resolved (models.verification.reconcile, the project's default rule)."""

ACTIVITIES = {
    "practice": ("tillage", "residue"),
    "fertiliser": ("fertiliser",),
    "manure": ("manure",),
    "harvest": ("harvest",),
}


def _section(b: Builder, sid: str) -> list[dict[str, Any]]:
    zh, en = _TITLES[sid]
    return b.section(sid, zh, en)


def parameter_kind(m: Mapping[str, Any]) -> str:
    """The kind of data a monitoring parameter of the definition is (for its data flow)."""
    sym = str(m.get("symbol") or "").lower()
    name = str(m.get("name") or "").lower()
    if sym.startswith("a_") or "area" in name:
        return "area"
    if sym.startswith("practice") or "practice" in name or "tillage" in name:
        return "practice"
    if sym == "f_sn" or "synthetic" in name:
        return "fertiliser"
    if sym == "f_on" or "manure" in name or "organic fert" in name:
        return "manure"
    if sym.startswith("yield") or "yield" in name:
        return "harvest"
    if sym.startswith("fc") or "diesel" in name or "fuel" in name:
        return "diesel"
    if "soil" in name or sym.startswith(("som", "oc")):
        return "soil"
    if "weather" in name or "climate" in name:
        return "weather"
    return "other"


def _flow(kind: str, uploads: list[dict[str, Any]], m: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
    """(measured, recorded, transferred, aggregated, calibration) of a parameter kind."""
    logs = upload_text(uploads, "logs")
    log_transfer = "`mrv ingest logs` 校验后写入数据库表 activity_records（行散列见 run_manifest.json inputs.store_rows）"
    emissions = "methodology.emissions（IPCC 2019 Tier 1）→ summary.json accounting.emissions_by_source_t_co2e；plot_results.csv emissions_t_co2e"
    flows = {
        "area": (
            "实地测量或影像勾绘地块边界 (GIS survey or imagery digitising)",
            f"地块矢量文件 {upload_text(uploads, 'plots')}",
            "`mrv ingest plots` 校验几何与坐标系后写入数据库表 plots（面积按所在 UTM 带计算）",
            "plot_results.csv area_ha；summary.json store.hectares",
            "GNSS/影像配准精度由业主以控制点核查",
        ),
        "practice": (
            "农户逐项记录耕作、秸秆处理并签字确认；Sentinel-2 L2A 影像观测",
            f"农事记录 {logs}；影像特征 plot_features.nc",
            log_transfer + "；影像经 STAC 检索、云掩膜后按地块统计",
            "practice_verdicts.csv、flags.csv → 模型中的各地块各季做法 → plot_results.csv baseline_practice、project_practice",
            "做法检测模型以田间标签训练并按村分组交叉验证（summary.json verification.detectors，含训练数据散列）",
        ),
        "fertiliser": (
            "购肥票据与农户确认的施氮量",
            f"农事记录 {logs}（fertiliser, n_rate）",
            log_transfer,
            emissions,
            "经销商计量器具按法定计量检定（业主）",
        ),
        "manure": (
            "有机肥施用量与含氮量、来源（场内或外购）",
            f"农事记录 {logs}（manure, manure_rate, manure_n, manure_c）",
            log_transfer,
            emissions + "；泄漏 summary.json accounting.vintages.*.leakage",
            "含量采用国家表值或化验（业主）",
        ),
        "harvest": (
            "农户记录或收获测产",
            f"农事记录 {logs}（harvest, yield）",
            log_transfer,
            "秸秆氮（IPCC 2019 式 11.6）→ " + emissions,
            "测产衡器检定（业主）",
        ),
        "diesel": (
            "加油票据或农机合作社作业记录",
            f"农事记录 {logs}（diesel）",
            log_transfer,
            "农机柴油 CO2 → " + emissions,
            "加油机计量检定（业主）",
        ),
        "soil": (
            "分层随机布点取样，0-30 cm，实验室测定有机质/有机碳和容重",
            f"土壤样品文件 {upload_text(uploads, 'soil')}",
            "`mrv ingest soil` 校验后写入数据库表 soil_samples",
            "models.soil.initial_soc_stock → plot_results.csv soc_initial_t_c_ha → RothC 初始状态",
            "CMA/CNAS 认可实验室，每批附标准样品；同一实验室、同一方法",
        ),
        "weather": (
            "气象台站或格点产品逐月观测",
            f"气象文件 {upload_text(uploads, 'weather')}",
            "`mrv ingest weather` 校验后写入数据库表 weather",
            "RothC 逐月驱动数据 → summary.json weather",
            "气象台站仪器由气象部门检定",
        ),
    }
    return flows.get(
        kind,
        (" ".join(str(m.get("source_of_data", "")).split()), "—", "—", "—", "—"),
    )


def _records(kind: str, inputs: Any, start: dt.date, end: dt.date) -> tuple[int | None, str]:
    """Records of a parameter in the accounting period and what they are."""
    if kind == "area":
        return len(inputs.plots), "plots table rows (the plots monitored)"
    if kind in ACTIVITIES or kind == "diesel":
        n = sum(_activity_records(kind, acts, start, end) for _, acts in inputs.activity_frames())
        if kind == "diesel":
            return n, f"activity_records rows dated {start} to {end} with a diesel amount"
        return n, f"activity_records rows dated {start} to {end} of type {', '.join(ACTIVITIES[kind])}"
    if kind == "soil":
        return len(inputs.soil_layers), "soil_samples rows with a plot (layers)"
    if kind == "weather":
        w = inputs.weather_months
        if w is None or w.empty:
            return 0, "weather rows"
        month = pd.to_datetime(w["month"].astype(str)).dt.date
        n = int(((month >= start.replace(day=1)) & (month <= end)).sum())
        return n, f"weather rows (station-months) from {start:%Y-%m} to {end:%Y-%m}"
    return None, ""


def _activity_records(kind: str, acts: pd.DataFrame | None, start: dt.date, end: dt.date) -> int:
    """Activity records of a parameter dated ``start`` to ``end`` (diesel: with an amount)."""
    if acts is None or acts.empty:
        return 0
    d = pd.to_datetime(acts["date"]).dt.date
    a = acts[(d >= start) & (d <= end)]
    if kind == "diesel":
        return int(pd.to_numeric(a["diesel"], errors="coerce").notna().sum()) if "diesel" in a.columns else 0
    return int(a["activity"].isin(ACTIVITIES[kind]).sum())


def report_document(
    run: RunFiles,
    inputs: Any,
    definition: Any,
    start: dt.date,
    end: dt.date,
    *,
    id_salt: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The report model of a run for the accounting period ``start`` to ``end`` (module notes)."""
    p = inputs.project
    if start > end:
        raise DocumentContentError(
            f"the accounting period {start} to {end} ends before it starts; give START:END"
        )
    if start < p.crediting_start or end > p.crediting_end:
        raise DocumentContentError(
            f"the accounting period {start} to {end} is not inside the crediting period "
            f"{p.crediting_start} to {p.crediting_end}; choose a period inside it"
        )
    every = vintage_rows(run, inputs)
    vintages = [v for v in every if start <= dt.date.fromisoformat(v["period_end"]) <= end]
    if not vintages:
        ends = ", ".join(f"{v['year']} ({v['period_end']})" for v in every) or "none"
        raise DocumentContentError(
            f"no vintage of run {run.summary.get('run', {}).get('run_id')} ends in the accounting period {start} to {end} "
            f"(vintages and their crediting points: {ends}); choose a period that holds one"
        )
    years = [v["year"] for v in vintages]
    b = Builder()
    s = run.summary
    acc = s["accounting"]
    uploads = (run.manifest or {}).get("inputs", {}).get("uploads") or list(inputs.uploads or [])
    data = definition.to_dict()
    doc = header("reduction_report", run, inputs, definition, now=now)
    doc["accounting_period"] = {"start": start.isoformat(), "end": end.isoformat()}
    plots = plot_rows(run, id_salt, years)
    vints = {v["year"]: register_vintage(b, run, v) for v in vintages}
    src_pr = source_text(run, "plot_results.csv")
    pr = run.plot_results

    def total(field: str, key: str) -> Num | None:
        return b.num(
            f"accounting_period.{key}",
            sum(float(v[field]) for v in vintages),
            "t CO2e",
            source_text(run, "summary.json", f"accounting.vintages[{', '.join(map(str, years))}].{key}"),
            None,
            "sum over the vintages of the accounting period",
            digits=3,
        )

    credited_total = total("credited_t_co2e", "credited_t_co2e")

    # -- implementation -------------------------------------------------------------------------------
    blocks = _section(b, "implementation")
    b.para(blocks, TEMPLATE_NOTE.replace("本文件", "本报告"))
    b.heading(blocks, "核算期 Accounting period")
    b.table(
        blocks,
        "核算期与项目信息",
        "Accounting period and project",
        ["项目 Item", "内容 Content"],
        [
            ["项目名称 Project", f"{p.name_zh or p.name} ({p.name})"],
            ["项目业主 Owner", p.organisation],
            ["方法学 Methodology", f"{definition.id} ({definition.title}), 版本 {definition.version}"],
            ["核算期 Accounting period", f"{start.isoformat()} — {end.isoformat()}"],
            ["计入期 Crediting period", f"{p.crediting_start.isoformat()} — {p.crediting_end.isoformat()}"],
            [
                "本核算期的年度 Vintages",
                "、".join(f"{v['year']}（{v['period_start']} — {v['period_end']}）" for v in vintages),
            ],
            ["项目设计文件 PDD", f"pdd.json / pdd.docx of run {doc['run_id']}"],
            ["本核算期计入减排量 Credited in the period (t CO2e)", credited_total],
        ],
    )
    b.heading(blocks, "项目实施与设计文件的一致性 Implementation against the PDD")
    b.para(
        blocks,
        "设计文件中各地块的项目做法为农户记录的做法；实施情况以影像逐季核实：核实 (verified) 表示影像与记录一致，严重 (critical) 表示影像以高概率显示其他做法，"
        "该季按检测到的做法核算。",
    )
    rows: list[list[Any]] = [
        [
            "参与地块 Plots",
            count_num(b, "implementation.plots", len(pr), "plots", src_pr + ", rows"),
            b.num(
                "implementation.area_ha",
                pr["area_ha"].sum(),
                "ha",
                src_pr + " column area_ha",
                None,
                "sum_p A_p",
                digits=4,
            ),
        ],
    ]
    sw = (s.get("rothc") or {}).get("switching_plots") or {}
    if "plots" in sw:
        rows.append(
            [
                "改变做法的地块 Plots that changed practice",
                count_num(
                    b,
                    "implementation.switching_plots",
                    sw["plots"],
                    "plots",
                    source_text(run, "summary.json", "rothc.switching_plots.plots"),
                ),
                b.num(
                    "implementation.switching_area_ha",
                    sw.get("hectares"),
                    "ha",
                    source_text(run, "summary.json", "rothc.switching_plots.hectares"),
                    None,
                    None,
                ),
            ]
        )
    refused = acc.get("refused_plots") or []
    rows.append(
        [
            "因重叠被拒的地块 Plots refused for overlap",
            count_num(
                b,
                "implementation.refused_plots",
                len({r.get("plot_id") for r in refused}),
                "plots",
                source_text(run, "summary.json", "accounting.refused_plots"),
            ),
            None,
        ]
    )
    b.table(blocks, "参与地块与面积", "Plots and area", ["项目 Item", "地块数 Plots", "面积 Area (ha)"], rows)
    verdicts = run.verdict_counts
    if verdicts is not None and len(verdicts):
        vv = verdicts[verdicts["year"].isin(years)]
        statuses = ["verified", "warning", "critical", "unverifiable"]
        rows = []
        for (practice, year), g in vv.groupby(["practice", "year"], sort=True):
            k = f"implementation.verdicts.{practice}.{year}"
            rsrc = source_text(run, "practice_verdicts.csv", f"rows practice {practice}, year {year}")
            counts = g.set_index("status")["n"]
            rows.append(
                [
                    practice_kind_zh(str(practice)),
                    b.year(int(year), source_text(run, "practice_verdicts.csv", "column year")),
                    count_num(b, f"{k}.logged", int(g["n"].sum()), "plot-seasons", rsrc),
                    *[
                        count_num(
                            b, f"{k}.{st}", int(counts.get(st, 0)), "plot-seasons", rsrc + f", status {st}"
                        )
                        for st in statuses
                    ],
                ]
            )
        b.table(
            blocks,
            "核算期内各季做法的影像核实",
            "Practices of the accounting period's seasons verified from imagery",
            [
                "做法 Practice",
                "年度 Season",
                "记录季数 Logged",
                "核实 Verified",
                "警告 Warning",
                "严重矛盾 Critical",
                "无法核实 Unverifiable",
            ],
            rows,
        )
    b.heading(blocks, "监测计划或参数的变更 Changes to the monitoring plan or parameters")
    from methodology.definition import definition_digest

    try:
        digest = definition_digest(definition.id)[:16]
    except Exception:  # noqa: BLE001 - a definition given as a path: the digest is informational
        digest = "—"
    owner_settings = sorted(_flatten(p.stored_settings))
    b.table(
        blocks,
        "监测计划或参数的变更",
        "Changes to the monitoring plan or parameters",
        ["项目 Item", "变更 Change", "说明 Note"],
        [
            [
                "监测计划 Monitoring plan",
                "无变更 (none)",
                f"沿用设计文件中的方法学定义 {definition.id} 监测表",
            ],
            [
                "方法学参数 Parameters",
                "无变更 (none)",
                f"方法学定义内容散列 SHA-256 {digest}…（run_manifest.json stages.models.inputs.methodology）",
            ],
            [
                "业主设置 Owner's settings",
                "见说明",
                "、".join(owner_settings) if owner_settings else "全部为默认值 (all defaults)",
            ],
        ],
    )

    # -- monitoring results ---------------------------------------------------------------------------
    blocks = _section(b, "monitoring_results")
    b.heading(blocks, "监测与监测计划的符合性 Monitoring against the plan")
    b.para(
        blocks, "监测计划与方法学定义一致（同一监测表）；下表将核算期内实际取得的记录与监测计划的频次对照。"
    )
    rows = []
    for m in data["monitoring"]:
        kind = parameter_kind(m)
        n, what = _records(kind, inputs, start, end)
        key = f"monitoring.{kind}.records" if kind != "other" else f"monitoring.{m['name']}.records"
        num = count_num(b, key, n, "records", what) if n is not None else None
        rows.append(
            [
                f"{m.get('name_zh') or ''} ({m['name']})".strip(),
                m.get("frequency") or "—",
                num,
                "符合 (conforms)" if n else ("缺失 (missing)" if n == 0 else "业主提供 (owner)"),
            ]
        )
    b.table(
        blocks,
        "监测与监测计划的符合性",
        "Monitoring against the monitoring plan",
        [
            "参数 Parameter",
            "计划频次 Planned frequency",
            "核算期记录数 Records in the period",
            "符合性 Conformity",
        ],
        rows,
    )
    ver = s.get("verification") or {}
    b.heading(blocks, "遥感核实与标记处理 Imagery verification and flags")
    rule = (definition.rule("verification_rule") or {}).get("rule", "detected")
    b.para(
        blocks,
        "每个地块每季的耕作和秸秆处理记录与 Sentinel-2 影像检测比对；不一致、日期偏差、无法核实等情况生成标记 (flags.csv)，按严重程度处理。"
        "下表为全部季节（回顾期和项目期）的标记，及方法学定义的默认处理规则。",
    )
    rows = []
    fsrc = source_text(run, "summary.json", "verification.flags_by_practice_and_severity")
    for practice, sev in sorted((ver.get("flags_by_practice_and_severity") or {}).items()):
        for severity, n in sorted(sev.items()):
            rows.append(
                [
                    practice_kind_zh(practice),
                    severity_zh(severity),
                    count_num(
                        b,
                        f"flags.{practice}.{severity}",
                        n,
                        "flags",
                        fsrc + f".{practice}.{severity} (flags.csv rows)",
                    ),
                    RESOLUTION.get(severity, "—").format(rule=rule),
                ]
            )
    rows.append(
        [
            "合计 Total",
            "",
            count_num(
                b,
                "flags.total",
                ver.get("flags", 0),
                "flags",
                source_text(run, "summary.json", "verification.flags (flags.csv rows)"),
            ),
            "",
        ]
    )
    b.table(
        blocks,
        "按做法和严重程度统计的标记及其处理",
        "Flags by practice and severity, and how each was resolved",
        ["做法 Practice", "严重程度 Severity", "标记数 Flags", "处理方式 Resolution"],
        rows,
    )
    vc = s.get("verified_credit") or {}
    vsrc = source_text(run, "summary.json", "verified_credit")
    b.table(
        blocks,
        "核实结果对核算的影响",
        "Effect of the verification on the accounting",
        ["项目 Item", "数值 Value", "说明 Note"],
        [
            [
                "核查的地块-季 Plot-seasons checked",
                count_num(
                    b,
                    "verification.plot_seasons",
                    ver.get("plot_seasons"),
                    "plot-seasons",
                    source_text(run, "summary.json", "verification.plot_seasons"),
                ),
                "全部季节",
            ],
            [
                "按检测做法替换的记录 Records replaced by the detected practice",
                count_num(
                    b,
                    "verified_credit.records_replaced",
                    vc.get("records_replaced_by_detected_practice"),
                    "records",
                    vsrc + ".records_replaced_by_detected_practice",
                ),
                f"规则 {vc.get('rule_for_contradicted_seasons', rule)}",
            ],
            [
                "记录为真的期望比例 Expected share of claims true",
                b.num(
                    "verified_credit.expected_share_true",
                    vc.get("expected_share_of_claims_true"),
                    "1",
                    vsrc + ".expected_share_of_claims_true",
                    None,
                    "mean over the claims of the probability that the claim is true (models.verification.credit)",
                ),
                "计入蒙特卡洛抽样",
            ],
        ],
    )
    b.heading(blocks, "交叉核对 Cross-checks")
    b.table(
        blocks,
        "与生产、采购、财务记录的交叉核对",
        "Cross-checks against production, purchase and financial records",
        ["核对 Cross-check", "方法 Method", "状态 Status"],
        [
            ["农事记录与影像 Logs against imagery", "逐季比对（见上表）", RUN],
            ["施肥量与购肥票据 Fertiliser against receipts", "票据汇总与记录施氮量比对", OWNER],
            ["产量与统计 Yields against county statistics", "与县统计年鉴单产比对", OWNER],
            ["柴油与作业记录 Diesel against operation logs", "加油票据与农机作业面积比对", OWNER],
            ["面积与承包合同 Areas against land contracts", "地块面积与合同面积比对", OWNER],
        ],
    )

    # -- data flow -------------------------------------------------------------------------------------
    blocks = _section(b, "data_flow")
    b.para(blocks, "每个监测参数的数据流：测量 → 记录 → 传递 → 汇总，列出本次运行实际使用的文件和数据表。")
    flows = [(m, _flow(parameter_kind(m), uploads, m)) for m in data["monitoring"]]
    b.table(
        blocks,
        "参数数据流（测量、记录、传递、汇总）",
        "Data flow of each parameter (measured, recorded, transferred, aggregated)",
        ["参数 Parameter", "测量 Measured", "记录 Recorded", "传递 Transferred", "汇总 Aggregated"],
        [[f"{m.get('name_zh') or ''} ({m['name']})".strip(), *f[:4]] for m, f in flows],
    )
    b.table(
        blocks,
        "校准频次与质量保证/质量控制",
        "Calibration and QA/QC procedures",
        ["参数 Parameter", "校准 Calibration", "质量保证/质量控制 QA/QC"],
        [
            [
                f"{m.get('name_zh') or ''} ({m['name']})".strip(),
                f[4],
                " ".join(str(m.get("qa_qc", "")).split()),
            ]
            for m, f in flows
        ],
    )
    rows = []
    for u in uploads:
        rows.append(
            [
                str(u.get("file")),
                str(u.get("kind")),
                count_num(
                    b,
                    f"upload.{u.get('upload_id', u.get('file'))}.rows",
                    u.get("rows_total"),
                    "rows",
                    f"run_manifest.json inputs.uploads (upload {u.get('upload_id')})",
                ),
                str(u.get("sha256", ""))[:16] + "…",
                str(u.get("uploaded_at", "—")),
            ]
        )
    digests = (run.manifest or {}).get("inputs", {}).get("store_rows") or inputs.digests
    for table_name, d in sorted(digests.items()):
        rows.append(
            [
                f"数据库表 {table_name}",
                "store",
                count_num(
                    b,
                    f"store.{table_name}.rows",
                    d.get("rows"),
                    "rows",
                    f"run_manifest.json inputs.store_rows.{table_name}",
                ),
                str(d.get("sha256", ""))[:16] + "…",
                "—",
            ]
        )
    b.table(
        blocks,
        "输入文件与数据表（散列可追溯）",
        "Input files and store tables (traceable by hash)",
        ["文件或表 File or table", "类型 Kind", "行数 Rows", "SHA-256", "上传时间 Uploaded"],
        rows,
    )

    # -- calculation ------------------------------------------------------------------------------------
    blocks = _section(b, "calculation")
    b.para(
        blocks,
        "计算按方法学定义逐年度进行：(1) 清除量 = 项目与基准线土壤有机碳变化之差 × 面积 × 44/12；(2) 不确定性扣减；(3) 缓冲；"
        "(4) 项目相对基准线的排放增量；(5) 泄漏；(6) 计入减排量 = (1) − (2) − (3) − (4) − (5)。各步骤的数值如下，公式见 JSON 的 values.source。",
    )
    steps = [
        ("(1) 清除量 Removals R", "removals", "removals_t_co2e"),
        ("(2) 不确定性扣减 Uncertainty deduction D", "deduction", "uncertainty_deduction_t_co2e"),
        ("(3) 缓冲 Buffer B", "buffer", "buffer_t_co2e"),
        ("(4) 排放增量 Emissions E", "emissions", "emissions_t_co2e"),
        ("(5) 泄漏 Leakage L", "leakage", "leakage_t_co2e"),
        ("(6) 计入减排量 Credited C = R − D − B − E − L", "credited", "credited_t_co2e"),
    ]
    rows = []
    for label, nk, field in steps:
        rows.append(
            [
                label,
                *[vints[y][nk] for y in years],
                credited_total if nk == "credited" else total(field, field),
            ]
        )
    rows.append(["扣减比例 Deduction share s", *[vints[y]["share"] for y in years], None])
    rows.append(["相对不确定性 U90", *[vints[y]["u90"] for y in years], None])
    rows.append(["90%区间下限 CI90 low of C", *[vints[y]["low"] for y in years], None])
    rows.append(["90%区间上限 CI90 high of C", *[vints[y]["high"] for y in years], None])
    b.table(
        blocks,
        "减排量计算步骤（t CO2e）",
        "Calculation step by step (t CO2e)",
        ["步骤 Step", *[f"{y}年度 Vintage {y}" for y in years], "核算期合计 Period total"],
        rows,
    )
    if acc.get("excluded"):
        b.para(
            blocks,
            "清除量的相对不确定性超过方法学定义的排除阈值：清除量全部扣除（扣减比例为 1），计入减排量仅为排放和泄漏项（VCS Methodology Requirements v5.0 第2.4节）。",
        )
    rc = s.get("rothc") or {}
    rsrc = source_text(run, "summary.json", "rothc")
    mc = rc.get("monte_carlo") or {}
    b.table(
        blocks,
        "土壤有机碳模型的输入与结果",
        "Soil organic carbon model: inputs and results",
        ["项目 Item", "数值 Value", "单位 Unit", "说明 Note"],
        [
            [
                "平均初始土壤有机碳 Mean initial SOC",
                b.num(
                    "rothc.mean_initial_soc_t_c_ha",
                    rc.get("mean_initial_soc_t_c_ha"),
                    "t C ha-1",
                    rsrc + ".mean_initial_soc_t_c_ha",
                    None,
                    "area-weighted mean of the plots' initial SOC 0-30 cm (models.soil.initial_soc_stock)",
                ),
                "t C/ha",
                "0-30 cm",
            ],
            [
                "项目减基准线土壤有机碳 Total SOC change",
                b.num(
                    "rothc.total_delta_soc_t_co2e",
                    rc.get("total_delta_soc_t_co2e"),
                    "t CO2e",
                    rsrc + ".total_delta_soc_t_co2e",
                    None,
                    "sum_p dSOC_p x A_p x 44/12 at the last crediting point",
                ),
                "t CO2e",
                "全部年度，扣减前",
            ],
            [
                "蒙特卡洛抽样次数 Monte Carlo draws",
                count_num(
                    b, "rothc.monte_carlo.draws", mc.get("draws"), "draws", rsrc + ".monte_carlo.draws"
                ),
                "次",
                f"随机种子见 {rsrc}.monte_carlo.seed",
            ],
            [
                "碳转换系数 C to CO2",
                b.num(
                    "constant.C_TO_CO2",
                    44 / 12,
                    "t CO2 (t C)-1",
                    "models.units.C_TO_CO2",
                    None,
                    "molar mass ratio 44/12 (IPCC 2006 Vol. 4 Eq. 2.2 conversion)",
                    digits=4,
                ),
                "—",
                "44/12",
            ],
        ],
    )
    rows = []
    for name in (
        "z_90",
        "t_0667",
        "unc_no_deduction_threshold",
        "unc_exclusion_threshold",
        "buffer_rate",
        "manure_C_retention",
        "GWP_N2O",
        "GWP_CH4",
        "EF1",
        "EF4",
        "EF5",
        "Frac_GASF",
        "Frac_GASM",
        "Frac_LEACH",
        "diesel_density",
        "diesel_NCV",
        "diesel_EF_CO2",
    ):
        n = param_num(b, definition, name)
        if n is not None:
            par = definition.parameters[name]
            rows.append([name, n, unit_text(par.unit), par.description, status_zh(par.verification)])
    b.table(
        blocks,
        "计算采用的方法学参数",
        "Methodology parameters used in the calculation",
        ["参数 Parameter", "数值 Value", "单位 Unit", "说明 Description", "核实状态 Verification"],
        rows,
    )
    esrc = source_text(run, "summary.json", "accounting.emissions_by_source_t_co2e")
    b.table(
        blocks,
        "项目相对基准线的排放增量（按排放源，全部年度）",
        "Project minus baseline emissions by source (all vintages of the run)",
        ["排放源 Source", "排放增量 Emissions (t CO2e)"],
        [
            [
                k.removesuffix("_t_co2e"),
                b.num(
                    f"emissions.{k}",
                    v,
                    "t CO2e",
                    esrc + f".{k}",
                    "EF1, EF4, EF5, Frac_GASF, Frac_GASM, Frac_LEACH, GWP_N2O, diesel factors",
                    "IPCC 2019 Refinement Vol. 4 Ch. 11 Eqs. 11.1, 11.9, 11.10; diesel L x density x NCV x EF",
                ),
            ]
            for k, v in (acc.get("emissions_by_source_t_co2e") or {}).items()
        ],
    )
    b.figure(
        blocks,
        "vintage_chart",
        "核算期各年度计入减排量（误差线为90%置信区间）与清除量",
        "Credited removals per vintage of the accounting period (error bars: 90 % interval) and the removals",
    )

    # -- credited -----------------------------------------------------------------------------------------
    blocks = _section(b, "credited")
    b.table(
        blocks,
        "核算期内各年度减排量",
        "Credited reductions per vintage in the accounting period",
        [
            "年度 Vintage",
            "起 From",
            "止 To",
            "计入减排量 Credited (t CO2e)",
            "90%区间下限 CI90 low",
            "90%区间上限 CI90 high",
        ],
        [
            [
                vints[v["year"]]["year"],
                v["period_start"],
                v["period_end"],
                vints[v["year"]]["credited"],
                vints[v["year"]]["low"],
                vints[v["year"]]["high"],
            ]
            for v in vintages
        ]
        + [["合计 Total", start.isoformat(), end.isoformat(), credited_total, None, None]],
    )
    b.para(
        blocks,
        "计入减排量为负时表示核算期内项目相对基准线为净排放，不产生可登记的减排量；减排量单位为吨二氧化碳当量 (t CO2e)。",
    )
    b.heading(blocks, "减排量唯一性 Uniqueness of the reductions")
    checks = {c["rule"]: c for c in acc.get("scheme_checks") or []}
    u = checks.get("unique_claims", {})
    b.table(
        blocks,
        "减排量唯一性",
        "Uniqueness of the reductions",
        ["检查 Check", "结果 Result", "说明 Detail"],
        [
            [
                "地块重叠检查 Plot overlap (unique_claims)",
                str(u.get("status", "未检查 not checked")),
                str(u.get("detail", "—")),
            ],
            ["其他减排机制 Other mechanisms", OWNER, "业主承诺地块未在碳普惠、VCS、GS 等机制登记"],
            ["重复核算 Double counting", RUN, "每个地块每个年度只计一次（plot_results.csv 每地块一行）"],
        ],
    )

    # -- annexes -----------------------------------------------------------------------------------------
    unverified = unverified_items(definition)
    blocks = _section(b, "annex_unverified")
    b.para(blocks, "下列方法学定义中的条目未在官方原文中读到，在据以核证减排量之前应以官方文本核对。")
    unverified_table(b, blocks, unverified)
    county = p.region.get("county") or ""
    doc.update(
        {
            "vintages": vintages,
            "plots": plots,
            "sections": b.sections,
            "values": b.values,
            "annexes": {"unverified_items": unverified, "blockers": []},
            "figure_data": {
                "vintage_chart": vintage_chart_data(vintages),
                "location_map": location_map_data(inputs, plots, county),
            },
        }
    )
    add_blockers_annex(b, doc, run, definition, "annex_blockers", _TITLES["annex_blockers"])
    return doc


def _flatten(d: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out += _flatten(v, key + ".")
        else:
            out.append(key)
    return out
