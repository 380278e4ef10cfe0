"""The capacity-planning notebook runs top to bottom on the shared ServiceNow log."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "capacity_planning.ipynb"
DATASET = ROOT.parent / "shared/datasets/servicenow/incident_event_log_until_2016-04-21.csv.gz"


@pytest.mark.slow
def test_capacity_notebook_executes(monkeypatch: pytest.MonkeyPatch) -> None:
    if not DATASET.is_file():
        pytest.skip(f"shared dataset absent: {DATASET}")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("AIOPS_TICKETS", str(DATASET))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # raises CellExecutionError on any failing cell
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "14998 tickets" in text  # the dataset's README: 14,998 incidents
    assert "chosen:" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # history, daily forecast, staffing
    assert not [o for o in outputs if o.output_type == "error"]
