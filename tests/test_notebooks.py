"""The notebooks run top to bottom through the pipeline runner, on the tiny demo data."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utils import run


def outputs(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    return [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]


def test_every_notebook_finds_utils_with_the_same_finder(tmp_path):
    """One finder in notebooks 01-06: the project folder, else the one attached dataset holding
    utils at any depth (Kaggle mounts datasets under datasets/OWNER/SLUG/versions/N)."""
    import ast

    finders = []
    for notebook in run.notebooks():
        source = "".join(run._cells(notebook)[1]["source"])
        tree = ast.parse(source)
        found = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "utils_root"]
        assert found, f"{notebook.name}: no utils_root"
        finders.append(ast.get_source_segment(source, found[0]))
    assert len(set(finders)) == 1
    namespace = {"Path": Path}
    exec(finders[0], namespace)
    deep = tmp_path / "datasets" / "someone" / "lecr-code" / "versions" / "1"
    (deep / "utils").mkdir(parents=True)
    (deep / "utils" / "predict.py").write_text("")
    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert namespace["utils_root"](str(tmp_path)) == deep
        (tmp_path / "lecr-utils" / "utils").mkdir(parents=True)
        (tmp_path / "lecr-utils" / "utils" / "predict.py").write_text("")
        with pytest.raises(ModuleNotFoundError, match="2 utils packages"):
            namespace["utils_root"](str(tmp_path))
    finally:
        os.chdir(here)


def test_notebooks_are_committed_clean_and_parameterised():
    for notebook in run.notebooks():
        cells = json.loads(notebook.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert not outputs(notebook), f"{notebook.name} has outputs"
        assert all(c.get("execution_count") is None for c in code)
        assert "parameters" in code[0]["metadata"].get("tags", []), notebook.name


def test_every_profile_sets_parameters_the_notebooks_declare():
    declared = set().union(*(run.declared_parameters(notebook) for notebook in run.notebooks()))
    assert {"demo", "cpu", "gpu"} <= set(run.PROFILES)
    for name, settings in run.PROFILES.items():
        assert set(settings) <= declared, f"profile {name}: {sorted(set(settings) - declared)} declared nowhere"


TINY_RETRIEVER = {"N_SPLITS": 3, "EPOCHS": 0.5, "NEGATIVE_EPOCHS": 0.5, "BATCH_SIZE": 16,
                  "MAX_LENGTH": 32, "MAX_PAIRS": 96, "TRAINING": {"top_n": 10}, "ROUNDS": 2, "OOF_GROUPS": 2}
TINY_RERANKER = {"TOP_K": 20, "BACKBONES": ["retriever"], "TRAIN_TOP_K": 3, "RERANKER_EPOCHS": 1,
                 "NEGATIVES_PER_POSITIVE": 2, "RERANKER_MAX_PAIRS": 160, "RERANKER_MAX_LENGTH": 32,
                 "RERANKER_BATCH_SIZE": 16,
                 "SELECTION": {"rules": None, "cpu_top_ks": [5]},  # every family, not only the relative threshold
                 "MIN_KNOWN": 3}  # the tiny demo's channels: 5 to 11 linked topics, so that 06 runs both regimes
TINY = {**TINY_RETRIEVER, **TINY_RERANKER}


@pytest.fixture(scope="module")
def pipeline(tiny_dir, tmp_path_factory):
    """Notebooks 01-05 run once on the tiny demo data as the Kaggle training kernel runs them
    (``utils.kaggle.package --code``: its script, ``lecr-code`` and the competition mounted as Kaggle
    mounts them, the working folder its output), then notebook 06 locally on that working
    folder: (working folder, data)."""
    import os
    import shutil
    import subprocess
    import sys

    from utils import paths
    from utils.data.load import load_competition
    from utils.kaggle import package

    root = tmp_path_factory.mktemp("pipeline")
    out, kaggle_input, work = root / "datasets", root / "input", root / "work"
    folder = package.code(out, owner="someone")
    kernel = package.train_kernel(out, owner="someone")
    mounted = kaggle_input / "datasets" / "someone" / "lecr-code" / "versions" / "1"
    for file in package.uploaded_files(folder):  # what kagglehub's upload keeps
        (mounted / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / file, mounted / file)
    shutil.copytree(tiny_dir, kaggle_input / "competitions" / paths.COMPETITION)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update({"LECR_INPUT_DIR": str(kaggle_input), "LECR_WORK_DIR": str(work), "LECR_PROFILE": "demo",
                "LECR_PARAMS": json.dumps({k: v for k, v in TINY.items()})})
    result = subprocess.run([sys.executable, str(kernel / "train.py")], cwd=kernel, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run.run(data=str(tiny_dir), work=work, only=["06"], params=TINY, log=lambda *_: None)
    return work, load_competition(tiny_dir)


def test_the_training_kernel_ran_notebooks_01_to_05_from_the_code_dataset(pipeline):
    work, _ = pipeline
    executed = sorted(p.name[:2] for p in (work / "notebooks").glob("*.ipynb"))
    assert executed == ["01", "02", "03", "04", "05", "06"]
    for notebook in (work / "notebooks").glob("0[1-5]_*.ipynb"):
        assert not [o for o in outputs(notebook) if o["output_type"] == "error"], notebook.name
    assert {p.name for p in (work / "figures").glob("*.png")} >= {  # 01's figures
        "languages.png", "channels.png", "levels.png", "links.png", "text.png", "channel_reuse.png"}
    metadata = json.loads((work.parent / "datasets" / "lecr-train" / "kernel-metadata.json").read_text())
    assert metadata["enable_gpu"] and metadata["enable_internet"] and metadata["kernel_type"] == "script"
    assert metadata["dataset_sources"] == ["someone/lecr-code"]


def test_folds_and_retrievers(pipeline):
    from utils.data.folds import TRAIN_ONLY, load_folds
    from utils.models import load_bi_encoder as load_model
    from utils.retrieval.retriever import trained

    work, data = pipeline
    folds = load_folds(work)
    source = set(data.topics.loc[data.topics["category"] == "source", "id"])
    assert (folds.loc[folds["topic_id"].isin(source), "fold"] == TRAIN_ONLY).all()
    # 03: the main retriever's rounds and two out-of-fold retrievers, each scored
    recall = pd.read_csv(work / "retriever" / "recall.csv", index_col="model")
    assert list(recall.index[:3]) == ["zero-shot", "round 1", "round 2"]
    assert [name.split()[0] for name in recall.index[3:]] == ["oof1", "oof2"]
    assert recall.notna().all().all() and (recall <= 1).all().all()
    assert list(recall.columns) == [f"recall@{k}" for k in (5, 10, 20, 50, 100)]
    model = load_model(work / "retriever" / "round2")  # loads offline from its folder
    assert model.encode(["fractions"], normalize_embeddings=True).shape == (1, 384)
    holdouts = {name: held for name, (_, held) in trained(work / "retriever").items()}
    assert {name: list(held.folds) for name, held in holdouts.items()} == {
        "main": [0], "oof1": [0, 1], "oof2": [0, 2]}
    groups = sorted(set(folds.loc[folds["fold"] == TRAIN_ONLY, "oof_group"]))
    assert not holdouts["main"].groups and holdouts["oof1"].groups == tuple(groups[0::2])
    assert holdouts["oof2"].groups == tuple(groups[1::2])  # each leaves out half the groups
    assert (work / "retriever" / "history.csv").is_file()
    assert (work / "figures" / "retriever.png").is_file()
    # each model's content embeddings, kept for 04 (the base model's in retriever/zero_shot)
    for folder in ("round1", "round2", "oof1/round1", "oof2/round1", "zero_shot"):
        assert (work / "retriever" / folder / "content_embeddings.npz").is_file(), folder


def test_candidates_come_from_a_retriever_that_did_not_train_on_the_topic(pipeline):
    from utils.data.folds import TRAIN_ONLY, load_folds

    work, data = pipeline
    found = pd.read_parquet(work / "candidates.parquet")
    for source_ in ("tfidf", "retriever"):
        assert {f"{source_}_rank", f"{source_}_score"} <= set(found.columns)
    assert found["channel_links"].ge(0).all() and found["channel_reuse"].between(0, 1).all()
    assert found.groupby("topic_id").size().max() <= 20
    assert not found.duplicated(["topic_id", "content_id"]).any()
    language = data.content.set_index("id")["language"]
    topic_language = data.topics.set_index("id")["language"]
    assert (found["content_id"].map(language).to_numpy()
            == found["topic_id"].map(topic_language).to_numpy()).all()
    assert set(found["label"]) == {0, 1}
    fold = found["topic_id"].map(load_folds(work).set_index("topic_id")["fold"])
    assert (found.loc[fold == 0, "retriever"] == "main").all() and not found.loc[fold == 0, "in_fold"].any()
    assert (found.loc[fold.isin([1, 2]), "retriever"] != "main").all()
    assert not found.loc[fold.isin([1, 2]), "in_fold"].any()
    # training-only topics too: each recalled by the out-of-fold retriever that left its group out
    assert (found.loc[fold == TRAIN_ONLY, "retriever"] != "main").all()
    assert not found.loc[fold == TRAIN_ONLY, "in_fold"].any()
    # a validation candidate's channel_links: the known topics (outside fold 0) of its topic's channel linking it
    channel = data.topics.set_index("id")["channel"]
    known = data.links[data.links["topic_id"].isin(set(load_folds(work).query("fold != 0")["topic_id"]))]
    expected = known.groupby([known["topic_id"].map(channel), "content_id"]).size()
    valid = found[fold == 0]
    pairs = pd.MultiIndex.from_arrays([valid["topic_id"].map(channel), valid["content_id"]])
    assert (valid["channel_links"].to_numpy() == expected.reindex(pairs).fillna(0).to_numpy()).all()
    reuse = (known.groupby([known["topic_id"].map(channel), "content_id"])["topic_id"].transform("size") > 1
             ).groupby(known["topic_id"].map(channel)).mean()
    assert np.allclose(valid["channel_reuse"], valid["topic_id"].map(channel).map(reuse).fillna(0.0))
    recall = pd.read_csv(work / "recall_candidates.csv", index_col=0)
    assert {"tfidf", "zero-shot", "round1", "round2", "fusion"} <= set(recall.index)
    assert (work / "stage1_f2.csv").is_file()


def test_reranker_trains_out_of_fold_and_saves_its_post_processing(pipeline):
    from utils.data.folds import load_folds
    from utils.data.text import TextConfig, text_frames
    from utils.selection import cross_encoder
    from utils.selection.feature_ranker import FeatureRanker

    work, data = pipeline
    folds = load_folds(work)
    found = pd.read_parquet(work / "candidates.parquet")
    valid_topics = set(folds.loc[folds["fold"] == 0, "topic_id"])
    source = set(data.topics.loc[data.topics["category"] == "source", "id"])
    config = cross_encoder.RerankerConfig(train_top_k=3, negatives_per_positive=2)
    train_topics = cross_encoder.training_topics(found, folds, 0)
    assert train_topics and not train_topics & valid_topics and train_topics & source
    assert not set(cross_encoder.training_pairs(found, data.links, train_topics, config)["topic_id"]) & valid_topics
    folder = work / "reranker" / "retriever"
    model, saved, rule = cross_encoder.load(folder)  # reloads offline, with its settings
    assert saved.max_length == 32 and saved.train_top_k == 3
    texts = TextConfig().as_dict()  # 03's, recorded by 03, 04 and 05 for 06 to rebuild
    assert cross_encoder.settings(folder)["recall"] == {
        "top_k": 20, "tfidf": True, "zero_shot": "sentence-transformers/all-MiniLM-L6-v2", "pool_factor": 3.0, "max_length": 32,
        "text": texts}
    assert json.loads((work / "retriever" / "round2" / "fit.json").read_text())["text"] == texts
    report = pd.read_csv(work / "reranker" / "f2.csv", index_col="pipeline")
    valid = found[found["topic_id"].isin(valid_topics)]
    truth = data.correlations[data.correlations["topic_id"].isin(valid_topics)]
    topics, content = text_frames(data)
    scored = cross_encoder.score(model, valid, topics.set_index("id")["text"],
                            content.set_index("id")["text"], saved)
    chosen = rule.apply(scored)  # every validation topic gets at least one item
    assert set(chosen) == set(valid["topic_id"]) and all(chosen.values())
    # the saved rule is the in-sample best: what 05 reports beside the honest figure
    in_sample = report.loc["two stages: reranker from retriever", "in-sample f2"]
    assert rule.quality(scored, truth)["f2"] == pytest.approx(in_sample, abs=1e-6)
    assert (report["honest f2"] <= report["in-sample f2"] + 0.05).all()
    assert {"stage 1: fused list, top-k", "stage 1: retriever cosine",
            "two stages: the selected reranker"} <= set(report.index)
    # the feature ranker beside it, and the better of the two selected for the submission
    features, _, features_rule = cross_encoder.load(work / "reranker" / "features")
    assert isinstance(features, FeatureRanker)
    pipelines = report.loc[["two stages: reranker from retriever", "two stages: feature ranker"], "in-sample f2"]
    assert cross_encoder.pipeline_name(cross_encoder.selected(work).name) == pipelines.idxmax()
    families = pd.read_csv(work / "reranker" / "rules.csv", index_col=0, header=[0, 1])
    assert {"threshold", "relative", "at least n", "top-k"} <= set(families.index)
    assert (work / "figures" / "reranker.png").is_file()


def test_submission_is_complete_and_valid(pipeline):
    from test_review import Page

    from utils import submission

    work, data = pipeline
    written = submission.read(work / "submission.csv")
    requested = data.sample_submission["topic_id"]
    submission.check(written, requested, data.content["id"])  # raises if anything is off
    assert sorted(written["topic_id"]) == sorted(requested)
    page = Page((work / "review.html").read_text())  # the review page beside it: every topic, its items
    assert set(page.topics) == set(requested)
    for topic_id, items in zip(written["topic_id"], written["content_ids"].str.split()):
        assert [c for c, _ in page.topics[topic_id]["selected"]] == items
    printed = "".join("".join(o.get("text", "")) for o in outputs(work / "notebooks" / "06_submission.ipynb"))
    looked_up = re.search(r"main: ([\d,]+) content embeddings looked up, ([\d,]+) embedded", printed)
    assert looked_up and looked_up[1] != "0" and looked_up[2] == "0"  # 04's vectors, nothing embedded again


@pytest.mark.parametrize("model, rerank_top_k", [("retriever", None), ("features", None),
                                                 ("selected", 5)])
def test_validation_fold_submission_scores_what_the_reranker_reported(pipeline, tiny_dir, tmp_path,
                                                                     model, rerank_top_k):
    """06 on 05's validation topics, in float32, scores what 05 reported, with the
    cross-encoder, the feature ranker, and in the CPU mode (a cross-encoder reranks only the fused top R; a
    feature ranker still reads every candidate)."""
    import shutil

    from utils import score
    from utils.selection import cross_encoder

    work, _ = pipeline
    folder = cross_encoder.selected(work) if model == "selected" else work / "reranker" / model
    (tmp_path / "work").mkdir()
    shutil.copy(work / "folds.csv", tmp_path / "work")  # 06 predicts 03's validation fold
    elsewhere = run.run(data=str(tiny_dir), work=tmp_path / "work", only=["06"], log=lambda *_: None,
                        params={"PREDICT": "valid", "RERANKER": str(folder),
                                "RETRIEVER": str(work / "retriever" / "round2"),
                                "RERANK_TOP_K": rerank_top_k,
                                "INT8": False})  # 05 scored in float32: the same numbers
    f2 = score.evaluate(elsewhere / "submission.csv", tiny_dir, elsewhere / "requested.csv").f2
    page = (elsewhere / "review.html").read_text()  # with the validation fold's links: its F2 is the score's
    assert float(re.search(r"mean F2 <b>([\d.]+)</b>", page)[1]) == pytest.approx(f2, abs=5e-4)
    reported = pd.read_csv(work / "reranker" / "f2.csv", index_col="pipeline")["in-sample f2"]
    row = (cross_encoder.pipeline_name(folder.name) if rerank_top_k is None or folder.name == "features"
           else f"two stages: the selected reranker, only the fused top {rerank_top_k} reranked")
    assert f2 == pytest.approx(reported[row], abs=1e-3)


def test_submission_fallbacks(pipeline, tiny_copy, tmp_path):
    """A topic whose language has no content, a threshold no candidate reaches, and a
    reranker trained on other texts than the retriever's; the encoders in int8."""
    import shutil

    from utils import submission
    from utils.selection import cross_encoder

    work, _ = pipeline
    topics = pd.read_csv(tiny_copy / "topics.csv", dtype=str, keep_default_na=False)
    orphan = pd.read_csv(tiny_copy / "sample_submission.csv", dtype=str)["topic_id"].iloc[0]
    topics.loc[topics["id"] == orphan, "language"] = "zz"  # no content in language "zz"
    topics.to_csv(tiny_copy / "topics.csv", index=False)
    strict = shutil.copytree(cross_encoder.selected(work), tmp_path / "strict", ignore=shutil.ignore_patterns("trainer"))
    rule = json.loads((strict / "postprocess.json").read_text())
    (strict / "postprocess.json").write_text(json.dumps({**rule, "threshold": 1.01, "fill": 2, "min_items": 0}))
    settings = json.loads((strict / "reranker.json").read_text())
    settings["recall"]["text"]["description_first"] = False
    (strict / "reranker.json").write_text(json.dumps(settings))
    elsewhere = run.run(data=str(tiny_copy), work=tmp_path / "work", only=["06"], log=lambda *_: None,
                        params={"RERANKER": str(strict), "RETRIEVER": str(work / "retriever" / "round2"),
                                "INT8": True})  # and the CPU's int8 path
    written = submission.read(elsewhere / "submission.csv")
    items = written.set_index("topic_id")["content_ids"].str.split()
    assert orphan in items.index and (items.str.len() == 2).all()  # the fill: best 2 each
    language = pd.read_csv(tiny_copy / "content.csv", dtype=str).set_index("id")["language"]
    assert "zz" not in set(language[items[orphan]])  # found in other languages
    executed = elsewhere / "notebooks" / "06_submission.ipynb"
    printed = "".join("".join(o.get("text", "")) for o in outputs(executed))
    assert "reranker texts: TextConfig(" in printed and "description_first=False" in printed
    assert "1 topic(s) to predict are in a language without content ('zz')" in printed  # counted
    assert "inference: int8 (ONNX Runtime)" in printed


