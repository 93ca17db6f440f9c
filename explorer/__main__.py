"""Serve the explorer: ``python -m explorer [--host 127.0.0.1] [--port 8765]`` (``make explore``,
installed as ``sis-explore``; ``--help`` explains it, with examples).

Prints the address, then replaces this process with Solara's server (so the process id a
caller started is the server's). Solara's front end is served from the pinned
``solara-assets`` package, so the page works without internet access; telemetry and Solara's
check for a newer version on PyPI are off (the versions are pinned on purpose).
"""

from __future__ import annotations

import argparse
import os
import sys

from .server import free_port


HELP = """\
sis-explore (python -m explorer): the explorer in the browser

Serves the explorer and prints its address: set up a scenario (a world, years, seeds and the
levers, each with its unit, default and range), run it with a progress bar, look at the map,
the series over time, supply of system leaders against need and the headline outcomes, compare
two scenarios side by side, and open finished runs and sweeps without rerunning them. Runs
until Ctrl-C. The front end comes from the pinned solara-assets package, so no internet access
is needed; it needs the explorer extra (make setup installs it)."""

EXAMPLES = """\
examples:
  sis-explore
      The explorer on http://127.0.0.1:8765/ (what make explore runs).
  sis-explore --port 0
      On a free port, printed, when 8765 is taken.
  sis-explore --port 9000
      On port 9000. Run on a remote machine (a cluster node), forward the port from your own
      with ssh -L 9000:127.0.0.1:9000 <remote machine> and open http://127.0.0.1:9000/.

Documentation: README.md ("Explorer in the browser"), examples/explore.ipynb"""


def build_parser() -> argparse.ArgumentParser:
    """The command line: address and port."""
    parser = argparse.ArgumentParser(prog="sis-explore", description=HELP, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse the address and start the server."""
    args = build_parser().parse_args(argv)
    port = free_port(args.host) if args.port == 0 else args.port
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    print(f"Explorer at http://{args.host}:{port}/  (Ctrl-C stops it)", flush=True)
    os.execv(sys.executable, [sys.executable, "-m", "solara", "run", "explorer.app",
                              "--host", args.host, "--port", str(port), "--production",
                              "--no-open", "--no-check-version", "--log-level", "warning"])


if __name__ == "__main__":
    main()
