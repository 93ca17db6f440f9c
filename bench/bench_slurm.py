"""Benchmark of execution backends: Slurm job arrays against local processes at equal work,
local processes against one core and against ``mesa.batch_run``, and peak memory as the grid
grows.

    scripts/slurm_cluster.sh start                     # a local one-node cluster (root)
    .venv/bin/python bench/bench_slurm.py              # one-LA world, 2 years, 2 arms
    .venv/bin/python bench/bench_slurm.py --waves 2 --memory-replications 100 400 --sobol-runs 0

Speed grid: two policy arms (baseline, recruitment premium) x as many seeds as fill the cores
with Slurm jobs of the default ``runs_per_job`` ``--waves`` times (2 cores x 400 runs: 800
runs), so Slurm and local processes do equal work. Measured in this order, the load average
printed before each: local processes (one per core), Slurm (``execution=slurm``, one core per
job), serial, ``mesa.batch_run`` (same processes, outcomes checked equal) as a user writes it
(the model builds its world every run), and again with the world our runs use (built once per
process). Every run of ours records its own CPU seconds and its process's (``bench_experiments.
timed_evaluate``), so the overhead of a job or worker process is measured in CPU seconds, which
other work on a shared machine changes much less than wall time. Printed:

* runs per second and peak memory of the submitting process for each mode;
* parallel efficiency of local processes = rate on all cores / (cores x rate on one core);
  target >= 0.9; and the work efficiency in CPU seconds (run CPU / all CPU of the sweep,
  workers and submitting process), with how busy the cores were (CPU / (cores x wall));
* ours / batch_run: rate of local processes / rate of batch_run on the same cores; target
  >= 1.2;
* Slurm overhead: per job, CPU seconds of the job process outside its runs (start-up, imports,
  world, hand-over) and seconds from process start to its first run; per run, that CPU /
  runs per job, as a share of a run's CPU (target < 5 % with the default ``runs_per_job``); and
  at equal work, (Slurm wall - local wall) / local wall;
* peak memory of the submitting process at ``--memory-replications`` sizes (seeds per arm;
  three arms, ten years, every output kept), each measured in a fresh process above that
  process's start: ours writes results as they come (its peak is also given for the runs
  alone, before the summaries read the run table back), batch_run keeps every row until the
  end; MB per 1,000 runs for both, and the pickled size of one batch_run row. The world is
  ``--memory-world`` (toy); with ``--replay`` every run returns a copy of one real run's
  outputs (``bench_experiments.replayed_evaluate``), so that grids where holding results
  matters (tens of thousands of England runs) take minutes;
* with ``--sobol-runs K``, the CPU seconds of the first K runs of the Sobol preset at England
  scale and the preset's cost in core-hours (docs/SLURM.md).

Needs a running Slurm (the Slurm rows are skipped, saying so, when ``sbatch`` is missing).
Prints measured figures; not a test. Load from other work changes the wall-clock figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mesa
import pandas as pd
import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from bench_experiments import (BatchRunAdapter, PeakMemory, ReplayAdapter, arm_configs,  # noqa: E402
                               check_same_work, grid, replayed_evaluate, time_batch_run, time_ours,
                               timed_evaluate)

import experiments.summary  # noqa: E402,F401  (imported before any timing: see below)
from experiments.plan import replication_seeds  # noqa: E402
from experiments.spec import ExecutionConfig  # noqa: E402
from experiments.store import ExperimentStore  # noqa: E402

# A sweep imports its summaries' statistics (scipy.stats) when it first summarises; imported
# here, that one-off cost falls on no mode, instead of on whichever mode runs first.

# the grid's arms: the smoke preset's baseline and a recruitment premium
TWO_ARMS = ("~experiment.arms.no_system_leadership",
            "+experiment.arms={recruitment_premium: {policy.recruitment_incentive.enabled: true}}")
TIMING = ["bench_run_cpu_s", "bench_run_started", "bench_run_ended", "bench_process_cpu_s",
          "bench_pid", "bench_process_started"]


def load() -> str:
    """The 1-minute load average and the number of jobs in Slurm's queue, as printed."""
    queue = ""
    if shutil.which("squeue"):
        jobs = subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True,
                              text=True).stdout.split()
        queue = f", {len(jobs)} job(s) in Slurm's queue"
    return f"load average {os.getloadavg()[0]:.1f}{queue}"


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process so far."""
    times = psutil.Process().cpu_times()
    return times.user + times.system


def timed(spec, execution) -> dict:
    """Run the sweep with timed runs; wall seconds, peak MB, this process's CPU seconds and the
    runs' timings."""
    cpu, began = cpu_seconds(), time.time()
    seconds, peak = time_ours(spec, execution, evaluate=timed_evaluate)
    main_cpu = cpu_seconds() - cpu
    runs = ExperimentStore(spec.experiment.out).read_runs(columns=["run_key", "arm", "seed",
                                                                   "mean_gap", *TIMING])
    return {"seconds": seconds, "peak_mb": peak, "main_cpu_s": main_cpu, "runs": runs,
            "before_first_run_s": runs["bench_run_started"].min() - began,
            "after_last_run_s": began + seconds - runs["bench_run_ended"].max()}


