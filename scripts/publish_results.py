"""Copy a finished experiment's report into docs/results/, so a clone shows what the preset
found without rerunning it.

    python scripts/publish_results.py results/experiments/nle_targeting_england

Copies ``report.md``, the figures it shows (and the scenario-discovery report chained after it,
in ``discovery/``), ``manifest.json`` (spec, seeds, source revision,
input fingerprints) and the small summary tables (``summary/*.csv`` under 1 MB; the run table
and per-run files stay behind: rerun the preset to get them, byte for byte). Refuses a folder
without a report, and only ever writes inside ``docs/results/<experiment name>/``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PUBLISHED = REPO / "docs" / "results"
MAX_TABLE_BYTES = 1_000_000


def publish(folder: Path, into: Path = PUBLISHED) -> Path:
    """Copy the report of the experiment in ``folder`` to ``into/<folder name>``; return it."""
    report = folder / "report.md"
    if not report.is_file():
        sys.exit(f"error: {report} not found: run the experiment (it writes its report) first")
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report.read_text())
    for relative in figures:  # all present before anything is written
        if not (folder / relative).is_file():
            sys.exit(f"error: {report} shows {relative}, which is not in {folder}")
    target = into / folder.name
    target.mkdir(parents=True, exist_ok=True)
    for relative in figures:
        source = folder / relative
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / relative)
    shutil.copyfile(report, target / "report.md")
    for extra in ("manifest.json", "ensemble.csv"):
        if (folder / extra).is_file():
            shutil.copyfile(folder / extra, target / extra)
    for table in sorted((folder / "summary").glob("*.csv")):
        if table.stat().st_size <= MAX_TABLE_BYTES:
            (target / "summary").mkdir(exist_ok=True)
            shutil.copyfile(table, target / "summary" / table.name)
    if (folder / "discovery" / "report.md").is_file():  # scenario discovery chained after it
        publish(folder / "discovery", into=target)
        for table in sorted((folder / "discovery").glob("*.csv")):
            shutil.copyfile(table, target / "discovery" / table.name)
    return target


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="+", help="finished experiment folders")
    for folder in parser.parse_args().folders:
        print(f"published {publish(folder)}")


if __name__ == "__main__":
    main()
