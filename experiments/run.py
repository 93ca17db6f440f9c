"""Run one configuration: ``python -m experiments.run [overrides]``.

Examples::

    python -m experiments.run                                   # default England, 10 years
    python -m experiments.run run.seed=7 run.years=10 run.out=results/seed7
    python -m experiments.run world=north_east policy=recruitment_incentive

Writes ``timeseries.parquet``, ``events.parquet``, ``schools.parquet``, figures,
``manifest.json`` and ``run.log`` to ``run.out`` (see docs/RESULTS.md). Installed as ``sis-run``;
``sis-run --help`` lists the presets and examples (conf/hydra/help/run.yaml).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import hydra
from omegaconf import DictConfig

from experiments.cli import exit_with, hydra_exit_codes, run_command
from experiments.config import CONF_DIR, to_sim_config
from sim.figures import check_map_inputs
from experiments.entry import entry_point
from experiments.logs import configure, log_capture, write_log
from sim.recorder import good_share
from sim.results import check_out_dir
from sim.run import run

log = logging.getLogger("experiments.run")  # not __name__: "__main__" under python -m


@hydra.main(version_base=None, config_path=CONF_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    """Validate, run, write and summarise one run (failures: see :mod:`experiments.cli`)."""
    exit_with(run_command(lambda: run_and_write(cfg)))


def run_and_write(cfg: DictConfig) -> None:
    """One run: check the output folder (writable, not earlier results unless overwriting),
    run (building the world first: a bad region or file fails there), write, summarise."""
    config = to_sim_config(cfg)
    configure(config.run.log_level)
    check_out_dir(config.run.out, config.run.overwrite)
    check_map_inputs(config)  # a broken boundary file fails before the run, not after
    with log_capture() as captured:
        log.info("world=%s policy=%s seed %d, %d years -> %s", config.world.name,
                 config.policy.name, config.run.seed, config.run.years, config.run.out)
        results = run(config)  # the world's load report is logged as a warning by sim.run
        more = seed_figures(config, results) if config.run.seeds > 1 else None
        results.write(config.run.out, overwrite=config.run.overwrite, figures=config.run.figures,
                      more_figures=more)
    write_log(config.run.out, captured.getvalue())
    if more is not None:
        print(f"{config.run.seeds} seeds: figures/seed_bands.png, figures/head_survival.png "
              f"in {config.run.out}")
    ts = results.timeseries
    last = ts[ts["step"] == ts["step"].max()]
    good = good_share(last.sum(numeric_only=True))
    t = results.manifest["timings_s"]
    print(f"{results.manifest['n_schools']} schools, {config.run.years} years, seed {config.run.seed}: "
          f"{100 * good:.1f}% good or outstanding at the end, {int(last['acting_heads'].sum())} acting heads; "
          f"simulated in {t['simulate_s']:.1f} s; results in {config.run.out}")


def seed_figures(config, first) -> Callable[[Path], list[str]]:
    """``run.seeds`` > 1: run seeds seed+1 .. seed+seeds-1 too; return what draws bands across
    all of them (``figures/seed_bands.png``) and head survival curves
    (``figures/head_survival.png``) into a results folder, for :meth:`Results.write`."""
    from experiments.figures import head_survival, save_all, seed_bands
    from sim.outcomes import national_series
    others = [run(config, seed=config.run.seed + k, progress=False) for k in range(1, config.run.seeds)]
    every = [first, *others]
    start = float(every[0].timeseries["calendar_year"].min()) if "calendar_year" in every[0].timeseries \
        else 0.0

    def draw(folder: Path) -> list[str]:
        (folder / "figures").mkdir(exist_ok=True)
        series = [national_series(r.timeseries) for r in every]
        written = save_all({"seed_bands.png": seed_bands(series, start),
                            "head_survival.png": head_survival([r.events for r in every],
                                                               every[0].manifest["steps"], start)},
                           folder / "figures")
        return [f"figures/{name}" for name in written]

    return draw


cli = entry_point(hydra_exit_codes(main), help_name="run", level_setting="run.log_level",
                  config_name="config")

if __name__ == "__main__":
    cli()
