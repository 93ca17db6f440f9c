"""Every input checked and fingerprinted; pre-flight; retries; what reproduce could not check
(issue 11, items 2-4). Each test here failed on the code before the issue was fixed."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from experiments import reproduce
from experiments.compose import compose_spec
from experiments.model_function import evaluate_model
from experiments.plan import replication_seeds
from experiments.store import ExperimentStore
from experiments.sweep import run_sweep
from sim.fingerprint import fingerprint, sha256_of
from sim.gias import load_gias, load_gias_with_report
from sim.parameters import ConfigError
from sim.results import MANIFEST
from sim.run import run
from tests.conftest import make_config

FIXTURE = Path(__file__).parent / "fixtures" / "gias_small.csv"
ALLOW = 0.05  # the fixture drops 1 of 20 in-scope schools on purpose (an LA with no coordinates)
TOY_SWEEP = ["experiment=smoke", "run.years=1", "execution=serial", "execution.progress=false",
             "experiment.figures=false"]


def fixture_frame() -> pd.DataFrame:
    return pd.read_csv(FIXTURE, encoding="cp1252", dtype=str, keep_default_na=False)


def write(df: pd.DataFrame, path: Path, **options) -> Path:
    df.to_csv(path, index=False, **{"encoding": "cp1252", **options})
    return path


def load(path: Path, allow: float = ALLOW):
    return load_gias_with_report(path, rng=np.random.default_rng(0), max_dropped_share=allow)


def gias_sweep(gias: Path, out: Path, *overrides: str):
    return compose_spec([*TOY_SWEEP, "world=gias", f"world.gias_path={gias}",
                         f"world.gias_max_dropped_share={ALLOW}", f"experiment.out={out}",
                         *overrides])


# -- GIAS plausibility -------------------------------------------------------------------------

@pytest.mark.parametrize("column, value, words", [
    ("NumberOfPupils", "3000000000", "NumberOfPupils='3000000000' is more than 10,000 pupils"),
    ("NumberOfPupils", "-5", "NumberOfPupils='-5' is negative"),
    ("Easting", "-529000", "Easting='-529000' is negative"),
    ("Easting", "1000000000000", "Easting='1000000000000' is outside"),
    ("Easting", "529", "Easting='529' is outside 60,000-700,000 m"),   # kilometres
    ("Northing", "183", "Northing='183' is outside 1,000-1,300,000 m"),
    ("Northing", "1500000", "Northing='1500000' is outside"),
])
def test_implausible_values_are_refused_naming_row_column_and_value(tmp_path, column, value, words):
    df = fixture_frame()
    df.loc[df["URN"] == "100001", column] = value
    with pytest.raises(ConfigError, match="row 2") as refusal:
        load(write(df, tmp_path / "bad.csv"))
    assert words in str(refusal.value)


def test_a_negative_coordinate_is_never_replaced_by_the_la_mean(tmp_path):
    df = fixture_frame()
    df.loc[df["URN"] == "100002", "Easting"] = "-1"
    with pytest.raises(ConfigError, match="negative"):
        load(write(df, tmp_path / "bad.csv"))


@pytest.mark.parametrize("encoding, delimiter", [
    ("utf-8-sig", ","), ("utf-16", ","), ("utf-8", ";"), ("cp1252", "\t"), ("utf-8", "|")])
def test_encodings_and_delimiters_load_the_same_world(tmp_path, encoding, delimiter):
    reference, _ = load(FIXTURE)
    path = write(fixture_frame(), tmp_path / "other.csv", encoding=encoding, sep=delimiter)
    world, report = load(path)
    assert report.delimiter == delimiter
    np.testing.assert_array_equal(world.school_id, reference.school_id)
    np.testing.assert_array_equal(world.pupils, reference.pupils)
    np.testing.assert_array_equal(world.x_km, reference.x_km)


def test_a_file_with_no_gias_columns_gets_a_hint_not_a_list(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("region,quarter,revenue\nNorth,1,100\n")
    with pytest.raises(ConfigError, match="none of the GIAS columns.*'all establishments'"):
        load(path)


@pytest.mark.parametrize("content, words", [(b"", "is empty"), (b"\n\n  \n", "is empty"),
                                            (b"\x81\x8d\x8f\x90\x9d" * 10, "not text")])
def test_empty_and_binary_files_are_refused(tmp_path, content, words):
    path = tmp_path / "gias.csv"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=words):
        load(path)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        load(tmp_path)


def test_a_header_without_rows_is_refused(tmp_path):
    path = write(fixture_frame().iloc[:0], tmp_path / "header.csv")
    with pytest.raises(ConfigError, match="no rows"):
        load(path)


def test_unknown_phase_wording_is_counted_and_refused_above_the_threshold(tmp_path):
    df = fixture_frame()
    df.loc[df["URN"].isin(["100003", "100004"]), "PhaseOfEducation (name)"] = "Primary phase"
    path = write(df, tmp_path / "wording.csv")
    with pytest.raises(ConfigError, match=r"3 of 20 schools in scope would be dropped .*2 with a "
                                          r"PhaseOfEducation"):
        load(path)
    world, report = load(path, allow=0.2)
    assert report.dropped["unknown_phase"] == 2 and world.n_schools == 17


def test_a_whole_local_authority_without_coordinates_is_refused_by_default(tmp_path):
    with pytest.raises(ConfigError, match="1 in local authorities with no coordinates"):
        load_gias(FIXTURE)


def test_load_report_and_input_fingerprint_are_saved_in_the_run_manifest(tmp_path):
    gias = Path(shutil.copy(FIXTURE, tmp_path / "gias.csv"))
    config = make_config(source="toy", years=1)
    config = replace(config, world=replace(config.world, source="gias", gias_path=str(gias),
                                           gias_max_dropped_share=ALLOW))
    results = run(config)
    results.write(str(tmp_path / "out"), figures=False)
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["input_files"] == {gias.resolve().as_posix(): sha256_of(gias)}
    assert manifest["load_report"]["dropped"]["no_coordinates"] == 1
    assert "19 kept" in manifest["load_report"]["summary"]


def test_fingerprint_names_project_files_relative_to_the_project():
    prints = fingerprint([FIXTURE])
    assert prints == {"tests/fixtures/gias_small.csv": sha256_of(FIXTURE)}


# -- seeds and types ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [7.9, 7.0, -1, 2**32, True, "7"])
def test_a_seed_that_is_not_a_whole_number_in_range_is_refused(seed):
    with pytest.raises(ConfigError, match="seed="):
        run(make_config(source="toy", years=1), seed=seed)


# -- pre-flight --------------------------------------------------------------------------------

def no_runs(config, seed):
    raise AssertionError("a run was dispatched before the pre-flight failed")


@pytest.mark.parametrize("arm, words", [
    ("{run.years: 2.0}", r"experiment\.arms\.bad: run\.years must be a whole number, got 2\.0"),
    ("{world.region: Atlantis}", r"experiment\.arms\.bad: world\.region='Atlantis'"),
    ("{world.source: gias, world.gias_path: /no/such/file.csv}",
     r"experiment\.arms\.bad: GIAS file not found: /no/such/file\.csv"),
    ("{behaviour.transition_dip: nan}", r"experiment\.arms\.bad: behaviour\.transition_dip=nan"),
    ("{behaviour.transition_dip: inf}", r"experiment\.arms\.bad: behaviour\.transition_dip=inf"),
])
def test_every_arm_is_checked_before_any_run(tmp_path, arm, words):
    with pytest.raises(ConfigError, match=words):  # at composition, or in the pre-flight
        spec, execution = compose_spec([*TOY_SWEEP, f"experiment.out={tmp_path / 'sweep'}",
                                        f"+experiment.arms.bad={arm}"])
        run_sweep(spec, execution, evaluate=no_runs)
    assert not (tmp_path / "sweep").exists()


# -- input fingerprints on resume and reproduce ------------------------------------------------

def test_a_resumed_sweep_whose_input_changed_refuses_naming_the_file(tmp_path):
    gias = Path(shutil.copy(FIXTURE, tmp_path / "gias.csv"))
    folder = run_sweep(*gias_sweep(gias, tmp_path / "sweep"))
    recorded = json.loads((folder / MANIFEST).read_text())["input_files"]
    assert recorded == {gias.resolve().as_posix(): sha256_of(gias)}

    df = fixture_frame()
    df.loc[df["URN"] == "100001", "NumberOfPupils"] = "421"
    write(df, gias)
    with pytest.raises(ConfigError, match=rf"input file {gias.resolve()} has changed"):
        run_sweep(*gias_sweep(gias, folder, "experiment.replications=4"))
    with pytest.raises(ConfigError, match=rf"input file {gias.resolve()} has changed"):
        reproduce.reproduce(folder, execution=None)
    assert reproduce.main([str(folder), "--backend", "serial"]) == 2


# -- retries -----------------------------------------------------------------------------------

FAILING_SEED = replication_seeds(0, 3)[1]
broken = {"on": True}


def evaluate_broken_for_one_seed(config, seed):
    if broken["on"] and seed == FAILING_SEED:
        raise RuntimeError("input server down")
    return evaluate_model(config, seed)


def test_failed_runs_are_retried_on_request_and_only_then(tmp_path):
    spec, execution = compose_spec([*TOY_SWEEP, f"experiment.out={tmp_path / 'retry'}"])
    broken["on"] = True
    folder = run_sweep(spec, execution, evaluate=evaluate_broken_for_one_seed)
    assert len(ExperimentStore(folder).read_errors()) == 2
    broken["on"] = False
    run_sweep(spec, execution, evaluate=evaluate_broken_for_one_seed)
    assert len(ExperimentStore(folder).read_errors()) == 2  # not retried unasked

    spec, execution = compose_spec([*TOY_SWEEP, f"experiment.out={folder}",
                                    "experiment.retry_failed=true"])
    run_sweep(spec, execution, evaluate=evaluate_broken_for_one_seed)
    session = json.loads((folder / "sessions.json").read_text())[-1]
    assert (session["runs_done"], session["runs_failed"]) == (2, 0)
    store = ExperimentStore(folder)
    assert len(store.read_errors()) == 0 and len(store.read_runs()) == 6


def test_the_sweep_command_says_how_to_retry_and_exits_4(tmp_path, capsys, monkeypatch):
    import experiments.sweep as sweep
    monkeypatch.setattr(sweep, "run_sweep", lambda spec, execution: run_sweep(
        spec, execution, evaluate=evaluate_broken_for_one_seed))
    broken["on"] = True
    monkeypatch.setattr("sys.argv", ["sweep", *TOY_SWEEP, f"experiment.out={tmp_path / 'f'}"])
    with pytest.raises(SystemExit) as exit_:
        sweep.main()
    assert exit_.value.code == 4
    err = capsys.readouterr().err
    assert "2 run(s) of smoke failed" in err and "experiment.retry_failed=true" in err
    assert "RuntimeError: input server down" in err


# -- what reproduce could not check ------------------------------------------------------------

@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reproduce") / "sweep"
    return run_sweep(*compose_spec([*TOY_SWEEP, f"experiment.out={out}"]))


def test_reproduce_reports_missing_runs_and_exits_4(finished, tmp_path, capsys):
    partial = Path(shutil.copytree(finished, tmp_path / "partial"))
    part = next((partial / "runs").glob("part-*.parquet"))
    table = pq.read_table(part).to_pandas()
    table.iloc[:2].to_parquet(part, index=False)
    assert reproduce.main([str(partial), "--backend", "serial"]) == 4
    out = capsys.readouterr()
    assert "2 of 2 runs identical" in out.out
    assert "4 of 6 planned runs are not recorded" in out.out + out.err


def test_reproduce_catches_edited_replication_seeds(finished, tmp_path, capsys):
    edited = Path(shutil.copytree(finished, tmp_path / "edited"))
    manifest = json.loads((edited / MANIFEST).read_text())
    manifest["replication_seeds"][0] += 1
    (edited / MANIFEST).write_text(json.dumps(manifest))
    assert reproduce.main([str(edited), "--backend", "serial", "--sample", "1"]) == 4
    assert "replication_seeds" in capsys.readouterr().err


def test_reproduce_refuses_a_single_run_folder_and_a_damaged_manifest(tmp_path, capsys):
    results = run(make_config(source="toy", years=1))
    results.write(str(tmp_path / "single"), figures=False)
    assert reproduce.main([str(tmp_path / "single")]) == 2
    assert "single run's results" in capsys.readouterr().err

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / MANIFEST).write_text('{"format_version": 1, "spec": ')
    assert reproduce.main([str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "not a readable manifest" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argument", ["-3", "0", "x"])
def test_reproduce_refuses_a_sample_that_is_not_positive(finished, argument):
    with pytest.raises(SystemExit) as exit_:
        reproduce.main([str(finished), "--sample", argument])
    assert exit_.value.code == 2


def test_a_damaged_parquet_part_is_named_on_resume(finished, tmp_path):
    damaged = Path(shutil.copytree(finished, tmp_path / "damaged"))
    part = next((damaged / "runs").glob("part-*.parquet"))
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(ConfigError, match=rf"{part.name} is not a readable Parquet file"):
        run_sweep(*compose_spec([*TOY_SWEEP, f"experiment.out={damaged}"]))


# -- calibration: the same pre-flight, fingerprints, retries and reproduction as sweeps ------------

TOY_CALIBRATION = ["experiment=calibration", "world=toy", "experiment.N=4", "run.years=1",
                   "execution=serial", "execution.progress=false", "experiment.figures=false"]


def test_a_calibration_checks_its_world_before_any_run(tmp_path):
    from experiments.calibrate import run_calibration
    spec, execution = compose_spec([*TOY_CALIBRATION, "world=gias",
                                    "world.gias_path=/no/such/file.csv",
                                    f"experiment.out={tmp_path / 'calibration'}"])
    with pytest.raises(ConfigError, match=r"GIAS file not found: /no/such/file\.csv"):
        run_calibration(spec, execution, evaluate=no_runs)
    assert not (tmp_path / "calibration").exists()


def test_a_calibration_records_its_inputs_and_refuses_them_changed(tmp_path):
    from experiments.calibrate import run_calibration
    gias = Path(shutil.copy(FIXTURE, tmp_path / "gias.csv"))
    overrides = [*TOY_CALIBRATION, "world=gias", f"world.gias_path={gias}",
                 f"world.gias_max_dropped_share={ALLOW}", f"experiment.out={tmp_path / 'cal'}"]
    folder = run_calibration(*compose_spec(overrides))
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["input_files"] == {gias.resolve().as_posix(): sha256_of(gias)}
    assert manifest["load_reports"][0]["dropped"]["no_coordinates"] == 1
    df = fixture_frame()
    df.loc[df["URN"] == "100001", "NumberOfPupils"] = "421"
    write(df, gias)
    with pytest.raises(ConfigError, match=rf"input file {gias.resolve()} has changed"):
        run_calibration(*compose_spec(overrides))


def test_a_calibration_retries_failed_runs_on_request_and_exits_4_saying_so(tmp_path, capsys,
                                                                           monkeypatch):
    import experiments.calibrate as calibrate
    real = calibrate.run_calibration
    spec, _ = compose_spec(TOY_CALIBRATION)
    sample = calibrate.prior_sample(spec.uncertainties, spec.experiment.N, spec.experiment.seed)
    point_one = sample.drop(columns="sample").iloc[1].to_dict()
    failing = {"on": True}

    def evaluate_failing_at_point_one(config, seed):
        if failing["on"] and all(getattr(config.behaviour, name) == value
                                 for name, value in point_one.items()):
            raise RuntimeError("input server down")
        return evaluate_model(config, seed)

    monkeypatch.setattr(calibrate, "run_calibration", lambda spec, execution: real(
        spec, execution, evaluate=evaluate_failing_at_point_one))
    folder = tmp_path / "cal"
    argv = ["calibrate", *TOY_CALIBRATION, f"experiment.out={folder}"]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as exit_:
        calibrate.main()
    assert exit_.value.code == 4
    err = capsys.readouterr().err
    assert "1 run(s) of calibration failed" in err and "experiment.retry_failed=true" in err

    failing["on"] = False
    monkeypatch.setattr("sys.argv", [*argv, "experiment.retry_failed=true"])
    calibrate.main()  # returns: nothing failed this time
    assert len(ExperimentStore(folder).read_errors()) == 0
    assert len(ExperimentStore(folder).read_runs()) == 4


def test_a_calibration_is_reproduced_from_its_manifest(tmp_path, capsys):
    from experiments.calibrate import run_calibration
    folder = run_calibration(*compose_spec([*TOY_CALIBRATION,
                                            f"experiment.out={tmp_path / 'cal'}"]))
    assert reproduce.main([str(folder), "--backend", "serial"]) == 0
    assert "4 of 4 runs identical" in capsys.readouterr().out


def test_a_parameter_ensemble_is_fingerprinted_and_a_changed_one_is_named(tmp_path):
    ensemble = tmp_path / "ensemble.csv"
    ensemble.write_text("member,head_exit_primary_per_year\n0,0.05\n1,0.06\n")
    overrides = [*TOY_SWEEP, f"experiment.parameter_ensemble={ensemble}",
                 f"experiment.out={tmp_path / 'sweep'}"]
    folder = run_sweep(*compose_spec(overrides))
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["input_files"] == {ensemble.resolve().as_posix(): sha256_of(ensemble)}
    ensemble.write_text("member,head_exit_primary_per_year\n0,0.05\n1,0.07\n")
    with pytest.raises(ConfigError, match=rf"input file {ensemble.resolve()} has changed"):
        run_sweep(*compose_spec(overrides))
    with pytest.raises(ConfigError, match=rf"input file {ensemble.resolve()} has changed"):
        reproduce.reproduce(folder, execution=None)
