"""Serve the explorer: ``python -m explorer [--host 127.0.0.1] [--port 8765]`` (``make explore``).

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


def main(argv: list[str] | None = None) -> None:
    """Parse the address and start the server."""
    parser = argparse.ArgumentParser(prog="python -m explorer", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    args = parser.parse_args(argv)
    port = free_port(args.host) if args.port == 0 else args.port
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    print(f"Explorer at http://{args.host}:{port}/  (Ctrl-C stops it)", flush=True)
    os.execv(sys.executable, [sys.executable, "-m", "solara", "run", "explorer.app",
                              "--host", args.host, "--port", str(port), "--production",
                              "--no-open", "--no-check-version", "--log-level", "warning"])


if __name__ == "__main__":
    main()
