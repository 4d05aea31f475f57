"""The dashboard served by `streamlit run` and driven by a headless Chromium (Playwright): every page loads at its
own URL, shows its charts and no exception; the temperature and fusion-weight sliders change the figures and the
fused accuracy; a copied link reopens the same view; a screenshot of each page goes to test-output/screenshots/.

Skips without the ``chromium`` executable or the ``playwright`` package. Run alone with ``pytest -m browser``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_dashboard import make_study

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "test-output" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# url path: (link title in the navigation, Plotly charts on the page with the fixture's study)
PAGES = {"motion_vectors": ("Motion vectors", 5), "teachers": ("Teachers", 8), "confusion": ("Confusion matrices", 3),
         "results": ("Results", 4), "distillation": ("Distillation", 5), "fusion": ("Fusion", 1)}
CHARTS = '[data-testid="stPlotlyChart"]'
EXCEPTION = '[data-testid="stException"]'
RENDERED = "text=page rendered in"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no chromium executable on PATH")
    pytest.importorskip("playwright.sync_api")
    return path


@pytest.fixture(scope="module")
def server(chromium, tmp_path_factory):
    """``streamlit run dashboard/app.py -- --runs STUDY`` on 127.0.0.1; yields ``(url, study folder)``."""
    study = make_study(tmp_path_factory.mktemp("browser"))
    port = free_port()
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard" / "app.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--", "--runs", str(study)],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start (exit {process.poll()}); see {log.name}")
                time.sleep(0.3)
        yield url, study
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def page(chromium, server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 2400})
        tab.set_default_timeout(60_000)
        yield tab
        browser.close()


def runs_box(tab):
    """The sidebar's runs-folder text box (its help button has the same label)."""
    return tab.get_by_label("Runs folder", exact=True).and_(tab.locator("input"))


def wait_until_idle(tab, charts: int = 0, rendered: bool = True) -> None:
    """Until the script has finished (no running indicator) and ``charts`` Plotly charts are drawn.

    ``rendered``: wait for the sidebar's "page rendered in" too (a page that stops early has none).
    """
    if rendered:
        tab.wait_for_selector(RENDERED)
    tab.wait_for_function("""n => !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-stale="true"]')
        && document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot').length == n""", arg=charts)


def test_every_page_loads_with_its_charts(server, page):
    url, _ = server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    page.goto(url)  # the root: the first page, at its own address
    wait_until_idle(page, PAGES["motion_vectors"][1])
    first = round(time.perf_counter() - started, 2)
    page.wait_for_url(f"{url}/motion_vectors")
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0 and page.get_by_text("Deploy").count() == 0
    timings = {}
    for path, (title, charts) in PAGES.items():
        started = time.perf_counter()
        page.goto(f"{url}/{path}")
        wait_until_idle(page, charts)
        timings[title] = round(time.perf_counter() - started, 2)
        assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
        assert page.locator(CHARTS).count() == charts
        assert page.locator("text=Page not found").count() == 0
        assert page.get_by_role("heading", name=title, exact=True).count() == 1
        page.screenshot(path=str(SCREENSHOTS / f"{path}.png"), full_page=True)
    print(f"browser: first page after start-up {first} s; page loads (s, a fresh session each):", timings)


def test_navigation_and_the_runs_folder_box(server, page, tmp_path):
    url, study = server
    page.goto(url)
    wait_until_idle(page, 5)
    timings = {}
    for path, (title, charts) in [*list(PAGES.items())[1:], *list(PAGES.items())[:1]]:  # the first page last
        started = time.perf_counter()
        page.get_by_role("link", name=title, exact=True).click()
        page.wait_for_url(f"{url}/{path}")
        page.get_by_role("heading", name=title, exact=True).wait_for()
        wait_until_idle(page, charts)
        timings[title] = round(time.perf_counter() - started, 2)
        assert page.locator(EXCEPTION).count() == 0
    print("browser page switches (s, cached):", timings)

    box = runs_box(page)
    box.fill(str(tmp_path))
    box.press("Enter")
    page.wait_for_selector("text=no run folders in")
    page.get_by_role("link", name="Results", exact=True).click()
    page.wait_for_url(f"{url}/results?runs_dir=*")  # the folder typed in the box stays in the URL
    page.get_by_role("heading", name="Results").wait_for()
    page.wait_for_selector('[data-testid="stAlert"]:has-text("make demo")')  # which command makes runs
    wait_until_idle(page, 0, rendered=False)
    assert page.locator(CHARTS).count() == 0 and page.locator(EXCEPTION).count() == 0
    assert runs_box(page).input_value() == str(tmp_path)  # kept across pages
    page.screenshot(path=str(SCREENSHOTS / "no_runs.png"))
    box = runs_box(page)
    box.fill(str(study))
    box.press("Enter")
    wait_until_idle(page, PAGES["results"][1])
    assert page.locator(EXCEPTION).count() == 0


def slider(tab, label: str):
    """The thumb of the slider labelled ``label`` (keyboard: arrows step it, Home and End go to its ends)."""
    return tab.locator('[data-testid="stSlider"]', has_text=label).get_by_role("slider")


def chart_data(tab, index: int) -> str:
    """The drawn values (x and y of every trace) of the page's ``index``-th Plotly chart, as JSON."""
    return tab.evaluate("""i => JSON.stringify(document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')[i]
        ._fullData.map(t => [Array.from(t.x || []), Array.from(t.y || [])]))""", index)


def test_the_temperature_slider_changes_the_soft_targets(server, page):
    url, _ = server
    page.goto(f"{url}/distillation")
    wait_until_idle(page, PAGES["distillation"][1])
    before = chart_data(page, 0), chart_data(page, 1)
    assert page.get_by_role("heading", name="Soft targets at T = 4").count() == 1
    slider(page, "Temperature T").press("End")  # T = 20
    page.get_by_role("heading", name="Soft targets at T = 20").wait_for()
    wait_until_idle(page, PAGES["distillation"][1])
    after = chart_data(page, 0), chart_data(page, 1)
    assert after[0] != before[0] and after[1] != before[1], "the teachers' and the aggregated soft targets change"
    assert "d_T=20.0" in page.url and page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(SCREENSHOTS / "distillation_T20.png"), full_page=True)


def test_a_fusion_weight_changes_the_fused_accuracy_and_the_link_keeps_it(server, page):
    url, _ = server
    page.goto(f"{url}/fusion")
    wait_until_idle(page, PAGES["fusion"][1])
    fused = page.locator('[data-testid="stMetricValue"]').first
    before, grid = fused.inner_text(), chart_data(page, 0)
    slider(page, "I-frame weight").press("Home")  # weight 0: the motion and residual streams alone
    page.wait_for_url("**f_w_iframe=0.0**")
    page.wait_for_function("""b => document.querySelector('[data-testid="stMetricValue"]').innerText != b""", arg=before)
    wait_until_idle(page, PAGES["fusion"][1])
    after = fused.inner_text()
    assert after != before and after.endswith("%")
    assert chart_data(page, 0) != grid, "the marker of your weights leaves the map"
    link = page.url
    page.goto("about:blank")
    page.goto(link)  # the copied link: a new session, nothing but the URL to go by
    wait_until_idle(page, PAGES["fusion"][1])
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == after
    thumb = page.locator('[data-testid="stSlider"]', has_text="I-frame weight").get_by_test_id("stSliderThumbValue")
    assert thumb.inner_text() == "0.00"
