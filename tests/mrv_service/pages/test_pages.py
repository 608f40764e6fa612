"""The review pages with Flask's test client: sign-in, CSRF, roles, tenancy, every page and
action, the plot list's filters, sorting and paging against counts made by hand from the run's
own files (and from the paging project's construction)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from mrv_service.pages import CONTENT_SECURITY_POLICY
from tests.mrv_service.pages.conftest import (
    N_PAGING,
    PASSWORD,
    csrf_token,
    email,
    make_app,
    sign_in,
)


@pytest.fixture(scope="module")
def app(pages_env):
    app = make_app(pages_env)
    yield app
    app.extensions["mrv"]["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def as_user(app):
    """``as_user("viewer")``: a test client signed in as that user."""

    def make(who: str):
        c = app.test_client()
        r = sign_in(c, who)
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        return c

    return make


@pytest.fixture(scope="module")
def run_files(pages_env):
    out = Path(pages_env["out_dir"])
    return {
        "flags": pd.read_csv(out / "flags.csv", dtype={"plot_id": str}),
        "results": pd.read_csv(out / "plot_results.csv", dtype={"plot_id": str}),
        "summary": json.loads((out / "summary.json").read_text(encoding="utf-8")),
    }


def _text(response) -> str:
    return response.get_data(as_text=True)


def _plot_ids(html: str) -> list[str]:
    """The plot ids of a plot list page, in table order."""
    body = html.split('<table class="data plots">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td><a href="/projects/\d+/plots/[^"]+">([^<]+)</a></td>', body)


def _count(html: str) -> int:
    found = re.search(r'<p class="count">共 (\d+) 个地块', html) or re.search(
        r'<p class="count">(\d+) plots', html
    )
    assert found, "no plot count on the page"
    return int(found.group(1))


def _all_ids(c, url: str) -> list[str]:
    """Every plot id of a filtered list, page by page."""
    ids, page = [], 1
    while True:
        html = _text(c.get(f"{url}{'&' if '?' in url else '?'}page={page}"))
        ids += _plot_ids(html)
        if 'rel="next"' not in html:
            return ids
        page += 1


def _audit_entries(app, project_id: int, action: str = "review") -> list[dict]:
    """The project's audit entries of ``action`` (actor, payload, created_at), in log order."""
    from mrv_service.store.models import AuditEntry

    with app.extensions["mrv"]["engine"].connect() as conn:
        rows = conn.execute(
            select(AuditEntry.actor, AuditEntry.payload, AuditEntry.created_at)
            .where(AuditEntry.project_id == project_id, AuditEntry.action == action)
            .order_by(AuditEntry.seq)
        ).all()
    return [{"actor": a, "payload": p, "created_at": t} for a, p, t in rows]


# --- sign-in, sessions, CSRF --------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, pages_env):
    pid = pages_env["project_id"]
    r = client.get(f"/projects/{pid}")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")
    assert f"/projects/{pid}" in r.headers["Location"]
    page = client.get("/login")
    assert page.status_code == 200
    assert "登录" in _text(page) and 'name="csrf_token"' in _text(page)


def test_sign_in_with_the_right_password(client, pages_env):
    r = sign_in(client, "agronomist")
    assert r.status_code == 302 and r.headers["Location"] == "/projects"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/projects")
    assert page.status_code == 200
    html = _text(page)
    assert "梨树县玉米保护性耕作增汇项目" in html and email("agronomist") in html
    assert "测试项目" not in html  # organisation other's project is not listed


@pytest.mark.parametrize(
    "login, password",
    [
        ("agronomist@example.org", "not the password"),
        ("nobody@example.org", PASSWORD),
        ("token-only@example.org", PASSWORD),  # a user without a password signs in with tokens only
        ("agronomist@example.org", ""),
    ],
)
def test_sign_in_refused(client, login, password):
    page = client.get("/login")
    r = client.post(
        "/login", data={"email": login, "password": password, "csrf_token": csrf_token(_text(page))}
    )
    assert r.status_code == 401
    assert "电子邮箱或密码不正确" in _text(r)
    assert client.get("/projects").status_code == 302  # still signed out


