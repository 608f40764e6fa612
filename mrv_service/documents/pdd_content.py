"""The project design document (项目设计文件) as a document model (:mod:`mrv_service.documents.content`).

Sections, in this order (the on-site validation items of CNCA-CCER-01:2023 section 4.5.2 and the
content the 管理办法 (2023) requires)::

    cover                           封面
    basic_requirements              项目基本要求 (with reality / uniqueness / additionality and the evidence list)
    type_and_field                  项目类型和领域
    description                     项目描述 (overview, practice changes, villages, location map)
    methodology_choice              方法学选择 (applicability conditions with evidence)
    methodology_application         方法学应用 (boundary, baseline, additionality, ex-ante estimate,
                                    uncertainty and deductions, monitoring plan, sampling design)
    start_date                      开工日期
    crediting_period                计入期及寿命期限
    environment_and_sustainability  环境影响和可持续发展 (with public comments)
    participants                    参与农户和地块
    annex_unverified                附件一 未经官方原文核实的内容
    annex_blockers                  附件二 注册障碍

Pure: the run's files are read by :func:`mrv_service.documents.content.read_run`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mrv_service.documents.content import (
    TEMPLATE_NOTE,
    Builder,
    Num,
    RunFiles,
    area_credit_cells,
    count_num,
    crediting_month,
    hard_rule_num,
    header,
    location_map_data,
    param_num,
    plot_rows,
    plots_geojson,
    practice_zh,
    register_vintage,
    source_text,
    status_zh,
    unit_text,
    unverified_items,
    unverified_table,
    vintage_chart_data,
    vintage_rows,
)

__all__ = ["PDD_SECTIONS", "pdd_document"]

log = logging.getLogger(__name__)

PLOT_TABLE_MAX = 2000
"""Above this many plots the participants section lists villages, not plots (a table of 100,000
rows is some 2,500 pages); ``pdd.json`` keeps every plot in ``plots``."""

PDD_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("cover", "封面", "Cover"),
    ("basic_requirements", "项目基本要求", "Basic project requirements"),
    ("type_and_field", "项目类型和领域", "Project type and field"),
    ("description", "项目描述", "Project description"),
    ("methodology_choice", "方法学选择", "Choice of methodology"),
    ("methodology_application", "方法学应用", "Application of the methodology"),
    ("start_date", "开工日期", "Start date"),
    ("crediting_period", "计入期及寿命期限", "Crediting period and lifetime"),
    (
        "environment_and_sustainability",
        "环境影响和可持续发展",
        "Environmental impact and sustainable development",
    ),
    ("participants", "参与农户和地块", "Participating farmers and plots"),
    ("annex_unverified", "附件一 未经官方原文核实的内容", "Annex 1: items not verified in official text"),
    ("annex_blockers", "附件二 注册障碍", "Annex 2: registration blockers"),
)
"""(id, Chinese title, English title) of the PDD's sections, in order."""

_TITLES = {sid: (zh, en) for sid, zh, en in PDD_SECTIONS}

CONSERVATION_METHODS = ("no_till", "reduced", "subsoiling", "retained", "mulched")
"""Activity-log methods that are conservation practices (docs/DATA_FORMATS.md section 2)."""

OWNER = "业主需提供 (owner must supply)"
RUN = "本次运行已提供 (supplied by this run)"
PARTLY = "部分提供 (partly supplied)"
YES, NO = "是 (yes)", "否 (no)"


def _section(b: Builder, sid: str) -> list[dict[str, Any]]:
    zh, en = _TITLES[sid]
    return b.section(sid, zh, en)


def _check_status(run: RunFiles, rule: str) -> str | None:
    for c in run.summary["accounting"].get("scheme_checks") or []:
        if c.get("rule") == rule:
            return str(c.get("status"))
    return None


def _status_text(status: str | None) -> str:
    return {
        "pass": "满足 (pass)",
        "fail": "不满足 (fail)",
        "blocker": "注册障碍 (registration blocker)",
        None: "未检查 (not checked)",
    }.get(status, str(status))


def _uploads(run: RunFiles, inputs: Any) -> list[dict[str, Any]]:
    if run.manifest and run.manifest.get("inputs", {}).get("uploads") is not None:
        return list(run.manifest["inputs"]["uploads"])
    return list(inputs.uploads or [])


def upload_text(uploads: list[dict[str, Any]], kind: str) -> str:
    """``"plots.geojson (SHA-256 80e39318ae30…)"`` for the accepted uploads of a kind."""
    found = [
        f"{u['file']} (SHA-256 {str(u.get('sha256', ''))[:12]}…)" for u in uploads if u.get("kind") == kind
    ]
    return "; ".join(found) if found else "无上传 (none uploaded)"


def _applicability_evidence(text: str, uploads: list[dict[str, Any]]) -> tuple[str, str]:
    """What this run holds as evidence of an applicability condition, and its status."""
    t = text.lower()
    logs = upload_text(uploads, "logs")
    if any(w in t for w in ("native ecosystem", "cleared", "yield")):
        return (
            f"农事记录中的产量 (harvest records in the logs: {logs}); 开工前十年的存档影像或土地利用图需业主提供 "
            "(archive imagery for the years before the start: owner)",
            PARTLY,
        )
    if any(w in t for w in ("tenure", "contract", "承包")):
        return ("土地承包/流转合同编号及扫描件 (land contract per plot)", OWNER)
    if any(w in t for w in ("legally", "mandated", "regulatory", "surplus")):
        return ("项目所在县的秸秆禁烧、秸秆还田等法规审查 (review of the county's regulations)", OWNER)
    if any(w in t for w in ("tillage", "no-till", "practice", "straw", "residue", "少耕", "免耕")):
        return (
            f"各地块各季的耕作与秸秆记录 ({logs}) 及其与 Sentinel-2 影像检测的比对 "
            "(practice_verdicts.csv, flags.csv)",
            RUN,
        )
    if any(w in t for w in ("cropland", "mineral", "upland", "paddy", "dryland", "organic soil", "peat")):
        return (
            f"地块边界 ({upload_text(uploads, 'plots')}) 及各地块影像特征 (plot_features.nc); 土壤图与土地利用证明需业主提供 "
            "(soil map and land-use evidence: owner)",
            PARTLY,
        )
    return ("—", OWNER)


