"""The step order is written once in sim/model.py; docs/ODD.md section 3 must describe the same
order, and ``SchoolSystemModel.step`` must call the processes in that order."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import sim.model
from sim.model import SchoolSystemModel

ROOT = Path(__file__).resolve().parents[1]
# what each call in step() belongs to (processes without a numbered item of their own fold into one)
CALL_TO_ITEM = {"policy.apply": "policies", "support.step": "support", "leadership.step": "leadership",
                "pipeline.step": "pipeline", "careers.step": "careers", "academies.step": "academies",
                "succession.step": "succession",
                "structure.step": "structure", "inspection.step": "inspection",
                "designation.step": "designation", "alliances.step": "designation",
                "brokerage.step": "brokerage", "recorder.record": "observation"}


def numbered_items(text: str) -> list[str]:
    """First word of each bold numbered item ("3. **Leadership** ...") in ``text``, lower case."""
    return [m.group(1).lower() for m in re.finditer(r"^\s*\d+\.\s+\*\*(\w+)", text, re.M)]


def test_odd_step_order_matches_the_model_docstring_and_step():
    odd = (ROOT / "docs" / "ODD.md").read_text()
    section = odd.split("## 3. Process overview and scheduling")[1].split("\n## ")[0]
    documented = numbered_items(section)
    assert documented == numbered_items(sim.model.__doc__)
    source = inspect.getsource(SchoolSystemModel.step)
    calls = re.findall(r"\b(\w+\.(?:step|apply|record))\(", source)
    unmapped = [c for c in calls if c.endswith(".step") and c not in CALL_TO_ITEM]
    assert not unmapped, f"step() calls processes this test does not know: {unmapped}"
    order = [CALL_TO_ITEM[c] for c in calls if c in CALL_TO_ITEM]
    called = [item for k, item in enumerate(order) if k == 0 or item != order[k - 1]]
    assert called == documented and len(documented) >= 10


def test_every_module_logs_events_by_their_name_in_sim_events_and_each_is_documented():
    import sim.events
    from sim.events import EVENT_NAMES
    constants = {k for k in vars(sim.events) if k.isupper() and getattr(sim.events, k) in EVENT_NAMES}
    logged, literal = set(), []
    for path in (ROOT / "sim").rglob("*.py"):
        text = path.read_text()
        literal += [f"{path.name}: {m}" for m in re.findall(r"\.log\(\s*[\"'](\w+)", text)]
        logged |= set(re.findall(r"\.log\(\s*([A-Z_]+)\b", text))
    assert not literal, f"event names written as text instead of sim.events constants: {literal}"
    assert len(logged) >= 15 and logged <= constants
    assert {getattr(sim.events, k) for k in logged} == set(EVENT_NAMES)  # every name is logged
    results_doc = (ROOT / "docs" / "RESULTS.md").read_text()
    assert [name for name in EVENT_NAMES if f"`{name}`" not in results_doc] == []


def test_logging_an_unknown_event_fails_naming_it(tmp_path):
    import pytest

    from conftest import make_config
    model = SchoolSystemModel(make_config())
    with pytest.raises(ValueError, match="unknown event 'head_vanished'"):
        model.events.log("head_vanished", 0)
