"""What the Hydra commands share: ``--help`` that works with or without a preset chosen,
``-v`` / ``-q``, and the ``sis_presets`` resolver their help texts use.

The command modules import Hydra, matplotlib and the statistics libraries only when a command
runs (:func:`experiment_main`, and imports inside the functions that draw and summarise):
local worker processes import the command's module again (``multiprocessing`` re-runs the
main module), and every second their server spends importing is a second before the first
run (bench/bench_slurm.py).

Each command's help is a ``hydra/help`` template in ``conf/hydra/help/<command>.yaml``. Hydra
composes the configuration before printing help, so for help a required group left unchosen
(``experiment: ???``) is dropped (``~experiment``) instead of failing, and settings that do not
compose (a mistyped preset, a group the command does not take) are named in one line and left
out, so the help is still shown.
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


def add_verbosity_options(parser) -> None:
    """``-v`` / ``-q`` on an argparse command, as on the Hydra commands (:data:`VERBOSITY`),
    into ``args.log_level`` (default ``INFO``)."""
    parser.add_argument("-v", "--verbose", action="store_const", const=VERBOSITY["-v"],
                        dest="log_level", default="INFO", help="log more (DEBUG)")
    parser.add_argument("-q", "--quiet", action="store_const", const=VERBOSITY["-q"],
                        dest="log_level", help="log warnings and errors only")


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


def is_override(arg: str) -> bool:
    """Whether a command-line argument is a Hydra override (``key=value``, ``~group``)."""
    return not arg.startswith("-") and "=" in arg or arg.startswith("~")


def composition_problem(args: list[str], config_name: str) -> str | None:
    """Why the overrides among ``args`` do not compose ``conf/<config_name>.yaml``, in one
    line; ``None`` when they do."""
    import hydra

    from .config import CONF_DIR
    try:
        with hydra.initialize_config_dir(config_dir=CONF_DIR, version_base=None):
            hydra.compose(config_name, overrides=[arg for arg in args if is_override(arg)])
    except Exception as error:  # noqa: BLE001 - any composition error is named, not raised
        text = " ".join(str(error).split())
        for tail in (" Config search path:", " To append to your"):  # Hydra's advice: not ours
            text = text.split(tail, 1)[0]
        return text.rstrip(".")
    return None


def entry_point(hydra_main: Callable[[], None], help_name: str, level_setting: str,
                config_name: str, required_groups: tuple[str, ...] = ()) -> Callable[[], None]:
    """The console entry point (``sis-<command>``, ``python -m experiments.<command>``) of a
    ``@hydra.main`` function composing ``conf/<config_name>.yaml``."""
    def main() -> None:
        register_resolver()
        given = sys.argv[1:]
        args = command_line(given, help_name, level_setting, required_groups)
        if any(arg in HELP_FLAGS for arg in args):  # help describes the command: a bad
            problem = composition_problem(args, config_name)  # setting must not hide it
            if problem:
                print(f"note: {problem}; the help below leaves your settings out",
                      file=sys.stderr)
                args = command_line([arg for arg in given if not is_override(arg)], help_name,
                                    level_setting, required_groups)
        sys.argv[1:] = args
        hydra_main()

    main.__doc__ = hydra_main.__doc__
    return main