def pdd_document(
    run: RunFiles,
    inputs: Any,
    definition: Any,
    *,
    id_salt: str,
    now: dt.datetime | None = None,
    sampling: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The PDD model of a run (module notes; :func:`mrv_service.documents.content.build_pdd`)."""
    b = Builder()
    p = inputs.project
    s = run.summary
    acc = s["accounting"]
    pr = run.plot_results
    doc = header("pdd", run, inputs, definition, now=now)
    vintages = vintage_rows(run, inputs)
    plots = plot_rows(run, id_salt)
    uploads = _uploads(run, inputs)
    data = definition.to_dict()
    county = p.region.get("county") or ""
    place = "".join(str(p.region.get(k) or "") for k in ("province", "city", "county"))
    src_pr = source_text(run, "plot_results.csv")

    # headline values
    area = b.num(
        "project.area_ha",
        pr["area_ha"].sum(),
        "ha",
        src_pr + " column area_ha, all rows",
        None,
        "A = sum_p A_p (plot polygon area in its UTM zone, geodata.area)",
        digits=4,
    )
    n_plots = count_num(b, "project.plots", len(pr), "plots", src_pr + ", rows")
    n_farmers = count_num(
        b,
        "project.farmers",
        pr["farmer_id"].nunique(),
        "farmers",
        src_pr + " column farmer_id, distinct values",
    )
    vints = {v["year"]: register_vintage(b, run, v) for v in vintages}
    credited_total = b.num(
        "period.credited_t_co2e",
        acc["credited_t_co2e"],
        "t CO2e",
        source_text(run, "summary.json", "accounting.credited_t_co2e"),
        None,
        "sum over the vintages of C_y",
    )
    annual = b.num(
        "project.annual_mean_t_co2e",
        acc["credited_t_co2e"] / len(vintages) if vintages else None,
        "t CO2e a-1",
        source_text(run, "summary.json", "accounting.credited_t_co2e and accounting.vintages"),
        None,
        "sum of C_y / number of vintages estimated",
        digits=3,
    )

    # -- cover ------------------------------------------------------------------------------------
    blocks = _section(b, "cover")
    b.para(blocks, TEMPLATE_NOTE)
    meth = f"{definition.id} {data.get('title_zh') or ''} ({definition.title}), 版本 {definition.version}"
    b.table(
        blocks,
        "项目基本信息表",
        "Project summary",
        ["项目 Item", "内容 Content"],
        [
            ["项目活动名称 Project name", f"{p.name_zh or p.name} ({p.name})"],
            ["项目业主 Project owner", p.organisation],
            [
                "项目类型 Project type",
                "农业碳汇（清除类）：农田保护性耕作 (agriculture, removals: conservation tillage)",
            ],
            ["选择的方法学 Methodology", meth],
            [
                "方法学是否由生态环境部发布 Issued by MEE",
                YES
                if definition.ministry_issued
                else f"{NO} — 注册障碍，见附件二 (registration blocker, Annex 2)",
            ],
            ["项目所在地 Location", place or "—"],
            ["项目面积 Area (ha)", area],
            ["参与农户数 Farmers", n_farmers],
            ["地块数 Plots", n_plots],
            [
                "开工日期 Construction start",
                f"{p.crediting_start.isoformat()}（计入期开始日，即首个实施项目做法的季节）",
            ],
            ["计入期 Crediting period", f"{p.crediting_start.isoformat()} — {p.crediting_end.isoformat()}"],
            ["预计年均减排量 Expected annual reductions (t CO2e/a)", annual],
            ["已估算年度减排量合计 Total of the estimated vintages (t CO2e)", credited_total],
            ["项目设计文件版本 Document version", f"V{doc['document_version']}"],
            ["完成日期 Completed", doc["generated_at"][:10]],
            ["计算运行 Calculation run", f"run {doc['run_id']}" if doc["run_id"] is not None else "—"],
        ],
    )

    # -- basic requirements ---------------------------------------------------------------------------
    blocks = _section(b, "basic_requirements")
    b.para(
        blocks,
        "《温室气体自愿减排交易管理办法（试行）》第十条要求项目具备真实性、唯一性和额外性，属于生态环境部发布的项目方法学支持领域，"
        "于2012年11月8日之后开工建设；第十七条要求减排量产生于2020年9月22日之后。下表逐项列出本项目的情况、由本次计算提供的证据"
        "和项目业主需补充的材料。",
    )
    b.heading(blocks, "真实性、唯一性和额外性 Reality, uniqueness and additionality")
    first_start = vintages[0]["period_start"] if vintages else p.crediting_start.isoformat()
    b.table(
        blocks,
        "项目基本要求及真实性、唯一性和额外性",
        "Basic requirements: reality, uniqueness and additionality",
        [
            "要求 Requirement",
            "依据 Basis",
            "本项目情况 This project",
            "状态 Status",
            "业主需提供 Owner must supply",
        ],
        [
            [
                "真实性 Reality",
                "管理办法第十条、第四十八条",
                "各地块各季做法由农户记录，并与 Sentinel-2 影像检测逐季比对 (practice_verdicts.csv, flags.csv)",
                PARTLY,
                "农户签字确认的农事记录、农机作业记录及照片",
            ],
            [
                "唯一性 Uniqueness",
                "管理办法第十条、第十四条、第四十八条",
                "与本服务中其他项目地块的空间重叠检查 (unique_claims)",
                _status_text(_check_status(run, "unique_claims")),
                "唯一性承诺书；地块未参与碳普惠、VCS、GS 等其他机制的声明",
            ],
            [
                "额外性 Additionality",
                "管理办法第十条、第四十八条",
                "基准线为各地块自身回顾期做法；项目清除量按方法学相对基准线计算（见方法学应用）",
                PARTLY,
                "投资或障碍分析、普遍性做法分析、法规盈余审查",
            ],
            [
                "方法学领域 Methodology field",
                "管理办法第八条、第十条",
                f"{definition.id}: "
                + ("生态环境部发布的方法学" if definition.ministry_issued else "非生态环境部发布的方法学"),
                _status_text("pass" if definition.ministry_issued else "blocker"),
                "生态环境部发布的适用于农田土壤碳汇的方法学",
            ],
            [
                "开工时间 Construction start after 2012-11-08",
                "管理办法第十条",
                p.crediting_start.isoformat(),
                _status_text(_check_status(run, "construction_start")),
                "开工日期证据（见开工日期）",
            ],
            [
                "减排量产生时间 Reductions after 2020-09-22",
                "管理办法第十七条",
                f"首个年度自 {first_start} 起",
                _status_text(_check_status(run, "reductions_after")),
                "—",
            ],
            [
                "无法定减排义务 No legal obligation, not under an ETS",
                "管理办法第十条",
                "农田管理活动，不属于全国碳排放权交易市场覆盖范围",
                "待确认 (to confirm)",
                "无法定义务及未纳入配额管理的说明",
            ],
        ],
    )
    b.heading(blocks, "证据清单 Evidence list")
    b.table(
        blocks,
        "证据清单（土地权属、开工日期、数据来源）",
        "Evidence list (land tenure, start date, data sources)",
        ["证据 Evidence", "证明内容 Proves", "本次运行中的来源 In this run", "状态 Status"],
        [
            ["地块边界 Plot boundaries", "项目边界、面积", upload_text(uploads, "plots"), RUN],
            ["土地承包/流转合同 Land tenure per plot", "土地权属、农户授权", "—", OWNER],
            ["农户授权书/合作协议 Farmers' authorisation", "业主代表农户申请的权利（唯一性）", "—", OWNER],
            ["农事记录 Activity logs", "基准线与项目做法、开工日期", upload_text(uploads, "logs"), RUN],
            [
                "开工证据 Start-date evidence",
                "首个项目季的免耕播种等",
                "首个项目季的农事记录（见开工日期）",
                PARTLY,
            ],
            ["土壤样品 Soil samples", "初始土壤有机碳", upload_text(uploads, "soil"), PARTLY],
            ["实验室报告 Laboratory reports (CMA/CNAS)", "土壤分析质量", "—", OWNER],
            ["气象数据 Weather", "模型驱动数据", upload_text(uploads, "weather"), RUN],
            [
                "卫星影像 Sentinel-2 imagery",
                "做法核实",
                f"{(s.get('imagery') or {}).get('search', {}).get('source', '—')} (run_manifest.json inputs.imagery)",
                RUN,
            ],
            [
                "方法学定义 Methodology definition",
                "参数与规则",
                f"methodology/definitions/{definition.id}.yaml",
                RUN,
            ],
        ],
    )

    # -- type and field ---------------------------------------------------------------------------------
    blocks = _section(b, "type_and_field")
    b.para(
        blocks,
        "本项目为农业领域的碳汇（清除）类项目：通过在农户承包的旱作农田上实施保护性耕作（少耕、免耕、深松）和秸秆还田，"
        "增加耕层土壤有机碳储量，同时核算项目带来的农田氧化亚氮和农机燃油排放变化。",
    )
    pools = [x["name"] for x in data["boundary"]["pools"] if x.get("included")]
    gases = [f"{x['gas']} ({x['source_category']})" for x in data["boundary"]["gases"] if x.get("included")]
    b.table(
        blocks,
        "项目类型和领域",
        "Project type and field",
        ["项目 Item", "内容 Content"],
        [
            ["项目类型 Type", "碳汇（清除）类 (removals)"],
            [
                "领域 Field",
                "农业：农田管理，保护性耕作 (agriculture: cropland management, conservation tillage)",
            ],
            ["方法学 Methodology", meth],
            ["方法学发布机构 Issuer", definition.issuer],
            ["生态环境部发布 Issued by MEE", YES if definition.ministry_issued else NO],
            ["计入的碳库 Pools", "; ".join(pools) or "—"],
            ["计入的排放源 Sources", "; ".join(gases) or "—"],
        ],
    )

    # -- description ---------------------------------------------------------------------------------------
    blocks = _section(b, "description")
    b.para(
        blocks,
        f"项目位于{place or '项目所在县'}。项目业主组织参与农户在其地块上由传统翻耕、秸秆离田或焚烧转为保护性耕作和秸秆还田；"
        "各地块的基准线做法与项目做法、面积和计入减排量按做法变化和按村汇总如下，地块明细见“参与农户和地块”。",
    )
    groups = pr.groupby(["baseline_practice", "project_practice"], dropna=False, sort=True)
    rows = []
    for (base, proj), g in groups:
        k = f"practice.{base} -> {proj}"
        rows_src = src_pr + f" rows with baseline_practice '{base}' and project_practice '{proj}'"
        rows.append(
            [
                practice_zh(base),
                practice_zh(proj),
                count_num(b, f"{k}.plots", len(g), "plots", rows_src),
                *area_credit_cells(b, k, g, rows_src),
            ]
        )
    rows.append(
        [
            "合计 Total",
            "",
            n_plots,
            area,
            b.num(
                "plots.credited_t_co2e",
                pr["net_t_co2e"].sum(),
                "t CO2e",
                src_pr + " column net_t_co2e, all rows",
                None,
                "sum_p C_p",
                digits=3,
            ),
        ]
    )
    b.table(
        blocks,
        "按做法变化统计的地块、面积和计入减排量",
        "Plots, area and credited removals by practice change",
        [
            "基准线做法 Baseline practice",
            "项目做法 Project practice",
            "地块数 Plots",
            "面积 Area (ha)",
            "计入减排量 Credited (t CO2e)",
        ],
        rows,
    )
    if "village" in pr.columns:
        rows = []
        for village, g in pr.groupby("village", sort=True):
            k = f"village.{village}"
            rows_src = src_pr + f" rows with village '{village}'"
            rows.append(
                [
                    str(village),
                    count_num(
                        b,
                        f"{k}.farmers",
                        g["farmer_id"].nunique(),
                        "farmers",
                        rows_src + ", distinct farmer_id",
                    ),
                    count_num(b, f"{k}.plots", len(g), "plots", rows_src),
                    *area_credit_cells(b, k, g, rows_src),
                ]
            )
        b.table(
            blocks,
            "按村统计的农户、地块、面积和计入减排量",
            "Farmers, plots, area and credited removals by village",
            [
                "村 Village",
                "农户数 Farmers",
                "地块数 Plots",
                "面积 Area (ha)",
                "计入减排量 Credited (t CO2e)",
            ],
            rows,
        )
    b.figure(
        blocks,
        "location_map",
        f"项目地理位置图：{county or '项目县'}的项目地块（颜色表示各地块计入减排量，含比例尺和指北针）",
        "Location map: the project plots (colour: credited removals per plot; scale bar and north arrow)",
    )

    # -- methodology choice -------------------------------------------------------------------------------
    blocks = _section(b, "methodology_choice")
    basis = data.get("ministry_issued_basis") or {}
    b.para(
        blocks,
        f"本项目选择方法学 {definition.id}《{data.get('title_zh') or definition.title}》（{definition.title}），版本 {definition.version}。"
        + (
            "该方法学由生态环境部发布。"
            if definition.ministry_issued
            else "该方法学不是生态环境部在重启后的温室气体自愿减排机制下发布的方法学，项目在生态环境部发布适用方法学之前不能登记（注册障碍，见附件二）。"
        ),
    )
    if basis.get("note"):
        b.para(blocks, " ".join(str(basis["note"]).split()))
    if data.get("summary"):
        b.para(
            blocks, "方法学文本情况 (what is known of the text): " + " ".join(str(data["summary"]).split())
        )
    b.table(
        blocks,
        "方法学适用条件及证据",
        "Applicability conditions and their evidence",
        [
            "编号 ID",
            "适用条件 Condition",
            "所需证据 Evidence required",
            "本项目证据 Evidence in this project",
            "状态 Status",
            "条件的核实状态 Verification",
        ],
        [
            [
                str(c["id"]),
                " ".join(str(c["text"]).split()),
                " ".join(str(c.get("evidence", "")).split()),
                *_applicability_evidence(str(c["text"]), uploads),
                status_zh(str(c["verification"])),
            ]
            for c in data["applicability"]
        ],
    )

    # -- methodology application -----------------------------------------------------------------------------
    blocks = _section(b, "methodology_application")
    b.heading(blocks, "项目边界 Project boundary")
    b.para(blocks, "项目边界为全部参与地块的地理边界（见位置图和地块明细）。计入和不计入的碳库及排放源如下。")
    rows = [
        [
            "碳库 Pool",
            x["name"],
            "CO2",
            YES if x["included"] else NO,
            " ".join(str(x["reason"]).split()),
            status_zh(x["verification"]),
        ]
        for x in data["boundary"]["pools"]
    ] + [
        [
            "排放源 Source",
            x["source_category"],
            x["gas"],
            YES if x["included"] else NO,
            " ".join(str(x["reason"]).split()),
            status_zh(x["verification"]),
        ]
        for x in data["boundary"]["gases"]
    ]
    b.table(
        blocks,
        "项目边界内的碳库和排放源",
        "Pools and sources in the project boundary",
        [
            "类别 Kind",
            "碳库或排放源 Pool or source",
            "气体 Gas",
            "是否计入 Included",
            "理由 Reason",
            "核实状态 Verification",
        ],
        rows,
    )

    b.heading(blocks, "基准线情景 Baseline scenario")
    rc = s.get("rothc") or {}
    base_rule = (rc.get("baseline") or {}).get("rule", "each plot repeats its own look-back records")
    look = "、".join(str(y) for y in p.baseline_years) or "—"
    b.para(
        blocks,
        f"基准线情景为各地块继续其自身回顾期（{look}年）的耕作和秸秆处理做法 ({base_rule})。基准线土壤有机碳用同一模型、同一气象和土壤数据，"
        "按回顾期做法逐季重复模拟；无回顾期记录的地块采用县内普遍做法（见下表）。",
    )
    rows = []
    for base, g in pr.groupby("baseline_practice", sort=True):
        k = f"baseline.{base}"
        rows_src = src_pr + f" rows with baseline_practice '{base}'"
        rows.append(
            [
                practice_zh(base),
                count_num(b, f"{k}.plots", len(g), "plots", rows_src),
                b.num(
                    f"{k}.area_ha",
                    g["area_ha"].sum(),
                    "ha",
                    rows_src + ", column area_ha",
                    None,
                    "sum_p A_p",
                    digits=4,
                ),
                f"{min(p.baseline_years)}–{max(p.baseline_years)}" if p.baseline_years else "—",
            ]
        )
    common = (rc.get("baseline") or {}).get("plots_with_common_practice")
    if common is not None:
        rows.append(
            [
                "采用县内普遍做法的地块 Plots on the common practice",
                count_num(
                    b,
                    "baseline.plots_with_common_practice",
                    common,
                    "plots",
                    source_text(run, "summary.json", "rothc.baseline.plots_with_common_practice"),
                ),
                None,
                "—",
            ]
        )
    b.table(
        blocks,
        "基准线做法（各地块回顾期做法）",
        "Baseline practices (each plot's look-back practice)",
        ["基准线做法 Baseline practice", "地块数 Plots", "面积 Area (ha)", "回顾期 Look-back seasons"],
        rows,
    )

    b.heading(blocks, "额外性 Additionality")
    b.para(
        blocks,
        "按管理办法第四十八条，额外性要求项目在没有减排量收益时不具备财务吸引力或存在融资、技术等障碍，且项目清除量高于基准线。"
        "本次计算提供基准线和相对基准线的清除量；财务、障碍和普遍性做法分析需项目业主补充。",
    )
    b.table(
        blocks,
        "额外性论证所需输入",
        "Inputs the additionality demonstration needs",
        ["输入 Input", "用途 Use", "来源 Source", "状态 Status"],
        [
            [
                "各地块回顾期做法 Look-back practice per plot",
                "确定基准线情景",
                upload_text(uploads, "logs"),
                RUN,
            ],
            [
                "相对基准线的清除量 Removals above the baseline",
                "证明清除量高于基准线",
                "summary.json accounting（见事前估算）",
                RUN,
            ],
            [
                "法规盈余 Regulatory surplus",
                "证明做法非法律强制",
                "吉林省及项目县秸秆禁烧、黑土地保护等法规",
                OWNER,
            ],
            [
                "投资分析 Investment analysis (IRR)",
                "无减排量收益时的财务吸引力",
                "农机购置、作业成本、产量变化、补贴",
                OWNER,
            ],
            ["障碍分析 Barrier analysis", "技术、融资和组织障碍", "农机服务、技术推广、农户组织情况", OWNER],
            ["普遍性做法分析 Common practice", "保护性耕作在项目县的普及率", "县、省统计数据", OWNER],
        ],
    )

    b.heading(blocks, "事前减排量估算 Ex-ante estimate")
    b.para(
        blocks,
        "事前估算按方法学定义逐年度计算：模型清除量（项目情景减基准线情景的土壤有机碳变化）扣除不确定性扣减、缓冲、项目排放增量和泄漏后为计入减排量；"
        "不确定性来自蒙特卡洛抽样。估算覆盖已模拟的年度，计入期内其余年度在监测后核算。",
    )
    per = acc.get("period") or {}
    psrc = source_text(run, "summary.json", "accounting.period")
    total_row_a = [
        "合计 Total",
        "",
        b.num(
            "period.removals_t_co2e",
            (per.get("removals") or {}).get("mean"),
            "t CO2e",
            psrc + ".removals.mean",
            None,
            "sum over the vintages of R_y",
        ),
        b.num(
            "period.removals_ci90_low_t_co2e",
            (per.get("removals") or {}).get("p5"),
            "t CO2e",
            psrc + ".removals.p5",
            None,
            "5th percentile of the draws of the period's removals",
        ),
        b.num(
            "period.removals_ci90_high_t_co2e",
            (per.get("removals") or {}).get("p95"),
            "t CO2e",
            psrc + ".removals.p95",
            None,
            "95th percentile of the draws of the period's removals",
        ),
        b.num(
            "period.u90",
            per.get("u90"),
            "1",
            psrc + ".u90",
            "z_90",
            "U90 of the draws of the period's removals",
        ),
        None,
        _sum_num(b, "period.uncertainty_deduction_t_co2e", vintages, "uncertainty_deduction_t_co2e", run),
    ]
    b.table(
        blocks,
        "各年度清除量及其不确定性扣减",
        "Removals per vintage and their uncertainty deduction",
        [
            "年度 Vintage",
            "计入期间 Period",
            "清除量 Removals (t CO2e)",
            "90%区间下限 P5",
            "90%区间上限 P95",
            "相对不确定性 U90",
            "扣减比例 Deduction share",
            "不确定性扣减 Deduction (t CO2e)",
        ],
        [
            [
                n["year"],
                f"{v['period_start']} — {v['period_end']}",
                n["removals"],
                n["removals_low"],
                n["removals_high"],
                n["u90"],
                n["share"],
                n["deduction"],
            ]
            for v, n in ((v, vints[v["year"]]) for v in vintages)
        ]
        + [total_row_a],
    )
    ni = per.get("net_interval") or {}
    b.table(
        blocks,
        "各年度事前估算减排量及其90%置信区间",
        "Ex-ante credited removals per vintage with their 90 % interval",
        [
            "年度 Vintage",
            "缓冲 Buffer (t CO2e)",
            "排放增量 Emissions (t CO2e)",
            "泄漏 Leakage (t CO2e)",
            "计入减排量 Credited (t CO2e)",
            "90%区间下限 CI90 low",
            "90%区间上限 CI90 high",
        ],
        [
            [n["year"], n["buffer"], n["emissions"], n["leakage"], n["credited"], n["low"], n["high"]]
            for n in (vints[v["year"]] for v in vintages)
        ]
        + [
            [
                "合计 Total",
                _sum_num(b, "period.buffer_t_co2e", vintages, "buffer_t_co2e", run),
                _sum_num(b, "period.emissions_t_co2e", vintages, "emissions_t_co2e", run),
                _sum_num(b, "period.leakage_t_co2e", vintages, "leakage_t_co2e", run),
                credited_total,
                b.num(
                    "period.ci90_low_t_co2e",
                    ni.get("p5"),
                    "t CO2e",
                    psrc + ".net_interval.p5",
                    None,
                    "5th percentile of sum_y C_y over the draws",
                ),
                b.num(
                    "period.ci90_high_t_co2e",
                    ni.get("p95"),
                    "t CO2e",
                    psrc + ".net_interval.p95",
                    None,
                    "95th percentile of sum_y C_y over the draws",
                ),
            ]
        ],
    )
    b.figure(
        blocks,
        "vintage_chart",
        "各年度计入减排量（误差线为90%置信区间）与项目清除量",
        "Credited removals per vintage (error bars: 90 % interval) and the removals",
    )

    b.heading(blocks, "不确定性与扣减 Uncertainty and deductions")
    unc, buf, lk = definition.rule("uncertainty"), definition.rule("buffer"), definition.rule("leakage")
    rows = []
    for rule_name, block, names in (
        (
            f"不确定性扣减 Uncertainty ({unc['rule']})",
            unc,
            ("z_90", "t_0667", "unc_no_deduction_threshold", "unc_exclusion_threshold", "unc_horizon_years"),
        ),
        (f"缓冲 Buffer ({buf['rule']})", buf, ("buffer_rate",)),
        (f"泄漏 Leakage ({lk['rule']})", lk, ("manure_C_retention",)),
    ):
        for name in names:
            n = param_num(b, definition, name)
            if n is None:
                continue
            par = definition.parameters[name]
            rows.append(
                [rule_name, name, n, unit_text(par.unit), par.description, status_zh(par.verification)]
            )
        if not any(definition.parameters.get(nm) for nm in names):
            rows.append(
                [
                    rule_name,
                    "—",
                    None,
                    "—",
                    " ".join(str(block.get("source", "")).split()),
                    status_zh(block["verification"]),
                ]
            )
    b.table(
        blocks,
        "不确定性、缓冲和泄漏的规则及参数",
        "Rules and parameters of the uncertainty deduction, buffer and leakage",
        [
            "规则 Rule",
            "参数 Parameter",
            "数值 Value",
            "单位 Unit",
            "说明 Description",
            "核实状态 Verification",
        ],
        rows,
    )
    if acc.get("excluded"):
        b.para(
            blocks,
            "估算期清除量的相对不确定性（U90）超过方法学定义的排除阈值，清除量全部扣除（VCS Methodology Requirements v5.0 第2.4节：土壤有机碳的不确定性"
            "应在不少于十年的期间内评估）；计入减排量仅剩排放和泄漏项。增加土壤采样、延长核算期可降低不确定性。",
        )
    else:
        b.para(blocks, "各年度的扣减比例按方法学定义的不确定性规则计算（见上表及各年度清除量表）。")
    for note in (buf.get("note"), lk.get("note")):
        if note:
            b.para(blocks, " ".join(str(note).split()))

    b.heading(blocks, "监测计划 Monitoring plan")
    b.para(blocks, "需要监测的数据和参数按方法学定义列出；各参数的数据流和校准要求见减排量核算报告。")
    b.table(
        blocks,
        "监测计划：需要监测的数据和参数",
        "Monitoring plan: data and parameters monitored",
        [
            "参数 Parameter",
            "符号 Symbol",
            "单位 Unit",
            "数据来源 Source of data",
            "监测频次 Frequency",
            "质量保证/质量控制 QA/QC",
            "核实状态 Verification",
        ],
        [
            [
                f"{m.get('name_zh') or ''} ({m['name']})".strip(),
                m.get("symbol") or "—",
                m.get("unit") or "—",
                " ".join(str(m.get("source_of_data", "")).split()),
                m.get("frequency") or "—",
                " ".join(str(m.get("qa_qc", "")).split()),
                status_zh(m["verification"]),
            ]
            for m in data["monitoring"]
        ],
    )

    b.heading(blocks, "抽样设计 Sampling design")
    design, design_error = _sampling(sampling, inputs)
    sampling_fig: dict[str, Any] = {
        "points_geojson": {"type": "FeatureCollection", "features": []},
        "plots_geojson": {"type": "FeatureCollection", "features": []},
    }
    if design is None:
        b.para(blocks, f"未能计算抽样设计 (the sampling design could not be computed): {design_error}")
    else:
        _sampling_tables(b, blocks, design, inputs, run)
        b.figure(
            blocks,
            "sampling_map",
            "土壤采样点与分层（分层随机抽样，点距地块边界不小于缓冲距离）",
            "Soil sampling points and strata (stratified random sampling, points away from plot edges)",
        )
        sampling_fig = _sampling_figure(design, inputs)

    # -- start date --------------------------------------------------------------------------------------
    blocks = _section(b, "start_date")
    first_year = min(p.project_years) if p.project_years else p.crediting_start.year
    b.para(
        blocks,
        "对在既有农田上实施的做法类项目，开工日期取计入期开始日，即首个实施项目做法（免耕播种、秸秆覆盖还田等）的季节的开始；"
        "证据为首个项目季的农事记录、农机作业记录和影像核实结果，并需项目业主提供作业合同或照片。",
    )
    started = sum(_plots_with_conservation(acts, first_year) for _, acts in inputs.activity_frames())
    b.table(
        blocks,
        "开工日期及其证据",
        "Start date and its evidence",
        ["项目 Item", "内容 Content"],
        [
            ["开工日期 Construction start", p.crediting_start.isoformat()],
            [
                "确定依据 Basis",
                "计入期开始日 = 首个项目季开始 (the crediting start: the first season under the project practice)",
            ],
            [
                "首个项目季 First project season",
                b.year(first_year, "project settings project_years (mrv project create)"),
            ],
            [
                "首季记录保护性耕作做法的地块数 Plots logging a conservation practice in the first season",
                count_num(
                    b,
                    "start.plots_with_conservation_first_season",
                    started,
                    "plots",
                    f"activity_records (store; uploads {upload_text(uploads, 'logs')}): tillage or residue records of {first_year} "
                    f"with a method among {', '.join(CONSERVATION_METHODS)}",
                ),
            ],
            ["晚于2012-11-08 After 2012-11-08", _status_text(_check_status(run, "construction_start"))],
            ["业主需提供 Owner must supply", "农机作业合同、播种照片等开工证据"],
        ],
    )

    # -- crediting period ---------------------------------------------------------------------------------
    blocks = _section(b, "crediting_period")
    years = (p.crediting_end - p.crediting_start).days + 1
    month = crediting_month(inputs)
    b.table(
        blocks,
        "计入期及寿命期限",
        "Crediting period and lifetime",
        ["项目 Item", "内容 Content"],
        [
            ["计入期开始 Start", p.crediting_start.isoformat()],
            ["计入期结束 End", p.crediting_end.isoformat()],
            [
                "计入期长度 Length (a)",
                b.num(
                    "crediting_period.years",
                    years / 365.25,
                    "a",
                    "project crediting_period (mrv project create)",
                    None,
                    "(end - start + 1 day) / 365.25",
                    digits=1,
                ),
            ],
            [
                "年度划分的计入月 Crediting month of a vintage",
                count_num(
                    b,
                    "setting.model.crediting_month",
                    month,
                    "month",
                    "project setting model.crediting_month",
                    "a vintage ends at the end of this month",
                ),
            ],
            ["已估算的年度 Estimated vintages", "、".join(str(v["year"]) for v in vintages) or "—"],
            [
                "分期申请时限 Instalment window (a)",
                hard_rule_num(b, definition, "instalment_window_years", "a"),
            ],
            [
                "记录保存年限 Record retention (a)",
                hard_rule_num(b, definition, "record_retention_years", "a"),
            ],
            [
                "寿命期限 Lifetime",
                "保护性耕作在计入期内持续实施；地块退出和复耕（逆转）的处理规则由项目业主规定 (exit and reversal rules: owner)",
            ],
        ],
    )
    b.para(
        blocks,
        "方法学定义未给出计入期长度的上限；项目计入期需在生态环境部发布的方法学规定的范围内。每期申请的减排量须产生于申请日前五年内（管理办法第十七条）。",
    )

    # -- environment and sustainability -----------------------------------------------------------------------
    blocks = _section(b, "environment_and_sustainability")
    b.table(
        blocks,
        "环境影响",
        "Environmental impacts",
        ["方面 Aspect", "影响 Effect", "依据或需补充 Evidence or to supply"],
        [
            ["土壤侵蚀 Soil erosion", "地表秸秆覆盖减少风蚀和水蚀", "文献及项目县黑土地保护资料（业主补充）"],
            [
                "秸秆焚烧 Straw burning",
                "秸秆还田减少焚烧及其大气污染；减少的焚烧排放未计入（保守）",
                "项目边界表",
            ],
            ["农田氧化亚氮 Cropland N2O", "施肥和秸秆还田氮的 N2O 变化已计入核算", "事前估算表（排放增量）"],
            ["除草剂 Herbicides", "免耕可能增加除草剂用量", "农药使用记录（业主补充）"],
            ["作物产量 Yields", "产量持续下降超过方法学阈值的地块不适用", "农事记录中的产量"],
            ["环境影响评价 EIA", "农田耕作方式变化一般无需环评", "业主确认"],
        ],
    )
    share = p.settings.get("accounting.farmer_share")
    b.table(
        blocks,
        "可持续发展贡献",
        "Contribution to sustainable development",
        ["方面 Aspect", "贡献 Contribution", "说明 Note"],
        [
            ["黑土地保护 Black-soil protection", "增加土壤有机质，落实黑土地保护政策", "—"],
            [
                "农户收入 Farmers' income",
                "减排量收益按约定分配给农户",
                "农户分成比例见下表" if share is not None else "分配方案由业主提供",
            ],
            ["农机服务 Machinery services", "带动农机合作社提供免耕播种服务", "—"],
        ],
    )
    if share is not None:
        b.table(
            blocks,
            "农户收益分成",
            "Farmers' share of the credits",
            ["项目 Item", "数值 Value"],
            [
                [
                    "农户分成比例 Farmers' share",
                    b.num(
                        "setting.accounting.farmer_share",
                        float(share),
                        "1",
                        "project setting accounting.farmer_share",
                        None,
                        None,
                    ),
                ]
            ],
        )
    b.heading(blocks, "公众意见及处理 Public comments")
    b.table(
        blocks,
        "公众意见及处理",
        "Public comments and their handling",
        ["环节 Step", "依据 Basis", "期限（工作日）Working days", "状态 Status"],
        [
            [
                "项目设计文件公示 Publicity of the PDD",
                "管理办法第十二条",
                hard_rule_num(b, definition, "publicity_working_days", "working days"),
                "尚未公示 (not yet published)",
            ],
            [
                "公众意见及处理说明 Comments and responses",
                "管理办法第十三条",
                None,
                "公示后填写 (after publicity)",
            ],
            ["利益相关方（村民会议）Stakeholder meetings", "—", None, OWNER],
        ],
    )

    # -- participants ---------------------------------------------------------------------------------------
    blocks = _section(b, "participants")
    b.para(
        blocks,
        "农户编号为加盐 SHA-256 散列（FH 开头），不公开农户姓名和身份证号；做法名称：plough 翻耕、rotary 旋耕、reduced 少耕、no_till 免耕、"
        "subsoiling 深松；removed 秸秆离田、burned 焚烧、retained 还田、mulched 覆盖还田。",
    )
    if len(plots) > PLOT_TABLE_MAX:
        _participants_by_village(b, blocks, pr, src_pr)
    else:
        _participants_by_plot(b, blocks, plots, src_pr)

    # -- annexes -------------------------------------------------------------------------------------------------
    unverified = unverified_items(definition)
    blocks = _section(b, "annex_unverified")
    b.para(
        blocks,
        "下列方法学定义中的条目未在官方原文中读到：二手来源 (secondary) 指仅见于第三方转述，推断重构 (reconstructed) 指本服务的推断或选择。"
        "在据以核证减排量之前，应以官方文本核对。",
    )
    unverified_table(b, blocks, unverified)

    doc.update(
        {
            "vintages": vintages,
            "plots": plots,
            "sections": b.sections,
            "values": b.values,
            "annexes": {"unverified_items": unverified, "blockers": []},
            "figure_data": {
                "location_map": location_map_data(inputs, plots, county),
                "vintage_chart": vintage_chart_data(vintages),
                "sampling_map": sampling_fig,
            },
        }
    )
    add_blockers_annex(b, doc, run, definition, "annex_blockers", _TITLES["annex_blockers"])
    return doc


def _sum_num(b: Builder, key: str, vintages: list[dict[str, Any]], field: str, run: RunFiles) -> Num | None:
    return b.num(
        key,
        sum(float(v[field]) for v in vintages),
        "t CO2e",
        source_text(run, "summary.json", f"accounting.vintages.*.{field.removesuffix('_t_co2e')}"),
        None,
        "sum over the vintages",
        digits=3,
    )


def _plots_with_conservation(acts: pd.DataFrame, year: int) -> int:
    if acts is None or acts.empty or "method" not in acts.columns:
        return 0
    a = acts[acts["activity"].isin(("tillage", "residue"))]
    a = a[pd.to_datetime(a["date"]).dt.year == year]
    return int(a.loc[a["method"].isin(CONSERVATION_METHODS), "plot_id"].astype(str).nunique())


def _sampling(sampling: Mapping[str, Any] | None, inputs: Any) -> tuple[Mapping[str, Any] | None, str | None]:
    if sampling is not None:
        return sampling, None
    from models.errors import MRVError
    from mrv_service.commands.sampling import design_from_inputs

    try:
        return design_from_inputs(inputs), None
    except MRVError as exc:
        log.warning("sampling design for the PDD: %s", exc)
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - shown in the document, the rest of it still useful
        log.warning("sampling design for the PDD failed", exc_info=True)
        return None, f"{type(exc).__name__}: {exc}"


def _sampling_tables(
    b: Builder, blocks: list[dict[str, Any]], design: Mapping[str, Any], inputs: Any, run: RunFiles
) -> None:
    t = design["table"]
    size = design["size"]
    src = "sampling design from the project inputs (mrv_service.commands.sampling.design_from_inputs; `mrv sampling design` writes it as sampling_design.csv)"
    eq_n = str(t["formula"].iloc[0]) if len(t) else "Cochran 1977 s. 5.5, 5.9"
    b.para(
        blocks,
        "土壤有机碳复测采用分层随机抽样：按各地块记录的项目做法和实测初始土壤有机碳（中位数以上、以下，无样品地块单列）分层，"
        "按 Neyman 分配和有限总体校正确定各层样本量（Cochran 1977），在地块内随机布点并与地块边界保持缓冲距离。",
    )
    rows = []
    for label, r in t.iterrows():
        k = f"sampling.{label}"
        rsrc = f"{src}: stratum {label}"
        rows.append(
            [
                str(label),
                count_num(b, f"{k}.plots", r["plots"], "plots", rsrc + ", plots"),
                b.num(f"{k}.area_ha", r["area_ha"], "ha", rsrc + ", area_ha", None, "sum_p A_p", digits=4),
                count_num(
                    b, f"{k}.N_h", r["N_h"], "units", rsrc + ", N_h", "N_h = area / support area (100 m2)"
                ),
                count_num(
                    b,
                    f"{k}.soil_samples",
                    r["soil_samples"],
                    "samples",
                    rsrc + ", soil samples in the stratum (soil upload)",
                ),
                b.num(
                    f"{k}.S_h_t_c_ha",
                    r["S_h_t_c_ha"],
                    "t C ha-1",
                    rsrc + f", S_h ({r['S_h_source']})",
                    None,
                    "sample standard deviation of the stratum's SOC stocks",
                    digits=3,
                ),
                count_num(b, f"{k}.n_h", r["n_h"], "samples", rsrc + ", n_h", eq_n),
                count_num(
                    b,
                    f"{k}.points_drawn",
                    r["points_drawn"],
                    "points",
                    rsrc + ", points drawn (seed in the design)",
                ),
            ]
        )
    b.table(
        blocks,
        "抽样设计：分层及各层样本量",
        "Sampling design: strata and samples per stratum",
        [
            "分层 Stratum",
            "地块数 Plots",
            "面积 Area (ha)",
            "总体单元 N_h",
            "已有样品 Samples",
            "标准差 S_h (t C/ha)",
            "样本量 n_h",
            "已布点 Points",
        ],
        rows,
    )
    b.table(
        blocks,
        "抽样设计：样本量公式的输入",
        "Sampling design: inputs of the sample-size formula",
        ["参数 Parameter", "数值 Value", "说明 Note"],
        [
            [
                "精度 Precision",
                b.num("sampling.precision", size.precision, "1", src, None, "E = precision x mean"),
                "90%置信区间半宽占均值的比例",
            ],
            ["置信水平 Confidence", b.num("sampling.confidence", size.confidence, "1", src, None, None), "—"],
            [
                "z",
                b.num(
                    "sampling.z",
                    size.z,
                    "1",
                    src,
                    None,
                    "standard-normal quantile of the confidence",
                    digits=4,
                ),
                "—",
            ],
            [
                "面积加权均值 Mean (t C/ha)",
                b.num(
                    "sampling.mean_t_c_ha",
                    size.mean,
                    "t C ha-1",
                    src + " (soil samples)",
                    None,
                    "sum_h W_h mean_h",
                    digits=3,
                ),
                "—",
            ],
            ["样本量 n", b.num("sampling.n", size.n, "samples", src, None, eq_n, digits=2), "—"],
            [
                "取整后样本总数 Samples",
                count_num(b, "sampling.n_total", size.n_total, "samples", src, "sum_h n_h"),
                "各层向上取整，至少2个",
            ],
            [
                "布点随机种子 Seed",
                count_num(b, "sampling.seed", design.get("seed", 0), "1", src),
                "相同输入和种子得到相同点位",
            ],
        ],
    )


def _sampling_figure(design: Mapping[str, Any], inputs: Any) -> dict[str, Any]:
    points = design.get("points_gdf")
    feats = []
    if points is not None and len(points):
        for r in points.itertuples(index=False):
            feats.append(
                {
                    "type": "Feature",
                    "properties": {
                        "point_id": str(r.point_id),
                        "plot_id": str(r.plot_id),
                        "stratum": str(r.stratum),
                    },
                    "geometry": {
                        "type": "Point",
                        "coordinates": [round(float(r.lon), 6), round(float(r.lat), 6)],
                    },
                }
            )
    labels = design.get("labels")
    props: dict[str, dict[str, Any]] = {}
    if labels is not None:
        props = {str(k): {"stratum": str(v)} for k, v in labels.items()}
    else:
        props = {str(pid): {} for pid in inputs.plots["plot_id"].astype(str)}
    return {
        "points_geojson": {"type": "FeatureCollection", "features": feats},
        "plots_geojson": plots_geojson(inputs, props),
    }


def add_blockers_annex(
    b: Builder, doc: dict[str, Any], run: RunFiles, definition: Any, sid: str, titles: tuple[str, str]
) -> None:
    """The registration blockers: the run's scheme checks (all shown, the failing ones listed in
    ``annexes.blockers``) and what the conformance checker finds from the document's dates."""
    from methodology.conformance import check_document

    checks = list(run.summary["accounting"].get("scheme_checks") or [])
    blockers = [
        {"rule": c["rule"], "status": c["status"], "detail": c["detail"]}
        for c in checks
        if c.get("status") != "pass"
    ]
    doc["annexes"]["blockers"] = blockers
    known = {c["rule"] for c in checks}
    for f in check_document(doc, definition, for_registration=True):
        if f.status in ("hard_rule", "blocker") and f.item not in known:
            blockers.append(
                {"rule": f.item, "status": "fail" if f.status == "hard_rule" else "blocker", "detail": f.why}
            )
            known.add(f.item)
    blocks = b.section(sid, *titles)
    b.para(
        blocks,
        "下表列出温室气体自愿减排机制的硬性规定（管理办法第十条、第十七条）的检查结果；状态为“不满足”或“注册障碍”的条目在消除前项目不能登记。"
        f"`mrv methodology check {'pdd' if doc.get('kind') == 'pdd' else 'reduction_report'}.json --for-registration` 按本文件的日期复核。",
    )
    shown = [*checks, *[x for x in blockers if x["rule"] not in {c["rule"] for c in checks}]]
    b.table(
        blocks,
        "注册障碍及硬性规定检查",
        "Registration blockers and hard-rule checks",
        ["规则 Rule", "状态 Status", "说明 Detail"],
        [[c["rule"], _status_text(c["status"]), c["detail"]] for c in shown],
    )
    doc["sections"] = b.sections
    doc["values"] = b.values


