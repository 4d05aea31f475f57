"""The project's set-up stays consistent: pyproject, environment.yml, Makefile, CI, README."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    project = _pyproject()["project"]
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11"
    assert re.match(r">=3\.(\d+)", project["requires-python"])
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    extras = set(project["optional-dependencies"])
    assert "-e .[all]" in pip, "environment.yml installs the package with all its extras"
    (everything,) = project["optional-dependencies"]["all"]
    assert set(re.fullmatch(r"kdlab\[(.*)\]", everything).group(1).split(",")) == extras - {"all"}
    # the torch pins of environment.yml are pyproject's
    deps = {re.split(r"[<>=]", d)[0]: d for d in project["dependencies"]}
    for line in pip:
        name = re.split(r"[<>=\[ ]", line)[0]
        if name in ("torch", "torchvision"):
            assert line == deps[name]


def test_torch_ranges_admit_the_pinned_pair():
    deps = {re.split(r"[<>=]", d)[0]: d for d in _pyproject()["project"]["dependencies"]}

    def admits(spec: str, version: str) -> bool:
        v = tuple(map(int, version.split(".")))
        for op, bound in re.findall(r"(>=|<=|<|>|==)([\d.]+)", spec):
            b = tuple(map(int, bound.split(".")))
            ok = {">=": v >= b, "<=": v <= b, "<": v < b, ">": v > b, "==": v == b}[op]
            if not ok:
                return False
        return True

    assert admits(deps["torch"], "2.14.1") and admits(deps["torchvision"], "0.29.1")


def test_console_script_and_make_targets():
    assert _pyproject()["project"]["scripts"]["kdlab"] == "kdlab.cli:main"
    makefile = (REPO / "Makefile").read_text()
    for target in ("demo:", "test:", "lab:", "install:"):
        assert target in makefile
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci and "chromium" in ci


def test_readme_front_door():
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    for command in ("kdlab reencode", "kdlab inspect", "kdlab export"):
        assert command in readme


def test_bundled_samples_keep_their_attribution():
    samples = REPO / "data" / "samples"
    clips = sorted(p.name for p in samples.iterdir() if p.suffix in (".avi", ".mp4"))
    notice = (samples / "README.md").read_text()
    assert clips and all(name in notice for name in clips)
    assert (samples / "LICENSES" / "LICENSE_torchvision_BSD-3-Clause").exists()
