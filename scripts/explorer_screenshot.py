"""Take the README's screenshot of the explorer (docs/explorer.png) in headless Chromium.

    .venv/bin/python scripts/explorer_screenshot.py            # writes docs/explorer.png
    .venv/bin/python scripts/explorer_screenshot.py --out x.png

Serves the explorer on a free port (stopped by the process id started here), runs the real
North East for the default ten years with four seeds, and photographs the page with the map
on show. Needs Debian's chromium (``make browser``) and playwright.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "explorer.png"))
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("error: no chromium on this machine (make browser installs Debian's)")
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "explorer", "--port", str(port)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("error: the explorer did not start (python -m explorer)")
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.get_by_role("button", name="Run scenario A").wait_for()
            page.locator(".v-window-item--active .v-select:has(label:text-is('World'))").click()
            page.locator(".menuable__content__active .v-list-item", has_text="north_east").click()
            seeds = page.locator(".v-window-item--active").get_by_label("Seeds", exact=True)
            seeds.fill("4")
            seeds.press("Tab")
            page.get_by_role("button", name="Run scenario A").click()
            page.locator(".explorer-status-A", has_text="done: 4 seeds").wait_for()
            page.get_by_text("north_east (4 seeds)").wait_for()
            page.wait_for_function("() => { const i = document.querySelector('img.explorer-map');"
                                   " return i && i.complete && i.naturalWidth > 0; }")
            page.wait_for_timeout(500)
            page.screenshot(path=args.out)
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
