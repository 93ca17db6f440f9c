"""Benchmark of the experiments layer: runs per second on 1 and on all cores, against
``mesa.batch_run`` on the same grid of runs, with peak memory.

    .venv/bin/python bench/bench_experiments.py                 # one-LA world, 2 years, 80 runs
    .venv/bin/python bench/bench_experiments.py --replications 100 --world toy

Grid: three policy arms (the smoke preset's two and a recruitment premium) x
``--replications`` seeds. Each run builds the world, runs the model and
computes the same outputs (time series, scalar outcomes, national series) in every mode.
Parallel efficiency = rate on all cores / (cores x rate on one core); target >= 0.8. Ours
versus batch_run: target ratio >= 1. Peak memory is the benchmark process's resident set
(workers excluded): ours streams results to Parquet, batch_run keeps every result in a list.
Prints measured figures; not a test. Timings include starting the worker processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from functools import cache
from pathlib import Path

import mesa
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments.compose import compose_spec  # noqa: E402
from experiments.model_function import evaluate_model, national_series  # noqa: E402
from experiments.plan import replication_seeds, sweep_tasks  # noqa: E402
from experiments.spec import ExperimentSpec  # noqa: E402
from experiments.store import ExperimentStore  # noqa: E402
from experiments.sweep import run_sweep  # noqa: E402
from sim import outcomes  # noqa: E402
from sim.model import SchoolSystemModel  # noqa: E402
from sim.state import TERMS_PER_YEAR  # noqa: E402
from sim.world import cached_world as world_cache  # noqa: E402

ARMS = "{baseline: {}, recruitment_premium: {policy.recruitment_incentive.enabled: true}}"


class PeakMemory:
    """Peak resident memory (MB) of this process while the block runs, sampled every 20 ms."""

    def __enter__(self) -> "PeakMemory":
        self._process = psutil.Process()
        self.peak_mb = self._process.memory_info().rss / 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@cache
def arm_configs(world: str, years: int, arms: tuple[str, ...] = ()) -> dict:
    """Arm name -> configuration of the benchmark grid (composed once per worker process);
    ``arms``: overrides replacing the grid's arms (see :func:`grid`)."""
    spec, _ = grid(world, years, replications=1, out=Path("unused"), backend="serial", arms=arms)
    return {task.labels["arm"]: task.config for task in sweep_tasks(spec)}


class BatchRunAdapter(mesa.Model):
    """Our model behind ``mesa.batch_run``'s interface: keyword arguments in, a DataCollector
    holding the same outputs as ``experiments.model_function.evaluate_model`` out."""

    def __init__(self, arm: str = "baseline", world: str = "one_la", years: int = 2,
                 seed: int | None = None, arms: tuple[str, ...] = (), cached_world: bool = False):
        super().__init__(rng=seed)
        config = arm_configs(world, years, arms)[arm]
        # as a batch_run user writes it, the model builds its world; cached_world=True gives it
        # the world our experiments use (built once per process), to compare like with like
        prebuilt = world_cache(config.world) if cached_world else None
        self.school_system = SchoolSystemModel(config, seed=seed, world=prebuilt)
        self.terms = config.run.years * TERMS_PER_YEAR
        self.outputs: dict = {}
        self.mean_gap = float("nan")
        self.datacollector = mesa.DataCollector(model_reporters={"mean_gap": "mean_gap"})

    def step(self) -> None:
        """Advance one term; at the last term compute the outputs and collect them."""
        model = self.school_system
        model.step()
        if model.step_count >= self.terms:
            events = model.events.frame()
            timeseries = model.recorder.frame(events)
            self.outputs = outcomes.scalar_outcomes(timeseries, events)
            self.outputs.update(national_series(timeseries))
            self.mean_gap = self.outputs["mean_gap"]
            self.datacollector.collect(self)
            self.running = False


def timed_evaluate(config, seed: int) -> dict:
    """``evaluate_model`` with timings added as outputs (``bench_*``), so a benchmark can split a
    process's time into runs and overhead whatever backend ran it: the run's CPU seconds, its
    start and end (epoch seconds), and its process's id, start time and CPU seconds so far
    (imports, world, earlier runs). Importable by name, so Slurm jobs and workers can load it."""
    process = psutil.Process()
    started, cpu = time.time(), time.process_time()
    outputs = evaluate_model(config, seed)
    outputs.update(bench_run_cpu_s=time.process_time() - cpu, bench_run_started=started,
                   bench_run_ended=time.time(), bench_process_cpu_s=time.process_time(),
                   bench_pid=float(process.pid), bench_process_started=process.create_time())
    return outputs


def grid(world: str, years: int, replications: int, out: Path, backend: str,
         arms: tuple[str, ...] = ()) -> tuple:
    """The benchmark sweep as a spec and execution settings for ``backend``; ``arms`` (Hydra
    overrides) replace the default arms (the smoke preset's two and ``ARMS``)."""
    return compose_spec([
        "experiment=smoke", f"world={world}", f"run.years={years}",
        f"experiment.replications={replications}", *(arms or [f"+experiment.arms={ARMS}"]),
        "experiment.figures=false", f"experiment.out={out}", f"execution={backend}",
        "execution.progress=false", "execution.batch_size=16"])


