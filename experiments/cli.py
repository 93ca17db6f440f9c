"""How the command-line entry points end: one line per failure, and exit codes scripts can tell
apart (docs/EXPERIMENTS.md, "Exit codes").

====  ======================================================================================
code  meaning
====  ======================================================================================
0     everything asked for was done
1     a bug: the traceback is printed (please report it with the command that gave it)
2     a user mistake, named in one line: configuration (Hydra's composition errors included),
      input files, output folders
3     the environment, in one line: disk full, permissions, network (an unreachable Dask
      scheduler)
4     finished, but not all of it: runs failed (recorded in ``errors/``; after fixing the cause
      rerun with ``experiment.retry_failed=true``), or ``reproduce`` found runs that differ or
      that it could not check
130   interrupted (Ctrl-C); 143 terminated (SIGTERM). Finished runs are kept, temporary files
      removed
====  ======================================================================================
"""

from __future__ import annotations

import io
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from functools import wraps

from sim.parameters import ConfigError

EXIT_OK, EXIT_BUG, EXIT_USER, EXIT_ENVIRONMENT, EXIT_INCOMPLETE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Incomplete(Exception):
    """The command finished, but not everything it was asked for succeeded (exit code 4)."""


class EnvironmentFailure(Exception):
    """The machine or cluster failed the command (exit code 3), e.g. Slurm jobs that ended
    with runs not done; the same command resumes."""


class Terminated(BaseException):
    """SIGTERM arrived: unwind (running ``finally`` blocks, so temporary files go) and exit."""


_bug_reported = False  # tells our exit code 1 (a bug) from Hydra's (a configuration error)
_held_stderr: list = []  # the real stderr while Hydra composes (its errors become one line)


def run_command(body: Callable[[], int | None]) -> int:
    """Run ``body``; turn every failure into one line on stderr and an exit code (module doc)."""
    global _bug_reported
    _release_stderr()
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
    try:
        return body() or EXIT_OK
    except ConfigError as error:
        _one_line(error)
        return EXIT_USER
    except Incomplete as error:
        _one_line(error)
        return EXIT_INCOMPLETE
    except OSError as error:
        _one_line(describe_os_error(error))
        return EXIT_ENVIRONMENT
    except EnvironmentFailure as error:
        _one_line(error)
        return EXIT_ENVIRONMENT
    except KeyboardInterrupt:
        _one_line("interrupted; finished runs are kept (run the same command to resume)")
        return EXIT_INTERRUPTED
    except Terminated:
        _one_line("terminated; finished runs are kept (run the same command to resume)")
        return EXIT_TERMINATED
    except Exception:  # noqa: BLE001 - anything else is a bug: show everything
        traceback.print_exc()
        print("error: this is a bug in the project, not in your input; please report it with "
              "the command and the traceback above", file=sys.stderr)
        _bug_reported = True
        return EXIT_BUG
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


def describe_os_error(error: OSError) -> str:
    """An operating-system failure as one line: what failed and on which file."""
    what = error.strerror or str(error) or type(error).__name__
    return f"{what}: {error.filename}" if error.filename else what


def hydra_exit_codes(main: Callable[[], None]) -> Callable[[], None]:
    """Wrap a ``hydra.main`` entry point so that Hydra's own errors (an unknown key, a missing
    preset, a bad override: Hydra prints them over several lines and exits 1) are one line
    and exit 2, as a user's mistake. What Hydra writes to stderr before the task starts is
    held back until then (and printed as it was if it is not an error)."""
    @wraps(main)
    def wrapped(*args, **kwargs):
        _held_stderr.append(sys.stderr)
        sys.stderr = io.StringIO()
        try:
            main(*args, **kwargs)
        except SystemExit as exit_:
            held = _release_stderr()
            if exit_.code == EXIT_BUG and not _bug_reported:
                _one_line(held.strip() or "configuration error")
                raise SystemExit(EXIT_USER) from None
            sys.stderr.write(held)
            raise
        except BaseException:  # an exception Hydra does not turn into an exit (its --help path)
            sys.stderr.write(_release_stderr())
            raise
        sys.stderr.write(_release_stderr())
    return wrapped


def _release_stderr() -> str:
    """Put the real stderr back; return what was written while it was held."""
    if not _held_stderr:
        return ""
    held = sys.stderr.getvalue() if isinstance(sys.stderr, io.StringIO) else ""
    sys.stderr = _held_stderr.pop()
    return held


def exit_with(code: int) -> None:
    """End a Hydra task function with ``code`` (nothing to do for 0)."""
    if code:
        sys.exit(code)


def _one_line(message: object) -> None:
    text = " ".join(str(message).replace("Set the environment variable HYDRA_FULL_ERROR=1 for a "
                                         "complete stack trace.", "").split())
    text = text or type(message).__name__
    print(f"error: {text}", file=sys.stderr)


def _terminate(signum, frame) -> None:
    raise Terminated()
