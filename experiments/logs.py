"""Logging for the commands: to the console, and to ``run.log`` in every results folder.

The model and the experiments log through the standard :mod:`logging` module (loggers under
``sim`` and ``experiments``) and configure nothing on import, so library use (a notebook, a
test) keeps Python's defaults: warnings reach stderr, nothing else is printed. The commands call
:func:`configure` with the level chosen (``run.log_level`` or ``execution.log_level``, or
``-v`` / ``-q``), and every results folder gets the log of the command that wrote it, at INFO
or finer, in ``<folder>/run.log``: an experiment's appended as it runs, from its checks before
the folder exists on (:func:`experiment_log`; :func:`log_file` for a folder that exists), a
single run's written with its results, once they are complete (:func:`log_capture`).
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.parameters import ConfigError
from sim.results import RUN_LOG

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FILE = RUN_LOG  # one name for every results folder's log (sim.results)
PACKAGES = ("sim", "experiments")
CONSOLE_FORMAT = "%(levelname)s: %(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: str = "INFO", setting: str = "run.log_level") -> None:
    """Send the model's log records at ``level`` and above to stderr (once per process;
    calling again changes the level). ``setting`` names the setting in an error."""
    if level not in LEVELS:
        raise ConfigError(f"{setting}={level!r} is not one of {', '.join(LEVELS)}")
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_sis_console", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._sis_console = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(CONSOLE_FORMAT))
        root.addHandler(handler)
    handler.setLevel(level)
    for name in PACKAGES:
        logging.getLogger(name).setLevel(level)


@contextmanager
def log_file(folder: str | Path, mode: str = "a") -> Iterator[Path]:
    """Record the model's log in ``folder/run.log`` while the block runs (``mode`` "a" appends:
    a resumed experiment keeps the log of every session). The file gets INFO records even
    when the console shows warnings only; DEBUG ones too after ``-v``."""
    path = Path(folder) / LOG_FILE
    handler = logging.FileHandler(path, mode=mode, encoding="utf-8")
    with _recording(handler):
        yield path


class _FolderLog(logging.Handler):
    """Holds records in memory until the results folder is known, then appends them, and every
    later record, to its run.log."""

    def __init__(self) -> None:
        super().__init__()
        self._held: list[str] = []
        self._file: io.TextIOWrapper | None = None

    def attach(self, folder: str | Path) -> Path:
        path = Path(folder) / LOG_FILE
        self.acquire()
        try:
            self._file = open(path, "a", encoding="utf-8")
            self._file.writelines(self._held)
            self._file.flush()
            self._held.clear()
        finally:
            self.release()
        return path

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            if self._file is None:
                self._held.append(line)
            else:
                self._file.write(line)
                self._file.flush()
        except Exception:  # noqa: BLE001 - logging must not fail the experiment
            self.handleError(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()


@contextmanager
def experiment_log() -> Iterator[Callable[[str | Path], Path]]:
    """Record the model's log from here on for an experiment's ``run.log``, before its folder
    exists: what the checks before any run log (a world's imputations, a resumed experiment's
    notes) is held, and written first when the block calls the function it is given with the
    folder. Appends, so a resumed experiment keeps the log of every session; if the folder is
    never given (the checks failed), nothing is written::

        with experiment_log() as log_to:
            checked = preflight(...)
            with open_experiment(...) as store:
                log_to(store.root)
    """
    handler = _FolderLog()
    with _recording(handler):
        yield handler.attach


@contextmanager
def log_capture() -> Iterator[io.StringIO]:
    """Record the model's log in memory while the block runs, as :func:`log_file` would; the
    caller writes it (:func:`write_log`) beside results that were written in full."""
    buffer = io.StringIO()
    with _recording(logging.StreamHandler(buffer)):
        yield buffer


def write_log(folder: str | Path, text: str) -> Path:
    """Write a captured log to ``folder/run.log`` (replacing the log of earlier results)."""
    path = Path(folder) / LOG_FILE
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def _recording(handler: logging.Handler) -> Iterator[None]:
    """Attach ``handler`` at INFO or finer, lowering the model's loggers to match meanwhile."""
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    loggers = [logging.getLogger(name) for name in PACKAGES]
    saved = [logger.level for logger in loggers]
    level = min(logging.INFO, *(logger.getEffectiveLevel() for logger in loggers))
    handler.setLevel(level)
    for logger in loggers:
        logger.setLevel(min(level, logger.getEffectiveLevel()))
    root = logging.getLogger()
    # Where nothing is configured (library use: a notebook, a test), Python prints warnings
    # through logging.lastResort only while no handler at all is found; keep doing so while
    # ours records, so warnings still reach stderr.
    last_resort = logging.lastResort if not root.handlers and logging.lastResort else None
    for added in (handler, last_resort):
        if added is not None:
            root.addHandler(added)
    try:
        yield
    finally:
        root.removeHandler(handler)
        if last_resort is not None:
            root.removeHandler(last_resort)
        handler.close()
        for logger, before in zip(loggers, saved):
            logger.setLevel(before)

def log_session(session: dict, folder: str | Path) -> None:
    """Log what one session of an experiment did; failed runs are a warning (their errors are
    in ``folder/errors/`` and they are left out of every summary)."""
    log = logging.getLogger("experiments")
    log.info("%d run(s) done in %.1f s on %s; %d already recorded", session["runs_done"],
             session["wall_s"], session["backend"], session["runs_skipped"])
    if session["runs_failed"]:
        log.warning("%d run(s) failed and are left out of the summaries; see %s",
                    session["runs_failed"], Path(folder) / "errors")
