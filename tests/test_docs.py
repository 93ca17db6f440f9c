"""Documentation stays true to the code: parameter table current, every parameter sourced."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from conftest import REPO
from sim.parameters import BehaviourParams, parameter_table


def test_every_behavioural_parameter_has_unit_range_and_source():
    for row in parameter_table(BehaviourParams):
        assert row["unit"], row["name"]
        assert row["low"] <= row["default"] <= row["high"], row["name"]
        source = row["source"]
        assert "seed" in source or "assumption" in source or "calibrated" in source \
            or "NFER" in source or "scale" in source, (row["name"], source)


def test_parameter_table_in_docs_is_current():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "parameter_table.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_odd_mentions_every_process_module():
    odd = (REPO / "docs" / "ODD.md").read_text()
    for module in (REPO / "sim" / "processes").glob("*.py"):
        if module.name != "__init__.py":
            assert f"processes/{module.name}" in odd, module.name
    assert len(dataclasses.fields(BehaviourParams)) > 20
