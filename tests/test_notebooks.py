"""Every notebook is committed clean, stays paired with its text twin, and runs top to bottom in SMOKE mode."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def test_the_six_notebooks_exist():
    assert NAMES == ["01_compressed_video", "02_teachers", "03_single_vs_multi_teacher", "04_compression",
                     "05_aggregation_and_ablations", "06_real_datasets_and_gpus"]


@pytest.mark.parametrize("name", NAMES)
def test_committed_clean_and_paired(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}.ipynb has outputs: strip them"
    text = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert [c.source for c in text.cells] == [c.source for c in notebook.cells], (
        f"{name}.ipynb and {name}.py differ: run `jupytext --sync notebooks/{name}.py`")
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", []) and "SMOKE" in first_code.source


def _cells(name: str) -> list:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells


@pytest.mark.parametrize("name", NAMES)
def test_teaching_material(name):
    """Objectives, prerequisites, run time and links up front; exercises with folded solutions; a slider;
    references with DOIs or arXiv ids at the end (issue 12)."""
    cells = _cells(name)
    header = cells[0].source
    for part in ("**You will learn to**", "**Prerequisites**", "**Run time**"):
        assert part in header, f"{name}: the first cell says {part}"
    links = re.findall(r"\]\((\d\d_\w+)\.ipynb\)", header)
    index = NAMES.index(name)
    neighbours = {NAMES[i] for i in (index - 1, index + 1) if 0 <= i < len(NAMES)}
    assert neighbours <= set(links), f"{name}: the header links the previous and next notebooks"
    every_link = {link for cell in cells if cell.cell_type == "markdown"
                  for link in re.findall(r"\]\((\d\d_\w+)\.ipynb\)", cell.source)}
    assert every_link <= set(NAMES), f"{name} links notebooks that do not exist: {every_link - set(NAMES)}"
    exercises = [c for c in cells if c.cell_type == "markdown" and "### Exercise" in c.source]
    solutions = [c for c in cells if "solution" in c.metadata.get("tags", [])]
    assert len(exercises) >= 3 and len(solutions) >= len(exercises), f"{name}: three exercises or more, each solved"
    for cell in solutions:
        assert cell.metadata.get("jupyter", {}).get("source_hidden"), f"{name}: solutions start folded in JupyterLab"
    assert any(c.cell_type == "code" and "interactive_figure(" in c.source and "static=STATIC" in c.source for c in cells), \
        f"{name}: a try-this cell with a slider that falls back to a static figure"
    parameters = next(c for c in cells if c.cell_type == "code")
    assert "STATIC" in parameters.source
    references = [c.source for c in cells if c.cell_type == "markdown" and c.source.startswith("## References")]
    assert references and re.search(r"doi:10\.|arXiv:\d{4}\.\d{4,5}", references[0]), f"{name}: references with DOIs or arXiv ids"


@pytest.fixture(scope="session")
def smoke_data(tmp_path_factory):
    from kdlab.data.synthetic import PRESETS, generate

    return generate(tmp_path_factory.mktemp("nbdata") / "tiny", PRESETS["tiny"], workers=1, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_in_smoke_mode(name, smoke_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KDLAB_SMOKE", "1")
    monkeypatch.setenv("KDLAB_DATA", str(smoke_data))
    monkeypatch.setenv("KDLAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    last = [c for c in notebook.cells if c.cell_type == "code"][-1]
    assert any(o.get("name") == "stdout" and o["text"].startswith("- ") for o in last.outputs), "the take-aways were printed"
