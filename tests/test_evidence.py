"""The evidence travels with the project: every ``seed NNN Lline`` citation in the code,
configuration and docs resolves to a non-blank line shipped in docs/evidence/seeds/."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

spec = importlib.util.spec_from_file_location("evidence_passages",
                                              REPO / "scripts" / "evidence_passages.py")
evidence = importlib.util.module_from_spec(spec)
sys.modules["evidence_passages"] = evidence  # dataclasses look their module up
spec.loader.exec_module(evidence)

# The full texts: beside a developer's clone (../shared/seeds), or where SIS_SEED_TEXTS says.
FULL_SEEDS = Path(os.environ.get("SIS_SEED_TEXTS", REPO.parent / "shared" / "seeds"))


def test_every_citation_resolves_inside_the_repository():
    citations = evidence.all_citations()
    assert len(citations) > 200  # the scan finds the model's citations at all
    assert {c.seed for c in citations} == {"000", "001", "002", "003", "004"}
    problems = evidence.problems(citations)
    assert not problems, "\n".join(problems)


def test_citation_parser_reads_lists_ranges_and_wrapped_lines():
    text = ('x (seed 000 L1458-1469, L1606-1609; seed 004 L104, L235 and L279); '
            'seed 004 Annex B L646-652\n# wrapped: seed 002 L2415-2417,\n#   L5080. '
            'seeds 000 and 002 agree; seed 003 Table 2; seed 001 L51–L53')
    found = [(c.seed, c.first, c.last) for c in evidence.citations_in(text, "t")]
    assert found == [("000", 1458, 1469), ("000", 1606, 1609), ("004", 104, 104),
                     ("004", 235, 235), ("004", 279, 279), ("004", 646, 652),
                     ("002", 2415, 2417), ("002", 5080, 5080), ("001", 51, 53)]


def test_unshipped_blank_and_unknown_citations_are_reported():
    cite = evidence.Citation
    shipped_004 = evidence.shipped_text("004")
    blank = next(n for n, text in shipped_004.items() if n > 1 and not text.strip())
    bad = [cite("002", 1, 1, "a:1"),            # seed 002 ships only cited passages
           cite("004", blank, blank, "b:1"),    # a blank line of the whole text
           cite("004", 10, 9, "c:1"),           # backwards
           cite("009", 1, 1, "d:1"),            # no such seed
           cite("004", 10_000, 10_000, "e:1")]  # past the end
    problems = evidence.problems(bad)
    assert len(problems) == len(bad)
    assert all(p.startswith(f"{c}: ") for p, c in zip(problems, bad))
    assert [p.split(": ", 1)[1][:12] for p in problems] == [
        "line(s) L1 n", "cites a blan", "range ends b", "seed 009 is ", "line(s) L100"]


def test_docs_point_at_the_shipped_texts_not_outside_the_repository():
    for path in ("README.md", "docs/ODD.md", "docs/PARAMETERS.md", "sim/parameters.py",
                 "scripts/parameter_table.py"):
        text = (REPO / path).read_text()
        assert "../shared/seeds" not in text and "../shared/evidence" not in text, path
    assert "docs/evidence" in (REPO / "README.md").read_text()
    assert "(evidence/seeds/)" in (REPO / "docs" / "ODD.md").read_text()  # relative link


def test_check_command_passes():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "evidence_passages.py"),
                             "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 do not resolve" in result.stdout


@pytest.mark.skipif(not FULL_SEEDS.is_dir(), reason="full seed texts not beside this clone")
def test_shipped_text_is_the_original_text():
    for seed in ("000", "001", "002", "003", "004"):
        (original,) = FULL_SEEDS.glob(f"{seed}_*.txt")
        lines = original.read_text().split("\n")
        shipped = evidence.shipped_text(seed)
        assert shipped and all(lines[n - 1].rstrip() == text.rstrip()
                               for n, text in shipped.items()), seed
        if seed in evidence.WHOLE_SEEDS:
            (copy,) = evidence.SEEDS_DIR.glob(f"{seed}_*.txt")
            assert copy.read_bytes() == original.read_bytes()


def test_scan_covers_shipped_results_notebooks_and_scripts_not_outputs(tmp_path):
    """Citations are looked for everywhere the project ships text: docs/results manifests
    (each parameter's source), notebooks, CSV, Makefile and .ci/run; not run outputs under
    results/, environments or git's own files."""
    files = {"docs/results/sobol/manifest.json": True, "examples/a.ipynb": True,
             "data/x.csv": True, "Makefile": True, ".ci/run": True, "results/README.md": True,
             "sim/a.py": True, "results/my_run/manifest.json": False, ".venv/lib/b.py": False,
             ".git": False, "x.egg-info/PKG-INFO": False, "outputs/2026/c.yaml": False,
             ".hypothesis/examples/d": False, ".pytest_cache/v/e": False,
             "docs/figure.png": False}
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("source: seed 004 L15\n")
    scanned = {str(p.relative_to(tmp_path)) for p in evidence.scanned_files(tmp_path)}
    assert scanned == {name for name, expected in files.items() if expected}
    assert len(evidence.all_citations(tmp_path)) == len(scanned)


def test_shipped_results_cite_resolvable_lines():
    """The shipped experiments' manifests carry citations, and the repository-wide check above
    includes them."""
    where = {c.where.split(":")[0] for c in evidence.all_citations()}
    assert "docs/results/discovery/manifest.json" in where


def test_the_licence_of_every_shipped_seed_is_stated():
    """docs/evidence/README.md gives, for every seed shipped, the licence its text states and
    whether it is shipped whole (only where that licence allows) or as cited passages."""
    readme = (REPO / "docs" / "evidence" / "README.md").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| (\d{3}) \|.*$", readme, re.M)}
    shipped = sorted(p.name.split("_")[0] for p in evidence.SEEDS_DIR.glob("*.txt"))
    assert sorted(rows) == shipped == ["000", "001", "002", "003", "004"]
    for seed, row in rows.items():
        licence, how = [cell.strip() for cell in row.strip("|").split("|")][2:4]
        assert licence, f"seed {seed}: no licence statement"
        whole = seed in evidence.WHOLE_SEEDS
        assert how.startswith("whole" if whole else "cited passages"), seed
        if whole:
            assert "Open Government Licence" in licence, seed
