"""Estimate grade transitions and inspection intervals from the real inspection history.

    python scripts/estimate_inspection_transitions.py
    python scripts/estimate_inspection_transitions.py --inspections PATH --schools PATH --out DIR

Reads the vendored ``data/england_2018/inspections.csv.gz`` and ``schools.csv`` and writes, to
``data/england_2018/``: ``inspection_transitions.csv`` (next grade given the previous one, by
regime, phase and FSM band), ``inspection_intervals.csv`` (terms between inspections, with
Kaplan-Meier shares still uninspected), ``inspection_region_test.csv`` (does region add to
phase and FSM band?) and ``inspection_transitions_region.csv`` (by regime and region). See
``sim/inspection_history.py`` and ``data/england_2018/INSPECTION_TABLES.md``. These are
calibration targets, not dice: the model's grades never come from them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim import inspection_history as ih  # noqa: E402

def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inspections", type=Path, default=ih.INSPECTIONS_FILE)
    parser.add_argument("--schools", type=Path, default=ih.SCHOOLS_FILE)
    parser.add_argument("--out", type=Path, default=ih.DATA_DIR, help="folder for the tables")
    args = parser.parse_args(argv)
    try:
        tables = ih.estimate(args.inspections, args.schools)
    except ih.HistoryFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in ih.write_tables(tables, args.out):
        print(f"wrote {path}")
    print("\nDoes region add to phase and FSM band? (G test within strata)")
    print(tables["region_test"].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