def test_sign_in_goes_back_to_the_page_asked_for_and_never_elsewhere(client, pages_env):
    pid = pages_env["project_id"]
    page = client.get("/login")
    token = csrf_token(_text(page))
    data = {"email": email("viewer"), "password": PASSWORD, "csrf_token": token}
    r = client.post(f"/login?next=/projects/{pid}/plots", data=data)
    assert r.headers["Location"] == f"/projects/{pid}/plots"
    client.post("/logout", data={"csrf_token": csrf_token(_text(client.get("/projects")))})
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        token = csrf_token(_text(client.get("/login")))
        r = client.post("/login", data={**data, "csrf_token": token, "next": evil})
        assert r.status_code == 302 and r.headers["Location"] == "/projects", evil
        client.post("/logout", data={"csrf_token": csrf_token(_text(client.get("/projects")))})


def test_csrf_token_is_required(client, as_user, app, pages_env):
    r = client.post("/login", data={"email": email("agronomist"), "password": PASSWORD})
    assert r.status_code == 400
    assert "text/html" in r.headers["Content-Type"] and "安全令牌" in _text(r)

    c = as_user("agronomist")
    pid, plot = pages_env["project_id"], pages_env["flagged_plot"]
    before = len(_audit_entries(app, pid))
    data = {"year": "2024", "practice": "tillage", "decision": "accept", "note": ""}
    r = c.post(f"/projects/{pid}/plots/{plot}/review", data=data)
    assert r.status_code == 400
    r = c.post(f"/projects/{pid}/plots/{plot}/review", data={**data, "csrf_token": "forged"})
    assert r.status_code == 400
    assert len(_audit_entries(app, pid)) == before
    # sign-out is a POST with the token too
    assert c.post("/logout").status_code == 400
    assert c.get("/projects").status_code == 200


def test_sign_out(as_user):
    c = as_user("viewer")
    assert c.get("/logout").status_code == 405
    r = c.post("/logout", data={"csrf_token": csrf_token(_text(c.get("/projects")))})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert c.get("/projects").status_code == 302


def test_language_is_chosen_and_remembered(as_user, pages_env):
    c = as_user("viewer")
    pid = pages_env["project_id"]
    zh = _text(c.get(f"/projects/{pid}"))
    assert "项目概览" in zh and '<span class="en" lang="en">Dashboard</span>' in zh
    assert '<html lang="zh-CN">' in zh
    en = _text(c.get(f"/projects/{pid}?lang=en"))
    assert '<html lang="en">' in en and ">Dashboard<" in en and "项目概览" not in en
    assert '<html lang="en">' in _text(c.get(f"/projects/{pid}/plots"))  # remembered
    assert '<html lang="zh-CN">' in _text(c.get(f"/projects/{pid}/plots?lang=zh"))


def test_every_string_of_the_templates_is_in_the_table():
    from mrv_service.pages.i18n import STRINGS

    root = Path(__file__).resolve().parents[3] / "mrv_service" / "pages" / "templates" / "pages"
    used = set()
    for path in root.glob("*.html"):
        used |= set(re.findall(r"\b(?:t|term)\('([a-z0-9_]+)'", path.read_text(encoding="utf-8")))
    used |= {"by_plot", "by_area", "by_credit_sort", "by_severity"}  # t(label) in plots.html
    assert used and not used - set(STRINGS), used - set(STRINGS)


# --- the dashboard ---------------------------------------------------------------------------------


