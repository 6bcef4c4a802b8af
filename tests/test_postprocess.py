import pandas as pd
import pytest

from utils.metrics import mean_f2
from utils.postprocess import PostProcess, select, tune

SCORED = pd.DataFrame({
    "topic_id": ["t1"] * 4 + ["t2"] * 3 + ["t3"] * 2,
    "content_id": ["a", "b", "c", "d", "x", "y", "z", "p", "q"],
    "score": [0.95, 0.9, 0.5, 0.1, 0.4, 0.35, 0.3, 0.2, 0.1],
})
TRUTH = {"t1": "a b", "t2": "x y", "t3": "p"}


def test_select_threshold_relative_and_fill():
    assert select(SCORED, "score", 0.6) == {"t1": ["a", "b"], "t2": ["x"], "t3": ["p"]}
    assert select(SCORED, "score", 0.6, fill=2)["t3"] == ["p", "q"]
    assert select(SCORED, "score", 0.3, relative=0.85)["t2"] == ["x", "y"]  # z: 0.3 < 0.34
    assert select(SCORED, "score", 0.0, relative=0.99)["t1"] == ["a"]
    # every topic gets at least one item, whatever the threshold
    assert set(select(SCORED, "score", 2.0)) == {"t1", "t2", "t3"}


def test_tune_finds_the_best_rule_and_round_trips(tmp_path):
    rule, grid = tune(SCORED, TRUTH, thresholds=[0.3, 0.6, 0.92], relatives=(None, 0.8),
                      fills=(1, 2))
    assert mean_f2(rule.apply(SCORED), TRUTH) == pytest.approx(grid["f2"].max())
    assert grid["f2"].max() == pytest.approx(1.0)  # e.g. threshold 0.6 with relative 0.8
    saved = rule.save(tmp_path / "postprocess.json")
    assert PostProcess.load(saved) == rule


def test_select_fills_by_an_order_column_when_given():
    ranked = SCORED.assign(rank=[2, 1, 3, 4, 1, 2, 3, 2, 1])
    assert select(ranked, "score", 2.0)["t3"] == ["p"]
    assert select(ranked, "score", 2.0, order="rank")["t3"] == ["q"]


def test_a_blend_of_one_is_stage_1_alone_and_needs_no_reranker():
    from utils.reranker import RerankerConfig, score_for, to_rerank

    noisy = SCORED.assign(retriever_score=SCORED["score"], score=[0.1, 0.9, 0.8, 0.7, 0.2, 0.1, 0.9, 0.1, 0.9])
    rule, _ = tune(noisy, TRUTH, relatives=(None, 0.8), fills=(1, 2), blends=(0.0, 0.5, 1.0))
    assert rule.blend == 1.0 and not rule.needs_score
    assert rule.quality(noisy, TRUTH)["f2"] == pytest.approx(1.0)
    unscored = noisy.drop(columns="score")
    # the model is never called: None stands in for it
    scored = score_for(rule, None, unscored, pd.Series(dtype=str), pd.Series(dtype=str), RerankerConfig())
    assert rule.apply(scored) == rule.apply(noisy)
    ranked = noisy.assign(rank=[1, 2, 3, 4, 1, 2, 3, 1, 2])
    assert len(to_rerank(ranked, rule, 1)) == len(ranked)  # no reranker: the CPU mode cuts nothing
    assert len(to_rerank(ranked, PostProcess(0.5, blend=0.5), 1)) == 3
    assert PostProcess(0.5, blend=0.5).needs_score
