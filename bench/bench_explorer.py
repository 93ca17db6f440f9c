"""Responsiveness and memory of the explorer, measured; prints figures and PASS / MISS.

    python bench/bench_explorer.py                 # all three measurements (a few minutes)
    python bench/bench_explorer.py --skip-browser  # without the headless-Chromium timing
    python bench/bench_explorer.py --seeds 2       # two seeds per England scenario

Targets (issue 10):

1. a toy-world run shows its first result in under 2 s: from pressing Run to the map on
   screen. Measured in-process (job start -> first seed finished -> map drawn as PNG, what the
   page shows first) and, when Chromium is available, in the real page (click -> map image
   loaded), best and median of ``--repeats``;
2. an England run's progress updates at least once a second: the times of ``run``'s progress
   reports to the job (after every term while simulating; as each other stage starts and, in
   a stage that is one long call, repeated every ``sim.run.HEARTBEAT_S`` by its watchdog),
   read by polling the job every 10 ms; reported is the longest time without one in each
   stage and overall, from pressing Run to the results on show. The page reads the job every
   0.2 s, so what it shows lags a report by at most that;
3. memory under 2 GB with two England scenarios loaded: resident set size of this process
   after both scenarios have run (at the same time, as when A and B run together in the page)
   and every explorer figure has been drawn from them, and the process's peak.

Reference measured in the same run: a direct ``sim.run.run`` of the same England
configuration, so the job's overhead (thread, progress hook) is a ratio, and the process's
resident size before any run. A MISS is reported, not raised.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from explorer import charts  # noqa: E402
from explorer.app import png  # noqa: E402
from explorer.jobs import RunJob  # noqa: E402
from explorer.scenario import Scenario  # noqa: E402
from explorer.server import served  # noqa: E402
from sim.run import run  # noqa: E402

GB = 1024 ** 3


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def toy_first_result(repeats: int) -> list[float]:
    """Seconds from job start to the first seed's map drawn, per repeat."""
    scenario = Scenario(world="toy")
    config = scenario.config()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        job = RunJob(config, scenario.seeds()).start()
        while not job.results and job.running:
            time.sleep(0.005)
        png(charts.school_map(job.results[0]))
        times.append(time.perf_counter() - start)
        job.wait()
    return times