def test_dashboard(as_user, pages_env, run_files, small_county):
    import geopandas as gpd

    c = as_user("viewer")
    pid = pages_env["project_id"]
    r = c.get(f"/projects/{pid}")
    assert r.status_code == 200
    html = _text(r)
    plots = gpd.read_file(small_county / "plots.geojson")
    figures = dict(re.findall(r"<dt>([^<]+)<span[^>]*>[^<]*</span></dt><dd class=\"num\">([^<]+)<", html))
    assert figures["地块 "] == str(len(plots))
    assert figures["农户 "] == str(plots["farmer_id"].nunique())
    assert figures["村 "] == str(plots["village"].nunique())
    # the synthetic imagery is said so
    assert "合成影像" in html
    # credit per vintage: the chart (inline SVG fit for the CSP) and the table
    vintages = run_files["summary"]["accounting"]["vintages"]
    assert '<svg stroke-linejoin="round" stroke-linecap="butt" class="chart chart-vintages"' in html
    svg = html.split('class="chart chart-vintages"', 1)[1].split("</svg>", 1)[0]
    assert "style=" not in svg and "<style" not in svg
    for year in vintages:
        assert f"<td>{year}</td>" in html
    # flags by practice and severity, linked to the plot list
    flags = run_files["flags"]
    for (practice, severity), n in flags.groupby(["practice", "severity"]).size().items():
        link = f'href="/projects/{pid}/plots?practice={practice}&amp;severity={severity}">{n}</a>'
        assert link in html, link
    # review progress, runs, documents, map
    assert '<progress class="review"' in html
    assert f'<td class="num">{pages_env["run_id"]}</td>' in html
    assert f'href="/projects/{pid}/documents/pdd.docx"' in html
    assert f'href="/projects/{pid}/documents/reduction_report.json"' in html
    config = json.loads(
        re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html).group(1)
    )
    assert config["data_url"] == f"/projects/{pid}/map.json"
    assert 'src="/vendor/leaflet/leaflet.js"' in html
    # a viewer may not start a run: no button
    assert f'action="/projects/{pid}/runs"' not in html
    assert f'action="/projects/{pid}/runs"' in _text(as_user("developer").get(f"/projects/{pid}"))


def test_project_map_data_and_background(as_user, pages_env, run_files):
    c = as_user("viewer")
    pid = pages_env["project_id"]
    data = c.get(f"/projects/{pid}/map.json").get_json()
    results = run_files["results"].set_index("plot_id")
    assert len(data["features"]) == len(results)
    for f in data["features"]:
        p = f["properties"]
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert p["credit"] == pytest.approx(results.loc[p["id"], "net_t_co2e"], abs=1e-4)
        assert p["severity"] == "unverifiable"  # every plot of the small county has such a flag
    w, s, e, n = data["background"]["bounds"]
    assert w < e and s < n and 124 < w < 125 and 43 < s < 44
    png = c.get(data["background"]["url"])
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_project_without_a_run(as_user, pages_env):
    c = as_user("developer")
    pid = pages_env["paging_project_id"]
    html = _text(c.get(f"/projects/{pid}?lang=en"))
    assert "This project has no succeeded run yet" in html and f'action="/projects/{pid}/runs"' in html
    assert "SYNTHETIC" not in html  # its imagery is not the sample's
    data = c.get(f"/projects/{pid}/map.json").get_json()
    assert len(data["features"]) == N_PAGING and data["background"] is None and data["credit_range"] is None
    assert c.get(f"/projects/{pid}/map/background.png").status_code == 404
    plot = _text(c.get(f"/projects/{pid}/plots/P001"))
    assert "No usable imagery of this plot" in plot and "No verification flags" in plot
    assert c.get(f"/projects/{pid}/documents/pdd.docx").status_code == 404


def test_documents_download(as_user, pages_env):
    c = as_user("viewer")
    pid = pages_env["project_id"]
    r = c.get(f"/projects/{pid}/documents/pdd.docx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert r.headers["Content-Disposition"] == 'attachment; filename="pdd.docx"'
    for bad in ("run.log", "summary.json", "..%2Fsummary.json"):
        r = c.get(f"/projects/{pid}/documents/{bad}", headers={"Accept": "text/html"})
        assert r.status_code == 404 and "text/html" in r.headers["Content-Type"], bad


# --- the plot list ---------------------------------------------------------------------------------


def _flagged(flags: pd.DataFrame, **where) -> set[str]:
    for column, value in where.items():
        flags = flags[flags[column] == value]
    return set(flags["plot_id"])


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", lambda f, r: set(r["plot_id"])),
        ("village=太平村", lambda f, r: set(r["plot_id"])),
        ("village=没有这个村", lambda f, r: set()),
        ("practice=green_cover", lambda f, r: _flagged(f, practice="green_cover")),
        ("severity=info", lambda f, r: _flagged(f, severity="info")),
        (
            "practice=tillage&severity=unverifiable",
            lambda f, r: _flagged(f, practice="tillage", severity="unverifiable"),
        ),
        ("practice=tillage&severity=critical", lambda f, r: set()),
        ("practice=sowing", lambda f, r: _flagged(f, practice="sowing")),
        ("review=unflagged", lambda f, r: set(r["plot_id"]) - set(f["plot_id"])),
        ("severity=bogus", lambda f, r: set(r["plot_id"])),  # an unknown value is ignored
    ],
)
def test_plot_list_filters_match_the_run_files(as_user, pages_env, run_files, query, expected):
    c = as_user("viewer")
    url = f"/projects/{pages_env['project_id']}/plots?{query}"
    want = expected(run_files["flags"], run_files["results"])
    html = _text(c.get(url))
    assert _count(html) == len(want)
    assert set(_all_ids(c, url)) == want


