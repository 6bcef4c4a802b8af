import pandas as pd
import pytest

from utils.data.folds import TRAIN_ONLY, Holdout, holdout_plan
from utils.retrieval.candidates import assign_retrievers
from utils.selection import cross_encoder
from utils.selection.postprocess import PostProcess

FOLDS = pd.DataFrame({"topic_id": ["s", "r", "q", "v1", "v2", "a", "b", "c", "d"],
                      "fold": [TRAIN_ONLY, TRAIN_ONLY, TRAIN_ONLY, 0, 0, 1, 2, 3, 4],
                      "oof_group": [0, 1, 2, -1, -1, -1, -1, -1, -1]})


def test_holdout_plan_leaves_each_group_out_with_the_validation_fold():
    assert holdout_plan(FOLDS, 0, 0) == {"main": Holdout([0])}
    assert holdout_plan(FOLDS, 0, 2) == {"main": Holdout([0]), "oof1": Holdout([0, 1, 3], [0, 2]),
                                         "oof2": Holdout([0, 2, 4], [1])}
    assert holdout_plan(FOLDS, 2, 4)["oof4"] == Holdout([2, 4], [])  # k-fold over the other folds
    assert holdout_plan(FOLDS, 0, 2)["oof1"].topics(FOLDS) == {"s", "q", "v1", "v2", "a", "c"}
    assert holdout_plan(FOLDS.drop(columns="oof_group"), 0, 1)["oof1"] == Holdout([0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="between 0 and 4"):
        holdout_plan(FOLDS, 0, 5)
    held = Holdout([0, 3], [1])
    assert Holdout.from_dict(held.as_dict()) == held and "holdout_groups" not in Holdout([0]).as_dict()


def test_topics_go_to_a_retriever_that_never_trained_on_them():
    plan = holdout_plan(FOLDS, 0, 2)
    serving = assign_retrievers([*FOLDS["topic_id"], "unlabelled"], FOLDS, plan).set_index("topic_id")
    assert serving["retriever"].to_dict() == {"s": "oof1", "r": "oof2", "q": "oof1", "v1": "main",
                                              "v2": "main", "a": "oof1", "b": "oof2", "c": "oof1",
                                              "d": "oof2", "unlabelled": "main"}
    assert not serving["in_fold"].any()
    # without out-of-fold retrievers, the other folds are in-fold candidates of the main one
    alone = assign_retrievers(FOLDS["topic_id"], FOLDS, {"main": [0]}).set_index("topic_id")
    assert alone.loc[["a", "b", "s"], "in_fold"].all() and not alone.loc[["v1", "v2"], "in_fold"].any()
    # a folds table without out-of-fold groups: training-only topics stay in-fold with main
    old = assign_retrievers(FOLDS["topic_id"], FOLDS.drop(columns="oof_group"), plan).set_index("topic_id")
    assert old.loc[["s", "r"], "retriever"].eq("main").all() and old.loc[["s", "r"], "in_fold"].all()


@pytest.fixture
def candidates():
    rows = []
    for topic in FOLDS["topic_id"]:
        for rank in range(1, 6):
            rows.append({"topic_id": topic, "content_id": f"{topic}-{rank}", "rank": rank,
                         "label": int(rank in (1, 4))})
    frame = pd.DataFrame(rows)
    serving = assign_retrievers(FOLDS["topic_id"], FOLDS, holdout_plan(FOLDS, 0, 2))
    return frame.merge(serving, on="topic_id")


def test_training_topics_exclude_validation_and_in_fold(candidates):
    assert cross_encoder.training_topics(candidates, FOLDS, 0) == {"s", "r", "q", "a", "b", "c", "d"}
    in_fold = candidates.assign(in_fold=candidates["topic_id"].isin(["a", "s"]))
    assert cross_encoder.training_topics(in_fold, FOLDS, 0) == {"r", "q", "b", "c", "d"}


def test_training_pairs_top_k_missed_links_and_negative_sampling(candidates):
    links = pd.DataFrame({"topic_id": ["a", "a", "a", "v1"], "content_id": ["a-1", "a-4", "a-x", "v1-1"]})
    config = cross_encoder.RerankerConfig(train_top_k=3, negatives_per_positive=None, max_pairs=None)
    pairs = cross_encoder.training_pairs(candidates, links, {"a", "b"}, config)
    assert set(pairs["topic_id"]) == {"a", "b"} and len(pairs) == 8
    added = pairs[pairs["rank"] > 3]  # a-4 ranked below the top 3, a-x never recalled: both added
    assert set(added["content_id"]) == {"a-4", "a-x"} and (added["rank"] == 4).all()
    assert (added["label"] == 1).all() and len(pairs[pairs["topic_id"] == "a"]) == 5
    sampled = cross_encoder.training_pairs(candidates, links, {"a", "b", "c", "d"}, cross_encoder.RerankerConfig(
        train_top_k=5, negatives_per_positive=1, max_pairs=None))
    assert (sampled["label"] == 1).sum() == 9 and (sampled["label"] == 0).sum() == 9
    capped = cross_encoder.training_pairs(candidates, links, {"a", "b", "c", "d"}, cross_encoder.RerankerConfig(
        train_top_k=5, negatives_per_positive=1, max_pairs=5))
    assert len(capped) == 5 and set(zip(capped["topic_id"], capped["content_id"])) <= set(
        zip(sampled["topic_id"], sampled["content_id"]))


def test_rank_is_written_in_front_of_the_candidate_text():
    rows = pd.DataFrame({"topic_id": ["t"], "content_id": ["c"], "rank": [3]})
    topic, content = pd.Series({"t": "Fractions"}), pd.Series({"c": "video | Adding fractions"})
    assert cross_encoder.pair_texts(rows, topic, content) == (["Fractions"], ["rank 3 | video | Adding fractions"])


def test_training_needs_both_labels():
    pairs = pd.DataFrame({"topic_id": ["t"], "content_id": ["c"], "rank": [1], "label": [0]})
    with pytest.raises(ValueError, match="positive and negative"):
        cross_encoder.train(None, pairs, pd.Series(dtype=str), pd.Series(dtype=str),
                       cross_encoder.RerankerConfig(), "/tmp/unused")


def test_load_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="reranker.json, postprocess.json"):
        cross_encoder.load(tmp_path)
    PostProcess(0.5).save(tmp_path / "postprocess.json")
    with pytest.raises(FileNotFoundError, match="missing reranker.json"):
        cross_encoder.load(tmp_path)
