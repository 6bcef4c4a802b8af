import json

import numpy as np
import pandas as pd
import pytest

from utils.metrics import mean_f2
from utils.selection.postprocess import PostProcess
from utils.selection.tuning import by_family, compare, crossfit, rule_table, stage1_tables, transfer, tune

SCORED = pd.DataFrame({
    "topic_id": ["t1"] * 4 + ["t2"] * 3 + ["t3"] * 2,
    "content_id": ["a", "b", "c", "d", "x", "y", "z", "p", "q"],
    "score": [0.95, 0.9, 0.5, 0.1, 0.4, 0.35, 0.3, 0.2, 0.1],
})
TRUTH = {"t1": "a b", "t2": "x y", "t3": "p"}


def test_threshold_relative_and_fill():
    assert PostProcess(0.6).apply(SCORED) == {"t1": ["a", "b"], "t2": ["x"], "t3": ["p"]}
    assert PostProcess(0.6, fill=2).apply(SCORED)["t3"] == ["p", "q"]
    assert PostProcess(0.3, relative=0.85).apply(SCORED)["t2"] == ["x", "y"]  # z: 0.3 < 0.34
    assert PostProcess(0.0, relative=0.99).apply(SCORED)["t1"] == ["a"]
    # every topic gets at least one item, whatever the threshold
    assert set(PostProcess(2.0).apply(SCORED)) == {"t1", "t2", "t3"}


def test_each_rule_on_a_hand_made_case():
    # relative: at least 0.9 x the topic's best (t1: a, b; t2: x, y; t3: p)
    assert PostProcess(0.0, relative=0.85).apply(SCORED) == {"t1": ["a", "b"], "t2": ["x", "y"], "t3": ["p"]}
    # at least n: the best 2 whatever the threshold, and all above it
    assert PostProcess(0.45, min_items=2).apply(SCORED) == {"t1": ["a", "b", "c"], "t2": ["x", "y"],
                                                           "t3": ["p", "q"]}
    assert PostProcess(None, min_items=3).apply(SCORED)["t3"] == ["p", "q"]  # top-k: only 2 there
    # the blend of a stage-1 score
    blended = SCORED.assign(retriever_score=[0, 0, 1, 1, 0, 0, 1, 0, 1])
    assert PostProcess(0.6, blend=1.0).apply(blended)["t1"] == ["c", "d"]


def test_a_count_that_follows_the_topics_supply():
    """per_supply keeps the topic's best ceil(a x supply), at least min_items; a frame without
    supply keeps min_items alone; the rule table scores it as applying it would."""
    supplied = SCORED.assign(supply=[1.5] * 4 + [0.2] * 3 + [4.0] * 2)
    rule = PostProcess(None, min_items=1, per_supply=2.0)
    # t1: ceil(3.0) = 3; t2: ceil(0.4) = 1; t3: ceil(8) = 8, only 2 there
    assert rule.apply(supplied) == {"t1": ["a", "b", "c"], "t2": ["x"], "t3": ["p", "q"]}
    assert PostProcess(None, min_items=2, per_supply=2.0).apply(supplied)["t2"] == ["x", "y"]  # at least n
    assert rule.apply(SCORED) == {"t1": ["a"], "t2": ["x"], "t3": ["p"]}  # no supply column
    table = rule_table(supplied, TRUTH, ["supply"], skip_taken=(False,))
    for i in range(len(table.rules)):
        kept = table.rule(i).apply(supplied)
        assert table.kept[i].tolist() == [len(kept[t]) for t in table.topics]
    assert PostProcess.from_row({**rule.__dict__}).per_supply == 2.0


def test_skip_taken_leaves_out_what_the_channel_already_links_unless_nothing_else_is_left():
    taken = SCORED.assign(channel_links=[1, 0, 0, 0, 0, 2, 0, 1, 1])  # a (t1), y (t2), all of t3
    rule = PostProcess(0.0, relative=0.5, skip_taken=True)
    # t1: a is taken, so b leads and c (0.5 >= 0.45) joins; t2: y out; t3: every item taken, all read
    assert rule.apply(taken) == {"t1": ["b", "c"], "t2": ["x", "z"], "t3": ["p", "q"]}
    assert PostProcess(0.0, relative=0.5).apply(taken)["t1"] == ["a", "b", "c"]  # off: as before
    assert PostProcess(0.0, relative=0.5, skip_taken=True).apply(SCORED)["t1"] == ["a", "b", "c"]  # no column
    assert PostProcess.from_row({**rule.__dict__, "skip_taken": True}).skip_taken
    assert not PostProcess.from_row({**rule.__dict__, "skip_taken": np.nan}).skip_taken  # an older table
    assert not tune(SCORED, TRUTH)[0].skip_taken  # nothing taken: the same sets, and ties go to the rule without
    # a channel that reuses its items (a share at or above REUSE_GATE): nothing is skipped there
    reused = taken.assign(channel_reuse=[0.5] * 4 + [0.0] * 5)
    assert rule.apply(reused) == {"t1": ["a", "b", "c"], "t2": ["x", "z"], "t3": ["p", "q"]}