def processes(runs: pd.DataFrame) -> pd.DataFrame:
    """Per process that ran runs: runs, their CPU, the process's CPU outside them (start-up,
    imports, world, hand-over; up to its last run) and seconds from its start to its first run."""
    table = runs.groupby(["bench_pid", "bench_process_started"]).agg(
        runs=("run_key", "size"), run_cpu_s=("bench_run_cpu_s", "sum"),
        process_cpu_s=("bench_process_cpu_s", "max"), first_run=("bench_run_started", "min"))
    table["overhead_cpu_s"] = table["process_cpu_s"] - table["run_cpu_s"]
    table["start_to_first_run_s"] = table["first_run"] - table.index.get_level_values(1)
    return table.reset_index(drop=True)


def on_slurm(execution: ExecutionConfig, runs_per_job: int | None) -> ExecutionConfig:
    """``execution`` moved to Slurm: one core per job, batching default unless given; jobs can
    import the benchmark's timed evaluate function."""
    slurm = ExecutionConfig(backend="slurm", progress=False, batch_size=execution.batch_size,
                            memory="1G", time="30",
                            setup=[f"export PYTHONPATH={BENCH}${{PYTHONPATH:+:$PYTHONPATH}}"])
    if runs_per_job:
        slurm.runs_per_job = runs_per_job
    return slurm


class EveryOutputAdapter(BatchRunAdapter):
    """The batch_run adapter reporting every output ours stores (scalars and series, as one
    dict per run), so both hold the same results: batch_run in memory, ours on disk."""

    def __init__(self, arm: str = "baseline", world: str = "toy", years: int = 10,
                 seed: int | None = None) -> None:
        super().__init__(arm=arm, world=world, years=years, seed=seed)
        self.datacollector = mesa.DataCollector(model_reporters={"mean_gap": "mean_gap",
                                                                 "outputs": "outputs"})


def time_ours_while_running(spec, execution, evaluate=None) -> tuple[float, float, float]:
    """Seconds and peak MB of our sweep, and its peak MB before the summaries start (the runs
    alone: the summaries read the whole run table back, so their memory grows with the grid)."""
    from unittest import mock

    from experiments import sweep
    marks = {}
    summarise = sweep.summarise_sweep

    def marked(store, spec):
        marks["running_mb"] = memory.peak_mb
        return summarise(store, spec)

    with PeakMemory() as memory, mock.patch.object(sweep, "summarise_sweep", marked):
        start = time.perf_counter()
        sweep.run_sweep(spec, execution, **({"evaluate": evaluate} if evaluate else {}))
        seconds = time.perf_counter() - start
    return seconds, memory.peak_mb, marks["running_mb"]


