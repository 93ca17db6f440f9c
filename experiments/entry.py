"""What the Hydra commands share: ``--help`` that works with or without a preset chosen,
``-v`` / ``-q``, and the ``sis_presets`` resolver their help texts use.

The command modules import Hydra, matplotlib and the statistics libraries only when a command
runs (:func:`experiment_main`, and imports inside the functions that draw and summarise):
local worker processes import the command's module again (``multiprocessing`` re-runs the
main module), and every second their server spends importing is a second before the first
run (bench/bench_slurm.py).

Each command's help is a ``hydra/help`` template in ``conf/hydra/help/<command>.yaml``. Hydra
composes the configuration before printing help, so for help a required group left unchosen
(``experiment: ???``) is dropped (``~experiment``) instead of failing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from .presets import register_resolver

HELP_FLAGS = ("--help", "-h")
VERBOSITY = {"-v": "DEBUG", "--verbose": "DEBUG", "-q": "WARNING", "--quiet": "WARNING"}


def experiment_main(run_experiment: Callable, kinds: tuple[str, ...],
                    command: str) -> Callable[[], None]:
    """The console entry point of an experiment command (see
    :func:`experiments.compose.experiment_main`), building it only when it is called."""
    def main() -> None:
        from .compose import experiment_main as hydra_entry
        hydra_entry(run_experiment, kinds, command)()

    main.__doc__ = f"Run {command} (Hydra command line; --help for the options)."
    return main


def command_line(args: list[str], help_name: str, level_setting: str,
                 required_groups: tuple[str, ...] = ()) -> list[str]:
    """The Hydra arguments for a command line: ``-v`` / ``-q`` become ``level_setting=...``;
    a help request gets the command's help template and drops unchosen required groups."""
    levels = [VERBOSITY[arg] for arg in args if arg in VERBOSITY]
    helps = [arg for arg in args if arg in HELP_FLAGS]
    args = [arg for arg in args if arg not in VERBOSITY and arg not in HELP_FLAGS]
    extra = [f"{level_setting}={levels[-1]}"] if levels else []
    if helps:
        chosen = {arg.split("=", 1)[0].lstrip("+~") for arg in args if "=" in arg}
        extra += [f"hydra/help={help_name}"]
        extra += [f"~{group}" for group in required_groups if group not in chosen]
    # overrides first, flags last: Hydra's parser takes one run of overrides only
    return extra + args + helps[:1]


def entry_point(hydra_main: Callable[[], None], help_name: str, level_setting: str,
                required_groups: tuple[str, ...] = ()) -> Callable[[], None]:
    """The console entry point (``sis-<command>``, ``python -m experiments.<command>``) of a
    ``@hydra.main`` function."""
    def main() -> None:
        register_resolver()
        sys.argv[1:] = command_line(sys.argv[1:], help_name, level_setting, required_groups)
        hydra_main()

    main.__doc__ = hydra_main.__doc__
    return main