def test_a_saved_rule_keeps_the_reuse_gate_it_was_validated_with(tmp_path, monkeypatch):
    """The gate is part of the rule: saved with it, and what a loaded rule (or a rule table's
    rule) applies even after the module's default changes."""
    from utils.selection import postprocess

    reused = SCORED.assign(channel_links=[1, 0, 0, 0, 0, 2, 0, 1, 1], channel_reuse=0.05)
    rule = PostProcess(0.0, relative=0.5, skip_taken=True)
    assert rule.reuse_gate == postprocess.REUSE_GATE
    before = rule.apply(reused)
    assert before["t1"] == ["b", "c"]  # a taken, skipped (0.05 < the gate)
    path = rule.save(tmp_path / "postprocess.json")
    assert json.loads(path.read_text())["reuse_gate"] == postprocess.REUSE_GATE
    table = rule_table(reused, TRUTH, ["relative"])
    monkeypatch.setattr(postprocess, "REUSE_GATE", 0.01)  # a later default: 0.05 would reuse
    assert PostProcess.load(path).apply(reused) == before
    tabled = table.rule(int(np.flatnonzero(table.rules["skip_taken"].to_numpy())[0]))
    assert tabled.reuse_gate == 0.1 and tabled.skip_taken
    assert rule_table(reused, TRUTH, ["relative"]).reuse_gate == 0.01  # a new table reads the new one
    older = {k: v for k, v in json.loads(path.read_text()).items() if k != "reuse_gate"}
    (tmp_path / "older.json").write_text(json.dumps(older))  # saved before the gate was recorded
    assert PostProcess.load(tmp_path / "older.json").reuse_gate == 0.1  # the gate of that time


def test_a_rule_saved_with_a_field_since_removed_loads_only_if_it_is_unset(tmp_path):
    saved = {**json.loads(PostProcess(0.3, relative=0.5).save(tmp_path / "rule.json").read_text()),
             "gap": None, "item_gap": None, "expected_f2": None}  # as an earlier version saved it
    (tmp_path / "older.json").write_text(json.dumps(saved))
    assert PostProcess.load(tmp_path / "older.json") == PostProcess(0.3, relative=0.5)
    (tmp_path / "set.json").write_text(json.dumps({**saved, "expected_f2": 1.0}))
    with pytest.raises(ValueError, match="rerun notebook 05"):
        PostProcess.load(tmp_path / "set.json")


def test_rule_table_scores_every_rule_as_applying_it_would():
    shared = pd.concat([SCORED, pd.DataFrame({"topic_id": ["t2"], "content_id": ["c"], "score": [0.45]})])
    shared = shared.assign(retriever_score=np.linspace(0, 1, len(shared)),
                           channel_links=[0, 1, 0, 0, 3, 0, 0, 0, 0, 1])  # b (t1), x and c (t2) taken
    table = rule_table(shared, TRUTH, blends=(0.0, 0.5))
    half = len(table.rules) // 2
    assert table.rules["skip_taken"].value_counts().to_dict() == {False: half, True: half}
    assert set(table.rules["family"]) == {"threshold", "relative", "at least n", "top-k", "supply"}
    f2 = table.f2().mean(axis=1)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(table.rules), 300, replace=False):
        assert f2[i] == pytest.approx(mean_f2(table.rule(i).apply(shared), TRUTH))
    quality = table.quality()
    assert np.allclose(quality["f2"], f2) and quality["recall"].max() == 1.0


def test_a_topic_the_candidates_miss_scores_zero_and_one_without_links_is_refused():
    table = rule_table(SCORED, {**TRUTH, "t4": "zz"}, ["top-k"])
    assert list(table.topics) == ["t1", "t2", "t3", "t4"] and (table.f2()[:, 3] == 0).all()
    with pytest.raises(ValueError, match="no true link"):
        rule_table(SCORED, {**TRUTH, "t4": ""})


def test_tune_finds_the_best_rule_and_round_trips(tmp_path):
    rule, table = tune(SCORED, TRUTH, families=["threshold", "relative"])
    assert mean_f2(rule.apply(SCORED), TRUTH) == pytest.approx(table.f2().mean(axis=1).max())
    assert table.f2().mean(axis=1).max() == pytest.approx(1.0)  # e.g. threshold 0.32, relative 0.85
    saved = rule.save(tmp_path / "postprocess.json")
    assert PostProcess.load(saved) == rule
    old = {"threshold": 0.5, "relative": None, "fill": 1, "score": "score", "blend": 0.0,
           "blend_with": "retriever_score"}  # a postprocess.json written before the new rules
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert PostProcess.load(tmp_path / "old.json") == PostProcess(0.5)


def _noisy(n_topics=40, seed=0):
    """Topics whose best threshold differs: the in-sample choice fits the noise."""
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for t in range(n_topics):
        links = [f"c{t}-{i}" for i in range(rng.integers(1, 4))]
        truth[f"t{t}"] = " ".join(links)
        for i in range(10):
            content = links[i] if i < len(links) else f"n{t}-{i}"
            rows.append({"topic_id": f"t{t}", "content_id": content, "rank": i + 1,
                         "score": rng.random() * 0.6 + (0.3 if i < len(links) else 0.0),
                         "retriever_score": rng.random()})
    return pd.DataFrame(rows), truth


