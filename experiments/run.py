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

import hydra
from omegaconf import DictConfig

from experiments.config import CONF_DIR, to_sim_config
from experiments.entry import entry_point
from experiments.logs import configure, log_capture, write_log
from sim.parameters import ConfigError
from sim.outcomes import good_share
from sim.results import check_out_dir
from sim.run import run

log = logging.getLogger("experiments.run")  # not __name__: "__main__" under python -m


@hydra.main(version_base=None, config_path=CONF_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    """Validate, run, write and summarise one run."""
    try:
        config = to_sim_config(cfg)
        configure(config.run.log_level)
        check_out_dir(config.run.out, config.run.overwrite)
        with log_capture() as captured:
            log.info("world=%s policy=%s seed %d, %d years -> %s", config.world.name,
                     config.policy.name, config.run.seed, config.run.years, config.run.out)
            results = run(config)  # builds the world first: a bad region or file fails here
            results.write(config.run.out, overwrite=config.run.overwrite,
                          figures=config.run.figures)
        write_log(config.run.out, captured.getvalue())
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    ts = results.timeseries
    last = ts[ts["step"] == ts["step"].max()]
    good = good_share(last.sum(numeric_only=True))
    t = results.manifest["timings_s"]
    print(f"{results.manifest['n_schools']} schools, {config.run.years} years, seed {config.run.seed}: "
          f"{100 * good:.1f}% good or outstanding at the end, {int(last['acting_heads'].sum())} acting heads; "
          f"simulated in {t['simulate_s']:.1f} s; results in {config.run.out}")


cli = entry_point(main, help_name="run", level_setting="run.log_level")

if __name__ == "__main__":
    cli()
