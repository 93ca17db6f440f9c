"""Benchmark of execution backends: Slurm job arrays against local processes at equal work,
local processes against one core and against ``mesa.batch_run``, and peak memory as the grid
grows.

    scripts/slurm_cluster.sh start                     # a local one-node cluster (root)
    .venv/bin/python bench/bench_slurm.py              # one-LA world, 2 years, 3 arms x 200
    .venv/bin/python bench/bench_slurm.py --replications 100 --memory-replications 50 200

Speed grid: three policy arms x ``--replications`` seeds (the grid of bench_experiments.py), run
serially, on local processes (one per core), through ``mesa.batch_run`` (same processes, same
outputs checked) and through Slurm (``execution=slurm``, one core per job, default batching
unless ``--runs-per-job``). Printed:

* parallel efficiency of local processes = rate on all cores / (cores x rate on one core);
  target >= 0.9;
* ours / batch_run: rate of local processes / rate of batch_run on the same cores; target
  >= 1.2;
* Slurm overhead at equal work: (Slurm seconds - local seconds) / local seconds; target < 5 %
  with the default ``runs_per_job``; per job: that extra time x cores / jobs (core-seconds);
  and the fixed cost of one job, measured apart (one job of three short toy runs);
* peak memory of the submitting process at ``--memory-replications`` sizes (toy world, every
  output kept): ours writes results as they come, batch_run keeps every row until the end, so
  its memory grows with the grid; MB per 1,000 runs is printed for both, and the pickled size
  of one batch_run row (a floor of what it holds per run);
* with ``--sobol-runs K``, the CPU seconds of the first K runs of the Sobol preset at England
  scale and the preset's cost in core-hours (docs/SLURM.md).

Needs a running Slurm (the Slurm rows are skipped, saying so, when ``sbatch`` is missing).
Prints measured figures; not a test. Run it on a quiet machine: load changes the figures.
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

import mesa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_experiments import (BatchRunAdapter, PeakMemory, arm_configs,  # noqa: E402
                               check_same_work, grid, time_batch_run, time_ours)

from experiments.plan import replication_seeds  # noqa: E402
from experiments.spec import ExecutionConfig  # noqa: E402
from experiments.store import ExperimentStore  # noqa: E402


class EveryOutputAdapter(BatchRunAdapter):
    """The batch_run adapter reporting every output ours stores (scalars and series, as one
    dict per run), so both hold the same results: batch_run in memory, ours on disk."""

    def __init__(self, arm: str = "baseline", world: str = "toy", years: int = 10,
                 seed: int | None = None) -> None:
        super().__init__(arm=arm, world=world, years=years, seed=seed)
        self.datacollector = mesa.DataCollector(model_reporters={"mean_gap": "mean_gap",
                                                                 "outputs": "outputs"})


def on_slurm(execution: ExecutionConfig, runs_per_job: int | None) -> ExecutionConfig:
    """``execution`` moved to Slurm: one core per job, batching default unless given."""
    slurm = ExecutionConfig(backend="slurm", progress=False, batch_size=execution.batch_size,
                            memory="1G", time="30")
    if runs_per_job:
        slurm.runs_per_job = runs_per_job
    return slurm


def time_slurm(world: str, years: int, replications: int, out: Path,
               runs_per_job: int | None) -> tuple[float, float, int]:
    """Seconds, peak memory and jobs of the grid through Slurm."""
    spec, execution = grid(world, years, replications, out, "serial")
    execution = on_slurm(execution, runs_per_job)
    seconds, peak = time_ours(spec, execution)
    jobs = math.ceil(len(spec.arms) * replications / execution.runs_per_job)
    return seconds, peak, jobs


def memory_growth(sizes: list[int], cores: int, tmp: Path) -> list[tuple]:
    """Peak MB of the submitting process, ours (local) and batch_run, at each grid size."""
    rows = []
    for replications in sizes:
        spec, execution = grid("toy", 10, replications, tmp / f"memory{replications}", "local")
        ours_s, ours_mb = time_ours(spec, execution)
        seeds = replication_seeds(0, replications)
        with PeakMemory() as memory:
            start = time.perf_counter()
            results = mesa.batch_run(EveryOutputAdapter,
                                     parameters={"arm": list(arm_configs("toy", 10)),
                                                 "world": "toy", "years": 10},
                                     number_processes=cores, rng=seeds, max_steps=10_000,
                                     display_progress=False)
            batch_s = time.perf_counter() - start
        stored = len(ExperimentStore(spec.experiment.out).read_runs(columns=["run_key"]))
        assert len(results) == stored, (len(results), stored)
        row_kb = len(pickle.dumps(results)) / len(results) / 1024  # a floor of what it holds
        del results
        rows.append((stored, ours_s, ours_mb, batch_s, memory.peak_mb, row_kb))
    return rows


def sobol_cost(runs: int, world: str) -> tuple[list[float], float, int]:
    """CPU seconds of the first ``runs`` runs of the Sobol preset on ``world``, the peak memory
    of this process (MB) and the preset's number of runs."""
    import resource
    from functools import partial

    from experiments.compose import compose_spec
    from experiments.model_function import evaluate_model
    from experiments.plan import sample_tasks
    from experiments.sensitivity import analysis_base, design, model_config

    spec, _ = compose_spec(["experiment=sobol", f"world={world}"])
    _, sample = design(spec)
    tasks = sample_tasks(spec, sample, partial(model_config, analysis_base(spec)))
    cpu_s = []
    for _, task in zip(range(runs), tasks):
        start = time.process_time()  # core-seconds: what a cluster charges, whatever the load
        evaluate_model(task.config, task.seed)
        cpu_s.append(time.process_time() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return cpu_s, peak_mb, len(sample) * spec.experiment.replications


def main() -> None:
    """Measure and print the figures listed in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="one_la")
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--runs-per-job", type=int, default=None,
                        help="Slurm batching (default: execution.runs_per_job's default)")
    parser.add_argument("--memory-replications", type=int, nargs="*", default=[100, 400])
    parser.add_argument("--sobol-runs", type=int, default=4,
                        help="runs of the Sobol preset timed at England scale (0: skip)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    arms = len(arm_configs(args.world, args.years))
    runs = arms * args.replications
    slurm = shutil.which("sbatch") is not None
    print(f"{runs} runs ({args.world} world, {args.years} years, {arms} arms x {args.replications} "
          f"seeds) on {cores} cores; load average {os.getloadavg()[0]:.1f}")
    rows = []
    results = Path(__file__).resolve().parent.parent / "results"  # shared with the jobs
    results.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench_slurm-", dir=results) as tmp:
        tmp = Path(tmp)
        serial_s, serial_mb = time_ours(*grid(args.world, args.years, args.replications,
                                              tmp / "serial", "serial"))
        rows.append(("ours, 1 core (serial)", serial_s, serial_mb))
        local_s, local_mb = time_ours(*grid(args.world, args.years, args.replications,
                                            tmp / "local", "local"))
        rows.append((f"ours, {cores} cores (local)", local_s, local_mb))
        batch_s, batch_mb, batch_rows = time_batch_run(args.world, args.years,
                                                       args.replications, processes=cores)
        rows.append((f"mesa.batch_run, {cores} processes", batch_s, batch_mb))
        check_same_work(ExperimentStore(tmp / "local").read_runs(), batch_rows)
        if slurm:
            slurm_s, slurm_mb, jobs = time_slurm(args.world, args.years, args.replications,
                                                 tmp / "slurm", args.runs_per_job)
            rows.append((f"ours, Slurm, {jobs} jobs of 1 core", slurm_s, slurm_mb))
            check_same_work(ExperimentStore(tmp / "slurm").read_runs(), batch_rows)
            fixed_s, _, _ = time_slurm("toy", 1, 1, tmp / "fixed", 3)  # one job, 3 short runs
        memory = memory_growth(args.memory_replications, cores, tmp)
    print(f"{'mode':34} {'seconds':>8} {'runs/s':>8} {'peak MB':>8}")
    for mode, seconds, peak in rows:
        print(f"{mode:34} {seconds:8.2f} {runs / seconds:8.2f} {peak:8.0f}")
    efficiency = (runs / local_s) / (cores * runs / serial_s)
    print(f"parallel efficiency on {cores} cores: {efficiency:.2f} (target >= 0.9)")
    print(f"ours / batch_run on {cores} cores: {batch_s / local_s:.2f}x the rate (target >= 1.2)")
    print(f"core-seconds per run: {serial_s / runs:.3f}")
    if slurm:
        extra = slurm_s - local_s
        print(f"Slurm overhead at equal work: {100 * extra / local_s:.1f} % of the local time "
              f"(target < 5 %), {extra * cores / jobs:.2f} core-seconds per job, "
              f"{extra * cores / runs:.3f} per run")
        print(f"fixed cost of one job (wall, submission to results recorded, of a job of three "
              f"one-year toy runs, about 0.4 s of work): {fixed_s:.2f} s")
    else:
        print("Slurm: not measured (no sbatch on PATH; scripts/slurm_cluster.sh start)")
    print(f"\npeak memory of the submitting process as the grid grows (toy world, 10 years, "
          f"every output kept):")
    print(f"{'runs':>6} {'ours s':>8} {'ours MB':>8} {'batch_run s':>12} {'batch_run MB':>13} "
          f"{'KB per row':>11}")
    for runs_m, ours_s, ours_mb, batch_s_m, batch_mb_m, row_kb in memory:
        print(f"{runs_m:6d} {ours_s:8.2f} {ours_mb:8.0f} {batch_s_m:12.2f} {batch_mb_m:13.0f} "
              f"{row_kb:11.1f}")
    if len(memory) > 1:
        (n0, _, o0, _, b0, _), (n1, _, o1, _, b1, _) = memory[0], memory[-1]
        print(f"MB per 1,000 more runs: ours {1000 * (o1 - o0) / (n1 - n0):.1f}, "
              f"batch_run {1000 * (b1 - b0) / (n1 - n0):.1f}")
    if args.sobol_runs:
        cpu_s, peak_mb, preset_runs = sobol_cost(args.sobol_runs, "england")
        mean_s = sum(cpu_s) / len(cpu_s)
        print(f"\nSobol preset at England scale: CPU seconds of its first {len(cpu_s)} runs "
              f"{', '.join(f'{t:.2f}' for t in cpu_s)}; mean {mean_s:.2f}; peak {peak_mb:.0f} MB")
        print(f"{preset_runs} runs x {mean_s:.2f} s = {preset_runs * mean_s / 3600:.1f} core-hours "
              f"(second-order indices: x {(2 * 10 + 2) / (10 + 2):.2f}; N = 512: x 2)")


if __name__ == "__main__":
    main()
