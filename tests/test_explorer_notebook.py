"""The example notebook runs from top to bottom (executed with nbclient on the toy world)."""

from __future__ import annotations

import os

import pytest

from conftest import REPO

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("solara")


def test_example_notebook_runs(tmp_path):
    notebook = nbformat.read(REPO / "examples" / "explore.ipynb", as_version=4)
    os.environ.setdefault("EXPLORE_WORLD", "toy")
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(REPO / "examples")}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4  # series, map, supply and need, difference
    assert any("refused: policy.system_leadership.budget_gbp_per_year=-5.0 is out of range"
               in o.get("text", "") for o in outputs)
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) >= 2  # the explorer's components
