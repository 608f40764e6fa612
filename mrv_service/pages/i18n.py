"""The pages' words in Chinese and English, in one table.

The language comes from ``?lang=zh`` or ``?lang=en`` on any page and is remembered in the
session; the default is Chinese. In Chinese the field's terms (headings, column names, labels)
are shown with their English beside them, "地块 Plots", as reviewers in China read both
(:func:`term`); sentences are in one language (:func:`t`).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import request, session
from markupsafe import Markup, escape

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "STRINGS", "language", "remember_language", "t", "term", "word"]

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

STRINGS: dict[str, tuple[str, str]] = {
    # --- the application and its navigation
    "app": ("土壤有机碳监测核查", "Soil-carbon MRV"),
    "projects": ("项目", "Projects"),
    "project": ("项目", "Project"),
    "dashboard": ("项目概览", "Dashboard"),
    "plots": ("地块", "Plots"),
    "plot": ("地块", "Plot"),
    "audit": ("审计记录", "Audit trail"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "email": ("电子邮箱", "E-mail"),
    "password": ("密码", "Password"),
    "role": ("角色", "Role"),
    "language": ("语言", "Language"),
    "bad_login": ("电子邮箱或密码不正确。", "The e-mail or password is not correct."),
    "signed_out": ("您已退出。", "You have signed out."),
    "sign_in_first": ("请先登录。", "Please sign in first."),
    "no_projects": (
        "您的机构还没有项目。请用 `mrv project create` 创建项目。",
        "Your organisation has no project yet. Create one with `mrv project create`.",
    ),
    "synthetic_note": (
        "注意：本项目的卫星影像是示例县的合成影像（非哥白尼观测），检测结果只说明程序可运行，不说明实际精度。",
        "Note: this project's imagery is the sample county's SYNTHETIC imagery (not Copernicus "
        "observations): its detections show that the code works, not how well it works on real fields.",
    ),
    "no_run": (
        "本项目还没有成功的运行：启动一次运行后这里会显示结果。",
        "This project has no succeeded run yet: start one to see results here.",
    ),
    # --- the dashboard
    "farmers": ("农户", "Farmers"),
    "villages": ("村", "Villages"),
    "village": ("村", "Village"),
    "farmer": ("农户", "Farmer"),
    "hectares": ("面积", "Area"),
    "methodology": ("方法学", "Methodology"),
    "crediting_period": ("计入期", "Crediting period"),
    "credit_by_vintage": ("各年份减排量", "Emission reductions per vintage"),
    "vintage": ("年份", "Vintage"),
    "removals": ("土壤碳清除量", "SOC removals"),
    "interval90": ("90 % 区间", "90 % interval"),
    "deductions": ("扣减", "Deductions"),
    "emissions": ("项目排放", "Project emissions"),
    "leakage": ("泄漏", "Leakage"),
    "net_credited": ("净减排量", "Net credited"),
    "total": ("合计", "Total"),
    "flags_by_practice": ("按做法和严重程度的核查标记", "Flags by practice and severity"),
    "flags": ("核查标记", "Verification flags"),
    "flag": ("标记", "Flag"),
    "no_flags": ("没有核查标记。", "No verification flags."),
    "review_progress": ("审核进度", "Review progress"),
    "reviewed_of": ("已审核 {done} / {total} 个标记", "{done} of {total} flags reviewed"),
    "runs": ("运行", "Runs"),
    "run": ("运行", "Run"),
    "start_run": ("启动运行", "Start a run"),
    "run_started": ("运行 {run_id} 已启动。", "Run {run_id} started."),
    "run_in_progress": ("运行中", "Running"),
    "stage": ("阶段", "Stage"),
    "status": ("状态", "Status"),
    "started": ("开始时间", "Started"),
    "finished": ("结束时间", "Finished"),
    "duration": ("用时", "Duration"),
    "error": ("错误", "Error"),
    "documents": ("文件", "Documents"),
    "no_documents": ("最新的运行没有生成文件。", "The latest run wrote no documents."),
    "pdd": ("项目设计文件", "Project design document"),
    "reduction_report": ("减排量核算报告", "Emission-reduction accounting report"),
    "map": ("项目地图", "Project map"),
    "colour_by": ("着色", "Colour by"),
    "by_credit": ("按减排量", "by credit"),
    "by_flag": ("按标记", "by flag"),
    "no_flag": ("无标记", "no flag"),
    "no_result": ("无结果", "no result"),
    "map_note": (
        "背景为服务器根据本项目影像渲染的真彩色图（无在线底图）。",
        "Background: a true-colour image rendered by the service from the project's imagery (no online tiles).",
    ),
    # --- the plot list
    "filter": ("筛选", "Filter"),
    "reset": ("清除", "Reset"),
    "all": ("全部", "all"),
    "practice": ("做法", "Practice"),
    "severity": ("严重程度", "Severity"),
    "review_state": ("审核状态", "Review state"),
    "unflagged": ("无标记", "unflagged"),
    "sort": ("排序", "Sort"),
    "by_plot": ("地块编号", "plot id"),
    "by_area": ("面积", "area"),
    "by_credit_sort": ("减排量", "credit"),
    "by_severity": ("严重程度", "severity"),
    "descending": ("降序", "descending"),
    "credit": ("减排量", "Credit"),
    "worst_severity": ("最严重标记", "Worst flag"),
    "n_flags": ("标记数", "Flags"),
    "project_practice": ("项目做法", "Project practice"),
    "baseline_practice": ("基线做法", "Baseline practice"),
    "plots_found": ("共 {n} 个地块", "{n} plots"),
    "page_of": ("第 {page} / {pages} 页", "page {page} of {pages}"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "farmer_hint": ("农户编号或姓名", "farmer id or name"),
    # --- the plot page
    "imagery": ("影像", "Imagery"),
    "plot_map": ("地块位置", "Plot location"),
    "truecolor": ("真彩色", "True colour"),
    "ndvi": ("NDVI", "NDVI"),
    "dates": ("日期", "Dates"),
    "show": ("显示", "Show"),
    "no_imagery": ("此地块没有可用的影像。", "No usable imagery of this plot."),
    "time_series": ("NDVI / NDTI 时间序列", "NDVI / NDTI time series"),
    "time_series_note": (
        "竖线为农户记录的农事活动；色带为检测到的做法。",
        "Vertical lines: the logged activities; bands: the detected practice.",
    ),
    "detected_practice": ("检测到的做法", "Detected practice"),
    "logged": ("记录", "Logged"),
    "detected": ("检测", "Detected"),
    "probability": ("概率", "Probability"),
    "reason": ("原因", "Reason"),
    "year": ("年份", "Year"),
    "soc_trajectory": ("土壤有机碳变化轨迹", "SOC trajectory"),
    "soc_note": (
        "基线与项目情景，土壤与地表凋落物，阴影为 90 % 区间 [t C/ha]。",
        "Baseline and project, soil and surface litter, shaded: the 90 % interval [t C/ha].",
    ),
    "no_trajectory": ("最新的运行没有此地块的轨迹。", "The latest run has no trajectory of this plot."),
    "soil_samples": ("土壤样品", "Soil samples"),
    "no_samples": ("此地块没有土壤样品。", "No soil samples of this plot."),
    "sample_id": ("样品编号", "Sample"),
    "date": ("日期", "Date"),
    "depth": ("深度", "Depth"),
    "soc": ("有机碳", "SOC"),
    "bulk_density": ("容重", "Bulk density"),
    "soc_stock": ("有机碳储量", "SOC stock"),
    "lab": ("实验室", "Lab"),
    "plot_credit": ("地块减排量", "The plot's credit"),
    "soc_change": ("土壤碳变化", "SOC change"),
    "no_plot_result": ("最新的运行没有此地块的结果。", "The latest run has no result for this plot."),
    "area": ("面积", "Area"),
    "review": ("审核", "Review"),
    "reviews": ("审核记录", "Reviews"),
    "no_reviews": ("还没有审核决定。", "No review decisions yet."),
    "decision": ("决定", "Decision"),
    "note": ("备注", "Note"),
    "method": ("做法", "Method"),
    "reviewer": ("审核人", "Reviewer"),
    "decided_at": ("时间", "Time"),
    "submit": ("提交", "Submit"),
    "review_saved": (
        "审核决定已保存并写入审计记录。",
        "The decision was saved and written to the audit trail.",
    ),
    "review_needs_role": (
        "您的角色只能查看，不能审核。",
        "Your role may view but not review.",
    ),
    "review_explain": (
        "接受：记录的做法成立；拒绝：此地块该季不计入减排量；要求补充证据（请写备注）；更正：下次运行使用所选做法。",
        "Accept: the logged practice stands; reject: the plot-season earns no credit; request "
        "evidence (write a note); override: the next run models the practice chosen.",
    ),
    "reviews_unavailable": (
        "审核功能暂不可用（存储中缺少审核模块）。",
        "Reviews are not available yet (the store's review module is missing).",
    ),
    # --- the audit trail
    "time": ("时间", "Time"),
    "actor": ("操作人", "Actor"),
    "action": ("操作", "Action"),
    "details": ("内容", "Details"),
    "no_entries": ("没有审计记录。", "No audit entries."),
    "older": ("更早", "Older"),
    # --- errors
    "error_400": ("请求无效。", "The request is not valid."),
    "error_csrf": (
        "表单已过期或缺少安全令牌，请重新加载页面后再试。",
        "The form expired or lacks its security token: reload the page and try again.",
    ),
    "error_403": ("您的角色无权执行此操作。", "Your role does not allow this."),
    "error_404": ("没有这个页面，或者它不属于您的机构。", "There is no such page in your organisation."),
    "error_405": ("此页面不接受这种请求。", "This page does not accept this method."),
    "error_413": ("上传的内容太大。", "The request is too large."),
    "error_500": (
        "服务器出错了。请稍后再试；若仍出错，请报告出错时间。",
        "The server failed. Try again later; if it persists, report the time.",
    ),
    "error_other": ("请求没有完成。", "The request could not be completed."),
    "back_home": ("返回项目列表", "Back to the projects"),
    # --- units
    "unit_ha": ("公顷 ha", "ha"),
}
"""key -> (Chinese, English)."""

VOCABULARY: dict[str, tuple[str, str]] = {
    # severities (models.verification.reconcile.SEVERITIES)
    "info": ("提示", "info"),
    "warning": ("警告", "warning"),
    "critical": ("严重", "critical"),
    "unverifiable": ("无法核实", "unverifiable"),
    # practices (mrv_service.store.verification.PRACTICES)
    "tillage": ("耕作", "tillage"),
    "residue": ("秸秆处理", "straw handling"),
    "sowing": ("播种", "sowing"),
    "harvest": ("收获", "harvest"),
    "green_cover": ("绿色覆盖", "green cover"),
    # review states and decisions
    "open": ("待审核", "open"),
    "accepted": ("已接受", "accepted"),
    "rejected": ("已拒绝", "rejected"),
    "evidence_requested": ("待补充证据", "evidence requested"),
    "overridden": ("已更正", "overridden"),
    "accept": ("接受", "accept"),
    "reject": ("拒绝", "reject"),
    "request_evidence": ("要求补充证据", "request evidence"),
    "override": ("更正做法", "override the practice"),
    # runs
    "running": ("运行中", "running"),
    "succeeded": ("成功", "succeeded"),
    "failed": ("失败", "failed"),
    "inputs": ("输入", "inputs"),
    "imagery": ("影像", "imagery"),
    "verification": ("核查", "verification"),
    "models": ("模型", "models"),
    "accounting": ("核算", "accounting"),
    "documents": ("文件", "documents"),
    # roles
    "admin": ("管理员", "admin"),
    "developer": ("项目开发者", "developer"),
    "agronomist": ("农艺师", "agronomist"),
    "viewer": ("查看者", "viewer"),
    # audit actions
    "review": ("审核", "review"),
    "run_started": ("运行开始", "run started"),
    "run_finished": ("运行结束", "run finished"),
    "run_failed": ("运行失败", "run failed"),
    "upload": ("上传", "upload"),
    "setting_change": ("设置更改", "setting change"),
    "document_issued": ("文件签发", "document issued"),
    # activities of the logs
    "fertiliser": ("施肥", "fertiliser"),
    "manure": ("施粪肥", "manure"),
    "irrigation": ("灌溉", "irrigation"),
}
"""Values of the field's vocabularies (severities, practices, review states ...) -> (Chinese, English)."""


