"""First contact: every command's --help, the console scripts, README's preset lists and Python
example, and the logs a results folder keeps."""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import sys
import tomllib
from importlib import import_module
from pathlib import Path

import pytest

from conftest import REPO
from experiments.entry import command_line, composition_problem
from experiments.presets import GROUPS, describe, presets
from sim.parameters import ConfigError

# command -> (module, groups it accepts, the kinds of experiment preset it runs)
HYDRA_COMMANDS = {
    "sis-run": ("experiments.run", ("world", "policy", "behaviour", "run"), ()),
    "sis-sweep": ("experiments.sweep", ("experiment", "world", "policy", "behaviour", "run",
                                        "execution"), ("sweep",)),
    "sis-sensitivity": ("experiments.sensitivity", ("experiment", "uncertainties", "world",
                                                    "policy", "behaviour", "run", "execution"),
                        ("morris", "sobol")),
    "sis-calibrate": ("experiments.calibrate", ("experiment", "uncertainties", "world", "policy",
                                                "behaviour", "run", "execution"), ("calibration",)),
}
# commands with argparse options instead of option groups: command -> module
OPTION_COMMANDS = {"sis-reproduce": "experiments.reproduce", "sis-discover": "experiments.discover",
                   "sis-explore": "explorer"}


def run_help(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def examples(help_text: str, command: str) -> list[str]:
    """The example command lines of a help text's "Examples" section."""
    section = help_text.split("== Examples ==", 1)[1]
    return [line for line in section.splitlines() if line.startswith(command)]


def listed_presets(help_text: str) -> dict[str, list[str]]:
    """Option group -> the presets its help section lists, in order."""
    section = help_text.split("== Option groups", 1)[1].split("\n==", 1)[0]
    listed: dict[str, list[str]] = {}
    for line in section.splitlines()[1:]:
        if group := re.match(r"^(\w+): ", line):
            listed[group[1]] = []
        elif preset := re.match(r"^  [ *] (\w+) ", line):
            listed[list(listed)[-1]].append(preset[1])
    return listed


@pytest.mark.parametrize("command", list(HYDRA_COMMANDS))
@pytest.mark.parametrize("chosen", [(), ("experiment=nle_targeting",), ("experiment=sobol",),
                                    ("experiment=calibration",)])
def test_help_exits_0_with_purpose_groups_and_three_examples(command, chosen):
    module, groups, kinds = HYDRA_COMMANDS[command]
    if chosen and command == "sis-run":
        pytest.skip("run takes no experiment")
    result = run_help(module, *chosen, "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"{command} (python -m {module}): ")
    purpose = text.split("\n\n")[1]  # one paragraph after the header line
    assert len(purpose.split()) > 40 and not purpose.startswith(("Usage", "=="))
    assert "Traceback" not in result.stderr and "powered by Hydra" not in text
    assert len(examples(text, command)) == 3
    listed = listed_presets(text)
    assert tuple(listed) == groups  # the groups it takes, and only those
    for group in groups:  # every preset of every group it takes (experiments: of its kinds)
        expected = [p.name for p in presets(group) if group != "experiment" or p.kind in kinds]
        assert listed[group] == expected, group


def test_calibrate_help_marks_the_preset_in_use_and_lists_only_calibrations():
    text = run_help("experiments.calibrate", "experiment=calibration_wave2", "-h").stdout
    assert listed_presets(text)["experiment"] == ["calibration", "calibration_wave2"]
    assert re.findall(r"^  \* (\w+)", text, re.M) == [
        "calibration_wave2", "calibration_wave2", "england", "baseline", "default", "default",
        "local"]


@pytest.mark.parametrize("command", list(HYDRA_COMMANDS))
def test_help_examples_compose(command):
    """Every worked example of a help text is a valid command line: it composes, and the
    configuration passes the checks made before any run (nothing is run)."""
    from experiments.compose import compose_spec
    from experiments.config import compose_config
    from sim.parameters import validate
    module, _, kinds = HYDRA_COMMANDS[command]
    text = run_help(module, "--help").stdout
    lines = examples(text, command)
    assert len(lines) == 3
    for line in lines:
        args = [arg for arg in shlex.split(line)[1:] if arg not in ("-q", "-v")]
        if command == "sis-run":
            validate(compose_config(args))
        else:
            spec, _ = compose_spec(args)
            assert spec.experiment.kind in kinds, line


@pytest.mark.parametrize("command", list(OPTION_COMMANDS))
def test_option_commands_help_exits_0_with_purpose_and_three_examples(command):
    module = OPTION_COMMANDS[command]
    result = run_help(module, "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"usage: {command} ")  # the command named as installed
    purpose = text.split(f"\n{command} (python -m {module}): ", 1)[1].split("\n\n")[1]
    assert len(purpose.split()) > 40
    section = text.split("\nexamples:\n", 1)[1].replace("\\\n", " ")  # join continued lines
    lines = [line for line in section.splitlines() if line.startswith(f"  {command} ")
             or line == f"  {command}"]
    assert len(lines) == 3
    parser = import_module(module if module != "explorer" else "explorer.__main__").build_parser()
    for line in lines:  # each example parses
        parser.parse_args(shlex.split(line)[1:])


@pytest.mark.parametrize("command, args, named", [
    ("sis-run", ["experiment=smoke"], "'experiment'"),      # a group run does not take
    ("sis-run", ["world=nosuch"], "world/nosuch"),           # a mistyped preset
    ("sis-sweep", ["experiment=nosuch"], "experiment/nosuch"),
    ("sis-sensitivity", ["experiment=sobol", "run.yeers=3"], "run.yeers"),  # a mistyped key
    ("sis-calibrate", ["-v", "world=nosuch", "experiment=calibration"], "world/nosuch"),
])
def test_help_with_a_bad_setting_still_shows_the_help_and_names_it(command, args, named):
    module = HYDRA_COMMANDS[command][0]
    result = run_help(module, *args, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{command} (python -m {module}): ")
    assert len(examples(result.stdout, command)) == 3
    assert "Traceback" not in result.stderr
    (note,) = result.stderr.strip().splitlines()
    assert note.startswith("note: ") and named in note and "leaves your settings out" in note


def test_help_marks_the_presets_in_use():
    text = run_help("experiments.sweep", "experiment=nle_targeting", "-h").stdout
    marked = re.findall(r"^  \* (\w+)", text, re.M)
    assert marked == ["nle_targeting", "north_east", "baseline", "default", "default", "local"]


def test_help_of_a_hydra_command_without_a_template_says_why():
    """A Hydra error on the help path (a help template missing) is shown, not swallowed."""
    code = ("import sys; sys.argv[1:] = ['--help']\n"
            "from experiments.compose import experiment_main\n"
            "experiment_main(lambda spec, execution: None, kinds=('sweep',), "
            "command='experiments.nosuchcommand')()")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "MissingConfigException" in result.stderr  # Hydra's own error, not swallowed
    assert "hydra/help/nosuchcommand" in result.stderr.split("MissingConfigException", 1)[1]


def test_console_scripts_point_at_the_commands():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == set(HYDRA_COMMANDS) | set(OPTION_COMMANDS)
    for name, target in scripts.items():
        module, function = target.split(":")
        assert callable(getattr(import_module(module), function)), name
        assert module in (expected_module(name), f"{expected_module(name)}.__main__"), name
    readme = (REPO / "README.md").read_text()
    commands = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    for name in scripts:
        assert f"| `{name}` (`{expected_module(name)}`) |" in commands, \
            f"README's command table does not document {name}"


def expected_module(command: str) -> str:
    return HYDRA_COMMANDS[command][0] if command in HYDRA_COMMANDS else OPTION_COMMANDS[command]


@pytest.mark.parametrize("name", sorted(tomllib.loads((REPO / "pyproject.toml").read_text())
                                        ["project"]["scripts"]))
def test_console_script_entry_point_shows_help(name):
    """What the installed script runs (``sys.exit(function())``, as pip's wrapper does), named
    as installed, whether or not this environment has the scripts installed."""
    target = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"][name]
    module, function = target.split(":")
    code = (f"import sys; sys.argv[0] = {name!r}\n"
            f"from {module} import {function}\nsys.exit({function}())")
    result = subprocess.run([sys.executable, "-c", code, "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert name in result.stdout.split("\n\n")[0] and "Traceback" not in result.stderr


def test_installed_console_scripts_show_help():
    """In an environment installed by `make setup` (CI), the scripts themselves work."""
    bin_dir = Path(sys.executable).parent
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    installed = [name for name in scripts if (bin_dir / name).exists()]
    if not installed:
        pytest.skip("console scripts not installed in this environment")
    for name in installed:
        result = subprocess.run([str(bin_dir / name), "--help"], capture_output=True, text=True,
                                timeout=120, cwd=REPO)
        assert result.returncode == 0 and "--help" not in result.stderr, (name, result.stderr)


def test_command_line_translation():
    assert command_line(["run.years=2", "-q"], "run", "run.log_level") == \
        ["run.log_level=WARNING", "run.years=2"]
    assert command_line(["-v", "--help", "world=toy"], "sweep", "execution.log_level",
                        ("experiment",)) == \
        ["execution.log_level=DEBUG", "hydra/help=sweep", "~experiment", "world=toy", "--help"]
    assert command_line(["experiment=smoke", "-h"], "sweep", "execution.log_level",
                        ("experiment",)) == ["hydra/help=sweep", "experiment=smoke", "-h"]
    assert composition_problem(["experiment=smoke", "run.years=2"], "experiments") is None
    assert "run.yeers" in composition_problem(["experiment=smoke", "run.yeers=2"], "experiments")


def test_preset_description_is_the_first_sentence_of_the_leading_comment():
    text = ("# @package _global_\n# How should brokers target NLEs? Five rules, e.g. nearest.\n"
            "# Twenty seeds.\n# python -m experiments.sweep x\nkey: 1\n")
    assert describe(text) == "How should brokers target NLEs? Five rules, e.g. nearest."
    assert describe("# Build from a CSV:\n#   python -m x\n") == "Build from a CSV"
    for group in GROUPS:
        assert presets(group) and all(p.description for p in presets(group)), group


def test_readme_presets_section_is_current():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "readme_presets.py"),
                             "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_lists_every_preset_and_says_what_the_default_world_is():
    readme = (REPO / "README.md").read_text()
    section = readme.split("<!-- presets:", 1)[1].split("<!-- /presets -->", 1)[0]
    option_groups = {p.name for p in (REPO / "conf").iterdir() if p.is_dir()} - {"hydra"}
    assert option_groups == set(GROUPS)  # a new group in conf/ is listed too
    for group in GROUPS:
        names = sorted(p.stem for p in (REPO / "conf" / group).glob("*.yaml"))
        assert names, group
        for name in names:
            assert f"  * `{name}`" in section, f"README does not list {group}={name}"
    world = re.search(r"^  - world: (\w+)", (REPO / "conf" / "config.yaml").read_text(), re.M)[1]
    first_comment = (REPO / "conf" / "world" / f"{world}.yaml").read_text().splitlines()[0][2:]
    assert f"**The default world** (`world={world}`" in section
    assert first_comment.split(":")[0] in section


def test_readme_says_where_results_logs_and_figures_go():
    """README's "Where results, logs and figures go" names each command's folder and its log;
    test_run_writes_its_log..., test_sweep_folder_keeps... and the calibration and discovery
    log tests above check the files are there."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Where results, logs and figures go", 1)[1].split("\n## ", 1)[0]
    for command in ("sis-run", "sis-sweep", "sis-sensitivity", "sis-calibrate", "sis-discover"):
        assert f"`{command}`" in section, command
    for item in ("run.out", "experiment.out", "run.log", "figures", "*.png", "timeseries.parquet",
                 "manifest.json", "discovery/"):
        assert item in section, item


def test_readme_python_example_runs(tmp_path, monkeypatch):
    readme = (REPO / "README.md").read_text()
    code = readme.split("## From Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    config = namespace["config"]
    assert (config.world.name, config.policy.name, config.run.years) == \
        ("one_la", "recruitment_incentive", 2)
    assert config.policy.system_leadership.targeting == "cold_spots_first"
    assert 0 <= namespace["outcomes"]["share_good_or_outstanding"] <= 1


def test_run_writes_its_log_with_the_results_and_q_keeps_warnings_only(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "experiments.run", "world=gias",
                             f"world.gias_path={REPO / 'tests' / 'fixtures' / 'gias_small.csv'}",
                             "world.gias_max_dropped_share=0.1",  # the fixture drops 1 of 20
                             "run=quick", f"run.out={out}", "-q"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "INFO" not in result.stderr
    assert "WARNING: gias: loading" in result.stderr and "dropped: not_open 2" in result.stderr
    log = (out / "run.log").read_text()
    assert "INFO experiments.run: world=gias" in log  # the file keeps INFO under -q
    assert "WARNING sim.run: gias: loading" in log and "imputed: " in log
    assert "results in" in result.stdout  # the one-line summary stays on stdout


def test_failed_run_leaves_no_log_behind(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "experiments.run", "world=gias",
                             f"world.gias_path={tmp_path / 'missing.csv'}", "run=quick",
                             f"run.out={out}"], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    assert not (out / "run.log").exists()


def test_world_load_warning_once_per_process_and_file(caplog, monkeypatch):
    from dataclasses import replace

    from conftest import make_config
    run_module = import_module("sim.run")  # the module (sim.run is also the function)
    monkeypatch.setattr(run_module, "_reported_loads", set())
    config = make_config(years=1)
    config = replace(config, world=replace(
        config.world, name="gias", source="gias",
        gias_path=str(REPO / "tests" / "fixtures" / "gias_small.csv"), gias_max_dropped_share=0.1))
    with caplog.at_level(logging.WARNING, logger="sim"):
        run_module.run(config, progress=False)
        run_module.run(config, progress=False)
    warnings = [r for r in caplog.records if r.name == "sim.run" and "loading" in r.message]
    assert len(warnings) == 1
    assert "dropped: not_open 2" in warnings[0].message
    assert "imputed: Easting/Northing 1" in warnings[0].message
    assert "28 rows read, 19 kept" in warnings[0].message  # the load report's summary


def test_each_gias_file_gets_its_own_load_warning(caplog, monkeypatch, tmp_path):
    import shutil
    from dataclasses import replace

    from conftest import make_config
    run_module = import_module("sim.run")
    monkeypatch.setattr(run_module, "_reported_loads", set())
    config = make_config(years=1)
    fixture = REPO / "tests" / "fixtures" / "gias_small.csv"
    with caplog.at_level(logging.WARNING, logger="sim"):
        for path in (fixture, shutil.copy(fixture, tmp_path / "copy.csv")):
            run_module.run(replace(config, world=replace(
                config.world, name="gias", source="gias", gias_path=str(path),
                gias_max_dropped_share=0.1)), progress=False)
    warnings = [r.message for r in caplog.records if r.name == "sim.run" and "loading" in r.message]
    assert len(warnings) == 2 and "copy.csv" in warnings[1]


def test_sweep_folder_keeps_the_log_of_every_session(tmp_path):
    from experiments.compose import compose_spec
    from experiments.sweep import run_sweep

    def evaluate(config, seed):  # fast, and one arm always fails
        if not config.policy.system_leadership.enabled:
            raise ValueError("this arm fails")
        return {name: 0.5 for name in spec.experiment.outcomes}

    spec, execution = compose_spec(["experiment=smoke", "execution=serial",
                                    f"experiment.out={tmp_path / 'smoke'}",
                                    "experiment.figures=false", "execution.progress=false"])
    folder = run_sweep(spec, execution, evaluate=evaluate)
    run_sweep(spec, execution, evaluate=evaluate)  # resumed: nothing left to do
    log = (folder / "run.log").read_text()
    assert log.count("INFO experiments.sweep: sweep smoke: 2 arms x 3 replications") == 2
    assert "6 run(s) done" in log and "0 run(s) done" in log
    assert "WARNING experiments: 3 run(s) failed" in log


def test_calibration_and_its_discovery_keep_their_logs(tmp_path):
    """A calibration's folder holds run.log with the session; the discovery chained after it
    writes its own run.log and the experiment's log records it; points whose every run failed
    are left out of discovery with a warning, not counted as "no case"."""
    from experiments.calibrate import run_calibration
    from experiments.compose import compose_spec
    from experiments.store import ExperimentStore
    from test_discover import planted_model

    def evaluate(values, seed):  # the planted model, failing at the lowest secondary exits
        if values["head_exit_secondary_per_year"] < 0.033:
            raise ValueError("this point fails")
        return planted_model(values, seed)

    spec, execution = compose_spec([
        "experiment=calibration", "experiment.N=256", "experiment.replications=1",
        "execution=serial", "execution.progress=false", f"experiment.out={tmp_path / 'cal'}",
        "experiment.figures=false",
        "experiment.discovery.outcome=share_good_or_outstanding", "experiment.discovery.below=0.83"])
    folder = run_calibration(spec, execution, evaluate=evaluate, make_config=lambda v: v)
    failed = len(ExperimentStore(folder).read_errors())
    assert 0 < failed < 256
    log = (folder / "run.log").read_text()
    assert "INFO experiments.calibrate: calibration calibration: 256 prior points x 1 " \
           "replications, 4 targets" in log
    assert f"WARNING experiments: {failed} run(s) failed" in log
    assert f"{failed} of 256 sample points have no recorded outcome" in log
    assert "INFO experiments.discover: scenario discovery on" in log
    discovery_log = (folder / "discovery" / "run.log").read_text()
    assert "scenario discovery on" in discovery_log and "sample points have no" in discovery_log


def test_discover_command_writes_its_log_and_takes_q(tmp_path):
    from experiments.calibrate import run_calibration
    from experiments.compose import compose_spec
    from experiments.discover import main
    from test_discover import planted_model

    spec, execution = compose_spec([
        "experiment=calibration", "experiment.N=128", "experiment.replications=1",
        "execution=serial", "execution.progress=false", f"experiment.out={tmp_path / 'cal'}",
        "experiment.figures=false"])
    folder = run_calibration(spec, execution, evaluate=planted_model, make_config=lambda v: v)
    assert not (folder / "discovery").exists()
    assert main([str(folder), "--outcome", "share_good_or_outstanding", "--below", "0.83",
                 "--out", str(tmp_path / "boxes"), "-q"]) == 0
    assert "INFO experiments.discover: scenario discovery on" in \
        (tmp_path / "boxes" / "run.log").read_text()
    # a mistake: one line, exit 2, and no folder left behind
    assert main([str(folder), "--outcome", "no_such_outcome", "--below", "0.8",
                 "--out", str(tmp_path / "nothing")]) == 2
    assert not (tmp_path / "nothing").exists()


def test_library_use_still_shows_warnings_while_a_folder_records_its_log(tmp_path):
    """From Python nothing is configured: warnings reach stderr (Python's last resort), also
    while an experiment records its run.log; INFO does not."""
    code = ("import logging\n"
            "from experiments.logs import log_file\n"
            f"with log_file({str(tmp_path)!r}):\n"
            "    logging.getLogger('sim.x').warning('imputed 3 values')\n"
            "    logging.getLogger('sim.x').info('an info line')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "imputed 3 values" in result.stderr and "an info line" not in result.stderr
    log = (tmp_path / "run.log").read_text()
    assert "WARNING sim.x: imputed 3 values" in log and "INFO sim.x: an info line" in log


def test_progress_bars_use_tqdm_auto():
    """tqdm.auto: a widget in notebooks, a text bar in terminals; never plain tqdm."""
    import ast
    plain = []
    for package in ("sim", "experiments", "explorer"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module == "tqdm" or \
                        isinstance(node, ast.Import) and any(a.name == "tqdm" for a in node.names):
                    plain.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not plain, f"use tqdm.auto: {plain}"


def test_experiment_log_keeps_what_its_checks_found_before_the_folder_existed(tmp_path,
                                                                              monkeypatch):
    """The world's imputations, warned about by the pre-flight check before the experiment's
    folder exists, are in its run.log; an experiment that fails its checks writes nothing."""
    from experiments.compose import compose_spec
    from experiments.sweep import run_sweep
    monkeypatch.setattr(import_module("sim.run"), "_reported_loads", set())
    gias = ["world=gias", f"world.gias_path={REPO / 'tests' / 'fixtures' / 'gias_small.csv'}",
            "execution=serial", "experiment.figures=false", "execution.progress=false"]
    spec, execution = compose_spec(["experiment=smoke", *gias, "world.gias_max_dropped_share=0.1",
                                    f"experiment.out={tmp_path / 'smoke'}"])
    folder = run_sweep(spec, execution,
                       evaluate=lambda config, seed: {name: 0.5 for name in spec.experiment.outcomes})
    log = (folder / "run.log").read_text()
    assert log.index("WARNING sim.run: gias: loading") < log.index("INFO experiments.sweep: sweep")
    assert "imputed: Easting/Northing 1" in log
    spec, execution = compose_spec(["experiment=smoke", *gias, "world.gias_max_dropped_share=0",
                                    f"experiment.out={tmp_path / 'refused'}"])
    with pytest.raises(ConfigError, match="gias"):
        run_sweep(spec, execution)
    assert not (tmp_path / "refused").exists()


def test_experiment_log_holds_records_until_the_folder_is_given(tmp_path):
    from experiments.logs import experiment_log
    log = logging.getLogger("experiments.test")
    with experiment_log() as log_to:
        log.info("before the folder")
        (tmp_path / "x").mkdir()
        assert log_to(tmp_path / "x") == tmp_path / "x" / "run.log"
        log.warning("after")
    log.info("not recorded: the block has ended")
    lines = (tmp_path / "x" / "run.log").read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO experiments.test: before the folder", "WARNING experiments.test: after"]
    with experiment_log():
        log.info("never given a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_calibration_retries_failed_runs_when_asked_and_ends_incomplete_until_then(
        tmp_path, monkeypatch):
    """As sweeps and sensitivity analyses: failed runs end the command with exit code 4 (the
    message says to rerun with experiment.retry_failed=true), and that setting reruns them."""
    import experiments.calibrate as calibrate
    from experiments.cli import Incomplete
    from experiments.compose import compose_spec
    from experiments.store import ExperimentStore
    from test_discover import planted_model

    def failing(values, seed):
        if values["head_exit_secondary_per_year"] < 0.04:
            raise ValueError("this point fails")
        return planted_model(values, seed)

    settings = ["experiment=calibration", "experiment.N=32", "experiment.replications=1",
                "execution=serial", "execution.progress=false", "experiment.figures=false",
                f"experiment.out={tmp_path / 'cal'}"]
    spec, execution = compose_spec(settings)
    folder = calibrate.run_calibration(spec, execution, evaluate=failing, make_config=lambda v: v)
    failed = len(ExperimentStore(folder).read_errors())
    assert failed > 0
    monkeypatch.setattr(calibrate, "run_calibration", lambda spec, execution: folder)
    with pytest.raises(Incomplete, match="experiment.retry_failed=true"):
        calibrate._run_and_report(spec, execution)
    spec, execution = compose_spec([*settings, "experiment.retry_failed=true"])
    monkeypatch.undo()
    calibrate.run_calibration(spec, execution, evaluate=planted_model, make_config=lambda v: v)
    store = ExperimentStore(folder)
    assert not len(store.read_errors()) and len(store.read_runs()) == 32


def test_readme_command_lines_are_valid():
    """Every `sis-...` line of README's shell examples composes (Hydra commands) or parses
    (the others), as the command would before doing anything."""
    from experiments.compose import compose_spec
    from experiments.config import compose_config
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    lines = [line.split(" #", 1)[0].strip() for block in blocks for line in block.splitlines()
             if line.startswith("sis-")]
    assert len(lines) >= 10
    for line in lines:
        command, *args = shlex.split(line)
        args = [arg for arg in args if arg not in ("-q", "-v")]
        if "--help" in args:
            continue
        if command == "sis-run":
            compose_config(args)
        elif command in HYDRA_COMMANDS:
            spec, _ = compose_spec(args)
            assert spec.experiment.kind in HYDRA_COMMANDS[command][2], line
        else:
            module = OPTION_COMMANDS[command]
            import_module(module if module != "explorer" else "explorer.__main__") \
                .build_parser().parse_args(args)
