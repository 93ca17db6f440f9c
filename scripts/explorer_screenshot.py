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
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from explorer.server import served  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "explorer.png"))
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("error: no chromium on this machine (make browser installs Debian's)")
    from playwright.sync_api import sync_playwright

    try:
        with served() as url, sync_playwright() as p:
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
    except RuntimeError as error:  # the server did not start
        sys.exit(f"error: {error}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
