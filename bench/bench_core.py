"""Speed benchmark of the school-system model against Mesa's Boltzmann wealth example.

Prints measured figures, ratios and PASS/MISS against the targets (a MISS is reported, never
raised). Run ``.venv/bin/python bench/bench_core.py --help`` for the options; ``bench/README.md``
describes what each figure means.

Every model run is timed in a fresh child process (this script with ``--single SCALE``) so that
1x and 5x are measured the same way and the child's peak RSS is the memory of that run alone.
The child runs numerical libraries single-threaded, so each figure is a one-core, one-process
figure. Nothing is pinned to a CPU: on a shared machine the scheduler can then move the run to
whichever core is idle.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a plain script from any directory, installed or not

# Targets from the issue.
TARGET_WHOLE_RUN_S = 5.0  # default England world, 10 years, one core
TARGET_RATIO_VS_BOLTZMANN = 1.0  # our us per school-term / Boltzmann us per agent-step
TARGET_SCALING_5X = 6.0  # 5x schools within 6x the time of 1x
TARGET_PEAK_MB_5X = 2048.0  # 5x run under 2 GB
TARGET_REAL_VS_SYNTHETIC = 1.3  # real England within 1.3x the time of a synthetic world of its size
TARGET_PEAK_MB_REAL = 2048.0  # real England ten-year run under 2 GB
TARGET_AGAINST_REFERENCE = 1.2  # England within 1.2x the CPU time of a reference revision (issue 8)
TIMINGS = ("wall_s", "cpu_s", "build_world_s", "initialise_s", "simulate_s", "collect_s")
BOLTZMANN_STEPS = 10  # timed steps per repeat (after one warm-up step)

# Single-threaded numerical libraries: set before numpy is imported anywhere in the child.
ONE_THREAD_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                   "NUMEXPR_NUM_THREADS")}


# ------------------------------------------------------------------------------------------
# child: one model run
# ------------------------------------------------------------------------------------------

def world_config(world: str, scale: float):
    """The benchmarked world: ``england`` (the real schools; scale 1 only) or ``synthetic`` at ``scale``."""
    from sim.parameters import WorldConfig
    return WorldConfig() if world == "england" else WorldConfig(name="synthetic", source="synthetic",
                                                                 scale=scale)


def single_run(world: str, scale: float, years: int, seed: int) -> dict:
    """Time one run of ``world`` at ``scale`` in this process; return figures.

    A one-year toy run first pays one-off costs (lazy imports, first-call caches) so the timed
    run measures the model, not interpreter warm-up. Peak RSS is read after the timed run.
    """
    from sim import SimConfig, run
    from sim.parameters import RunConfig, WorldConfig

    run(SimConfig(world=WorldConfig(source="toy"), run=RunConfig(years=1)), seed=seed, progress=False)
    config = SimConfig(world=world_config(world, scale), run=RunConfig(years=years))
    start, cpu_start = time.perf_counter(), time.process_time()
    results = run(config, seed=seed, progress=False)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    manifest = results.manifest
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss_kb / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return {"world": world, "scale": scale, "wall_s": wall, "cpu_s": cpu, "n_schools": manifest["n_schools"],
            "terms": manifest["steps"], "peak_rss_mb": rss_mb, **manifest["timings_s"]}


def spawn_run(world: str, scale: float, years: int, seed: int, root: Path = ROOT) -> dict:
    """Run :func:`single_run` in a fresh child process and parse the JSON it prints last.

    ``root`` is the checkout whose code the child runs (its own ``bench/bench_core.py``)."""
    cmd = [sys.executable, str(root / "bench" / "bench_core.py"), "--single", world, str(scale),
           "--years", str(years), "--seed", str(seed)]
    out = subprocess.run(cmd, env={**os.environ, **ONE_THREAD_ENV}, cwd=root,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(label: str, runs: list[dict]) -> dict:
    """Best and median of each timing over ``runs`` of one world, with per-school-term figures."""
    summary = {k: {"best": min(r[k] for r in runs), "median": statistics.median(r[k] for r in runs)}
               for k in TIMINGS}
    n, terms = runs[0]["n_schools"], runs[0]["terms"]
    school_terms = n * terms
    return {"label": label, "world": runs[0]["world"], "scale": runs[0]["scale"], "n_schools": n,
            "terms": terms, "runs": runs, **summary,
            "us_per_school_term_simulate": summary["simulate_s"]["best"] / school_terms * 1e6,
            "us_per_school_term_whole": summary["wall_s"]["best"] / school_terms * 1e6,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}


def repeated_runs(worlds: dict[str, tuple], args: argparse.Namespace) -> dict[str, dict]:
    """Run ``args.repeats`` children of each labelled (world, scale[, checkout]), interleaved
    repeat by repeat so a change in the machine's load falls on every world alike; summarise
    each."""
    runs: dict[str, list[dict]] = {label: [] for label in worlds}
    for i in range(args.repeats):
        for label, (world, scale, *root) in worlds.items():
            r = spawn_run(world, scale, args.years, args.seed, *root)
            print(f"  {label} run {i + 1}/{args.repeats}: {r['n_schools']:,} schools, {r['wall_s']:.2f} s "
                  f"(simulate {r['simulate_s']:.2f} s, peak {r['peak_rss_mb']:.0f} MB)", flush=True)
            runs[label].append(r)
    return {label: summarise(label, rs) for label, rs in runs.items()}


# ------------------------------------------------------------------------------------------
# Mesa's Boltzmann wealth example at the same number of agents
# ------------------------------------------------------------------------------------------

def boltzmann(n_agents: int, repeats: int, seed: int) -> dict:
    """Microseconds per agent-step of Mesa's Boltzmann wealth example with ``n_agents`` agents.

    The grid is ceil(sqrt(n)) square, about one agent per cell like the example's default
    (100 agents on 10x10). "as shipped" times ``model.step()``, which also advances Mesa's
    clock (firing the example's DataRecorder) and runs its DataCollector (a Gini over all
    agents). "agents only" times ``model.agents.shuffle_do("step")`` on the same model, the
    agents' own work with no data collection; calling it directly keeps Mesa unmodified.
    Best of ``repeats`` fresh models, each warmed by one step.
    """
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth

    side = math.ceil(math.sqrt(n_agents))
    shipped, pure = [], []
    for i in range(repeats):
        model = BoltzmannWealth(BoltzmannScenario(n=n_agents, width=side, height=side, rng=seed + i))
        model.step()
        start = time.perf_counter()
        for _ in range(BOLTZMANN_STEPS):
            model.step()
        shipped.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(BOLTZMANN_STEPS):
            model.agents.shuffle_do("step")
        pure.append(time.perf_counter() - start)
    agent_steps = n_agents * BOLTZMANN_STEPS
    return {"n_agents": n_agents, "grid": f"{side}x{side}", "steps": BOLTZMANN_STEPS,
            "us_per_agent_step_shipped": min(shipped) / agent_steps * 1e6,
            "us_per_agent_step_agents_only": min(pure) / agent_steps * 1e6}


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------

def machine() -> dict:
    """Machine and package versions, and the load average (the other core may be busy)."""
    import mesa
    import numpy
    cpuinfo = Path("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
              if line.startswith("model name")] if cpuinfo.exists() else []
    cpu = models[0] if models else platform.processor() or platform.machine()
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "numpy": numpy.__version__, "mesa": mesa.__version__, "platform": platform.platform(),
            "loadavg_start": loadavg()}


def loadavg() -> list[float] | None:
    """1, 5 and 15-minute load averages, rounded (None where the OS has none)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def scale_rows(s: dict, bw: dict) -> list[tuple[str, str, str]]:
    """Table rows (figure, value, target/verdict) for one world's runs and its Boltzmann figures."""
    x = s["label"]
    ours = s["us_per_school_term_whole"]
    ours_sim = s["us_per_school_term_simulate"]
    rows = [(f"{x} schools x terms", f"{s['n_schools']:,} x {s['terms']}", "")]
    for k in TIMINGS:
        rows.append((f"{x} {k[:-2]} s (best / median)", f"{s[k]['best']:.2f} / {s[k]['median']:.2f}", ""))
    rows += [(f"{x} peak RSS MB", f"{s['peak_rss_mb']:.0f}", ""),
             (f"{x} us per school-term, simulate", f"{ours_sim:.2f}", ""),
             (f"{x} us per school-term, whole run", f"{ours:.2f}", ""),
             (f"{x} Boltzmann us per agent-step, as shipped", f"{bw['us_per_agent_step_shipped']:.2f}",
              f"{bw['n_agents']:,} agents, {bw['grid']}"),
             (f"{x} Boltzmann us per agent-step, agents only",
              f"{bw['us_per_agent_step_agents_only']:.2f}", "")]
    for label, base in (("as shipped", bw["us_per_agent_step_shipped"]),
                        ("agents only", bw["us_per_agent_step_agents_only"])):
        for what, val in (("whole run", ours), ("simulate", ours_sim)):
            r = val / base
            target = f"<= {TARGET_RATIO_VS_BOLTZMANN:g} {verdict(r <= TARGET_RATIO_VS_BOLTZMANN)}" \
                if label == "as shipped" else "(for information)"
            rows.append((f"{x} ratio {what} / Boltzmann {label}", f"{r:.2f}", target))
    return rows