@cache
def _recorded_outputs(world: str, years: int) -> dict:
    """The outputs of one real run (the grid's first arm, seed 0) of ``world``."""
    config = next(iter(arm_configs(world, years).values()))
    return evaluate_model(config, 0)


def replayed_evaluate(config, seed: int) -> dict:
    """A copy of the outputs of one real run of the benchmark grid on ``config``'s world (run
    once per process): the same names, types and sizes as ``evaluate_model`` gives, at no cost,
    so a benchmark can measure what keeping or storing results costs at grid sizes the model
    would take hours to reach. Importable by name, so workers can load it."""
    outputs = _recorded_outputs(config.world.name, config.run.years)
    return {name: value.copy() if hasattr(value, "copy") else value
            for name, value in outputs.items()}


class ReplayAdapter(mesa.Model):
    """``replayed_evaluate`` behind ``mesa.batch_run``'s interface: one step collects a copy of
    the recorded outputs, as :class:`BatchRunAdapter` collects a real run's."""

    def __init__(self, arm: str = "baseline", world: str = "toy", years: int = 10,
                 seed: int | None = None) -> None:
        super().__init__(rng=seed)
        self.config = arm_configs(world, years)[arm]
        self.outputs: dict = {}
        self.datacollector = mesa.DataCollector(model_reporters={"outputs": "outputs"})

    def step(self) -> None:
        """Collect the outputs and stop."""
        self.outputs = replayed_evaluate(self.config, 0)
        self.datacollector.collect(self)
        self.running = False


def time_ours(spec: ExperimentSpec, execution, evaluate=None) -> tuple[float, float]:
    """Seconds and peak memory of our sweep (store writes and summaries included)."""
    with PeakMemory() as memory:
        start = time.perf_counter()
        run_sweep(spec, execution, **({"evaluate": evaluate} if evaluate else {}))
        seconds = time.perf_counter() - start
    return seconds, memory.peak_mb


def time_batch_run(world: str, years: int, replications: int, processes: int,
                   arms: tuple[str, ...] = (),
                   cached_world: bool = False) -> tuple[float, float, list[dict]]:
    """Seconds, peak memory and rows returned by mesa.batch_run over the same grid."""
    seeds = replication_seeds(0, replications)  # the smoke preset's experiment seed
    with PeakMemory() as memory:
        start = time.perf_counter()
        rows = mesa.batch_run(BatchRunAdapter,
                              parameters={"arm": list(arm_configs(world, years, arms)),
                                          "world": world, "years": years, "arms": [arms],
                                          "cached_world": cached_world},
                              number_processes=processes, rng=seeds,
                              max_steps=10_000, display_progress=False)
        seconds = time.perf_counter() - start
    return seconds, memory.peak_mb, rows


def check_same_work(ours: pd.DataFrame, batch_rows: list[dict]) -> None:
    """batch_run and our sweep must have computed the same outcomes for the same runs."""
    theirs = pd.DataFrame(batch_rows).set_index(["arm", "seed"])["mean_gap"].sort_index()
    mine = ours.set_index(["arm", "seed"])["mean_gap"].sort_index()
    pd.testing.assert_series_equal(mine, theirs, check_names=False)


def main() -> None:
    """Measure and print runs per second, parallel efficiency and the ratio to batch_run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="one_la")
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--replications", type=int, default=40)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    arms = len(arm_configs(args.world, args.years))
    runs = arms * args.replications
    print(f"{runs} runs ({args.world} world, {args.years} years, {arms} arms x {args.replications} "
          f"seeds) on {cores} cores")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        serial_s, serial_mb = time_ours(*grid(args.world, args.years, args.replications,
                                              Path(tmp) / "serial", "serial"))
        rows.append(("ours, 1 core (serial)", serial_s, serial_mb))
        local_s, local_mb = time_ours(*grid(args.world, args.years, args.replications,
                                            Path(tmp) / "local", "local"))
        rows.append((f"ours, {cores} cores (local)", local_s, local_mb))
        batch_s, batch_mb, batch_rows = time_batch_run(args.world, args.years,
                                                       args.replications, processes=cores)
        rows.append((f"mesa.batch_run, {cores} processes", batch_s, batch_mb))
        ours = ExperimentStore(Path(tmp) / "local").read_runs()
    check_same_work(ours, batch_rows)
    print(f"{'mode':34} {'seconds':>8} {'runs/s':>8} {'peak MB':>8}")
    for mode, seconds, peak in rows:
        print(f"{mode:34} {seconds:8.2f} {runs / seconds:8.2f} {peak:8.0f}")
    efficiency = (runs / local_s) / (cores * runs / serial_s)
    print(f"parallel efficiency on {cores} cores: {efficiency:.2f} (target >= 0.8)")
    print(f"ours / batch_run on {cores} cores: {batch_s / local_s:.2f}x the rate (target >= 1)")
    print(f"seconds per run on one core: {serial_s / runs:.3f}")


if __name__ == "__main__":
    main()
