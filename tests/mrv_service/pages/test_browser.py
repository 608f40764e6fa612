"""The review pages in a real browser: Debian's chromium driven by Playwright, the app served by
waitress (as ``mrv serve`` does) on 127.0.0.1 in a thread.

Sign in, open the dashboard, open a flagged plot, check that the charts and maps rendered
(non-empty SVG, Leaflet's paths, the background and the image chips loaded), accept the flag and
find the decision in the audit trail; a viewer cannot review; another organisation's plot id is
404. Every request must stay on 127.0.0.1 and no console error may appear. The screenshots of
the README are taken on the way (into ``docs/images/pages_dashboard.png`` and ``pages_plot.png``
with ``MRV_UPDATE_SCREENSHOTS=1``).

Skipped when /usr/bin/chromium (or the playwright package) is missing, unless
``MRV_REQUIRE_BROWSER=1``, in which case that fails.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.mrv_service.pages.conftest import PASSWORD, email, make_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "docs" / "images"
"""Where the README's screenshots are written when ``MRV_UPDATE_SCREENSHOTS=1`` (otherwise to a
temporary folder, so that `make test` leaves the checkout unchanged)."""
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.slow


def _need_browser():
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is missing (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("MRV_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MRV_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(f"browser tests need chromium: {missing}")


@pytest.fixture(scope="module")
def server(browser_env):
    """The app on waitress, 127.0.0.1 and a free port, in a thread; yields its base URL."""
    _need_browser()
    from waitress import create_server

    app = make_app(browser_env)
    srv = create_server(app, host="127.0.0.1", port=0, threads=4, ident="mrv-test")
    thread = threading.Thread(target=srv.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.effective_port}"
    finally:
        srv.close()
        thread.join(timeout=10)
        app.extensions["mrv"]["engine"].dispose()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Watched:
    """A page whose every request URL and console error is recorded."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def goto(self, path: str):
        return self.page.goto(self.base + path, wait_until="networkidle")

    def sign_in(self, who: str) -> None:
        self.goto("/login")
        self.page.fill('input[name="email"]', email(who))
        self.page.fill('input[name="password"]', PASSWORD)
        with self.page.expect_navigation(wait_until="networkidle"):
            self.page.click('form button[type="submit"]')

    def check(self, allow_console: tuple[str, ...] = ()) -> None:
        """Every request went to this server; no console error (but those expected)."""
        outside = [
            u
            for u in self.requests
            if not u.startswith(self.base + "/") and not u.startswith(("data:", "blob:"))
        ]
        assert not outside, f"requests leaving the server: {outside}"
        errors = [e for e in self.errors if not any(a in e for a in allow_console)]
        assert not errors, f"console errors: {errors}"

    def close(self) -> None:
        self.context.close()


def _svg_drawn(page, selector: str) -> int:
    """Number of drawn shapes (paths, lines, rects, uses with a size) in the SVG ``selector``."""
    return page.eval_on_selector(
        selector,
        """svg => Array.from(svg.querySelectorAll('path, line, rect, polyline, use'))
               .filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length""",
    )


def _map_ready(page) -> int:
    page.wait_for_selector("#map[data-ready]")
    assert page.get_attribute("#map", "data-error") is None
    return int(page.get_attribute("#map", "data-ready"))


def _worst_severities(env) -> list:
    import sqlalchemy as sa

    from mrv_service.store.db import make_engine

    engine = make_engine(env["settings"].database_url)
    try:
        with engine.connect() as c:
            return list(
                c.execute(
                    sa.text("SELECT worst_severity FROM plot_results WHERE run_id = :r"), {"r": env["run_id"]}
                ).scalars()
            )
    finally:
        engine.dispose()