def memory_probe(mode: str, world: str, replications: int, replay: bool, cores: int,
                 out: Path) -> dict:
    """Run one grid (3 arms x ``replications``, 10 years) in this process, ours or batch_run,
    and measure this process's resident memory: before the grid (imports done) and its peak.
    Called in a fresh process per measurement (``--memory-probe``), so that no earlier grid's
    heap is counted."""
    evaluate = replayed_evaluate if replay else None
    baseline_mb = psutil.Process().memory_info().rss / 2**20
    if mode == "ours":
        spec, execution = grid(world, 10, replications, out, "local")
        seconds, peak_mb, running_mb = time_ours_while_running(spec, execution, evaluate)
        runs = len(ExperimentStore(out).read_runs(columns=["run_key"]))
        return {"runs": runs, "seconds": seconds, "baseline_mb": baseline_mb, "peak_mb": peak_mb,
                "running_mb": running_mb}
    adapter = ReplayAdapter if replay else EveryOutputAdapter
    with PeakMemory() as memory:
        start = time.perf_counter()
        results = mesa.batch_run(adapter, parameters={"arm": list(arm_configs(world, 10)),
                                                      "world": world, "years": 10},
                                 number_processes=cores, rng=replication_seeds(0, replications),
                                 max_steps=10_000, display_progress=False)
        seconds = time.perf_counter() - start
    row_kb = len(pickle.dumps(results[0])) / 1024
    return {"runs": len(results), "seconds": seconds, "baseline_mb": baseline_mb,
            "peak_mb": memory.peak_mb, "row_kb": row_kb}


