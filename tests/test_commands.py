"""First contact: every command's --help, the console scripts, README's preset lists and Python
example, and the logs a results folder keeps."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import tomllib
from importlib import import_module
from pathlib import Path

import pytest

from conftest import REPO
from experiments.entry import command_line
from experiments.presets import GROUPS, describe, presets

# command -> (module, groups it accepts, groups it must not list)
HYDRA_COMMANDS = {
    "sis-run": ("experiments.run", ("world", "policy", "behaviour", "run"),
                ("experiment", "uncertainties", "execution")),
    "sis-sweep": ("experiments.sweep", ("experiment", "world", "policy", "behaviour", "run",
                                        "execution"), ("uncertainties",)),
    "sis-sensitivity": ("experiments.sensitivity", ("experiment", "uncertainties", "world",
                                                    "policy", "behaviour", "run", "execution"), ()),
}


def run_help(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def examples(help_text: str, command: str) -> list[str]:
    """The example command lines of a help text's "Examples" section."""
    section = help_text.split("== Examples ==", 1)[1]
    return [line for line in section.splitlines() if line.startswith(command)]


@pytest.mark.parametrize("command", list(HYDRA_COMMANDS))
@pytest.mark.parametrize("chosen", [(), ("experiment=nle_targeting",), ("experiment=sobol",)])
def test_help_exits_0_with_purpose_groups_and_three_examples(command, chosen):
    module, groups, refused = HYDRA_COMMANDS[command]
    if chosen and command == "sis-run":
        pytest.skip("run takes no experiment")
    result = run_help(module, *chosen, "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"{command} (python -m {module})")
    assert "Traceback" not in result.stderr and "compose is powered" not in text
    assert len(examples(text, command)) == 3
    listed = re.findall(r"^(\w+): ", text.split("== Option groups", 1)[1].split("==")[1], re.M)
    assert tuple(listed) == groups
    for group in refused:
        assert f"\n{group}:" not in text
    for group in groups:  # every preset of every group it takes (experiments: of its kinds)
        for preset in presets(group):
            if group == "experiment" and (preset.kind == "sweep") != (command == "sis-sweep"):
                assert not re.search(rf"^  [ *] {preset.name} ", text, re.M), preset.name
            else:
                assert re.search(rf"^  [ *] {preset.name} ", text, re.M), (group, preset.name)


def test_help_marks_the_presets_in_use():
    text = run_help("experiments.sweep", "experiment=nle_targeting", "-h").stdout
    marked = re.findall(r"^  \* (\w+)", text, re.M)
    assert marked == ["nle_targeting", "north_east", "baseline", "default", "default", "local"]


def test_reproduce_help_exits_0_with_three_examples():
    result = run_help("experiments.reproduce", "--help")
    assert result.returncode == 0, result.stderr
    assert len([line for line in result.stdout.splitlines()
                if line.strip().startswith("python -m experiments.reproduce results/")]) == 3


def test_console_scripts_point_at_the_commands():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"sis-run", "sis-sweep", "sis-sensitivity", "sis-reproduce"} <= set(scripts)
    for name, target in scripts.items():
        module, function = target.split(":")
        assert callable(getattr(import_module(module), function)), name
    readme = (REPO / "README.md").read_text()
    for name in scripts:
        assert f"`{name}`" in readme, f"README does not document {name}"


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
    for group in GROUPS:
        names = sorted(p.stem for p in (REPO / "conf" / group).glob("*.yaml"))
        assert names, group
        for name in names:
            assert f"  * `{name}`" in section, f"README does not list {group}={name}"
    world = re.search(r"^  - world: (\w+)", (REPO / "conf" / "config.yaml").read_text(), re.M)[1]
    first_comment = (REPO / "conf" / "world" / f"{world}.yaml").read_text().splitlines()[0][2:]
    assert f"**The default world** (`world={world}`" in section
    assert first_comment.split(":")[0] in section


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