def test_review_a_flagged_plot_in_the_browser(browser, server, browser_env, tmp_path):
    pid, plot = browser_env["project_id"], browser_env["flagged_plot"]
    shots = SCREENSHOTS if os.environ.get("MRV_UPDATE_SCREENSHOTS") == "1" else tmp_path
    w = Watched(browser, server)
    page = w.page
    try:
        # sign in: the organisation's projects
        w.sign_in("agronomist")
        assert page.url == server + "/projects"
        # the dashboard
        with page.expect_navigation(wait_until="networkidle"):
            page.click(f'a[href="/projects/{pid}"]')
        n_plots = _map_ready(page)
        assert n_plots == browser_env["n_plot_results"]
        assert page.locator("#map path.leaflet-interactive").count() == n_plots
        background = page.locator("#map img.leaflet-image-layer")
        assert background.count() == 1
        assert background.evaluate("img => img.complete && img.naturalWidth > 0")
        assert _svg_drawn(page, "svg.chart-vintages") > 5
        assert page.locator(".banner.synthetic").is_visible()
        # colour by flag: the legend swaps and the plots take their severity colour
        assert page.locator("#legend-flag").is_hidden()
        page.check('input[name="colour-by"][value="flag"]')
        assert page.locator("#legend-flag").is_visible() and page.locator("#legend-credit").is_hidden()
        fills = page.locator("#map path.leaflet-interactive").evaluate_all(
            "ps => ps.map(p => p.getAttribute('fill'))"
        )
        # the colours of the plots' worst severities in the run (pages.js), counted in the store
        colour = {
            "info": "#4e79a7",
            "warning": "#e8a33d",
            "critical": "#d7301f",
            "unverifiable": "#7b3294",
            None: "#b8d8b8",
        }
        assert sorted(fills) == sorted(colour[w] for w in _worst_severities(browser_env))
        assert "#d7301f" in fills  # the trained detectors found critical contradictions
        page.check('input[name="colour-by"][value="credit"]')
        page.screenshot(path=str(shots / "pages_dashboard.png"), full_page=True)

        # a flagged plot, from the plot list
        with page.expect_navigation(wait_until="networkidle"):
            page.click(f'nav a[href="/projects/{pid}/plots"]')
        # the plot list filtered to critical tillage flags: the flagged plot is the first
        page.select_option('select[name="practice"]', "tillage")
        page.select_option('select[name="severity"]', "critical")
        with page.expect_navigation(wait_until="networkidle"):
            page.locator("form.filters button[type=submit]").click()
        assert page.locator("table.plots tbody tr").first.inner_text().startswith(plot)
        with page.expect_navigation(wait_until="networkidle"):
            page.click(f'table.plots a[href="/projects/{pid}/plots/{plot}"]')
        assert page.url == f"{server}/projects/{pid}/plots/{plot}"
        assert _svg_drawn(page, "svg.chart-timeseries") > 5
        assert _svg_drawn(page, "svg.chart-trajectory") > 5
        assert _map_ready(page) >= 1
        assert page.locator("#map path.leaflet-interactive[stroke='#ff00ff']").count() == 1
        chips = page.locator(".chip-pair img")
        assert chips.count() >= 2
        for i in range(chips.count()):
            chips.nth(i).scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete", arg=chips.nth(i).element_handle())
            assert chips.nth(i).evaluate("img => img.naturalWidth") == 256
        page.screenshot(path=str(shots / "pages_plot.png"), full_page=True)

        # accept the first flag
        row = page.locator("tr.flag-row").first
        year, practice = row.get_attribute("data-year"), row.get_attribute("data-practice")
        row.locator('select[name="decision"]').select_option("accept")
        row.locator('input[name="note"]').fill("field photo checked 浏览器")
        with page.expect_navigation(wait_until="networkidle"):
            row.locator('button[type="submit"]').click()
        assert page.locator(".flash").first.inner_text().startswith("审核决定已保存")
        row = page.locator(f'tr.flag-row[data-year="{year}"][data-practice="{practice}"]')
        assert row.locator(".badge.review-accepted").count() == 1

        # the decision in the audit trail, with the reviewer
        with page.expect_navigation(wait_until="networkidle"):
            page.click(f'nav a[href="/projects/{pid}/audit"]')
        entry = page.locator("tr.audit-review").first
        text = entry.inner_text()
        assert email("agronomist") in text and plot in text and "接受" in text
        assert "field photo checked 浏览器" in text and year in text

        # another organisation's plot id: 404
        response = w.goto(f"/projects/{browser_env['other_project_id']}/plots/{browser_env['other_plot']}")
        assert response.status == 404 and "404" in page.locator("h1").inner_text()
        response = w.goto(f"/projects/{pid}/plots/{browser_env['other_plot']}")
        assert response.status == 404
        w.check(allow_console=("404",))  # the 404 answers themselves are logged by chromium
    finally:
        w.close()


def test_a_viewer_cannot_review_in_the_browser(browser, server, browser_env):
    pid, plot = browser_env["project_id"], browser_env["flagged_plot"]
    w = Watched(browser, server)
    page = w.page
    try:
        w.sign_in("viewer")
        w.goto(f"/projects/{pid}/plots/{plot}")
        assert page.locator("tr.flag-row").count() >= 1
        assert page.locator("form.review-form").count() == 0
        assert "只能查看" in page.locator("#flags").inner_text()
        # a forged review POST (with a valid CSRF token) is refused
        status = page.evaluate(
            """async ([url, year]) => {
                 const token = document.querySelector('input[name="csrf_token"]').value;
                 const body = new URLSearchParams({csrf_token: token, year: year, practice: 'tillage',
                                                   decision: 'accept'});
                 const r = await fetch(url, {method: 'POST', body: body});
                 return r.status;
               }""",
            [f"/projects/{pid}/plots/{plot}/review", "2024"],
        )
        assert status == 403
        # no start button on the dashboard either
        w.goto(f"/projects/{pid}")
        _map_ready(page)
        assert page.locator(f'form[action="/projects/{pid}/runs"]').count() == 0
        w.check(allow_console=("403",))
    finally:
        w.close()
