"""Every notebook is committed clean, stays paired with its text twin, and runs top to bottom in SMOKE mode."""

from __future__ import annotations

import os
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
