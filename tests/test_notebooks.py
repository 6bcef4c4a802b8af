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


TINY_RETRIEVER = {"N_SPLITS": 3, "EPOCHS": 0.5, "NEGATIVE_EPOCHS": 0.5, "BATCH_SIZE": 16,
                  "MAX_LENGTH": 32, "MAX_PAIRS": 160, "TOP_N": 10, "ROUNDS": 2}


def test_split_and_retriever_training_run_on_demo_data(tiny_dir, tmp_path):
    import pandas as pd

    from utils.data import load_competition
    from utils.folds import TRAIN_ONLY, load_folds
    from utils.retriever import load_model

    work = run.run(data=str(tiny_dir), work=tmp_path / "work", only=["02", "03"],
                   params=TINY_RETRIEVER, log=lambda *_: None)
    folds = load_folds(work)
    data = load_competition(tiny_dir)
    source = set(data.topics.loc[data.topics["category"] == "source", "id"])
    assert (folds.loc[folds["topic_id"].isin(source), "fold"] == TRAIN_ONLY).all()
    recall = pd.read_csv(work / "retriever" / "recall.csv", index_col="model")
    assert list(recall.index) == ["zero-shot", "round 1", "round 2"]
    assert recall.notna().all().all() and (recall <= 1).all().all()
    assert list(recall.columns) == [f"recall@{k}" for k in (5, 10, 20, 50, 100)]
    model = load_model(work / "retriever" / "round2")  # loads offline from its folder
    assert model.encode(["fractions"], normalize_embeddings=True).shape == (1, 384)
    assert (work / "retriever" / "history.csv").is_file()
    assert (work / "figures" / "retriever.png").is_file()