def test_a_new_curriculum_takes_the_new_channel_pipeline(pipeline, tmp_path):
    """05 saves the new-channel pipeline beside the selected model, with its rule chosen on the
    training topics; 06 sends a topic whose channel has too few known linked topics to it:
    here every requested topic, once the saved threshold is raised above every channel's."""
    import shutil

    from utils import submission
    from utils.selection import cross_encoder, newchannel, stage2

    work, data = pipeline
    report = pd.read_csv(work / "reranker" / "new_channel.csv", index_col=0)
    assert list(report.index) == [stage2.FLOOR, stage2.FUSED]
    regimes = pd.read_csv(work / "reranker" / "regimes.csv", index_col=0)
    assert regimes.loc["all", "topics"] == regimes.drop(index="all")["topics"].sum()
    new = pd.read_parquet(work / newchannel.CANDIDATES_FILE)
    assert {"pool_rank", "zero_shot_rank", "supply"} <= set(new.columns)
    strict = shutil.copytree(cross_encoder.selected(work), tmp_path / "strict", ignore=shutil.ignore_patterns("trainer"))
    settings_file = strict / stage2.NEW_CHANNEL / f"{stage2.NEW_CHANNEL}.json"
    settings = json.loads(settings_file.read_text())
    assert settings["min_known"] == 3
    settings_file.write_text(json.dumps({**settings, "min_known": 1000}))
    elsewhere = run.run(data=str(data.path), work=tmp_path / "work", only=["06"], log=lambda *_: None,
                        params={"RERANKER": str(strict), "RETRIEVER": str(work / "retriever" / "round2")})
    written = submission.read(elsewhere / "submission.csv")
    submission.check(written, data.sample_submission["topic_id"], data.content["id"])
    printed = "".join("".join(o.get("text", "")) for o in outputs(elsewhere / "notebooks" / "06_submission.ipynb"))
    assert f"0 of channels with known links (in-channel), {len(written)} of new curricula" in printed


