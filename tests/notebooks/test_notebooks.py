"""Every teaching notebook runs top to bottom (small sizes) and is stored without outputs."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_notebooks_are_numbered_in_order_and_linked_from_the_readme():
    assert NOTEBOOKS, "no notebook found"
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(len(NOTEBOOKS))]
    readme = (NOTEBOOKS[0].parents[1] / "README.md").read_text()
    assert [p.name for p in NOTEBOOKS if f"(notebooks/{p.name})" not in readme] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_stored_outputs(path):
    book = nbformat.read(path, as_version=4)
    for i, cell in enumerate(book.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"cell {i} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, monkeypatch):
    monkeypatch.setenv("CRM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    client.execute(env=dict(os.environ))  # raises CellExecutionError on the first failing cell