def _participants_by_plot(b: Builder, blocks: list, plots: list[dict[str, Any]], src_pr: str) -> None:
    """One row per plot (farmer pseudonymised) with its area and credit."""
    rows = []
    for pl in plots:
        pid = pl["plot_id"]
        rsrc = src_pr + f" row plot_id {pid}"
        rows.append(
            [
                pid,
                pl["farmer_hash"],
                pl.get("village") or "—",
                b.num(
                    f"plot.{pid}.area_ha",
                    pl["area_ha"],
                    "ha",
                    rsrc + ", column area_ha (plots upload)",
                    None,
                    "plot polygon area in its UTM zone (geodata.area)",
                ),
                pl["baseline_practice"],
                pl["project_practice"],
                b.num(
                    f"plot.{pid}.credited_t_co2e",
                    pl["credited_t_co2e"],
                    "t CO2e",
                    rsrc + ", column net_t_co2e",
                    None,
                    "C_p = sum_y (R_py - D_py - B_py - E_py - L_py)",
                ),
            ]
        )
    b.table(
        blocks,
        "参与地块明细（农户匿名）",
        "Participating plots (farmers pseudonymised)",
        [
            "地块 Plot",
            "农户 Farmer (hashed)",
            "村 Village",
            "面积 Area (ha)",
            "基准线做法 Baseline",
            "项目做法 Project",
            "计入减排量 Credited (t CO2e)",
        ],
        rows,
    )


