import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from utils.data.load import LECRData
from utils.selection import cross_encoder
from utils.selection.feature_ranker import (FEATURES, GROUPS, FeatureRanker, RankerConfig, features,
                                            importances)
from utils.selection.postprocess import PostProcess


def test_features_read_ranks_gaps_hubs_and_the_items(recalled):
    candidates, data = recalled
    found = features(candidates, data)
    assert list(found.columns) == FEATURES and len(found) == len(candidates)
    assert (found["retriever_gap"] <= 0).all() and (found["retriever_ratio"] <= 1).all()
    assert (found["item_gap"] <= 0).all()
    best = candidates.loc[candidates.groupby("content_id")["retriever_score"].idxmax()]
    assert (found.loc[best.index, "item_gap"] == 0).all()  # each item's best topic
    assert found["hub"].between(0, 1, inclusive="right").all()
    assert found["kind"].notna().all() and found["level"].notna().all()
    stacked = features(candidates.set_axis([0] * len(candidates)), data)  # a non-unique index
    pd.testing.assert_frame_equal(stacked.reset_index(drop=True), found.reset_index(drop=True))
    without_tfidf = features(candidates.drop(columns=["tfidf_rank", "tfidf_score"]), data)
    assert without_tfidf[["tfidf_rank", "tfidf_score", "tfidf_gap", "tfidf_best"]].isna().all().all()
    # a ranker trained without TF-IDF leaves its features out (missing everywhere: nothing to learn)
    plain = candidates.drop(columns=["tfidf_rank", "tfidf_score"])
    model = FeatureRanker.fit(plain, data, RankerConfig(max_iter=5, min_samples_leaf=5))
    assert {"tfidf_rank", "tfidf_score", "tfidf_gap", "tfidf_best"} <= set(model.config.drop)
    assert model.score(plain, data)["score"].between(0, 1).all()


def test_the_topic_range_category_and_title_features_on_a_hand_made_case():
    topics = pd.DataFrame({"id": ["t1", "t2"], "title": ["3: Fractions", "Shapes"],
                           "description": ["", "Circles and squares"], "category": ["aligned", "source"],
                           "level": [2, 1], "language": ["en", "en"]})
    content = pd.DataFrame({"id": ["a", "b", "c"], "title": ["3.1 fractions of a whole", "Fractions", "Squares"],
                            "description": ["", "halves", ""], "kind": ["video", "exercise", "html5"],
                            "text": ["", "", "some text"], "language": ["en"] * 3})
    data = LECRData("hand-made", topics, content, pd.DataFrame(columns=["topic_id", "content_ids"]),
                    pd.DataFrame(columns=["topic_id", "content_ids"]))
    candidates = pd.DataFrame({"topic_id": ["t1", "t1", "t2"], "content_id": ["a", "b", "c"],
                               "rank": [1, 2, 1], "votes": [2, 1, 1], "mean_score": [0.8, 0.5, 0.6],
                               "retriever_rank": [1.0, 2.0, 1.0], "retriever_score": [0.9, 0.5, 0.6],
                               "tfidf_rank": [1.0, np.nan, np.nan], "tfidf_score": [0.7, np.nan, np.nan]})
    found = features(candidates, data)
    assert found["retriever_best"].tolist() == [0.9, 0.9, 0.6]
    assert found["retriever_worst"].tolist() == [0.5, 0.5, 0.6]
    assert found["tfidf_best"].iloc[:2].tolist() == [0.7, 0.7] and np.isnan(found["tfidf_best"].iloc[2])
    assert found["category"].tolist() == [1, 1, 0]  # utils.data.load.CATEGORIES: source, aligned, ...
    assert found["starts_same"].tolist() == [0, 0, 0]  # "3:" against "3.1" and "fractions"
    assert found["same_chapter"].iloc[0] == 1 and found["same_chapter"].iloc[1:].isna().all()
    renamed = topics.assign(title=["Fractions", "squares and more"])
    again = features(candidates, LECRData("hand-made", renamed, content, data.correlations, data.sample_submission))
    assert again["starts_same"].tolist() == [0, 1, 1]  # first words, case aside
    assert set(FEATURES) >= {name for group in GROUPS.values() for name in group}