def test_plot_list_farmer_filter(as_user, pages_env, small_county):
    import geopandas as gpd

    plots = gpd.read_file(small_county / "plots.geojson")
    farmer = plots["farmer_id"].value_counts().index[0]
    name = plots.loc[plots["farmer_id"] == farmer, "farmer_name"].iloc[0]
    want = set(plots.loc[plots["farmer_id"] == farmer, "plot_id"])
    c = as_user("viewer")
    for value in (farmer, name):
        url = f"/projects/{pages_env['project_id']}/plots?farmer={value}"
        assert set(_all_ids(c, url)) == want


def test_plot_list_sorting(as_user, pages_env, run_files):
    c = as_user("viewer")
    pid = pages_env["project_id"]
    r = run_files["results"]
    # ties keep the run's plot order (plot id); descending is the exact reverse
    by_credit_up = r.sort_values(["net_t_co2e", "plot_id"])["plot_id"].tolist()
    assert _plot_ids(_text(c.get(f"/projects/{pid}/plots?sort=credit"))) == by_credit_up
    assert _plot_ids(_text(c.get(f"/projects/{pid}/plots?sort=credit&desc=1"))) == by_credit_up[::-1]
    area = r.set_index("plot_id")["area_ha"]  # rounded to 0.0001 ha in the CSV: ties may differ
    by_area = _plot_ids(_text(c.get(f"/projects/{pid}/plots?sort=area")))
    assert sorted(by_area) == sorted(r["plot_id"])
    assert all(area[a] <= area[b] for a, b in zip(by_area, by_area[1:], strict=False))
    ids = sorted(r["plot_id"])
    assert _plot_ids(_text(c.get(f"/projects/{pid}/plots"))) == ids
    assert _plot_ids(_text(c.get(f"/projects/{pid}/plots?sort=plot&desc=1"))) == ids[::-1]
    # every plot has an unverifiable flag, the most blocking severity: ties sort by plot id
    assert _plot_ids(_text(c.get(f"/projects/{pid}/plots?sort=severity&desc=1"))) == ids


def test_plot_list_paging_and_filters_by_hand(as_user, pages_env):
    """The paging project: 120 plots P001..P120, 50 per page; plot i has 0.2 + 0.01 i ha, farmer
    F{i % 12}, village 东村 when i % 3 == 0 (conftest.paging_plots)."""
    c = as_user("viewer")
    base = f"/projects/{pages_env['paging_project_id']}/plots"
    page1 = _text(c.get(base))
    assert _count(page1) == N_PAGING and "第 1 / 3 页" in page1
    assert _plot_ids(page1) == [f"P{i:03d}" for i in range(1, 51)]
    assert _plot_ids(_text(c.get(base + "?page=2"))) == [f"P{i:03d}" for i in range(51, 101)]
    page3 = _text(c.get(base + "?page=3"))
    assert _plot_ids(page3) == [f"P{i:03d}" for i in range(101, 121)] and 'rel="next"' not in page3
    assert _plot_ids(_text(c.get(base + "?page=99"))) == _plot_ids(page3)  # past the end: the last page
    assert _plot_ids(_text(c.get(base + "?page=abc"))) == _plot_ids(page1)
    # area, largest first: P120 (1.40 ha), P119 ...
    assert _plot_ids(_text(c.get(base + "?sort=area&desc=1")))[:3] == ["P120", "P119", "P118"]
    assert _plot_ids(_text(c.get(base + "?sort=area&desc=1&page=3")))[-1] == "P001"
    # villages and farmers
    east = _all_ids(c, base + "?village=东村")
    assert east == [f"P{i:03d}" for i in range(3, 121, 3)]
    assert len(_all_ids(c, base + "?village=西村")) == 80
    assert _all_ids(c, base + "?farmer=F5") == [f"P{i:03d}" for i in range(1, 121) if i % 12 == 5]
    assert _all_ids(c, base + "?farmer=农户0&village=东村") == [f"P{i:03d}" for i in range(12, 121, 12)]
    # no run: no flags, every plot unflagged
    assert _count(_text(c.get(base + "?severity=critical"))) == 0
    assert _count(_text(c.get(base + "?review=unflagged"))) == N_PAGING
    # no credit yet: sorting by it keeps the plot id order
    assert _plot_ids(_text(c.get(base + "?sort=credit&desc=1"))) == _plot_ids(page1)