def _participants_by_village(b: Builder, blocks: list, pr: pd.DataFrame, src_pr: str) -> None:
    """One row per village (plots, farmers, area, credit): a project of more than
    :data:`PLOT_TABLE_MAX` plots would make a document of thousands of pages; its per-plot list
    (farmers pseudonymised) is the ``plots`` array of ``pdd.json``."""
    b.para(
        blocks,
        f"项目共 {len(pr)} 个地块，超过 {PLOT_TABLE_MAX} 个，本表按村汇总；逐地块明细（农户匿名）见 pdd.json 的 plots 数组。"
        f" The project has {len(pr)} plots, more than {PLOT_TABLE_MAX}: this table sums them by village; the per-plot "
        "list (farmers pseudonymised) is the plots array of pdd.json.",
    )
    rows = []
    for village, g in pr.groupby(pr["village"].fillna("—"), sort=True):
        k = f"village.{village}"
        rows_src = src_pr + f" rows with village '{village}'"
        rows.append(
            [
                village,
                count_num(b, f"{k}.plots", len(g), "plots", rows_src),
                count_num(
                    b, f"{k}.farmers", g["farmer_id"].nunique(), "farmers", rows_src + ", distinct farmer_id"
                ),
                *area_credit_cells(b, k, g, rows_src),
            ]
        )
    b.table(
        blocks,
        "参与村汇总",
        "Participating villages",
        ["村 Village", "地块 Plots", "农户 Farmers", "面积 Area (ha)", "计入减排量 Credited (t CO2e)"],
        rows,
    )
