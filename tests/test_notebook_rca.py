"""The root-cause review notebook runs top to bottom on the bundled sample."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "root_cause_review.ipynb"


@pytest.mark.slow
def test_root_cause_notebook_executes(monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for name in ("AIOPS_RCA_OUT", "AIOPS_RCA_INCIDENT", "AIOPS_RCA_ALERTS"):
        monkeypatch.delenv(name, raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # raises CellExecutionError on any failing cell
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "replayed 2152 alerts" in text  # the bundled sample
    assert "1. " in text and "score" in text  # a ranked candidate list with scores
    assert "root confirmed" in text  # the feedback command ran (on a scratch store)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1  # the incident's part of the topology
    assert not [o for o in outputs if o.output_type == "error"]
