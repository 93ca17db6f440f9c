"""The explorer in a real browser: headless Debian Chromium driven by Playwright.

One server (``python -m explorer``) is started on 127.0.0.1 at a free port for the module and
stopped by the process id this module started. The tests set levers, run the toy world to
completion, check that the map and charts render, compare two scenarios, cancel a run and open
a saved run and a finished sweep. Screenshots go to ``tests/artefacts/explorer/`` (ignored by
git). Without Chromium (``make browser`` installs it) the tests are skipped, saying why.
"""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import REPO
from explorer.server import served

pytest.importorskip("solara")
sync_api = pytest.importorskip("playwright.sync_api")

ARTEFACTS = REPO / "tests" / "artefacts" / "explorer"
CHROMIUM = os.environ.get("EXPLORER_CHROMIUM") or shutil.which("chromium") \
    or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine: `make browser` "
                       "installs Debian's (needs root and apt-get)"),
]
TIMEOUT_MS = 90_000  # generous: CI machines are shared


@pytest.fixture(scope="module")
def server():
    """The explorer served on a free port; stopped by the pid started here."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTEFACTS / "server.log", "w") as log, served(log, start_timeout_s=90) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    page.get_by_role("button", name="Run scenario A").wait_for()
    yield page
    page.close()


def shot(page, name: str) -> None:
    """Screenshot of the whole page: the page scrolls inside Solara's layout, so the window is
    made as tall as the content for the picture."""
    size = page.viewport_size
    height = page.evaluate("Math.max(...Array.from(document.querySelectorAll('*'), e => e.scrollHeight))")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 6000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"))
    page.set_viewport_size(size)


def field(page, label: str):
    """The text input labelled ``label`` in the visible tab."""
    return page.locator(".v-window-item--active").get_by_label(label, exact=True)


def type_into(page, label: str, text: str) -> None:
    box = field(page, label)
    box.fill(text)
    box.press("Tab")


def image_size(page, css: str) -> tuple[int, int]:
    """Natural size of the figure image matching ``css`` in the visible tab, once loaded."""
    image = page.locator(f".v-window-item--active img{css}").first
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    return image.evaluate("img => [img.naturalWidth, img.naturalHeight]")


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).first.click()


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the list labelled ``label`` in the visible tab."""
    page.locator(f".v-window-item--active .v-select:has(label:text-is('{label}'))").first.click()
    page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()


def test_form_refuses_a_bad_value_with_the_command_lines_message(page):
    type_into(page, "Budget", "-5")
    error = page.locator(".explorer-error")
    error.wait_for()
    assert ("policy.system_leadership.budget_gbp_per_year=-5.0 is out of range "
            "[0.0, 10000000000.0]") in error.inner_text()
    assert page.get_by_role("button", name="Run scenario A").is_disabled()
    shot(page, "01_bad_value")
    type_into(page, "Budget", "30000000")
    error.wait_for(state="detached")
    assert page.get_by_role("button", name="Run scenario A").is_enabled()
    assert page.get_by_text("default 20,000,000; GBP per year nationally").first.is_visible()


