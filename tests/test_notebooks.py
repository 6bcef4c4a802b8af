"""The notebooks run top to bottom through the pipeline runner, on the tiny demo data."""

import json

from utils import run


def outputs(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    return [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]


def test_notebooks_are_committed_clean_and_parameterised():
    for notebook in run.notebooks():
        cells = json.loads(notebook.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert not outputs(notebook), f"{notebook.name} has outputs"
        assert all(c.get("execution_count") is None for c in code)
        assert "parameters" in code[0]["metadata"].get("tags", []), notebook.name


def test_eda_runs_on_demo_data(tiny_dir, tmp_path):
    work = run.run(data=str(tiny_dir), work=tmp_path / "work", only=["01"], log=lambda *_: None)
    executed = work / "notebooks" / "01_eda.ipynb"
    assert not [o for o in outputs(executed) if o["output_type"] == "error"]
    assert {p.name for p in (work / "figures").glob("*.png")} >= {
        "languages.png", "channels.png", "levels.png", "links.png", "text.png"}
