"""Benchmark: what subgroup outcomes cost, as a share of a sweep run's time.

    .venv/bin/python bench/bench_subgroups.py                    # North East, 10 years, 8 seeds
    .venv/bin/python bench/bench_subgroups.py --world england --years 5 --seeds 2

Times ``experiments.model_function.evaluate_model`` (what one sweep run costs: the model, its
tables, scalar outcomes, subgroup outcomes, national series) with subgroups on, and with them
off (no subgroup rows in the recorder, no subgroup table), alternating the two on the same seeds
in one process so machine load hits both alike. Prints the median of each and the overhead;
target: under 10 % of a run's time. Prints measured figures; not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments.compose import compose_spec  # noqa: E402
from experiments.model_function import evaluate_model  # noqa: E402
from experiments.plan import sweep_tasks  # noqa: E402
from sim import outcomes, subgroups  # noqa: E402


def without_subgroups():
    """Patches that leave the recorder without subgroup rows and skip the subgroup table."""
    def no_units(model):
        return [], np.zeros((0, model.world.n_schools), dtype=bool)

    def empty_table(recorder, events, inspections=None):
        return pd.DataFrame(columns=outcomes.SCALAR_OUTCOMES)

    return (mock.patch.object(subgroups, "membership", no_units),
            mock.patch.object(outcomes, "subgroup_outcomes", empty_table))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="north_east")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    spec, _ = compose_spec(["experiment=smoke", f"world={args.world}", f"run.years={args.years}",
                            f"experiment.replications={args.seeds}"])
    tasks = [t for t in sweep_tasks(spec) if t.labels["arm"] == "baseline"]
    evaluate_model(tasks[0].config, tasks[0].seed)  # warm up imports and caches
    on, off = [], []
    for task in tasks:
        start = time.perf_counter()
        outputs_on = evaluate_model(task.config, task.seed)
        on.append(time.perf_counter() - start)
        first, second = without_subgroups()
        with first, second:
            start = time.perf_counter()
            outputs_off = evaluate_model(task.config, task.seed)
            off.append(time.perf_counter() - start)
        same = all(outputs_on[k] == outputs_off[k] or (np.isnan(outputs_on[k]) and np.isnan(outputs_off[k]))
                   for k in outputs_off if np.ndim(outputs_off[k]) == 0)
        assert same, "subgroups changed the whole-world outcomes"
    n_on = sum(np.ndim(v) == 0 for v in outputs_on.values())
    n_off = sum(np.ndim(v) == 0 for v in outputs_off.values())
    t_on, t_off = statistics.median(on), statistics.median(off)
    print(f"world={args.world} years={args.years} seeds={len(tasks)}")
    print(f"run with subgroups    : median {t_on:.3f} s ({n_on} scalar outputs)")
    print(f"run without subgroups : median {t_off:.3f} s ({n_off} scalar outputs)")
    print(f"overhead of subgroup outcomes: {t_on - t_off:+.3f} s = {100 * (t_on - t_off) / t_off:.1f} % "
          f"of a run (target < 10 %); whole-world outcomes identical: yes")


if __name__ == "__main__":
    main()
