"""Licence, citation, lock file and manifest versions: what a user or packager reads about the
project must agree with the project itself."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import tomllib
from importlib.metadata import packages_distributions

import pytest
import yaml
from jsonschema import Draft7Validator

from conftest import REPO
from sim.results import package_versions


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_licence_is_mit_everywhere():
    project = pyproject()["project"]
    assert project["license"] == "MIT"  # SPDX string, not the deprecated {text = ...} table
    assert project["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["license"] == "MIT"


def test_citation_file_is_valid_cff_and_current():
    """CITATION.cff against the Citation File Format 1.2.0 schema (tests/fixtures, from
    cffconvert 2.0.0; the schema is CC-BY-4.0, citation-file-format project)."""
    schema = json.loads((REPO / "tests" / "fixtures" / "cff-schema-1.2.0.json").read_text())
    # dates and versions as strings, as CFF's own loader reads them
    citation = yaml.load((REPO / "CITATION.cff").read_text(), Loader=yaml.BaseLoader)
    errors = sorted(Draft7Validator(schema).iter_errors(citation), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert citation["version"] == pyproject()["project"]["version"]
    assert citation["title"] and citation["message"] and citation["authors"]


def test_citation_schema_check_catches_a_bad_file():
    """The schema check above can fail: a misspelt key and a missing title are caught."""
    schema = json.loads((REPO / "tests" / "fixtures" / "cff-schema-1.2.0.json").read_text())
    citation = yaml.load((REPO / "CITATION.cff").read_text(), Loader=yaml.BaseLoader)
    citation["licence"] = citation.pop("license")
    del citation["title"]
    messages = [e.message for e in Draft7Validator(schema).iter_errors(citation)]
    assert any("licence" in m for m in messages) and any("title" in m for m in messages)


def third_party_imports(*packages: str) -> set[str]:
    """Top-level names of the modules imported by the code in ``packages`` that are installed
    distributions (not the standard library, not this project)."""
    names: set[str] = set()
    for package in packages:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return {name for name in names if name in packages_distributions()} - {"sim", "experiments"}


def test_manifest_records_the_version_of_every_imported_library():
    recorded = {name.lower() for name in package_versions()}
    distributions = packages_distributions()
    imported = third_party_imports("sim", "experiments")
    assert {"numpy", "scipy", "mesa", "hydra"} <= imported
    missing = sorted(name for name in imported
                     if not any(d.lower() in recorded for d in distributions[name]))
    assert not missing, f"sim/results.py package_versions leaves out {missing}"


def test_lock_file_pins_every_runtime_dependency():
    lock = (REPO / "requirements-lock.txt").read_text()
    pinned = {m.group(1).lower().replace("_", "-"): m.group(2)
              for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)$", lock, re.M)}
    for requirement in pyproject()["project"]["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")
        assert name in pinned, f"{name} is not pinned in requirements-lock.txt"


def test_citation_names_the_repository_of_pyproject():
    """CITATION.cff's repository-code is the project's Repository address in pyproject.toml."""
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    repository = pyproject()["project"]["urls"]["Repository"]
    assert repository.startswith("https://") and citation["repository-code"] == repository
    assert {"title", "version", "license", "repository-code", "message"} <= set(citation)


def test_lock_file_versions_meet_the_declared_requirements():
    """Every requirement of pyproject.toml (extras included: make setup installs them all) is
    pinned in requirements-lock.txt at a version its specifier allows."""
    from packaging.requirements import Requirement
    lock = (REPO / "requirements-lock.txt").read_text()
    assert lock.startswith("# Versions tested by CI")  # written by make lock, as .ci/run runs it
    pinned = {canonical(m.group(1)): m.group(2)
              for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)$", lock, re.M)}
    project = pyproject()["project"]
    requirements = [*project["dependencies"],
                    *(r for extra in project["optional-dependencies"].values() for r in extra)]
    for text in requirements:
        requirement = Requirement(text)
        name = canonical(requirement.name)
        assert name in pinned, f"{name} is not pinned in requirements-lock.txt"
        assert requirement.specifier.contains(pinned[name], prereleases=True), \
            f"requirements-lock.txt pins {name}=={pinned[name]}, outside {requirement.specifier}"


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def test_ci_writes_the_lock_file_after_the_tests():
    """.ci/run runs the tests, then make lock (pip freeze of the environment it tested), and
    reports any difference from the committed file."""
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("make lock")
    assert "git diff --quiet -- requirements-lock.txt" in ci
    assert "pip freeze" in (REPO / "Makefile").read_text().split("\nlock:", 1)[1].split("\n\n")[0]


def make_dry_run(folder, target: str) -> str:
    """What ``make -n target`` would run in ``folder`` (nothing is run)."""
    result = subprocess.run(["make", "-n", target], cwd=folder, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_setup_reinstalls_when_pyproject_changes(tmp_path):
    """An existing .venv gets new dependencies and console commands: `make setup` (and every
    target that needs the environment) reinstalls the project when pyproject.toml is newer
    than the last install, and only then."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").touch()  # an existing environment
    stamp = tmp_path / ".venv" / ".installed"
    assert "pip install -q -e" in make_dry_run(tmp_path, "setup")  # never installed: install
    stamp.touch()
    os.utime(tmp_path / "pyproject.toml", (1, 1))  # older than the last install
    assert "pip install" not in make_dry_run(tmp_path, "setup")
    assert "pip install" not in make_dry_run(tmp_path, "test")
    os.utime(tmp_path / "pyproject.toml", None)  # edited after it
    os.utime(stamp, (1, 1))
    for target in ("setup", "test", "run"):
        assert "pip install -q -e" in make_dry_run(tmp_path, target), target