def print_table(rows: list[tuple[str, str, str]]) -> None:
    """Print (figure, value, note) rows as aligned columns."""
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for a, b, c in rows:
        print(f"  {a:<{w0}}  {b:>{w1}}  {c}".rstrip())


def main(argv: list[str] | None = None) -> int:
    """Parse options, measure, print the table; with ``--single`` run one child measurement."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per world (best and median reported)")
    ap.add_argument("--years", type=int, default=10, help="years per run (three terms each)")
    ap.add_argument("--seed", type=int, default=0, help="run seed")
    ap.add_argument("--skip-5x", action="store_true", help="skip the 5x-schools linearity check")
    ap.add_argument("--json", metavar="PATH", help="also save the figures as JSON to PATH")
    ap.add_argument("--against", metavar="CHECKOUT", type=Path,
                    help="also run England with the code of another checkout (e.g. a git worktree "
                         "of an earlier revision), interleaved, and print the CPU-time ratio")
    ap.add_argument("--single", nargs=2, metavar=("WORLD", "SCALE"), help=argparse.SUPPRESS)  # child
    args = ap.parse_args(argv)

    if args.single is not None:
        print(json.dumps(single_run(args.single[0], float(args.single[1]), args.years, args.seed)))
        return 0

    from sim.england import load_england
    from sim.world import ENGLAND_SCHOOLS

    info = machine()
    print(f"machine: {info['cpu']}, {info['cpu_count']} CPUs, load average {info['loadavg_start']}")
    print(f"python {info['python']}, numpy {info['numpy']}, mesa {info['mesa']}")
    print("each run: a fresh single-threaded process (one core), "
          f"{args.years} years, seed {args.seed}, best and median of {args.repeats}, worlds interleaved")

    # The synthetic world of the real world's size: its generator makes ENGLAND_SCHOOLS at scale 1.
    same_size = load_england().n_schools / ENGLAND_SCHOOLS
    worlds = {"England": ("england", 1.0), "synthetic 1x": ("synthetic", same_size)}
    if not args.skip_5x:
        worlds["synthetic 5x"] = ("synthetic", 5.0)
    if args.against is not None:
        if not (args.against / "bench" / "bench_core.py").is_file():
            print(f"error: --against {args.against}: no bench/bench_core.py there (give a checkout)")
            return 2
        worlds["England, reference checkout"] = ("england", 1.0, args.against.resolve())
    report: dict = {"machine": info, "years": args.years, "seed": args.seed, "repeats": args.repeats}
    measured = repeated_runs(worlds, args)
    rows: list[tuple[str, str, str]] = []
    for label, m in measured.items():
        bw = boltzmann(m["n_schools"], args.repeats, args.seed)
        report[label] = {**m, "boltzmann": bw}
        rows += scale_rows(m, bw)

    real, synthetic = measured["England"], measured["synthetic 1x"]
    # Each England run is paired with the synthetic run next to it (interleaved), and the ratio
    # is the median over pairs of CPU time per school: on a loaded machine wall time and a
    # best-of-n mostly measure the other jobs.
    def per_school_ratios(key: str) -> list[float]:
        return [(e[key] / e["n_schools"]) / (y[key] / y["n_schools"])
                for e, y in zip(real["runs"], synthetic["runs"])]

    pair_ratios = per_school_ratios("cpu_s")
    real_ratio = statistics.median(pair_ratios)
    wall_ratio = statistics.median(per_school_ratios("wall_s"))
    rows += [("England whole run s (best)", f"{real['wall_s']['best']:.2f}",
              f"<= {TARGET_WHOLE_RUN_S:g} {verdict(real['wall_s']['best'] <= TARGET_WHOLE_RUN_S)}"),
             ("England / synthetic 1x CPU time per school (median of pairs)", f"{real_ratio:.2f}",
              f"<= {TARGET_REAL_VS_SYNTHETIC:g} {verdict(real_ratio <= TARGET_REAL_VS_SYNTHETIC)}"),
             ("England / synthetic 1x wall time per school (median of pairs)", f"{wall_ratio:.2f}",
              "(for information)"),
             ("England peak RSS MB", f"{real['peak_rss_mb']:.0f}",
              f"< {TARGET_PEAK_MB_REAL:g} {verdict(real['peak_rss_mb'] < TARGET_PEAK_MB_REAL)}")]
    report["real_vs_synthetic"] = {"cpu_pair_ratios": pair_ratios, "cpu_ratio": real_ratio,
                                   "wall_ratio": wall_ratio}

    if args.against is not None:
        reference = measured["England, reference checkout"]
        ratios = [e["cpu_s"] / r["cpu_s"] for e, r in zip(real["runs"], reference["runs"])]
        against = statistics.median(ratios)
        rows.append((f"England / England at {args.against} CPU time (median of pairs)", f"{against:.2f}",
                     f"<= {TARGET_AGAINST_REFERENCE:g} {verdict(against <= TARGET_AGAINST_REFERENCE)}"))
        report["against_reference"] = {"checkout": str(args.against), "cpu_pair_ratios": ratios,
                                       "cpu_ratio": against}

    if not args.skip_5x:
        five = measured["synthetic 5x"]
        # the 1x synthetic world is sized to England (scale just under 1): per scale unit
        ratio = five["wall_s"]["best"] / (synthetic["wall_s"]["best"] / same_size)
        sim_ratio = five["simulate_s"]["best"] / (synthetic["simulate_s"]["best"] / same_size)
        rows += [("synthetic 5x/1x whole run time", f"{ratio:.2f}",
                  f"<= {TARGET_SCALING_5X:g} {verdict(ratio <= TARGET_SCALING_5X)}"),
                 ("synthetic 5x/1x simulate time", f"{sim_ratio:.2f}", "(for information)"),
                 ("synthetic 5x peak RSS MB", f"{five['peak_rss_mb']:.0f}",
                  f"< {TARGET_PEAK_MB_5X:g} {verdict(five['peak_rss_mb'] < TARGET_PEAK_MB_5X)}")]
        report["scaling_5x"] = {"wall_ratio": ratio, "simulate_ratio": sim_ratio}

    report["machine"]["loadavg_end"] = loadavg()
    print(f"\nresults (load average at end {report['machine']['loadavg_end']}):")
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
