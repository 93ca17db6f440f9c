"""One home per vocabulary: outcome names come from the function that computes them, the
in-run recorder stands apart from the post-run metrics, and both read need from sim.need."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import hand_world, make_model
from sim import outcomes

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """Modules of the package a source file imports (``from .x import`` gives ``x``)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


def test_scalar_outcome_names_are_the_keys_of_the_function_that_computes_them():
    names = outcomes.scalar_outcome_names()
    assert outcomes.SCALAR_OUTCOMES == names and len(names) == len(set(names)) >= 20
    national = outcomes.NATIONAL_ONLY_OUTCOMES
    assert national and set(national) < set(names)
    assert outcomes.LOWER_IS_BETTER < set(names)


def test_recorder_and_metrics_are_apart_and_need_lies_below_both():
    recorder = imported_modules(ROOT / "sim" / "recorder.py")
    metrics = imported_modules(ROOT / "sim" / "outcomes.py")
    assert "outcomes" not in recorder       # the recorder knows nothing of post-run metrics
    assert "need" in recorder and "need" in metrics
    # the model type and the state's vocabulary only
    assert imported_modules(ROOT / "sim" / "need.py") <= {"model", "state"}
    brokerage = imported_modules(ROOT / "sim" / "processes" / "brokerage.py")
    assert "need" in brokerage


def test_one_ready_leader_mask():
    """Readiness is compared with ready_threshold only in SchoolState.ready_leaders."""
    offenders = []
    for path in (ROOT / "sim").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if "bench_readiness" in line and ">=" in line and path.name != "state.py" \
                    and "ready_threshold" in line:
                offenders.append(f"{path.name}:{number}")
    assert not offenders, offenders


def test_a_vacant_headship_is_recorded_in_the_state_and_agents_read_it():
    from sim.state import VACANT
    model = make_model(hand_world(6), system_leadership=None)
    head = model.heads[0]
    person = head.person_id
    assert person == model.state.head_person[0] and head.age == model.state.head_age[0]
    model.remove_head(0, reason="left_early")
    assert model.state.head_person[0] == VACANT and model.state.head_vacant[0]
    assert model.heads[0] is None and model.schools[0].head is None
    model.step()  # succession fills the post this term
    assert not model.state.head_vacant.any()
    assert model.schools[0].head.person_id == model.state.head_person[0] != person


def test_the_model_reads_events_by_their_sim_events_names_too():
    import re
    offenders = []
    for path in (ROOT / "sim").rglob("*.py"):
        text = path.read_text()
        offenders += [f"{path.name}: {m}" for m in re.findall(r"\[\"event\"\] == [\"'](\w+)", text)]
    assert not offenders, offenders


# Module-level constants of the processes that are codes, identifiers or calendar facts, not
# assumptions about behaviour (so not in parameters.FIXED_ASSUMPTIONS).
NOT_ASSUMPTIONS = {"SUBSTANTIVE", "ACTING", "EXECUTIVE", "VACANT", "DEVELOPING_PEOPLE",
                   "TERMS_PER_YEAR", "NO_ROLE", "LLE", "NLE", "NEW_URN_BASE", "CALENDAR"}


def numeric_constants(path: Path) -> list[str]:
    """Names of module-level UPPER_CASE assignments in ``path`` whose value holds a number."""
    tree = ast.parse(path.read_text())
    names = []
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            numbers = [n for n in ast.walk(node.value) if isinstance(n, ast.Constant)
                       and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and name.id.isupper() and numbers:
                        names.append(name.id)
    return names


def test_every_numeric_constant_of_the_processes_is_declared():
    from sim.parameters import FIXED_ASSUMPTIONS
    declared = {fixed.where.rsplit(".", 1)[1] for fixed in FIXED_ASSUMPTIONS}
    files = [ROOT / "sim" / "state.py", ROOT / "sim" / "system_leadership.py",
             ROOT / "sim" / "need.py", *sorted((ROOT / "sim" / "processes").glob("*.py")),
             *sorted((ROOT / "sim" / "policies").glob("*.py"))]
    undeclared = [f"{path.name}: {name}" for path in files for name in numeric_constants(path)
                  if name not in declared | NOT_ASSUMPTIONS]
    assert not undeclared, ("declare these in sim/parameters.py (BehaviourParams, or "
                            f"FIXED_ASSUMPTIONS with unit and source): {undeclared}")
    for fixed in FIXED_ASSUMPTIONS:
        fixed.value()  # each declaration names a constant that exists
        assert fixed.unit and fixed.source, fixed.where