def test_the_transfer_and_curator_benchmarks_read_a_folds_files(pipeline, tmp_path):
    """bench/transfer.py's report and bench/curator.py's curve on the files a fold keeps: one
    row per held-out channel; at k = 0 the curve's new-channel pipeline is notebook 05's."""
    import importlib.util

    from utils.data.folds import load_folds

    def load(name):
        spec = importlib.util.spec_from_file_location(name, run.NOTEBOOKS.parent / "bench" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    transfer, curator = load("transfer"), load("curator")
    work, data = pipeline
    kept = tmp_path / "fold0"
    transfer.keep(work, kept)
    folds = load_folds(work)
    valid = folds.loc[folds["fold"] == 0, "topic_id"]
    channels = data.topics.set_index("id").loc[valid, "channel"].unique()
    transfer.channels_table(data, [list(channels)]).to_csv(kept / transfer.CHANNELS_FILE, index=False)
    rows = transfer.channel_rows(kept, data)
    assert sorted(rows["topics"]) == sorted(data.topics.set_index("id").loc[valid, "channel"].value_counts())
    columns = ["new channel", "floor", "floor, k chosen on the channel", "in-channel pipeline, rule chosen on the channel"]
    assert rows[columns].apply(lambda c: c.between(0, 1)).all().all()
    assert "| mean ± std over" in transfer.report(tmp_path, data)
    curve = curator.curve(kept, data, ks=(0, 2), draws=2)
    at_zero = curve[curve["k"] == 0].set_index("channel")["new channel"]
    np.testing.assert_allclose(at_zero[rows["channel"]], rows["new channel"])
    assert curve.loc[curve["k"] == 2, "new channel"].notna().all()
    assert "| channel | category | k |" in curator.markdown(curve)


def test_notebook_06_stops_when_the_wheels_are_for_another_python(pipeline, tiny_dir, tmp_path):
    """Models saved with another scikit-learn, wheels attached but built for another Python: 06
    stops before pip runs, naming both Pythons."""
    import shutil
    import sys

    from utils import paths
    from utils.kaggle import versions
    from utils.selection import cross_encoder

    work, _ = pipeline
    ignore = shutil.ignore_patterns("trainer")
    models = {"reranker": shutil.copytree(cross_encoder.selected(work), tmp_path / "reranker", ignore=ignore),
              "retriever": shutil.copytree(work / "retriever" / "round2", tmp_path / "retriever", ignore=ignore)}
    for folder, marker in ((models["reranker"], cross_encoder.SETTINGS_FILE), (models["retriever"], paths.RETRIEVER_MARKER)):
        settings = json.loads((folder / marker).read_text())
        settings[versions.KEY] = {**settings[versions.KEY], "scikit-learn": "0.0.1"}
        (folder / marker).write_text(json.dumps(settings))
    wheels = tmp_path / "input" / "datasets" / "someone" / "lecr-wheels" / "versions" / "1"
    wheels.mkdir(parents=True)
    (wheels / versions.WHEELS_FILE).write_text(json.dumps({"python": ["3.9"]}))
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    with pytest.raises(SystemExit, match=rf"built for Python 3\.9, but this kernel runs Python {here}"):
        run.run(data=str(tiny_dir), work=tmp_path / "work", only=["06"], log=lambda *_: None,
                params={"RERANKER": str(models["reranker"]), "RETRIEVER": str(models["retriever"]),
                        "INPUT_DIR": str(tmp_path / "input")})


def test_submission_rejects_an_unknown_requested_topic(tiny_copy, tmp_path):
    sample = pd.read_csv(tiny_copy / "sample_submission.csv", dtype=str)
    sample.loc[len(sample)] = ["t_000000000000", ""]
    sample.to_csv(tiny_copy / "sample_submission.csv", index=False)
    with pytest.raises(SystemExit, match="sample_submission.csv: topic_id not in topics.csv"):
        run.run(data=str(tiny_copy), work=tmp_path / "work", only=["06"], log=lambda *_: None)


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


def test_package_makes_kaggle_dataset_folders_the_submission_finds(pipeline, tmp_path):
    from utils import paths
    from utils.kaggle import package
    from utils.models import load_bi_encoder as load_model
    from utils.retrieval.retriever import FIT_FILE
    from utils.selection import cross_encoder

    work, _ = pipeline
    folders = package.package(work, tmp_path, owner="someone", half=True)
    assert {p.name for p in tmp_path.iterdir()} == {"lecr-utils", "lecr-retriever", "lecr-reranker"}
    for name, folder in folders.items():
        meta = json.loads((folder / "dataset-metadata.json").read_text())
        assert meta["id"] == f"someone/lecr-{name}"
        assert not list(folder.rglob("trainer")) and not list(folder.rglob("__pycache__"))
    assert (folders["utils"] / "utils" / "__init__.py").is_file()
    # as attached datasets under /kaggle/input: found by their marker files, and they load
    assert paths.model_dir(None, None, FIT_FILE, "retriever", tmp_path) == folders["retriever"]
    assert paths.model_dir(None, None, cross_encoder.SETTINGS_FILE, "reranker", tmp_path) == folders["reranker"]
    model = load_model(folders["retriever"])
    assert next(model.parameters()).dtype == __import__("torch").float32  # half on disk, fp32 loaded
    _, config, rule = cross_encoder.load(folders["reranker"])
    assert rule == cross_encoder.load(cross_encoder.selected(work))[2]


def test_package_downloads_and_packages_the_training_kernels_output(pipeline, tmp_path, monkeypatch):
    import shutil

    import kagglehub

    from utils.kaggle import package

    work, _ = pipeline

    def download(handle, path=None, *, force_download=False, output_dir=None):  # kagglehub's signature
        assert handle == "someone/lecr-train"
        shutil.copytree(work, output_dir, ignore=shutil.ignore_patterns("notebooks", "figures"))
        return output_dir

    monkeypatch.setattr(kagglehub, "notebook_output_download", download)
    package.main(["--from-kernel", "someone/lecr-train", "--out", str(tmp_path), "--owner", "someone"])
    assert (tmp_path / "lecr-retriever" / "fit.json").is_file()
    assert (tmp_path / "lecr-reranker" / "reranker.json").is_file()
    assert (tmp_path / "lecr-submission" / "kernel-metadata.json").is_file()


def test_kaggle_round_trip_predicts_offline_as_the_local_run(pipeline, tiny_dir, tmp_path):
    """Package, upload (what kagglehub's upload keeps of each folder), lay the datasets out as
    Kaggle mounts them (nested, beside the competition data), then run a copy of notebook 06
    in a fresh process from an empty working folder where ``import utils`` cannot find the
    project: it writes the local run's submission."""
    import os
    import shutil
    import subprocess
    import sys

    from utils import paths
    from utils.kaggle import package

    work, _ = pipeline
    folders = package.package(work, tmp_path / "datasets", owner="someone")
    kaggle_input = tmp_path / "input"
    for name, folder in folders.items():
        if name != "utils":
            package.check_portable(folder)
        mounted = kaggle_input / "datasets" / "someone" / folder.name / "versions" / "1"
        for file in package.uploaded_files(folder):
            (mounted / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / file, mounted / file)
    shutil.copytree(tiny_dir, kaggle_input / paths.COMPETITION)
    kernel, working = tmp_path / "kernel", tmp_path / "working"
    kernel.mkdir()
    working.mkdir()
    shutil.copy(run.NOTEBOOKS / "06_submission.ipynb", kernel / "06_submission.ipynb")
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "LECR_WORK_DIR")}
    declared = run.declared_parameters(run.NOTEBOOKS / "06_submission.ipynb")
    parameters = {**{k: v for k, v in TINY.items() if k in declared},  # as the local run
                  "INPUT_DIR": str(kaggle_input), "WORK_DIR": str(working)}
    script = (f"import papermill as pm; pm.execute_notebook({str(kernel / '06_submission.ipynb')!r}, "
              f"{str(kernel / 'executed.ipynb')!r}, cwd={str(working)!r}, kernel_name='python3', "
              f"parameters={parameters!r})")
    result = subprocess.run([sys.executable, "-c", script], cwd=working, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    executed = json.loads((kernel / "executed.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", []))
    assert str(kaggle_input / "datasets" / "someone" / "lecr-retriever") in printed
    assert str(paths.PROJECT) not in printed  # utils came from the attached dataset
    submitted = pd.read_csv(working / "submission.csv")
    assert submitted.equals(pd.read_csv(work / "submission.csv"))


def test_executed_training_notebooks_print_short_cells(pipeline):
    """03 and 05 show one progress bar and a loss table per training run, not the trainers'
    per-step logs or the libraries' loading bars."""
    work, _ = pipeline
    for name in ("03_retriever_training", "05_reranker"):
        cells = json.loads((work / "notebooks" / f"{name}.ipynb").read_text())["cells"]
        for number, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
            lines = sum(len("".join(o.get("text", "")).splitlines()) if o["output_type"] == "stream"
                        else len("".join(o.get("data", {}).get("text/plain", "")).splitlines())
                        for o in cell.get("outputs", []))
            assert lines <= 30, f"{name}, code cell {number}: {lines} output lines"
            text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))
            assert "Warning" not in text and "{'loss'" not in text, (name, number, text[:500])


