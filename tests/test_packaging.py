"""kdlab stands on its own: the wheel holds every package, the configs and the dashboard, and an installed
kdlab (not editable) runs ``kdlab demo --smoke`` from a folder outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: What building the wheel reads from the checkout.
SOURCES = ("pyproject.toml", "README.md", "kdlab", "configs", "dashboard")


def _run(command: list[str], cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout's sources (the checkout is left as it is)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out),
          str(source)], cwd=source)
    (found,) = out.glob("kdlab-*.whl")
    return found


def _tracked(folder: str, suffixes: tuple[str, ...]) -> set[str]:
    root = REPO / folder
    return {str(p.relative_to(REPO)) for p in root.rglob("*") if p.is_file() and p.suffix in suffixes
            and "__pycache__" not in p.parts}


def test_the_wheel_holds_every_module_config_and_dashboard_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = _tracked("kdlab", (".py",))
    assert modules and modules <= names, f"modules missing from the wheel (list their package in pyproject.toml): " \
                                         f"{sorted(modules - names)[:5]}"
    configs = {"kdlab/" + n for n in _tracked("configs", (".toml",))}
    dashboard = {"kdlab/" + n for n in _tracked("dashboard", (".py", ".toml"))}
    assert "kdlab/configs/demo/mkd_streams.toml" in configs and "kdlab/dashboard/app.py" in dashboard
    assert "kdlab/dashboard/.streamlit/config.toml" in dashboard
    assert configs | dashboard <= names, sorted((configs | dashboard) - names)[:5]
    assert not any(n.startswith(("tests/", "notebooks/", "data/")) for n in names), "only the package is shipped"
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "kdlab = kdlab.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_an_installed_kdlab_runs_the_smoke_demo_from_any_folder(wheel, tmp_path):
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)], cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("KDLAB_RUNS", "KDLAB_DATA", "PYTHONPATH")}
    env.update(PYTHONPATH=str(target), NO_SERVE="1", KDLAB_QUIET="1")
    where = _run([sys.executable, "-c", "import json, kdlab; from kdlab.paths import bundled, checkout; "
                  "print(json.dumps([kdlab.__file__, str(bundled('configs')), str(bundled('dashboard')), checkout()]))"],
                 cwd=elsewhere, env=env)
    package, configs, dashboard, repo = json.loads(where.stdout)
    assert Path(package).is_relative_to(target) and repo is None, "the installed kdlab, not the checkout's"
    assert Path(configs, "demo", "mkd_streams.toml").is_file() and Path(dashboard, "app.py").is_file()
    assert Path(configs).is_relative_to(target) and Path(dashboard).is_relative_to(target)

    _run([sys.executable, "-m", "kdlab", "demo", "--smoke", "--runs", "runs", "--jobs", "1", "--no-serve"],
         cwd=elsewhere, env=env, timeout=600)
    runs = elsewhere / "runs"
    results = (runs / "results.txt").read_text()
    assert "teacher_iframe" in results and "fusion_mkd_streams" in results
    assert (elsewhere / "data" / "synthetic" / "tiny" / "synth.json").is_file(), "relative folders: the current one"
    summary = json.loads((runs / "mkd_streams" / "summary.json").read_text())
    assert summary["format"] == 2 and summary["loss"] == "avg_kd" and 0 <= summary["test"]["top1"] <= 100
    assert not (target / "runs").exists() and not (target / "data").exists(), "nothing written into the installation"