def language() -> str:
    """The request's language: ``?lang=`` if valid, else the session's, else :data:`DEFAULT_LANGUAGE`."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = session.get("lang")
    return remembered if remembered in LANGUAGES else DEFAULT_LANGUAGE


def remember_language() -> None:
    """``before_request`` of the pages: keep a valid ``?lang=`` in the session."""
    asked = request.args.get("lang")
    if asked in LANGUAGES and session.get("lang") != asked:
        session["lang"] = asked


def _pair(key: str) -> tuple[str, str]:
    try:
        return STRINGS[key]
    except KeyError:
        log.warning("no page string %r: add it to mrv_service.pages.i18n.STRINGS", key)
        return key, key


def t(key: str, **values: Any) -> str:
    """The string ``key`` in the request's language, ``str.format``-ed with ``values``."""
    zh, en = _pair(key)
    text = zh if language() == "zh" else en
    return text.format(**values) if values else text


def term(key: str) -> Markup:
    """A field term: "地块 <span class=en>Plots</span>" in Chinese, "Plots" in English."""
    zh, en = _pair(key)
    if language() != "zh":
        return Markup(escape(en))
    if zh == en:
        return Markup(escape(zh))
    return Markup('{} <span class="en" lang="en">{}</span>').format(zh, en)


def word(value: Any) -> str:
    """A vocabulary value (severity, practice, review state ...) in the request's language; an
    unknown value is shown as it is."""
    if value is None:
        return ""
    pair = VOCABULARY.get(str(value))
    if pair is None:
        return str(value)
    return pair[0] if language() == "zh" else pair[1]
