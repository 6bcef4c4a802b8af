import numpy as np
import pandas as pd
import pytest

from utils.metrics import mean_f2, recall_at_k, scores_per_topic

TRUE = {"t1": "a b c d", "t2": "x"}


def test_f2_hand_computed():
    # t1: 2 of 3 predicted are right, 2 of 4 found: P=2/3, R=1/2, F2=5PR/(4P+R)=10/19
    # t2: nothing predicted scores 0
    pred = {"t1": "a b z", "t2": ""}
    assert mean_f2(pred, TRUE) == pytest.approx((10 / 19 + 0) / 2)
    scores = scores_per_topic(pred, TRUE)
    assert scores.loc["t1", "precision"] == pytest.approx(2 / 3)
    assert scores.loc["t1", "recall"] == pytest.approx(0.5)


def test_f2_perfect_missing_and_submission_frame():
    sub = pd.DataFrame({"topic_id": ["t1", "t2"], "content_ids": ["d c b a", "x"]})
    assert mean_f2(sub, TRUE) == 1.0
    assert mean_f2({"t1": "a b c d"}, TRUE) == 0.5  # a topic missing from the prediction scores 0
    assert mean_f2({"t1": ["a", "a", "a"], "t2": ["x"]}, TRUE) == pytest.approx(
        (5 * 1 * 0.25 / (4 + 0.25) + 1) / 2)  # repeated ids count once


def test_recall_at_k():
    ranked = {"t1": ["z", "a", "b", "y", "c"], "t2": ["q", "r"]}
    recall = recall_at_k(ranked, TRUE, ks=[1, 2, 5])
    assert recall.loc[1] == 0.0
    assert recall.loc[2] == pytest.approx((1 / 4 + 0) / 2)
    assert recall.loc[5] == pytest.approx((3 / 4 + 0) / 2)


def test_f_beta_from_counts_is_the_metrics_f2():
    """One F2: from counts (the rule tables') as from the sets (scores_per_topic)."""
    from utils.metrics import f_beta

    pred = {"t1": ["a", "b", "c"], "t2": ["x"], "t3": ["q"]}
    true = {"t1": ["a", "d"], "t2": ["x", "y", "z"], "t3": ["p"]}
    per_topic = scores_per_topic(pred, true)
    counts = f_beta([1, 1, 0], [3, 1, 1], [2, 3, 1])
    np.testing.assert_allclose(counts, per_topic.loc[["t1", "t2", "t3"], "f2"])
    assert counts[0] == pytest.approx(5 * 1 / (4 * 2 + 3))
    assert f_beta(0, 0, 0) == 0.0  # nothing kept, nothing true