def toy_first_result_in_browser(repeats: int) -> list[float] | str:
    """Seconds from clicking Run to the map image loaded in headless Chromium, per repeat."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return "skipped: no chromium (make browser)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    times = []
    with served() as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            for _ in range(repeats):
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.goto(url)
                page.get_by_role("button", name="Run scenario A").wait_for(timeout=120_000)
                start = time.perf_counter()
                page.get_by_role("button", name="Run scenario A").click()
                page.wait_for_function(
                    "() => { const i = document.querySelector('img.explorer-map');"
                    " return i && i.complete && i.naturalWidth > 0; }", timeout=120_000)
                times.append(time.perf_counter() - start)
                page.close()
            browser.close()
    return times


def england_progress() -> dict:
    """Times of every progress report ``run`` gives one England run in a job, read by polling
    the job every 10 ms (reports come at most a few times a second), with their stages."""
    scenario = Scenario(world="england")
    job = RunJob(scenario.config(), scenario.seeds()).start()
    reports: list[tuple[float, str]] = [(job.started_at, "start")]
    while True:
        running = job.running
        if job.last_report_s is not None and job.last_report_s != reports[-1][0]:
            reports.append((job.last_report_s, job.stage))
        if not running:
            break
        time.sleep(0.01)
    end = job.started_at + job.finished_s
    reports.append((end, "results"))  # the results on show are the last update
    gaps: dict[str, list[float]] = {}
    for (before, stage), (after, _) in zip(reports, reports[1:]):
        gaps.setdefault(stage, []).append(after - before)  # time in `stage` until the next report
    stage_s = {stage: sum(g) for stage, g in gaps.items() if stage != "start"}
    return {"job": job, "gaps": gaps, "stage_s": stage_s, "reports": len(reports) - 2,
            "total_s": job.finished_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=1, help="seeds per England scenario")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    process = psutil.Process(os.getpid())
    rss_start = process.memory_info().rss

    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / "
          f"{load[2]:.1f} (1 / 5 / 15 min): figures scale with the load")
    print("1. Toy world: first result")
    toy = Scenario(world="toy").config()
    png(charts.school_map(run(toy)))  # one-off imports and fonts
    reference = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        png(charts.school_map(run(toy)))
        reference.append(time.perf_counter() - start)
    times = toy_first_result(args.repeats)
    print(f"   reference: run() + map drawn, no explorer: median {statistics.median(reference):.2f} s")
    print(f"   in-process job (run + map drawn): best {min(times):.2f} s, median "
          f"{statistics.median(times):.2f} s (ratio to reference "
          f"{statistics.median(times) / statistics.median(reference):.2f})  target < 2 s  "
          f"{verdict(statistics.median(times) < 2)}")
    if not args.skip_browser:
        browser = toy_first_result_in_browser(args.repeats)
        if isinstance(browser, str):
            print(f"   in the page: {browser}")
        else:
            print(f"   in the page (click -> map loaded): best {min(browser):.2f} s, median "
                  f"{statistics.median(browser):.2f} s  target < 2 s  "
                  f"{verdict(statistics.median(browser) < 2)}")

    print("2. England run: progress updates (the page shows each within its 0.2 s poll)")
    start = time.perf_counter()
    direct = run(Scenario(world="england").config())
    direct_s = time.perf_counter() - start
    progress = england_progress()
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in progress["stage_s"].items())
    print(f"   {direct.manifest['n_schools']:,} schools, 10 years; stages: {stages}")
    print(f"   {progress['reports']} progress reports; longest time without one, by stage:")
    for stage, gaps in progress["gaps"].items():
        print(f"     {stage:<12} {max(gaps):.2f} s (median {statistics.median(gaps):.2f} s, "
              f"{len(gaps)} gaps)")
    longest = max(max(g) for g in progress["gaps"].values())
    print(f"   longest gap between progress updates (job start to results on show): "
          f"{longest:.2f} s  target <= 1 s  {verdict(longest <= 1.0)}")
    print(f"   job {progress['total_s']:.1f} s against a direct run() {direct_s:.1f} s in the same "
          f"process: ratio {progress['total_s'] / direct_s:.2f}")
    del direct, progress  # only the two scenarios below stay loaded

    print(f"3. Memory with two England scenarios loaded ({args.seeds} seed(s) each)")
    a = Scenario(world="england", n_seeds=args.seeds)
    b = Scenario(world="england", n_seeds=args.seeds,
                 values={"policy.system_leadership.enabled": False})
    # both at once, as when A and B are run together in the page (two models alive)
    job_a, job_b = RunJob(a.config(), a.seeds()).start(), RunJob(b.config(), b.seeds()).start()
    runs_a, runs_b = job_a.wait().results, job_b.wait().results
    for figure in (charts.school_map(runs_a[0]), charts.school_map(runs_b[0]),
                   charts.time_series({"A": runs_a, "B": runs_b}), charts.supply_need(runs_a),
                   charts.difference_by_area(runs_a, runs_b)):
        png(figure)
    charts.scalar_table({"A": runs_a, "B": runs_b})
    rss = process.memory_info().rss
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    print(f"   resident set size with both loaded and drawn {rss / GB:.2f} GB (at start "
          f"{rss_start / GB:.2f} GB; {(rss - rss_start) / GB:.2f} GB for the two scenarios and "
          f"their figures)")
    print(f"   peak resident set size of this process (both running at once included) "
          f"{peak / GB:.2f} GB  target < 2 GB  {verdict(peak < 2 * GB)}")


if __name__ == "__main__":
    main()
