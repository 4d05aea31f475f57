"""Build the kdlab book: execute the notebooks on a study's runs and render them as a static HTML site.

    python notebooks/book/build.py                      # full mode on runs/demo (make book)
    python notebooks/book/build.py --smoke --out DIR    # SMOKE mode: tiny data, one epoch (the tests)

The tools are Jupyter's own: nbclient executes each notebook, nbconvert renders it with its ``lab``
template, extended by ``templates/kdlab`` (a navigation bar, solutions folded into ``<details>``,
plotly.js loaded once from ``_static/`` instead of a CDN). Plotly's outputs (``application/vnd.plotly.v1+json``)
become HTML through ``plotly.io.to_html``, so the figures stay interactive in the static pages, and the
notebooks' sliders run as Plotly sliders (``KDLAB_STATIC=1``). The index page holds the table of contents
and the README's account of the method (its opening paragraph and "How the study decides").

The study's runs folder (``--runs``, default ``runs/demo``) is read, never written: the notebooks run on a
*shadow* folder (``--work``/runs) that links every finished training run and copies every fusion (a
notebook's study fuses again and rewrites ``study.json``; those writes land in the shadow). Runs a
notebook has to train (``make demo`` not run, or ``make study``'s ablations missing) are trained in the
shadow and kept there for the next build. The synthetic set (``--data``, default ``data/synthetic/default``)
is read through a shadow too (:func:`shadow_data`).

The site needs no network (MathJax, for the formulas, comes from a CDN when there is one; without it
formulas show as TeX). Open ``site/index.html`` in a browser.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
import plotly.io as pio
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from plotly.offline import get_plotlyjs

BOOK = Path(__file__).resolve().parent
NOTEBOOKS = BOOK.parent
REPO = NOTEBOOKS.parent
TEMPLATES = BOOK / "templates"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
#: The README's parts that the index page shows: its opening paragraph and this section.
README_SECTION = "### How the study decides"


class BookError(RuntimeError):
    """A build step that cannot go on; the message says which and what to do."""


# --- the pages ---------------------------------------------------------------------------------------

def notebook_names(only: list[str] | None = None) -> list[str]:
    """The numbered notebooks (``01_...`` to ``06_...``) in reading order, or those of ``only``."""
    names = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise BookError(f"no notebook called {unknown}; choose among {names}")
        names = [n for n in names if n in only]
    return names


def title_of(notebook: nbformat.NotebookNode) -> str:
    """The first level-1 heading of the notebook (``01 · What is inside an MPEG-4 file``)."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "notebook"


def objectives_of(notebook: nbformat.NotebookNode) -> list[str]:
    """The "You will learn to" bullets of the notebook's first cell (empty when it has none)."""
    lines = notebook.cells[0].source.splitlines() if notebook.cells else []
    out, inside = [], False
    for line in lines:
        if line.startswith("**You will learn to**"):
            inside = True
        elif inside and line.startswith("* "):
            out.append(line[2:].strip())
        elif inside and line.startswith("  ") and out:
            out[-1] += " " + line.strip()
        elif inside:
            break
    return out


def readme_method(readme: Path = REPO / "README.md") -> str:
    """The README's opening paragraph and its section on how the study decides, as markdown."""
    text = readme.read_text(encoding="utf-8")
    body = text.split("\n", 1)[1].lstrip("\n")
    opening = body.split("\n\n", 1)[0]
    if README_SECTION not in text:
        raise BookError(f"{readme}: no section {README_SECTION!r} for the book's index; restore it or change "
                        "README_SECTION in notebooks/book/build.py")
    section = text.split(README_SECTION, 1)[1]
    section = re.split(r"\n#{1,3} ", section, maxsplit=1)[0]
    return f"{opening}\n\n## How the study decides\n{section.rstrip()}\n"