# --- the plot page -------------------------------------------------------------------------------


def test_plot_page(as_user, pages_env, run_files):
    c = as_user("viewer")
    pid, plot = pages_env["project_id"], pages_env["flagged_plot"]
    r = c.get(f"/projects/{pid}/plots/{plot}")
    assert r.status_code == 200
    html = _text(r)
    # chips of the default dates, true colour and NDVI
    chips = re.findall(r'<img src="(/projects/\d+/plots/[^"]+/chip\.png\?[^"]+)"', html)
    assert chips and len(chips) % 2 == 0
    assert any("kind=ndvi" in u for u in chips) and any("kind=truecolor" in u for u in chips)
    # charts: the time series and the SOC trajectory, inline SVG without inline style
    for kind in ("timeseries", "trajectory"):
        assert f'class="chart chart-{kind}"' in html, kind
    assert "style=" not in html
    # flags with probability and reason, as in flags.csv
    flags = run_files["flags"][run_files["flags"]["plot_id"] == plot]
    assert html.count('<tr class="flag-row"') == len(flags)
    for reason in flags["reason"]:
        assert (
            reason.replace("`", "&#96;").split("`")[0][:40] in html.replace("&#39;", "'")
            or reason[:30] in html
        )
    # the credit of plot_results.csv
    net = run_files["results"].set_index("plot_id").loc[plot, "net_t_co2e"]
    assert f"{net:.3f}".replace("-", "\u2212") in html
    # a viewer sees no review form
    assert 'class="review-form"' not in html and "只能查看" in html


def test_plot_page_soil_samples(as_user, pages_env, app):
    from mrv_service.store.models import Plot, SoilSample

    with app.app_context():
        from mrv_service.api.db import db_session

        row = (
            db_session()
            .execute(
                select(Plot.external_id, func.count())
                .join(SoilSample, SoilSample.plot_id == Plot.id)
                .where(Plot.project_id == pages_env["project_id"])
                .group_by(Plot.external_id)
            )
            .first()
        )
    if row is None:
        pytest.skip("the small county has no soil sample on a plot")
    html = _text(as_user("viewer").get(f"/projects/{pages_env['project_id']}/plots/{row[0]}"))
    section = html.split("土壤样品", 1)[1]
    assert section.count("<tr><td>") >= row[1]


def test_image_chips(as_user, pages_env):
    c = as_user("viewer")
    pid, plot = pages_env["project_id"], pages_env["flagged_plot"]
    html = _text(c.get(f"/projects/{pid}/plots/{plot}"))
    url = (
        re.search(r'<img src="(/projects/\d+/plots/[^"]+/chip\.png\?[^"]+)"', html)
        .group(1)
        .replace("&amp;", "&")
    )
    r = c.get(url)
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data[:4] == b"\x89PNG"
    assert c.get(f"/projects/{pid}/plots/{plot}/chip.png?date=1999-01-01&kind=ndvi").status_code == 404
    assert c.get(f"/projects/{pid}/plots/{plot}/chip.png?date=2024-06-01&kind=infrared").status_code == 404
    # chosen dates
    date = re.search(r'name="date" value="(\d{4}-\d\d-\d\d)"', html).group(1)
    chosen = _text(c.get(f"/projects/{pid}/plots/{plot}?date={date}&date=nonsense"))
    assert re.findall(r"chip\.png\?date=([\d-]+)", chosen) == [date, date]


