"""scripts/publish_results.py: a finished experiment's report travels with its figures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from publish_results import publish  # noqa: E402


def test_report_figures_summaries_and_manifest_are_copied(tmp_path):
    run = tmp_path / "results" / "exp"
    (run / "figures").mkdir(parents=True)
    (run / "summary").mkdir()
    (run / "runs").mkdir()
    (run / "report.md").write_text("# exp\n\n![Headline](figures/headline.png)\n")
    (run / "figures" / "headline.png").write_bytes(b"png")
    (run / "figures" / "unused.png").write_bytes(b"png")
    (run / "summary" / "arms.csv").write_text("arm\nbaseline\n")
    (run / "runs" / "part-0.parquet").write_bytes(b"big")
    (run / "manifest.json").write_text("{}")
    (run / "discovery").mkdir()
    (run / "discovery" / "report.md").write_text("![Boxes](boxes.png)\n")
    (run / "discovery" / "boxes.png").write_bytes(b"png")
    (run / "discovery" / "boxes.csv").write_text("box\n0\n")
    target = publish(run, into=tmp_path / "docs")
    copied = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert copied == ["discovery/boxes.csv", "discovery/boxes.png", "discovery/report.md",
                      "figures/headline.png", "manifest.json", "report.md", "summary/arms.csv"]


def test_a_folder_without_a_report_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="report.md not found"):
        publish(tmp_path, into=tmp_path / "docs")
    (tmp_path / "report.md").write_text("![Missing](figures/gone.png)\n")
    with pytest.raises(SystemExit, match="figures/gone.png"):
        publish(tmp_path, into=tmp_path / "docs")
    assert not (tmp_path / "docs").exists()  # refused before anything was written