def test_quality_benchmark_reports_the_pipeline_folds(pipeline, tmp_path, capsys):
    """bench/quality.py reads the notebooks' figures of each fold folder (here one: the
    pipeline's, run as fold 0) into one table, a figure and a record."""
    import importlib.util

    work, _ = pipeline
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "fold0").symlink_to(work)
    spec = importlib.util.spec_from_file_location(
        "quality", Path(__file__).resolve().parents[1] / "bench" / "quality.py")
    quality = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quality)
    doc = tmp_path / "docs" / "RESULTS.md"
    doc.parent.mkdir()
    quality.main(["--work", str(tmp_path / "bench"), "--folds", "0", "1", "--report-only",
                  "--record", str(doc), "--name", "tiny"])
    text = doc.read_text()
    assert "not yet: [1, 2]" in text  # the split's three folds, not --folds'
    assert "| round2 |" in text and "| fusion |" in text
    assert "two stages: the selected reranker" in text
    assert (tmp_path / "docs" / "figures" / "quality_tiny.png").stat().st_size > 0
    # the kept result files alone (no model, no candidates) give the same report
    quality.keep(work, tmp_path / "kept" / "fold0")
    assert not (tmp_path / "kept" / "fold0" / "retriever" / "round1").exists()
    capsys.readouterr()
    quality.main(["--work", str(tmp_path / "kept"), "--folds", "0", "--report-only"])
    kept = capsys.readouterr().out
    assert "| fusion |" in kept and "two stages: the selected reranker" in kept