def memory_growth(sizes: list[int], cores: int, tmp: Path, world: str = "toy",
                  replay: bool = False) -> list[dict]:
    """Peak MB of the submitting process, ours (local; whole sweep, and while running) and
    batch_run, at each grid size (``sizes``: seeds per arm), each measured in a fresh process."""
    rows = []
    for replications in sizes:
        row = {}
        for mode in ("ours", "batch_run"):
            command = [sys.executable, __file__, "--memory-probe", mode, "--memory-world", world,
                       "--memory-replications", str(replications),
                       "--memory-out", str(tmp / f"memory-{world}-{replications}")]
            done = subprocess.run(command + (["--replay"] if replay else []),
                                  capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
            row[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        if row["ours"]["runs"] != row["batch_run"]["runs"]:
            raise RuntimeError(f"unequal grids: {row}")
        rows.append(row)
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


def print_sobol_cost(runs: int) -> None:
    """Print the CPU seconds of the Sobol preset's first ``runs`` runs at England scale (the
    first builds the world; a job's later runs copy it) and the preset's core-hours."""
    cpu_s, peak_mb, preset_runs = sobol_cost(runs, "england")
    later = cpu_s[1:] or cpu_s
    mean_s = sum(later) / len(later)
    print(f"\nSobol preset at England scale: CPU seconds of its first {len(cpu_s)} runs "
          f"{', '.join(f'{t:.2f}' for t in cpu_s)} (the first builds the world); mean of the "
          f"others {mean_s:.2f}; peak {peak_mb:.0f} MB")
    print(f"{preset_runs} runs x {mean_s:.2f} s = {preset_runs * mean_s / 3600:.1f} core-hours "
          f"(second-order indices: x {(2 * 10 + 2) / (10 + 2):.2f}; N = 512: x 2)")


def main() -> None:
    """Measure and print the figures listed in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="one_la")
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--waves", type=int, default=1,
                        help="the grid fills the cores with Slurm jobs this many times")
    parser.add_argument("--runs-per-job", type=int, default=None,
                        help="Slurm batching (default: execution.runs_per_job's default)")
    parser.add_argument("--memory-replications", type=int, nargs="*", default=[50, 200])
    parser.add_argument("--memory-only", action="store_true",
                        help="measure only the peak memory as the grid grows")
    parser.add_argument("--memory-world", default="toy",
                        help="world of the memory grid (default toy)")
    parser.add_argument("--replay", action="store_true",
                        help="memory grid: replay one real run's outputs instead of running the "
                             "model, to reach grids where holding results matters")
    parser.add_argument("--memory-probe", choices=("ours", "batch_run"), help=argparse.SUPPRESS)
    parser.add_argument("--memory-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sobol-runs", type=int, default=4,
                        help="runs of the Sobol preset timed at England scale (0: skip)")
    parser.add_argument("--compare-replications", type=int, default=None,
                        help="seeds per arm of the grid run serially, locally and through "
                             "batch_run (default: the Slurm grid's); fewer on a busy machine")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    if args.memory_probe:  # one measurement, in the fresh process memory_growth started
        print(json.dumps(memory_probe(args.memory_probe, args.memory_world,
                                      args.memory_replications[0], args.replay, cores,
                                      args.memory_out)))
        return
    if args.memory_only:
        with tempfile.TemporaryDirectory(prefix="bench_slurm-", dir=BENCH.parent / "results") as tmp:
            print(f"  memory: {load()}", flush=True)
            print_memory(memory_growth(args.memory_replications, cores, Path(tmp),
                                       args.memory_world, args.replay),
                         args.memory_world, args.replay)
        print(f"\n{load()}")
        return
    runs_per_job = args.runs_per_job or ExecutionConfig(backend="slurm").runs_per_job
    arms = len(arm_configs(args.world, args.years, TWO_ARMS))
    replications = math.ceil(cores * runs_per_job * args.waves / arms)
    runs = arms * replications
    jobs = math.ceil(runs / runs_per_job)
    slurm = shutil.which("sbatch") is not None
    print(f"{runs} runs ({args.world} world, {args.years} years, {arms} arms x {replications} "
          f"seeds) on {cores} cores; Slurm: {jobs} jobs of {runs_per_job} runs")
    compare = args.compare_replications or replications
    compare_runs = arms * compare
    labels = {"local": f"ours, {cores} cores (local)",
              "slurm": f"ours, Slurm, {jobs} jobs of 1 core",
              "local_compare": f"ours, {cores} cores (local)", "serial": "ours, 1 core (serial)",
              "batch_run": f"mesa.batch_run, {cores} processes",
              "batch_run_cached": f"mesa.batch_run, {cores} proc., world cached"}
    measured: dict[str, dict] = {}
    results = BENCH.parent / "results"  # shared with the jobs
    results.mkdir(exist_ok=True)
    print(f"{'mode':40} {'runs':>5} {'seconds':>8} {'runs/s':>8} {'peak MB':>8}  before it")

    def show(name: str, n: int, before: str) -> None:
        m = measured[name]
        print(f"{labels[name]:40} {n:5d} {m['seconds']:8.2f} {n / m['seconds']:8.2f} "
              f"{m['peak_mb']:8.0f}  {before}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench_slurm-", dir=results) as tmp:
        tmp = Path(tmp)

        def ours(name: str, backend: str, seeds: int) -> None:
            spec, execution = grid(args.world, args.years, seeds, tmp / name, backend,
                                   arms=TWO_ARMS)
            if backend == "slurm":
                execution = on_slurm(execution, args.runs_per_job)
            before = load()
            measured[name] = timed(spec, execution)
            show(name, arms * seeds, before)

        ours("local", "local", replications)
        if slurm:
            ours("slurm", "slurm", replications)
            check_same_work(measured["slurm"]["runs"], measured["local"]["runs"][
                ["arm", "seed", "mean_gap"]].to_dict("records"))
        if compare == replications:
            measured["local_compare"] = measured["local"]
        else:
            ours("local_compare", "local", compare)
        ours("serial", "serial", compare)
        for name, cached in (("batch_run", False), ("batch_run_cached", True)):
            before = load()
            seconds, peak, rows = time_batch_run(args.world, args.years, compare, cores,
                                                 TWO_ARMS, cached_world=cached)
            check_same_work(measured["local_compare"]["runs"], rows)
            measured[name] = {"seconds": seconds, "peak_mb": peak}
            show(name, compare_runs, before)
        check_same_work(measured["serial"]["runs"], rows)
        print(f"  memory: {load()}", flush=True)
        memory = memory_growth(args.memory_replications, cores, tmp, args.memory_world,
                               args.replay)
        print(f"  end: {load()}", flush=True)
    serial, local = measured["serial"], measured["local_compare"]
    run_cpu = serial["runs"]["bench_run_cpu_s"].mean()
    print(f"CPU seconds per run (serial): {run_cpu:.3f}")

    workers = processes(local["runs"])
    local_cpu = workers["process_cpu_s"].sum() + local["main_cpu_s"]
    efficiency = serial["seconds"] / (cores * local["seconds"])
    print(f"\non the grid of {compare_runs} runs:")
    print(f"parallel efficiency on {cores} cores: {efficiency:.2f} (target >= 0.9)")
    print(f"  work efficiency in CPU seconds: {workers['run_cpu_s'].sum() / local_cpu:.2f} "
          f"(runs {workers['run_cpu_s'].sum():.1f} s; outside runs: {len(workers)} workers "
          f"{workers['overhead_cpu_s'].sum():.1f} s, submitting process "
          f"{local['main_cpu_s']:.1f} s); cores busy with the sweep: "
          f"{local_cpu / (cores * local['seconds']):.2f}; serial: "
          f"{serial['main_cpu_s'] / serial['seconds']:.2f} of one core")
    print(f"  per run, CPU seconds: serial {run_cpu:.3f}, local "
          f"{workers['run_cpu_s'].sum() / workers['runs'].sum():.3f}; seconds before the first "
          f"run (checks, worker start): serial {serial['before_first_run_s']:.2f}, local "
          f"{local['before_first_run_s']:.2f}; after the last (summaries): serial "
          f"{serial['after_last_run_s']:.2f}, local {local['after_last_run_s']:.2f}")
    print(f"ours / batch_run on {cores} cores: "
          f"{measured['batch_run']['seconds'] / local['seconds']:.2f}x the rate (target >= 1.2); "
          f"against batch_run given our world cache: "
          f"{measured['batch_run_cached']['seconds'] / local['seconds']:.2f}x")
    if slurm:
        on = measured["slurm"]
        job_table = processes(on["runs"])
        per_job = job_table["overhead_cpu_s"].median()
        per_run = job_table["overhead_cpu_s"].sum() / runs
        print(f"\nSlurm, {len(job_table)} jobs of {runs_per_job} runs: CPU seconds outside runs per "
              f"job median {per_job:.2f} (range {job_table['overhead_cpu_s'].min():.2f}-"
              f"{job_table['overhead_cpu_s'].max():.2f}); process start to first run "
              f"{job_table['start_to_first_run_s'].median():.2f} s (median)")
        job_run_cpu = job_table["run_cpu_s"].sum() / job_table["runs"].sum()
        print(f"  overhead per run: {per_run:.4f} CPU s = {100 * per_run / job_run_cpu:.1f} % of a "
              f"run ({job_run_cpu:.3f} CPU s in the jobs; target < 5 %); local workers: "
              f"{workers['overhead_cpu_s'].sum() / compare_runs:.3f} CPU s per run")
        alone = measured["local"]
        extra = on["seconds"] - alone["seconds"]
        print(f"  at equal work ({runs} runs), wall: Slurm {on['seconds']:.1f} s, local "
              f"{alone['seconds']:.1f} s: {100 * extra / alone['seconds']:+.1f} % "
              f"({extra * cores / jobs:+.2f} core-seconds per job, {extra * cores / runs:+.3f} "
              "per run)")
    else:
        print("\nSlurm: not measured (no sbatch on PATH; scripts/slurm_cluster.sh start)")
    print_memory(memory, args.memory_world, args.replay)
    if args.sobol_runs:
        print_sobol_cost(args.sobol_runs)
    print(f"\n{load()}")


def print_memory(memory: list[dict], world: str = "toy", replay: bool = False) -> None:
    """The table of :func:`memory_growth` and the growth per 1,000 runs."""
    what = (f"outputs of one real {world} run replayed" if replay else f"{world} world")
    print(f"\npeak memory of the submitting process above its start, as the grid grows ({what}, "
          "10 years, 3 arms, every output kept; each figure from a fresh process):")
    print(f"{'runs':>7} {'ours s':>8} {'ours MB':>8} {'running MB':>11} {'batch_run s':>12} "
          f"{'batch_run MB':>13} {'KB per row':>11}")
    for row in memory:
        ours, theirs = row["ours"], row["batch_run"]
        print(f"{ours['runs']:7d} {ours['seconds']:8.2f} "
              f"{ours['peak_mb'] - ours['baseline_mb']:8.0f} "
              f"{ours['running_mb'] - ours['baseline_mb']:11.0f} {theirs['seconds']:12.2f} "
              f"{theirs['peak_mb'] - theirs['baseline_mb']:13.0f} {theirs['row_kb']:11.1f}")
    if len(memory) > 1:
        first, last = memory[0], memory[-1]
        runs = last["ours"]["runs"] - first["ours"]["runs"]

        def growth(mode: str, key: str) -> float:
            return 1000 * ((last[mode][key] - last[mode]["baseline_mb"])
                           - (first[mode][key] - first[mode]["baseline_mb"])) / runs
        print(f"MB per 1,000 more runs: ours {growth('ours', 'peak_mb'):.1f} (while running "
              f"{growth('ours', 'running_mb'):.1f}), batch_run {growth('batch_run', 'peak_mb'):.1f}")


if __name__ == "__main__":
    main()