def test_crossfit_chooses_without_the_topics_it_scores():
    scored, truth = _noisy()
    table = rule_table(scored, truth)
    honest = crossfit({"m": table}, n_splits=4, n_repeats=3)
    assert honest.per_topic.index.get_level_values("repeat").nunique() == 3
    assert len(honest.per_topic) == 3 * len(table.topics)  # each topic once per repeat
    assert honest.quality()["f2"] < table.best()[1]  # the in-sample best is optimistic
    # a rule chosen on one part is scored on the other: by hand for one split
    from sklearn.model_selection import RepeatedKFold

    fit, held = next(RepeatedKFold(n_splits=4, n_repeats=3, random_state=0).split(np.arange(40)))
    chosen = int(np.argmax(table.f2()[:, fit].mean(axis=1)))
    first = honest.per_topic.loc[0].loc[table.topics[held], "f2"]
    assert np.allclose(first, table.f2()[chosen, held])


def test_compare_and_families_report_honest_and_in_sample_figures():
    scored, truth = _noisy()
    tables = {"good": rule_table(scored, truth), "random": rule_table(
        scored.assign(score=scored["retriever_score"]), truth)}
    found = compare(tables, families=["threshold", "top-k"], n_splits=4, n_repeats=2)
    assert list(found.index) == ["good", "random", "selected"] and found.loc["selected", "model"] == "good"
    assert (found["honest f2"] <= found["in-sample f2"]).all()
    families = by_family(tables, n_splits=4, n_repeats=2)
    assert set(families.columns.get_level_values(0)) == {"good", "random"}
    assert families.loc["top-k", ("good", "in-sample")] >= families.loc["top-k", ("good", "honest")]
    baselines = stage1_tables(scored, truth, ["threshold"])
    assert set(baselines) == {"stage 1: fused list, top-k", "stage 1: retriever cosine"}


def test_transfer_chooses_the_rule_on_the_other_folds():
    tables = {}
    for fold in range(3):
        scored, truth = _noisy(seed=fold)
        tables[fold] = {"m": rule_table(scored, truth, ["threshold"])}
    found = transfer(tables).set_index(["fold", "model"])
    assert set(found.index.get_level_values("model")) == {"m", "selected"}
    others = np.concatenate([tables[f]["m"].f2() for f in (1, 2)], axis=1).mean(axis=1)
    expected = tables[0]["m"].f2()[int(np.argmax(others))].mean()
    assert found.loc[(0, "m"), "f2"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="grids differ"):
        transfer({0: {"m": rule_table(*_noisy(), ["threshold"])}, 1: {"m": rule_table(*_noisy(), ["top-k"])},
                  2: tables[2]})


def test_a_blend_of_one_is_stage_1_alone_and_needs_no_reranker():
    from utils.selection.cross_encoder import RerankerConfig, score_for, to_rerank

    noisy = SCORED.assign(retriever_score=SCORED["score"], score=[0.1, 0.9, 0.8, 0.7, 0.2, 0.1, 0.9, 0.1, 0.9])
    rule, _ = tune(noisy, TRUTH, families=["threshold", "relative"], blends=(0.0, 0.5, 1.0))
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


def test_the_top_k_floor_reaches_topics_with_dozens_of_links():
    rows = [{"topic_id": t, "content_id": f"{t}-{i}", "score": 1.0 - 0.01 * i} for t in ("a", "b") for i in range(50)]
    truth = {t: " ".join(f"{t}-{i}" for i in range(30)) for t in ("a", "b")}  # the best 30 of 50
    rule, f2 = rule_table(pd.DataFrame(rows), truth, ["top-k"]).best()
    assert rule.min_items == 30 and f2 == pytest.approx(1.0)


def test_joined_tables_choose_as_one_table_of_every_topic():
    """Several folds' validation topics (one table each) join a choice as one table of them all."""
    from utils.selection.tuning import joined

    def ranked(topics, links):
        rows = [{"topic_id": t, "content_id": f"{t}-{i}", "score": 1.0 - 0.1 * i} for t in topics for i in range(5)]
        return pd.DataFrame(rows), {t: " ".join(f"{t}-{i}" for i in range(links)) for t in topics}

    table = rule_table(*ranked(["v1", "v2"], 1), ["top-k"])
    one, two = rule_table(*ranked(["a1", "a2"], 3), ["top-k"]), rule_table(*ranked(["b1"], 3), ["top-k"])
    both = joined([one, two])
    assert both.topics.tolist() == ["a1", "a2", "b1"] and both.truths.tolist() == [3, 3, 3]
    np.testing.assert_array_equal(both.f2(), np.concatenate([one.f2(), two.f2()], axis=1))
    table.best()  # a table of its own topics still chooses on them alone
    with pytest.raises(ValueError, match="more than one table"):
        joined([one, one])
    with pytest.raises(ValueError, match="same grid"):
        joined([one, rule_table(*ranked(["c1"], 3), ["threshold"])])