# --- review actions --------------------------------------------------------------------------------


def _review(c, pid: int, plot: str, **form):
    token = csrf_token(_text(c.get(f"/projects/{pid}/plots/{plot}")))
    return c.post(f"/projects/{pid}/plots/{plot}/review", data={"csrf_token": token, **form})


def test_review_actions_land_in_the_audit_trail(as_user, app, pages_env, run_files):
    c = as_user("agronomist")
    pid = pages_env["project_id"]
    plots = sorted(run_files["results"]["plot_id"])
    one, two, three = plots[-1], plots[-2], plots[-3]  # the browser test reviews the first
    years = sorted(run_files["flags"].loc[run_files["flags"]["plot_id"] == one, "year"])
    year = int(years[0])
    before = len(_audit_entries(app, pid))

    r = _review(c, pid, one, year=year, practice="tillage", decision="reject", note="no till seen")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/plots/{one}#flags")
    page = _text(c.get(f"/projects/{pid}/plots/{one}"))
    assert "审核决定已保存" in page and "已拒绝" in page
    r = _review(
        c, pid, two, year=year, practice="residue", decision="request_evidence", note="photo of the mulch"
    )
    assert r.status_code == 302
    r = _review(c, pid, three, year=year, practice="tillage", decision="override", method="no_till")
    assert r.status_code == 302
    r = _review(c, pid, three, year=year, practice="residue", decision="accept", method="removed")
    assert r.status_code == 302  # the method is only taken with an override

    # a request for evidence needs a note; an override needs a method the models know
    r = _review(c, pid, two, year=year, practice="tillage", decision="request_evidence", note="")
    assert r.status_code == 400 and "note" in _text(r)
    r = _review(c, pid, two, year=year, practice="tillage", decision="override", method="teleported")
    assert r.status_code == 400 and "method" in _text(r)
    r = _review(c, pid, two, year="last year", practice="tillage", decision="accept")
    assert r.status_code == 400

    entries = _audit_entries(app, pid)[before:]
    got = [
        (e["actor"], e["payload"]["plot_id"], e["payload"]["practice"], e["payload"]["decision"])
        for e in entries
    ]
    reviewer = email("agronomist")
    assert got == [
        (reviewer, one, "tillage", "reject"),
        (reviewer, two, "residue", "request_evidence"),
        (reviewer, three, "tillage", "override"),
        (reviewer, three, "residue", "accept"),
    ]
    assert entries[0]["payload"]["note"] == "no till seen" and entries[2]["payload"]["method"] == "no_till"
    assert all(
        e["payload"]["via"] == "pages" and e["payload"]["run_id"] == pages_env["run_id"] for e in entries
    )

    # the audit page shows them with the reviewer and the time
    audit = _text(c.get(f"/projects/{pid}/audit"))
    assert audit.count('<tr class="audit-review">') >= 4 and reviewer in audit and " UTC" in audit
    assert f'href="/projects/{pid}/plots/{one}">{one}</a>' in audit

    # the plot list's review states
    base = f"/projects/{pid}/plots"
    assert set(_all_ids(c, base + "?review=rejected")) == {one}
    assert set(_all_ids(c, base + "?review=evidence_requested")) == {two}
    assert set(_all_ids(c, base + "?review=overridden")) == {three}
    assert three in set(_all_ids(c, base + "?review=accepted"))
    assert set(_all_ids(c, base + "?practice=residue&review=evidence_requested")) == {two}
    assert set(_all_ids(c, base + "?practice=tillage&review=evidence_requested")) == set()
    # the dashboard's review progress counts them
    dash = _text(c.get(f"/projects/{pid}"))
    done = int(re.search(r"已审核 (\d+) / (\d+) 个标记", dash).group(1))
    assert done >= 4


@pytest.mark.parametrize("who", ["viewer", "developer"])
def test_roles_without_review_get_403(as_user, app, pages_env, who):
    c = as_user(who)
    pid, plot = pages_env["project_id"], pages_env["flagged_plot"]
    before = len(_audit_entries(app, pid))
    r = _review(c, pid, plot, year=2024, practice="tillage", decision="accept")
    assert r.status_code == 403
    assert "text/html" in r.headers["Content-Type"] and "无权" in _text(r)
    assert len(_audit_entries(app, pid)) == before