def test_the_gap_and_frame_features_on_a_hand_made_case():
    """Each score's gap to the topic's best, the ratio, the topic's candidate count, the hub
    share (the item's topics over its language's topics in the frame) and the gap to the item's
    best topic, by hand."""
    topics = pd.DataFrame({"id": ["t1", "t2", "t3"], "title": ["Fractions", "Halves", "Formes"],
                           "description": ["", "", ""], "category": ["aligned"] * 3, "level": [1, 1, 1],
                           "language": ["en", "en", "fr"]})
    content = pd.DataFrame({"id": ["a", "b", "c"], "title": ["Fractions", "Halves", "Carrés"],
                            "description": ["", "", ""], "kind": ["video"] * 3, "text": ["", "", ""],
                            "language": ["en", "en", "fr"]})
    data = LECRData("hand-made", topics, content, pd.DataFrame(columns=["topic_id", "content_ids"]),
                    pd.DataFrame(columns=["topic_id", "content_ids"]))
    candidates = pd.DataFrame({"topic_id": ["t1", "t1", "t2", "t3"], "content_id": ["a", "b", "a", "c"],
                               "rank": [1, 2, 1, 1], "votes": [2, 1, 2, 1], "mean_score": [0.8, 0.5, 0.5, 0.3],
                               "retriever_rank": [1.0, 2.0, 1.0, 1.0], "retriever_score": [0.9, 0.5, 0.6, 0.3],
                               "tfidf_rank": [1.0, np.nan, 1.0, np.nan], "tfidf_score": [0.7, np.nan, 0.4, np.nan]})
    found = features(candidates, data)
    np.testing.assert_allclose(found["retriever_gap"], [0.0, -0.4, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(found["retriever_ratio"], [1.0, 0.5 / 0.9, 1.0, 1.0])
    np.testing.assert_allclose(found["tfidf_gap"], [0.0, np.nan, 0.0, np.nan])
    np.testing.assert_allclose(found["mean_gap"], [0.0, -0.3, 0.0, 0.0], atol=1e-12)
    assert found["candidates"].tolist() == [2, 2, 1, 1]
    assert found["hub"].tolist() == [1.0, 0.5, 1.0, 1.0]  # a: both English topics; c: the one French
    np.testing.assert_allclose(found["item_gap"], [0.0, 0.0, -0.3, 0.0], atol=1e-12)  # a is t1's more than t2's


def test_feature_ranker_learns_saves_and_scores_through_the_reranker_api(recalled, tmp_path):
    candidates, data = recalled
    topics = candidates["topic_id"].unique()
    train, valid = (candidates[candidates["topic_id"].isin(part)] for part in np.array_split(topics, 2))
    model = FeatureRanker.fit(train, data, RankerConfig(max_iter=50, min_samples_leaf=5))
    scored = model.score(valid, data)
    assert roc_auc_score(scored["label"], scored["score"]) > 0.6  # true links ranked higher
    rule = PostProcess(threshold=0.3, blend=0.5)
    folder = cross_encoder.save(model, tmp_path / "features", model.config, rule, recall={"top_k": 12})
    loaded, config, saved_rule = cross_encoder.load(folder)
    assert isinstance(loaded, FeatureRanker) and config == model.config and saved_rule == rule
    again = cross_encoder.score_for(rule, loaded, valid, None, None, config, data=data)
    np.testing.assert_allclose(again["score"], scored["score"])
    assert len(cross_encoder.to_rerank(valid, rule, 3, loaded)) == len(valid)  # nothing cut
    with pytest.raises(ValueError, match="pass data="):
        cross_encoder.score_for(rule, loaded, valid, None, None, config)
    with pytest.raises(ValueError, match="positive and negative"):
        FeatureRanker.fit(train.assign(label=0), data)


def test_a_ranker_trained_on_other_features_says_so(recalled):
    candidates, data = recalled
    model = FeatureRanker.fit(candidates, data, RankerConfig(max_iter=5, min_samples_leaf=5))
    model.estimator.feature_names_in_ = np.array(FEATURES[1:], dtype=object)  # an older version's
    with pytest.raises(ValueError, match="retrain it with notebooks/05_reranker.ipynb"):
        model.score(candidates, data)


def test_a_packaged_feature_ranker_keeps_its_pickle(recalled, tmp_path):
    from utils.kaggle.package import _copy_model

    candidates, data = recalled
    model = FeatureRanker.fit(candidates, data, RankerConfig(max_iter=5, min_samples_leaf=5))
    folder = cross_encoder.save(model, tmp_path / "features", model.config, PostProcess(0.5))
    _copy_model(folder, tmp_path / "lecr-reranker", half=True, kind="reranker")  # nothing to halve
    loaded, _, _ = cross_encoder.load(tmp_path / "lecr-reranker")
    np.testing.assert_allclose(loaded.score(candidates, data)["score"], model.score(candidates, data)["score"])


def test_a_ranker_without_the_frame_features_scores_each_topic_as_in_any_frame(recalled, tmp_path):
    candidates, data = recalled
    config = RankerConfig(max_iter=20, min_samples_leaf=5, drop=["hub", "item_gap"])
    model = FeatureRanker.fit(candidates, data, config)
    assert config.drop == ("hub", "item_gap") and "hub" not in config.columns
    together = model.score(candidates, data)["score"]
    alone = pd.concat([model.score(group, data) for _, group in candidates.groupby("topic_id", sort=False)])
    np.testing.assert_allclose(alone.loc[together.index, "score"], together)
    folder = cross_encoder.save(model, tmp_path / "frame-free", model.config, PostProcess(0.5))
    loaded, saved, _ = cross_encoder.load(folder)
    assert saved == model.config and set(model.config.drop) >= set(config.drop)
    np.testing.assert_allclose(loaded.score(candidates, data)["score"], together)
    assert list(importances(loaded, candidates, data).index.sort_values()) == sorted(model.config.columns)
    with pytest.raises(ValueError, match="names no feature"):
        RankerConfig(drop=("hubs",))