def test_int8_benchmark_compares_the_ways_on_the_pipeline(pipeline, tiny_dir, capsys):
    """bench/int8.py runs float32, torch's and ONNX Runtime's int8 (as exported and fused) and
    bfloat16 on a trained fold folder: their vectors agree with float32, and the whole path
    predicts with each; ``--speed-only`` reports the speed and agreement alone, ``--ways``
    some ways only."""
    import importlib.util

    work, _ = pipeline
    spec = importlib.util.spec_from_file_location(
        "int8", Path(__file__).resolve().parents[1] / "bench" / "int8.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--data", str(tiny_dir), "--work", str(work), "--fold", "0", "--sample", "40"])
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1]
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("| ") and ("int8" in line or "bf16" in line)}
    assert set(rows) == {"torch int8", "onnx int8", "onnx int8 fused", "bf16"}
    for cells in rows.values():
        cosine_mean, f2 = float(cells[1]), float(cells[4])
        assert 0.9 < cosine_mean <= 1.0001 and 0 < f2 <= 1
    assert float(rows["bf16"][1]) > 0.999
    bench.main(["--data", str(tiny_dir), "--work", str(work), "--speed-only", "--sample", "40",
                "--ways", "bf16"])
    printed = capsys.readouterr().out.splitlines()
    assert [line for line in printed if line.startswith("| |")] == [
        "| | texts/s | cosine mean | cosine min | speed-up |"]
    assert [line.split("|")[1].strip() for line in printed if line.startswith("| ") and
            not line.startswith("| |")] == ["fp32", "bf16"]