@pytest.mark.parametrize("who", ["viewer", "agronomist"])
def test_roles_without_write_cannot_start_runs(as_user, app, pages_env, who):
    c = as_user(who)
    pid = pages_env["project_id"]
    before = len(_audit_entries(app, pid, "run_started"))
    token = csrf_token(_text(c.get(f"/projects/{pid}")))
    r = c.post(f"/projects/{pid}/runs", data={"csrf_token": token})
    assert r.status_code == 403 and "无权" in _text(r)
    assert len(_audit_entries(app, pid, "run_started")) == before


def test_developer_starts_a_run_and_sees_its_progress(as_user, app, pages_env, monkeypatch):
    """The run is registered and queued as over the API (the queue is replaced by a recorder
    here: the real run's outputs are shared by the other tests); the dashboard then shows the
    progress bar, which polls status.json; a second start is refused while it runs."""
    import mrv_service.api.runs as runs_api
    from mrv_service.store.db import session_scope
    from mrv_service.store.models import Run
    from mrv_service.store.runs import finish_run

    submitted = []

    class Recorder:
        def submit(self, *args):
            submitted.append(args)

    monkeypatch.setattr(runs_api, "jobs_of_app", lambda: Recorder())
    c = as_user("developer")
    pid = pages_env["project_id"]
    token = csrf_token(_text(c.get(f"/projects/{pid}")))
    r = c.post(f"/projects/{pid}/runs", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/projects/{pid}#runs")
    assert len(submitted) == 1 and submitted[0][0] == pages_env["project_name"]
    run_id = submitted[0][1]
    try:
        html = _text(c.get(f"/projects/{pid}"))
        assert f"运行 {run_id} 已启动" in html
        assert f'data-status-url="/projects/{pid}/runs/{run_id}/status.json"' in html
        assert '<progress id="run-progress"' in html
        status = c.get(f"/projects/{pid}/runs/{run_id}/status.json").get_json()
        assert status["status"] == "running" and status["id"] == run_id
        r = c.post(f"/projects/{pid}/runs", data={"csrf_token": token})  # refused: one at a time
        assert r.status_code == 302 and "run in progress" in _text(c.get(f"/projects/{pid}"))
        assert len(submitted) == 1
    finally:
        with session_scope(app.extensions["mrv"]["engine"]) as s:
            finish_run(s, s.get(Run, run_id), ok=False, timings={}, error="test: not executed", actor="test")
    assert c.get(f"/projects/{pid}/runs/{run_id}/status.json").get_json()["status"] == "failed"


# --- tenancy and errors ----------------------------------------------------------------------------


def test_another_organisations_ids_are_404(as_user, pages_env):
    c = as_user("admin")
    own, other = pages_env["project_id"], pages_env["other_project_id"]
    for url in (
        f"/projects/{other}",
        f"/projects/{other}/plots",
        f"/projects/{other}/plots/{pages_env['other_plot']}",
        f"/projects/{other}/map.json",
        f"/projects/{other}/audit",
        f"/projects/{other}/documents/pdd.docx",
        f"/projects/{own}/plots/{pages_env['other_plot']}",  # the other organisation's plot id
        f"/projects/{own}/plots/NO-SUCH-PLOT",
        f"/projects/{own}/runs/{pages_env['run_id'] + 1000}/status.json",
        "/projects/999999",
    ):
        r = c.get(url)
        assert r.status_code == 404, url
        assert "text/html" in r.headers["Content-Type"] and "不属于您的机构" in _text(r), url
    token = csrf_token(_text(c.get(f"/projects/{own}")))
    r = c.post(f"/projects/{other}/runs", data={"csrf_token": token})
    assert r.status_code == 404
    # and the other way round
    o = as_user("other")
    assert o.get(f"/projects/{own}").status_code == 404
    assert o.get(f"/projects/{own}/plots/{pages_env['flagged_plot']}").status_code == 404
    assert o.get(f"/projects/{other}/plots/{pages_env['other_plot']}").status_code == 200


def test_errors_are_html_outside_the_api_and_json_inside(client, as_user):
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    r = client.get("/no/such/page", headers=browser)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert '<h1><span class="status">404</span>' in _text(r)
    # a client asking for no type in particular keeps the API's JSON shape (tests/mrv_service/api)
    r = client.get("/no/such/page")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    api = client.get("/api/v1/docs/assets/no-such-file.js")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
    api = client.get("/api/v1/no/such/thing")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "unauthorized"
    assert client.delete("/login").status_code == 405


def test_security_headers(as_user, client, pages_env):
    c = as_user("viewer")
    for url in (f"/projects/{pages_env['project_id']}", "/login", "/no/such/page", "/assets/pages/pages.css"):
        r = c.get(url, headers={"Accept": "text/html"})
        r.close()
        assert r.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, url
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in client.get("/api/v1/openapi.json").headers


def test_assets_are_served_locally(client):
    for url, kind in (
        ("/vendor/leaflet/leaflet.js", "javascript"),
        ("/vendor/leaflet/leaflet.css", "css"),
        ("/assets/pages/pages.css", "css"),
        ("/assets/pages/pages.js", "javascript"),
    ):
        r = client.get(url)
        r.close()
        assert r.status_code == 200 and kind in r.mimetype, url
    for url in ("/vendor/leaflet/../__init__.py", "/vendor/leaflet/%2e%2e/__init__.py"):
        r = client.get(url)
        r.close()
        assert r.status_code == 404, url


def test_api_tokens_still_work_without_csrf(app, pages_env):
    """The API's POSTs carry a Bearer token and no CSRF token (their blueprints are exempt)."""
    from mrv_service.store.db import session_scope
    from mrv_service.store.users import create_user

    with session_scope(app.extensions["mrv"]["engine"]) as s:
        _user, token = create_user(s, "default", "api-agronomist@example.org", "agronomist")
    c = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    pid = pages_env["project_id"]
    flags = c.get(f"/api/v1/projects/{pid}/flags?limit=1", headers=headers).get_json()
    flag = flags["items"][0]
    r = c.post(
        f"/api/v1/projects/{pid}/flags/{flag['id']}/review",
        json={"decision": "request_evidence", "note": "via the API"},
        headers=headers,
    )
    assert r.status_code == 200, r.get_json()


def test_cli_creates_a_user_with_a_password(tmp_path):
    from click.testing import CliRunner

    from mrv_service.api import create_app
    from mrv_service.cli import cli
    from mrv_service.config import load_settings
    from tests.mrv_service.conftest import cli_env

    env = cli_env(tmp_path)
    args = ["users", "create", "--org", "acme", "--role", "agronomist", "--email", "a@acme.example"]
    r = CliRunner().invoke(cli, [*args, "--password-stdin"], input="a long enough password\n", env=env)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        cli,
        [
            "users",
            "create",
            "--org",
            "acme",
            "--role",
            "viewer",
            "--email",
            "b@acme.example",
            "--password-stdin",
        ],
        input="short\n",
        env=env,
    )
    assert r.exit_code != 0 and "10 to 1024 characters" in r.output
    app = create_app(load_settings(env), {"TESTING": True})
    try:
        c = app.test_client()
        token = csrf_token(_text(c.get("/login")))
        r = c.post(
            "/login",
            data={"email": "a@acme.example", "password": "a long enough password", "csrf_token": token},
        )
        assert r.status_code == 302 and r.headers["Location"] == "/projects"
        assert "a@acme.example" in _text(c.get("/projects"))
    finally:
        app.extensions["mrv"]["engine"].dispose()


def test_inline_svg_fits_the_content_security_policy():
    from mrv_service.pages.templating import inline_svg

    svg = (
        '<svg width="10"><defs><style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>'
        '</defs><path d="M 0 0" style="fill: #ffffff; stroke-width: 0.8; behaviour: x"/>'
        "<text style=\"font-family: 'Noto Sans CJK SC', sans-serif; font-size: 10px\">a &lt; b</text></svg>"
    )
    assert str(inline_svg(svg)) == (
        '<svg stroke-linejoin="round" stroke-linecap="butt" width="10"><defs></defs>'
        '<path d="M 0 0" fill="#ffffff" stroke-width="0.8"/>'
        '<text font-family="&#39;Noto Sans CJK SC&#39;, sans-serif" font-size="10px">a &lt; b</text></svg>'
    )
