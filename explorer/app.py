"""The explorer's page (Solara): set up two scenarios, run them, look, compare, open saved work.

Serve it with ``make explore`` or ``python -m explorer`` (see ``explorer/__main__.py``).
Everything the page computes comes from ``sim.run.run`` (through :mod:`explorer.jobs`),
the command line's configuration checks (through :mod:`explorer.scenario`) and the figures in
:mod:`explorer.charts`; the page holds no model logic.

Mesa's SolaraViz is not used for the page: it steps a live Mesa model on the interface's event
loop and draws it with sliders that clamp values, whereas the explorer runs whole
``sim.run.run`` calls (several seeds) on a background thread and must let a bad value reach the
command line's checks to show their message. The page uses the same stack (Solara, ipyvuetify,
matplotlib figures) directly.

State lives in Solara reactive variables, one set per browser session. Each scenario slot
("A", "B") has a form, the job running for it, and the results on show; a job's results
replace the ones on show as soon as its first seed finishes, so a new run can start while the
previous results stay on screen.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from pathlib import Path

import solara
import solara.lab

from sim.parameters import ConfigError

from . import charts
from .jobs import RunJob
from .saved import SavedSweep, find_finished, folder_kind, load_run, load_sweep
from .scenario import (ALL, MAX_SEEDS, Scenario, Setting, lever_settings, local_authorities,
                       preset_value, regions_of, run_settings, world_description,
                       world_presets)

SLOTS = ("A", "B")
POLL_SECONDS = 0.2  # how often the page reads a running job's progress (and at once when a
# seed finishes or the job ends: RunJob.changed)


@dataclasses.dataclass(frozen=True, eq=False)
class Shown:
    """Results on show in a slot: one ``Results`` per seed, and where they came from.

    Compared by identity (``eq=False``): Solara compares a reactive variable's old and new
    values, and comparing the tables inside would be slow and ambiguous.
    """

    label: str
    runs: tuple
    source: str  # "run" or a folder path


scenario = {slot: solara.reactive(Scenario()) for slot in SLOTS}
job = {slot: solara.reactive(None) for slot in SLOTS}
shown = {slot: solara.reactive(None) for slot in SLOTS}
tick = {slot: solara.reactive(0) for slot in SLOTS}
tab = solara.reactive(0)
sweep = solara.reactive(None)
open_message = solara.reactive("")

CSS = """
.explorer-note { color: #555; font-size: 12px; margin: -14px 0 8px 2px; line-height: 1.3; }
.explorer-form { min-width: 340px; max-width: 380px; }
.explorer-figure img, img.explorer-figure { max-width: 100%; height: auto; }
.explorer-status { font-size: 14px; margin: 4px 0; }
.explorer-section { font-weight: 600; margin: 12px 0 4px 0; color: #333; }
"""


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

def readable(table):
    """A table of outcomes with four significant figures, for reading."""
    return table.map(lambda v: "" if v != v else f"{v:.4g}").reset_index()


def warm_up() -> None:
    """Draw one small figure so the first real one does not pay for matplotlib's font set-up."""
    from matplotlib.figure import Figure
    figure = Figure(figsize=(1, 1))
    figure.add_subplot().plot([0, 1])
    png(figure)


def png(figure) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buffer = io.BytesIO()
    # the figures lay themselves out (layout="constrained"): a tight bounding box would lay
    # them out again, a third of the drawing time of a small map
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


warm_up()


@solara.component
def Chart(make, dependencies: list, name: str):
    """A figure drawn by ``make()`` only when ``dependencies`` change, shown as an image."""
    data = solara.use_memo(lambda: png(make()), dependencies)
    solara.Image(data, format="png", classes=["explorer-figure", f"explorer-{name}"])


# --------------------------------------------------------------------------------------------
# The form
# --------------------------------------------------------------------------------------------

def _set(slot: str, **changes) -> None:
    scenario[slot].value = dataclasses.replace(scenario[slot].value, **changes)


def _set_value(slot: str, path: str, value) -> None:
    values = dict(scenario[slot].value.values)
    values[path] = value
    _set(slot, values=values)


@solara.component
def SettingInput(slot: str, item: Setting):
    """One lever or run setting with its unit and documented default beside it."""
    s = scenario[slot].value
    current = s.values.get(item.path, preset_value(s.world, item.path))
    if item.kind == "bool":
        solara.Switch(label=item.label, value=bool(current),
                      on_value=lambda v: _set_value(slot, item.path, v))
    elif item.kind == "choice":
        solara.Select(label=item.label, value=current, values=list(item.choices),
                      on_value=lambda v: _set_value(slot, item.path, v))
    else:
        solara.InputText(label=item.label, value=shown_number(current),
                         on_value=lambda v: _set_value(slot, item.path, v), continuous_update=True)
    note = item.note + (f". {item.doc}" if item.doc else "")
    solara.Text(note, classes=["explorer-note"])


def shown_number(value) -> str:
    """A number as the form shows it: 20000000 rather than 20000000.0; text as typed."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@solara.component
def ScenarioForm(slot: str):
    """World, run length, seeds and levers; the command line's checks run on every change."""
    s = scenario[slot].value
    las = solara.use_memo(lambda: _las(s.world, s.region), [s.world, s.region])
    present = solara.use_memo(lambda: _regions(s.world), [s.world])
    with solara.Column(classes=["explorer-form"]):
        solara.Text("World", classes=["explorer-section"])
        solara.Select(label="World", value=s.world, values=world_presets(),
                      on_value=lambda v: _set(slot, world=v, region=None, local_authority=None))
        solara.Text(world_description(s.world), classes=["explorer-note"])
        # always drawn (disabled for the toy world) so the form keeps its layout
        solara.Select(label="Region", value=s.region or ALL, values=[ALL, *present],
                      disabled=s.world == "toy",
                      on_value=lambda v: _set(slot, region=None if v == ALL else v,
                                              local_authority=None))
        solara.Select(label="Local authority", value=s.local_authority or ALL,
                      values=[ALL, *las], disabled=s.world == "toy",
                      on_value=lambda v: _set(slot, local_authority=None if v == ALL else v))
        solara.Text("Run", classes=["explorer-section"])
        for item in run_settings():
            SettingInput(slot, item)
        solara.InputText(label="Seeds", value=str(s.n_seeds),
                         on_value=lambda v: _set(slot, n_seeds=v), continuous_update=True)
        solara.Text(f"runs with seeds first, first+1, ...; up to {MAX_SEEDS}",
                    classes=["explorer-note"])
        solara.Text("Levers", classes=["explorer-section"])
        for item in lever_settings():
            SettingInput(slot, item)


def _regions(world: str) -> list[str]:
    if world == "toy":
        return []
    try:
        return regions_of(world)
    except ConfigError:
        return []


def _las(world: str, region: str | None) -> list[str]:
    if world == "toy":
        return []
    try:
        return local_authorities(world, region)
    except ConfigError:
        return []


def check(s: Scenario) -> str | None:
    """The command line's message for the first bad value, or None."""
    try:
        s.config()
    except ConfigError as error:
        return f"error: {error}"
    return None


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

def start(slot: str) -> None:
    """Start a run of the slot's scenario (the previous results stay on show)."""
    s = scenario[slot].value
    config = s.config()
    new = RunJob(config, s.seeds(), label=s.describe()).start()
    job[slot].value = new


@solara.component
def JobWatcher(slot: str):
    """Polls the slot's running job from a thread; shows its results as they arrive (as soon
    as each seed finishes, the progress every ``POLL_SECONDS``)."""
    current = job[slot].value

    def watch(cancel: threading.Event):
        seen = 0
        while current is not None and not cancel.is_set():
            running = current.running  # read before the results, so the last seed is not missed
            results = current.results
            if len(results) != seen:
                seen = len(results)
                shown[slot].value = Shown(current.label, tuple(results), "run")
            tick[slot].value += 1
            if not running:
                break
            current.changed.wait(POLL_SECONDS)
            current.changed.clear()  # state is read after this, so no change is missed

    # not intrusive: Solara would trace every line of this thread to cancel it, and setting
    # `shown` renders the new figures on this thread (10-20 times slower under the trace)
    solara.use_thread(watch, dependencies=[current], intrusive_cancel=False)


@solara.component
def RunControls(slot: str):
    """Run and cancel buttons, progress bar and status line."""
    tick[slot].value  # re-render on every poll
    s = scenario[slot].value
    error = solara.use_memo(lambda: check(s), [s])  # composing takes ~0.1 s: once per change
    current = job[slot].value
    with solara.Row(style={"align-items": "center"}):
        solara.Button(f"Run scenario {slot}", color="primary", disabled=error is not None,
                      on_click=lambda: start(slot), classes=[f"explorer-run-{slot}"])
        solara.Button("Cancel", disabled=current is None or not current.running,
                      on_click=lambda: current.cancel(), classes=[f"explorer-cancel-{slot}"])
    if error:
        solara.Error(error, classes=["explorer-error"])
    if current is not None:
        # stages without terms (building the world, collecting results) have no measure of
        # progress: the bar moves without one (indeterminate) and the status names the stage
        between_terms = current.running and current.stage != "simulate"
        solara.ProgressLinear(value=True if between_terms else 100 * current.progress,
                              color="success" if current.status == "done" else "primary")
        solara.Text(current.describe(), classes=["explorer-status", f"explorer-status-{slot}"])
        if current.status == "failed":
            solara.Error(current.describe())


# --------------------------------------------------------------------------------------------
# Looking at one scenario's results
# --------------------------------------------------------------------------------------------

@solara.component
def MapView(on_show: Shown):
    """The first seed's map, zoomable to a region or a local authority, with its caption."""
    zoom, set_zoom = solara.use_state(ALL)
    zoom_la, set_zoom_la = solara.use_state(ALL)
    results = on_show.runs[0]
    schools = results.schools
    present = sorted(set(schools["region"]))
    region = zoom if zoom in present else None  # a region of the results on show
    las = sorted(set(schools["local_authority"] if region is None
                     else schools.loc[schools["region"] == region, "local_authority"]))
    local_authority = zoom_la if zoom_la in las else None
    # the first seed's results, by identity: later seeds arriving do not redraw the map (a new
    # run's results are made while the old ones are on show, so identities never repeat)
    drawn = [id(results), region, local_authority]
    caption = solara.use_memo(lambda: charts.map_caption(results, region, local_authority), drawn)
    with solara.Row():
        solara.Select(label="Zoom to region", value=region or ALL, values=[ALL, *present],
                      disabled=len(present) < 2,
                      on_value=lambda v: (set_zoom(v), set_zoom_la(ALL)))
        solara.Select(label="Zoom to local authority", value=local_authority or ALL,
                      values=[ALL, *las], disabled=len(las) < 2, on_value=set_zoom_la)
    Chart(lambda: charts.school_map(results, region=region, local_authority=local_authority),
          drawn, "map")
    solara.Text(f"First seed. {caption}.", classes=["explorer-note", "explorer-map-caption"])
    solara.Text("Schools are coloured by their last Ofsted grade; NLEs are stars, LLEs "
                "triangles; lines join supporters to the schools they support.",
                classes=["explorer-note"])


@solara.component
def ResultsView(slot: str):
    """Map, national series, supply and need, and headline outcomes of the results on show."""
    on_show: Shown | None = shown[slot].value
    if on_show is None:
        solara.Info("No results yet: set up the scenario and press Run, or open a saved run "
                    "in 'Open finished work'.")
        return
    runs = list(on_show.runs)
    solara.Markdown(f"**On show:** {on_show.label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
    with solara.lab.Tabs(lazy=True):
        with solara.lab.Tab("Map"):
            MapView(on_show)
        with solara.lab.Tab("Over time"):
            Chart(lambda: charts.time_series({slot: runs}), [on_show], "series")
        with solara.lab.Tab("Supply and need"):
            Chart(lambda: charts.supply_need(runs), [on_show], "supply")
        with solara.lab.Tab("Outcomes"):
            OutcomesView(slot, on_show)


@solara.component
def OutcomesView(slot: str, on_show: Shown):
    """Headline outcomes of the results on show (computed when the tab is first opened, so
    they do not hold back the map)."""
    table = solara.use_memo(lambda: charts.scalar_table({slot: list(on_show.runs)}), [on_show])
    solara.DataFrame(readable(table), items_per_page=25)


@solara.component
def ScenarioTab(slot: str):
    """A scenario slot: its form on the left, controls and results on the right."""
    with solara.Columns([1, 3]):
        with solara.Card(f"Scenario {slot}", margin=0):
            if slot == "B":
                solara.Button("Copy scenario A here", text=True,
                              on_click=lambda: setattr(scenario["B"], "value",
                                                       dataclasses.replace(scenario["A"].value)))
            ScenarioForm(slot)
        with solara.Column():
            RunControls(slot)
            ResultsView(slot)


# --------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------

@solara.component
def CompareTab():
    """A and B side by side, and B minus A by region and by local authority."""
    a, b = shown["A"].value, shown["B"].value
    level, set_level = solara.use_state("local_authority")
    table = solara.use_memo(
        lambda: charts.scalar_table({"A": list(a.runs), "B": list(b.runs)}) if a and b else None,
        [a, b])
    if a is None or b is None:
        solara.Info("Run (or open) both scenario A and scenario B to compare them.")
        return
    solara.Markdown(f"**A:** {a.label} &nbsp;&nbsp; **B:** {b.label}")
    Chart(lambda: charts.time_series({"A": list(a.runs), "B": list(b.runs)}), [a, b], "compare-series")
    with solara.Columns([1, 1]):
        Chart(lambda: charts.school_map(a.runs[0], title=f"A: {a.label}"[:90]),
              [id(a.runs[0]), a.label], "compare-map-a")  # the first seed, as in MapView
        Chart(lambda: charts.school_map(b.runs[0], title=f"B: {b.label}"[:90]),
              [id(b.runs[0]), b.label], "compare-map-b")
    names = {name: level for level, name in charts.AREA_LEVELS.items()}
    solara.Select(label="Difference on the map by", value=charts.AREA_LEVELS[level],
                  values=list(names), on_value=lambda name: set_level(names[name]))
    Chart(lambda: charts.difference_by_area(list(a.runs), list(b.runs), map_level=level),
          [a, b, level], "difference")
    solara.Text(f"B minus A, share of schools good or outstanding at the end: by region (bars) "
                f"and by {charts.AREA_LEVELS[level]} on the map.",
                classes=["explorer-note", "explorer-difference-caption"])
    if len(table) and {"A", "B"} <= set(table.columns):
        table = table.assign(**{"B minus A": table["B"] - table["A"]})
    solara.Markdown("**Headline outcomes at the end** (mean of seeds; see docs/RESULTS.md)")
    solara.DataFrame(readable(table), items_per_page=25)


# --------------------------------------------------------------------------------------------
# Opening finished work
# --------------------------------------------------------------------------------------------

def open_folder(folder: str, slot: str) -> None:
    """Load a run into a slot, or a sweep into the sweep browser; errors go to the page."""
    try:
        kind = folder_kind(folder)
        if kind == "run":
            results = load_run(folder)
            shown[slot].value = Shown(f"saved run {folder}", (results,), folder)
            open_message.value = f"Opened run {folder} as scenario {slot}."
            tab.value = SLOTS.index(slot)
        else:
            sweep.value = load_sweep(folder)
            open_message.value = f"Opened sweep {folder}."
    except (ConfigError, OSError, ValueError) as error:
        open_message.value = f"error: {error}"


@solara.component
def SweepView(saved: SavedSweep):
    """A finished sweep's arms, intervals, paired differences and figures, as written."""
    level = round(100 * saved.manifest.get("spec", {}).get("experiment", {})
                  .get("confidence_level", 0.95))
    solara.Markdown(f"### Sweep `{saved.name}`\n{len(saved.arm_names)} arms; reference arm "
                    f"`{saved.reference_arm}`; {saved.manifest.get('total_runs', '?')} runs.")
    lines = [f"- `{arm}`: " + (", ".join(f"`{k}={v}`" for k, v in levers.items()) or "preset levers")
             for arm, levers in saved.arm_levers().items()]
    solara.Markdown("**Arms**\n\n" + "\n".join(lines))
    arms = saved.arms.copy()
    if "subgroup" in arms:  # the whole world here; subgroups are in summary/arms.csv
        arms = arms[arms["subgroup"] == "all"]
    arms["interval"] = [f"{m:.4g} [{lo:.4g}, {hi:.4g}]"
                        for m, lo, hi in zip(arms["mean"], arms["ci_low"], arms["ci_high"])]
    solara.Markdown(f"**Mean and {level}% interval per arm**")
    solara.DataFrame(arms.pivot(index="outcome", columns="arm", values="interval").reset_index(),
                     items_per_page=30)
    if len(saved.differences):
        d = saved.differences.copy()
        adjusted = "ci_low_adjusted" in d
        if "subgroup" in d:
            d = d[d["subgroup"] == "all"]
        low, high = ("ci_low_adjusted", "ci_high_adjusted") if adjusted else ("ci_low", "ci_high")
        d["interval"] = [f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in
                         zip(d["mean_difference"], d[low], d[high])]
        solara.Markdown(f"**Paired differences (same seeds), {level}% interval"
                        + (", adjusted for multiple comparisons**" if adjusted else "**"))
        solara.DataFrame(d[["arm", "versus", "outcome", "n", "interval"]], items_per_page=30)
    for figure in saved.figures:
        solara.Markdown(f"**{figure.name}**")
        solara.Image(figure.read_bytes(), format="png", classes=["explorer-figure", "explorer-sweep-figure"])


@solara.component
def OpenTab():
    """Pick a run folder or a finished sweep and open it."""
    folder, set_folder = solara.use_state("")
    found = solara.use_memo(lambda: find_finished("results"), [])
    solara.Markdown("Open a run folder (`run.out` of `python -m experiments.run`) or a finished "
                    "sweep (`results/experiments/<name>`). Nothing is rerun.")
    with solara.Row(style={"align-items": "center"}):
        solara.InputText("Folder", value=folder, on_value=set_folder, continuous_update=True,
                         classes=["explorer-folder"])
        solara.Button("Open as A", on_click=lambda: open_folder(folder, "A"),
                      classes=["explorer-open-A"])
        solara.Button("Open as B", on_click=lambda: open_folder(folder, "B"),
                      classes=["explorer-open-B"])
    if found:
        solara.Select(label="Found under results/", value=folder if folder in found else None,
                      values=found, on_value=set_folder)
    message = open_message.value
    if message.startswith("error"):
        solara.Error(message)
    elif message:
        solara.Success(message)
    if sweep.value is not None:
        SweepView(sweep.value)


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------

@solara.component
def Page():
    """The explorer."""
    solara.Style(CSS)
    solara.Title("School system explorer")
    with solara.AppBar():
        solara.AppBarTitle("Self-improving school system: explorer")
    for slot in SLOTS:  # always mounted, whichever tab is open
        JobWatcher(slot)
    with solara.lab.Tabs(value=tab, lazy=True):
        for slot in SLOTS:
            with solara.lab.Tab(f"Scenario {slot}"):
                ScenarioTab(slot)
        with solara.lab.Tab("Compare A and B"):
            CompareTab()
        with solara.lab.Tab("Open finished work"):
            OpenTab()