def index_notebook(pages: list[tuple[str, nbformat.NotebookNode]]) -> nbformat.NotebookNode:
    """The book's front page, as a notebook of markdown cells rendered like the others."""
    toc = []
    for name, notebook in pages:
        toc.append(f"{len(toc) + 1}. [{title_of(notebook)}]({name}.html)")
        toc += [f"   * {o}" for o in objectives_of(notebook)]
    cells = [
        "# kdlab: multi-teacher knowledge distillation on compressed video\n\n"
        "A course in six executed notebooks. It follows Wu and Chiu, *Multi-teacher knowledge distillation for "
        "compressed video action recognition based on deep learning* (J. Systems Architecture 103, 2020, "
        "[doi:10.1016/j.sysarc.2019.101695](https://doi.org/10.1016/j.sysarc.2019.101695)), from the bits of an "
        "MPEG-4 file to a student network taught by several teachers, and checks every claim against runs "
        "made on a synthetic benchmark that trains on a laptop CPU. Each page was executed when the book was "
        "built; its numbers are those of that build. Each notebook has exercises (solutions folded: click to "
        "open them) and a \"try this\" figure with a slider.",
        "## Contents\n\n" + "\n".join(toc),
        "## The method in brief (from the README)\n\n" + readme_method(),
        "## Running it yourself\n\n"
        "`make demo` trains the study (about 4 minutes on 2 CPU cores), `make lab` opens these notebooks in "
        "JupyterLab, where the sliders are live widgets, and `make book` rebuilds this site from the runs.",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(c) for c in cells]
    notebook.metadata["title"] = "kdlab book"
    return notebook


# --- rendering ---------------------------------------------------------------------------------------

class BookPreprocessor(Preprocessor):
    """Plotly outputs to HTML (plotly.js comes once per page from ``_static``), notebook links to pages."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\]\((\d\d_\w+)\.ipynb(#[^)]*)?\)", r"](\1.html\2)", cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY_MIME in data and "text/html" not in data:
                figure = data[PLOTLY_MIME]
                data["text/html"] = pio.to_html(figure, include_plotlyjs=False, full_html=False, validate=False,
                                                config={"responsive": True})
        return cell, resources


def exporter() -> HTMLExporter:
    exporter = HTMLExporter(template_name="kdlab", extra_template_basedirs=[str(TEMPLATES)])
    exporter.register_preprocessor(BookPreprocessor(), enabled=True)
    return exporter


def render(notebook: nbformat.NotebookNode, out: Path, nav: dict) -> Path:
    """Write ``notebook`` as ``out`` (HTML) with the navigation links ``nav`` (``previous``, ``next``: (href, title))."""
    html, _ = exporter().from_notebook_node(notebook, resources={"book": nav})
    out.write_text(html, encoding="utf-8")
    return out


# --- executing ---------------------------------------------------------------------------------------

def shadow_runs(source: Path | None, shadow: Path) -> dict:
    """Make ``shadow`` a runs folder that reads ``source`` without writing to it.

    Finished training runs are linked, fusions copied (their steps fuse again, in the shadow); a run the
    shadow trained itself is kept until the source has it too. Returns how many runs are linked and copied.
    """
    shadow.mkdir(parents=True, exist_ok=True)
    for entry in shadow.iterdir():  # links whose run is gone or unfinished in the source
        if entry.is_symlink() and not (entry / "summary.json").exists():
            entry.unlink()
    linked = copied = 0
    if source is None or not source.is_dir():
        return {"linked": 0, "copied": 0}
    for run in sorted(source.iterdir()):
        summary_file = run / "summary.json"
        if not run.is_dir() or not summary_file.exists():
            continue
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        if not summary.get("complete"):
            continue
        target = shadow / run.name
        if summary.get("kind") == "fusion":
            if target.is_symlink():
                target.unlink()
            elif target.exists():
                shutil.rmtree(target)
            shutil.copytree(run, target, ignore=shutil.ignore_patterns(".lock"))
            copied += 1
        else:
            if not target.is_symlink():
                if target.exists():  # trained in the shadow by an earlier build: the study's own run wins
                    shutil.rmtree(target)
                target.symlink_to(run.resolve(), target_is_directory=True)
            linked += 1
    return {"linked": linked, "copied": copied}


def shadow_data(source: Path, shadow: Path) -> Path:
    """A synthetic set that reads ``source`` without writing to it: its folders (videos, cache) linked, its
    small files (``synth.json``, the lists) copied. The notebooks' ``workspace()`` checks a set by generating
    it again, which rewrites those small files even when the set is complete; in the shadow it rewrites copies."""
    shadow.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        target = shadow / entry.name
        if entry.is_dir():
            if not target.is_symlink() and not target.exists():
                target.symlink_to(entry.resolve(), target_is_directory=True)
        else:
            shutil.copy2(entry, target)
    return shadow


def execute(name: str, executed: Path, timeout: int) -> nbformat.NotebookNode:
    """Run notebook ``name`` top to bottom (environment already set); save and return the executed copy."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    except Exception as exc:  # nbclient's CellExecutionError carries the cell's traceback
        raise BookError(f"notebooks/{name}.ipynb failed while building the book:\n{exc}") from None
    executed.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, executed / f"{name}.ipynb")
    return notebook