def test_run_toy_world_then_compare_and_open_saved_work(page, tmp_path):
    # scenario A: toy world, three years, three seeds
    type_into(page, "Years", "3")
    type_into(page, "Seeds", "3")
    page.get_by_role("button", name="Run scenario A").click()
    page.locator(".explorer-status-A", has_text="done: 3 seeds").wait_for()
    page.get_by_text("toy (3 seeds)").wait_for()  # every seed reaches the page
    width, height = image_size(page, ".explorer-map")
    assert width > 300 and height > 300
    shot(page, "02_map")
    open_tab(page, "Over time")
    assert image_size(page, ".explorer-series")[0] > 500
    shot(page, "03_series")
    open_tab(page, "Supply and need")
    assert image_size(page, ".explorer-supply")[0] > 500
    open_tab(page, "Outcomes")
    page.get_by_text("share_good_or_outstanding").first.wait_for()

    # scenario B: the same, without system leadership
    open_tab(page, "Scenario B")
    page.get_by_role("button", name="Copy scenario A here").click()
    page.locator(".v-window-item--active").get_by_text(
        "System leadership (NLEs, LLEs, brokerage)").click()
    page.get_by_role("button", name="Run scenario B").click()
    page.locator(".explorer-status-B", has_text="done: 3 seeds").wait_for()
    assert image_size(page, ".explorer-map")[0] > 300

    open_tab(page, "Compare A and B")
    assert image_size(page, ".explorer-compare-series")[0] > 500
    assert image_size(page, ".explorer-difference")[0] > 500
    page.get_by_text("B minus A").first.wait_for()
    caption = page.locator(".explorer-difference-caption")
    assert "by local authority on the map" in caption.inner_text()
    choose(page, "Difference on the map by", "region")
    page.locator(".explorer-difference-caption", has_text="by region on the map").wait_for()
    assert image_size(page, ".explorer-difference")[0] > 500
    shot(page, "04_compare")

    # a saved run, written by the command line's Results.write
    from explorer.jobs import RunJob
    from explorer.scenario import Scenario
    scenario = Scenario(world="north_east", values={"run.years": "2"})
    saved = tmp_path / "saved_run"
    RunJob(scenario.config(), [0]).start().wait(120).results[0].write(str(saved), figures=False)
    open_tab(page, "Open finished work")
    type_into(page, "Folder", str(saved))
    page.get_by_role("button", name="Open as B").click()
    page.locator(".v-window-item--active").get_by_text(f"saved run {saved}").wait_for()
    width, height = image_size(page, ".explorer-map")
    assert width > 300
    shot(page, "05_saved_run")


def test_open_finished_sweep(page, tmp_path):
    from experiments.compose import compose_spec
    from experiments.sweep import run_sweep
    spec, execution = compose_spec(["experiment=smoke", "execution=serial",
                                    "execution.progress=false", f"experiment.out={tmp_path}/sweep"])
    folder = run_sweep(spec, execution)
    open_tab(page, "Open finished work")
    type_into(page, "Folder", str(folder))
    page.get_by_role("button", name="Open as A").click()
    page.get_by_text("Sweep smoke").wait_for()
    page.get_by_text("no_system_leadership").first.wait_for()
    page.get_by_text("Paired differences").wait_for()
    assert image_size(page, ".explorer-sweep-figure")[0] > 300
    shot(page, "06_sweep")


def test_cancel_a_long_run_while_earlier_results_stay(page):
    type_into(page, "Years", "2")
    page.get_by_role("button", name="Run scenario A").click()
    page.locator(".explorer-status-A", has_text="done").wait_for()
    # a long run: the north east for 30 years and 20 seeds
    page.locator(".v-window-item--active .v-select").first.click()
    page.locator(".v-menu__content .v-list-item", has_text="north_east").click()
    page.locator(".v-window-item--active .v-select:not(.v-input--is-disabled)",
                 has_text="Region").wait_for()
    type_into(page, "Years", "30")
    type_into(page, "Seeds", "20")
    page.get_by_role("button", name="Run scenario A").click()
    page.locator(".explorer-status-A", has_text="of 20").wait_for()
    assert page.locator(".explorer-map").count() == 1  # the toy results are still on show
    page.get_by_role("button", name="Cancel").click()
    page.locator(".explorer-status-A", has_text="cancelled").wait_for()
    shot(page, "07_cancelled")


@pytest.mark.slow
def test_england_map_has_real_boundaries_and_zooms_to_a_region_and_a_local_authority(page):
    choose(page, "World", "england")
    page.locator(".v-window-item--active .v-select:not(.v-input--is-disabled)",
                 has_text="Region").first.wait_for()
    type_into(page, "Years", "1")
    page.get_by_role("button", name="Run scenario A").click()
    page.locator(".explorer-status-A", has_text="done: 1 seed").wait_for()
    caption = page.locator(".explorer-map-caption")
    caption.wait_for()
    assert "All schools at the end: 20,153 schools" in caption.inner_text()
    assert "local authority and region boundaries" in caption.inner_text()
    assert image_size(page, ".explorer-map")[0] > 300
    shot(page, "08_england")
    choose(page, "Zoom to region", "North East")
    page.locator(".explorer-map-caption", has_text="North East at the end").wait_for()
    choose(page, "Zoom to local authority", "Gateshead")
    page.locator(".explorer-map-caption", has_text="Gateshead at the end").wait_for()
    assert image_size(page, ".explorer-map")[0] > 300
    shot(page, "09_zoomed")