def test_reranker_notebook_resumes_a_saved_cross_encoder(pipeline, tiny_dir):
    """05 with RESUME reuses the cross-encoder saved with the same settings and training
    pairs (run last: it rewrites the pipeline's reranker folder, with the same figures)."""
    from utils.selection import cross_encoder

    work, _ = pipeline
    folder = work / "reranker" / "retriever"
    before = pd.read_csv(work / "reranker" / "f2.csv", index_col="pipeline")
    saved = cross_encoder.settings(folder)
    config = cross_encoder.RerankerConfig.from_dict(saved)
    details = {k: saved[k] for k in ("valid_fold", "train_topics", "recall", "backbone", "train_pairs")}
    assert cross_encoder.trained(folder, config, **{**details, "train_pairs": saved["train_pairs"] + 1}) is None
    assert cross_encoder.trained(folder, cross_encoder.RerankerConfig(**{**config.as_dict(), "epochs": 2}),
                            **details) is None
    run.run(data=str(tiny_dir), work=work, only=["05"], params={**TINY, "RESUME": True},
            log=lambda *_: None)
    executed = work / "notebooks" / "05_reranker.ipynb"
    printed = "".join("".join(o.get("text", "")) for o in outputs(executed))
    assert "reusing the saved cross-encoder" in printed
    after = pd.read_csv(work / "reranker" / "f2.csv", index_col="pipeline")
    pd.testing.assert_frame_equal(after, before)


