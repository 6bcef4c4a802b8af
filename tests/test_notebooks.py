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


def test_split_retriever_and_recall_run_on_demo_data(tiny_dir, tmp_path):
    import pandas as pd

    from utils.data import load_competition
    from utils.folds import TRAIN_ONLY, load_folds
    from utils.retriever import load_model

    work = run.run(data=str(tiny_dir), work=tmp_path / "work", only=["02", "03", "04"],
                   params={**TINY_RETRIEVER, "TOP_K": 20}, log=lambda *_: None)
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

    # 04: a candidates table with every source's rank and score, K respected, same language
    found = pd.read_parquet(work / "candidates.parquet")
    for source in ("tfidf", "zero-shot", "round1", "round2"):
        assert {f"{source}_rank", f"{source}_score"} <= set(found.columns)
    assert found.groupby("topic_id").size().max() <= 20
    assert not found.duplicated(["topic_id", "content_id"]).any()
    language = data.content.set_index("id")["language"]
    topic_language = data.topics.set_index("id")["language"]
    assert (found["content_id"].map(language).to_numpy()
            == found["topic_id"].map(topic_language).to_numpy()).all()
    assert set(found["label"]) == {0, 1}
    recall = pd.read_csv(work / "recall_candidates.csv", index_col=0)
    assert "fusion" in recall.index and (work / "stage1_f2.csv").is_file()


def test_runner_helpers():
    params = run.parse_params(["EPOCHS=2", "GROUP_BY=channel", 'SPLIT_CATEGORIES=["aligned"]'])
    assert params == {"EPOCHS": 2, "GROUP_BY": "channel", "SPLIT_CATEGORIES": ["aligned"]}
    declared = run.declared_parameters(run.NOTEBOOKS / "03_retriever_training.ipynb")
    assert {"DATA_DIR", "WORK_DIR", "FIG_DIR", "EPOCHS", "ROUNDS", "BASE_MODEL"} <= declared


def test_eda_runs_on_the_real_mini_dataset(tmp_path):
    from pathlib import Path

    import pytest

    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "minilecr"
    if not folder.is_dir():
        pytest.skip("../shared/data/minilecr is not here")
    work = run.run(data=str(folder), work=tmp_path / "work", only=["01"], log=lambda *_: None)
    assert not [o for o in outputs(work / "notebooks" / "01_eda.ipynb")
                if o["output_type"] == "error"]