def build(out: Path, work: Path, runs: Path | None, data: Path | None, smoke: bool, only: list[str] | None,
          timeout: int = 3600, log=print) -> dict:
    """Execute the notebooks and write the site under ``out``; returns the seconds each step took."""
    names = notebook_names(only)
    started = time.perf_counter()
    shadow = work / ("smoke-runs" if smoke else "runs")
    made = shadow_runs(runs, shadow)
    log(f"runs: reading {runs or 'nothing'} through {shadow} ({made['linked']} runs linked, {made['copied']} fusions copied)")
    os.environ.update(KDLAB_STATIC="1", KDLAB_RUNS=str(shadow), CI="1")
    if data is None:
        data = REPO / "data" / "synthetic" / ("tiny" if smoke else "default")
    if (data / "synth.json").exists():  # made by `make demo` (or the tests): read it through a shadow
        source, data = data, shadow_data(data, work / ("smoke-data" if smoke else "data"))
        log(f"data: reading {source} through {data}")
    os.environ["KDLAB_DATA"] = str(data)  # when absent, the first notebook generates it (as `make demo` would)
    if smoke:
        os.environ["KDLAB_SMOKE"] = "1"
    else:
        os.environ.pop("KDLAB_SMOKE", None)
    seconds, pages = {}, []
    for name in names:
        start = time.perf_counter()
        log(f"[{name}] executing ({'SMOKE' if smoke else 'full'} mode) ...")
        pages.append((name, execute(name, work / "executed", timeout)))
        seconds[name] = time.perf_counter() - start
        log(f"[{name}] executed in {seconds[name]:.0f} s")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("[0-9][0-9]_*.html"):  # pages of an earlier build that this one leaves out
        if stale.stem not in names:
            stale.unlink()
    (out / "_static").mkdir(exist_ok=True)
    (out / "_static" / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    home = ("index.html", "Contents")
    for i, (name, notebook) in enumerate(pages):
        previous = (f"{pages[i - 1][0]}.html", title_of(pages[i - 1][1])) if i else home
        following = (f"{pages[i + 1][0]}.html", title_of(pages[i + 1][1])) if i + 1 < len(pages) else home
        render(notebook, out / f"{name}.html", {"previous": previous, "next": following, "home": home})
    first = (f"{pages[0][0]}.html", title_of(pages[0][1])) if pages else home
    render(index_notebook(pages), out / "index.html", {"previous": None, "next": first, "home": home})
    seconds["total"] = time.perf_counter() - started
    log(f"book: {len(pages)} notebooks and the index in {out} ({seconds['total']:.0f} s); open {out / 'index.html'}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python notebooks/book/build.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "site", help="where the site goes (default: site/)")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "book",
                        help="the shadow runs folder and the executed notebooks (default: build/book/)")
    parser.add_argument("--runs", type=Path, default=None,
                        help="the study's runs, read only (default: runs/demo; none in SMOKE mode)")
    parser.add_argument("--data", type=Path, default=None, help="the synthetic set (default: the notebooks' own)")
    parser.add_argument("--smoke", action="store_true", help="tiny data, one epoch (as the tests run the notebooks)")
    parser.add_argument("--only", nargs="+", default=None, metavar="NOTEBOOK", help="build these notebooks only")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a cell may run (default 3600)")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (None if args.smoke else REPO / "runs" / "demo")
    try:
        build(args.out.resolve(), args.work.resolve(), runs.resolve() if runs else None,
              args.data.resolve() if args.data else None, args.smoke, args.only, args.timeout)
    except BookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