def test_gpu_profile_runs_end_to_end(tiny_dir, tmp_path):
    """--profile gpu's settings (two rounds for each out-of-fold retriever, both cross-encoder
    backbones, every training pair) through notebooks 02-05, the training sizes cut for a CPU."""
    from utils.retrieval.retriever import trained
    from utils.selection import cross_encoder

    assert {"OOF_ROUNDS", "BACKBONES", "RERANKER_MAX_PAIRS"} <= set(run.PROFILES["gpu"])
    cut = {"N_SPLITS": 3, "EPOCHS": 0.2, "NEGATIVE_EPOCHS": 0.2, "MAX_LENGTH": 24, "MAX_PAIRS": 96,
           "TRAINING": {"top_n": 10}, "TOP_K": 10, "TRAIN_TOP_K": 3, "RERANKER_EPOCHS": 0.1, "RERANKER_MAX_LENGTH": 24}
    work = run.run(data=str(tiny_dir), work=tmp_path / "work", profile="gpu", only=["02", "03", "04", "05"],
                   params=cut, log=lambda *_: None, inline=True)
    rounds = {name: folder.name for name, (folder, _) in trained(work / "retriever").items()}
    assert rounds == {"main": "round2", "oof1": "round2", "oof2": "round2"}  # OOF_ROUNDS = 2
    for backbone in run.PROFILES["gpu"]["BACKBONES"]:
        saved = cross_encoder.settings(work / "reranker" / backbone)
        assert saved["max_length"] == 24 and saved["max_pairs"] is None and saved["batch_size"] == 64
    # "base": the model 03 fine-tuned the retriever from
    assert cross_encoder.settings(work / "reranker" / "base")["backbone"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert (work / "reranker" / "f2.csv").is_file()
