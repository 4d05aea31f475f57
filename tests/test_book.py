"""The book (`make book`, notebooks/book/build.py): its pieces, a SMOKE build, and its pages in Chromium.

The build test executes one notebook in SMOKE mode into a temporary folder (about 20 s on 2 cores) and the
browser tests open that build's index and notebook page in a headless Chromium (Playwright) and check that
the Plotly figures are drawn, the slider is there and the solutions are folded. A last test checks the
site that `make book` wrote under site/, when there is one. The browser tests skip without the
``chromium`` executable or the ``playwright`` package; only file:// URLs are loaded (no network).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "notebooks" / "book" / "build.py"
SITE = REPO / "site"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PLOTS = ".js-plotly-plot .main-svg"


def load_builder():
    spec = importlib.util.spec_from_file_location("kdlab_book_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


book = load_builder()


# --- the pieces --------------------------------------------------------------------------------------

def test_readme_method_is_the_opening_and_how_the_study_decides():
    text = book.readme_method()
    assert "kdlab implements" in text and "Verdicts follow the interval" in text
    assert "## Results" not in text and "Two commands" not in text


def test_notebooks_have_titles_and_objectives_for_the_contents():
    for name in book.notebook_names():
        notebook = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
        assert book.title_of(notebook).startswith(name[:2] + " · ")
        assert len(book.objectives_of(notebook)) >= 3, f"{name}: its objectives feed the book's contents"
    with pytest.raises(book.BookError, match="no notebook called"):
        book.notebook_names(["99_nothing"])


def test_preprocessor_turns_plotly_into_html_and_links_into_pages():
    import plotly.graph_objects as go

    figure = json.loads(go.Figure(go.Bar(y=[1, 2])).to_json())
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("see [02](02_teachers.ipynb) and [x](https://a.b/c.ipynb)"),
                      nbformat.v4.new_code_cell("fig", outputs=[nbformat.v4.new_output(
                          "display_data", data={book.PLOTLY_MIME: figure, "text/plain": "Figure()"})])]
    notebook, _ = book.BookPreprocessor().preprocess(notebook, {})
    assert "(02_teachers.html)" in notebook.cells[0].source and "(https://a.b/c.ipynb)" in notebook.cells[0].source
    html = notebook.cells[1].outputs[0].data["text/html"]
    assert "Plotly.newPlot" in html and "<script src" not in html  # plotly.js comes once, from _static/


def test_shadow_runs_read_the_study_without_writing_to_it(tmp_path):
    source, shadow = tmp_path / "runs", tmp_path / "shadow"

    def run(name, **summary):
        folder = source / name
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps(summary))
        (folder / "predictions.npz").write_bytes(b"x")
        return folder

    run("teacher_mv", complete=True)
    run("fusion_teachers", complete=True, kind="fusion")
    run("student_ce", complete=False)
    (source / "study.json").write_text("{}")
    before = {p: p.stat().st_mtime_ns for p in source.rglob("*")}
    made = book.shadow_runs(source, shadow)
    assert made == {"linked": 1, "copied": 1}
    assert (shadow / "teacher_mv").is_symlink() and (shadow / "teacher_mv").resolve() == (source / "teacher_mv").resolve()
    assert (shadow / "fusion_teachers").is_dir() and not (shadow / "fusion_teachers").is_symlink()
    assert not (shadow / "student_ce").exists() and not (shadow / "study.json").exists()
    (shadow / "fusion_teachers" / "summary.json").write_text("{}")  # a notebook fuses again in the shadow
    (shadow / "trained_here").mkdir()  # and trains what is missing there
    book.shadow_runs(source, shadow)  # a second build refreshes the copies and keeps the shadow's own runs
    assert json.loads((shadow / "fusion_teachers" / "summary.json").read_text())["kind"] == "fusion"
    assert (shadow / "trained_here").is_dir()
    assert {p: p.stat().st_mtime_ns for p in source.rglob("*")} == before, "the source runs are never written"
    run("trained_here", complete=True)  # the study has it now: the link replaces the shadow's own copy
    assert book.shadow_runs(source, shadow)["linked"] == 2 and (shadow / "trained_here").is_symlink()


def test_shadow_data_links_the_videos_and_copies_the_small_files(tmp_path):
    source = tmp_path / "default"
    (source / "RedRiseSteady").mkdir(parents=True)
    (source / "RedRiseSteady" / "v.avi").write_bytes(b"video")
    (source / "synth.json").write_text("{}")
    (source / "trainlist01.txt").write_text("RedRiseSteady/v.avi 1\n")
    before = {p: p.stat().st_mtime_ns for p in source.rglob("*")}
    shadow = book.shadow_data(source, tmp_path / "shadow")
    assert (shadow / "RedRiseSteady").is_symlink() and (shadow / "RedRiseSteady" / "v.avi").read_bytes() == b"video"
    (shadow / "synth.json").write_text('{"complete": false}')  # what generate() does to a complete set
    assert (source / "synth.json").read_text() == "{}"
    assert {p: p.stat().st_mtime_ns for p in source.rglob("*")} == before


# --- a SMOKE build -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    """``build.py --smoke --only 01_compressed_video`` into a temporary folder; yields the site folder."""
    from kdlab.data.synthetic import PRESETS, generate

    root = tmp_path_factory.mktemp("book")
    data = generate(root / "tiny", PRESETS["tiny"], workers=1, progress=False)
    site = root / "site"
    result = subprocess.run(
        [sys.executable, str(BUILD), "--smoke", "--only", "01_compressed_video", "--out", str(site),
         "--work", str(root / "work"), "--data", str(data)],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert result.returncode == 0, f"the book did not build:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return site


@pytest.mark.slow
def test_smoke_build_writes_the_pages(smoke_book):
    assert (smoke_book / "_static" / "plotly.min.js").stat().st_size > 1_000_000
    index = (smoke_book / "index.html").read_text(encoding="utf-8")
    page = (smoke_book / "01_compressed_video.html").read_text(encoding="utf-8")
    assert 'href="01_compressed_video.html"' in index and "How the study decides" in index
    assert page.count('<details class="kd-solution">') >= 3 and "Plotly.newPlot" in page
    assert "require.js" not in page and "require.min.js" not in page  # nothing from a CDN but MathJax


# --- the pages in Chromium ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no chromium executable on PATH")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return page, errors


@pytest.mark.browser
@pytest.mark.slow
def test_index_and_a_notebook_page_draw_their_figures(browser, smoke_book):
    page, errors = open_page(browser, (smoke_book / "index.html").as_uri())
    assert page.locator("nav.kd-nav").count() == 2
    page.click('text="01 · What is inside an MPEG-4 file"')
    page.wait_for_url("**/01_compressed_video.html")
    page.wait_for_selector(PLOTS, timeout=20_000)
    assert page.locator(PLOTS).count() >= 5, "the notebook's Plotly figures are drawn"
    assert page.locator(".js-plotly-plot .slider-container").count() >= 1, "the try-this figure has its slider"
    solutions = page.locator("details.kd-solution")
    assert solutions.count() >= 3 and page.locator("details.kd-solution[open]").count() == 0, "solutions start folded"
    solutions.first.locator("summary").click()
    assert page.locator("details.kd-solution[open]").count() == 1
    assert errors == [], errors
    page.close()


@pytest.mark.browser
def test_the_site_that_make_book_wrote(browser):
    if not (SITE / "index.html").exists():
        pytest.skip("no site/ yet: `make book` builds it")
    names = sorted(p.name for p in SITE.glob("[0-9][0-9]_*.html"))
    assert names, "site/ has an index but no notebook page"
    for name in names:
        page, errors = open_page(browser, (SITE / name).as_uri())
        page.wait_for_selector(PLOTS, timeout=30_000)
        assert page.locator(PLOTS).count() >= 1 and errors == [], (name, errors)
        page.close()
