import numpy as np
import pandas as pd
import pytest

from utils.data.load import load_competition
from utils.data.text import text_frames
from utils.retrieval import candidates as cand
from utils.retrieval import search


@pytest.fixture(scope="module")
def frames(tiny_dir):
    data = load_competition(tiny_dir)
    topics, content = text_frames(data)
    queries = topics[topics["id"].isin(data.correlations["topic_id"])]
    return data, queries, content


def brute_force(queries, q_emb, corpus, c_emb, k):
    rows = []
    for i, (topic, language) in enumerate(zip(queries["id"], queries["language"])):
        same = np.flatnonzero(corpus["language"].to_numpy() == language)
        scores = c_emb[same] @ q_emb[i]
        order = same[np.argsort(-scores, kind="stable")[:k]]
        rows += [(topic, corpus["id"].iloc[j], r) for r, j in enumerate(order, 1)]
    return sorted(rows)


def test_chunked_search_equals_brute_force(frames):
    _, queries, content = frames
    rng = np.random.default_rng(0)
    q_emb = rng.normal(size=(len(queries), 16)).astype(np.float32)
    c_emb = rng.normal(size=(len(content), 16)).astype(np.float32)
    q_emb /= np.linalg.norm(q_emb, axis=1, keepdims=True)
    c_emb /= np.linalg.norm(c_emb, axis=1, keepdims=True)
    found = search.search(queries, q_emb, content, c_emb, k=7, query_chunk=5, corpus_chunk=11)
    assert sorted(zip(found["topic_id"], found["content_id"], found["rank"])) == brute_force(
        queries, q_emb, content, c_emb, 7)


def check_candidates(frame, queries, content, k):
    language = content.set_index("id")["language"]
    topic_language = queries.set_index("id")["language"]
    assert (frame["content_id"].map(language).to_numpy()
            == frame["topic_id"].map(topic_language).to_numpy()).all()
    assert not frame.duplicated(["topic_id", "content_id"]).any()
    assert frame.groupby("topic_id").size().max() <= k
    ranks = frame.groupby("topic_id")["rank"].agg(list)
    assert all(r == list(range(1, len(r) + 1)) for r in ranks)


def test_tfidf_and_fusion_respect_language_k_and_uniqueness(frames):
    data, queries, content = frames
    tfidf = cand.tfidf_candidates(queries, content, k=8, chunk=7)
    check_candidates(tfidf, queries, content, 8)
    # a second source: the TF-IDF list reversed, so fusion sees disagreement
    other = tfidf.assign(rank=tfidf.groupby("topic_id")["rank"].transform(lambda r: r.max() + 1 - r),
                         score=1 - tfidf["score"])
    fused = cand.label(cand.fuse({"a": tfidf, "b": other.sample(frac=0.7, random_state=0)}, k=6),
                       data.links)
    check_candidates(fused, queries, content, 6)
    assert {"a_rank", "a_score", "b_rank", "b_score", "votes", "mean_score", "label"} <= set(fused)
    for _, group in fused.groupby("topic_id"):  # more votes first, then higher mean score
        keys = list(zip(-group["votes"], -group["mean_score"]))
        assert keys == sorted(keys)
    known = set(zip(data.links["topic_id"], data.links["content_id"]))
    assert (fused["label"] == [int(p in known) for p in zip(fused["topic_id"], fused["content_id"])]).all()


def test_topic_without_content_in_its_language_gets_no_candidates(frames, caplog):
    _, queries, content = frames
    lonely = pd.DataFrame({"id": ["t_lonely000000"], "language": ["xx"], "text": ["nothing"]})
    with caplog.at_level("WARNING"):
        found = cand.tfidf_candidates(pd.concat([queries.head(3), lonely]), content, k=5)
    assert "t_lonely000000" not in set(found["topic_id"]) and "'xx'" in caplog.text


def test_stage1_table_gives_honest_and_in_sample_f2():
    candidates = pd.DataFrame({"topic_id": ["t1"] * 3 + ["t2"] * 2 + ["t3"] * 2,
                               "content_id": ["a", "b", "z", "x", "y", "p", "q"],
                               "rank": [1, 2, 3, 1, 2, 1, 2],
                               "score": [0.9, 0.8, 0.1, 0.3, 0.2, 0.95, 0.05]})
    truth = {"t1": "a b", "t2": "x", "t3": "p"}
    table = cand.stage1_table({"s": candidates}, truth, n_splits=3, n_repeats=2).loc["s"]
    assert table["best threshold"] == 0.22  # the lowest of the grid that drops z and y, keeps a, b, x, p
    assert table["in-sample F2 at threshold"] == pytest.approx(1.0)
    assert table["best top-k"] == 2 and table["in-sample F2 at top-k"] < 1  # t1 needs 2, t2 and t3 1
    # honest: chosen without the topic scored, so never above the in-sample figure here
    assert table["F2 at top-k"] <= table["in-sample F2 at top-k"] + 1e-12
    assert table["F2 at threshold"] <= table["in-sample F2 at threshold"] + 1e-12


def test_fusion_of_chosen_sources_keeps_the_others_as_features(frames):
    _, queries, content = frames
    a = cand.tfidf_candidates(queries, content, k=5)
    b = cand.tfidf_candidates(queries, content, k=10, ngram_range=(2, 3))
    fused = cand.fuse({"a": a, "b": b}, k=5, using=["a"])
    assert fused["votes"].max() == 1 and fused["b_rank"].notna().any()
    assert set(zip(fused["topic_id"], fused["content_id"])) == set(zip(a["topic_id"], a["content_id"]))
    with pytest.raises(ValueError, match="cannot fuse"):
        cand.fuse({"a": a}, using=["c"])


def test_report_tables(frames):
    data, queries, content = frames
    tfidf = cand.tfidf_candidates(queries, content, k=10)
    tables = {"tfidf": tfidf, "fusion": cand.fuse({"tfidf": tfidf}, k=10)}
    truth = data.correlations[data.correlations["topic_id"].isin(queries["id"])]
    recall = cand.recall_table(tables, truth, [5, 10])
    assert list(recall.index) == ["tfidf", "fusion"] and list(recall.columns) == [5, 10]
    assert recall.loc["tfidf"].equals(recall.loc["fusion"])  # one source: the same ranking
    by_language = cand.recall_by_language(tables, truth, queries.set_index("id")["language"], 10)
    assert by_language["topics"].sum() == len(truth)
    stage1 = cand.stage1_table(tables, truth)
    assert (stage1["F2 at top-k"] > 0).all() and set(stage1.index) == {"tfidf", "fusion"}


def test_recall_searches_every_language_for_a_topic_whose_language_has_no_content(frames):
    from utils.retrieval.retriever import base_model_path

    _, queries, content = frames
    picked = queries.head(4).copy()
    picked.iloc[0, picked.columns.get_loc("language")] = "zz"
    fused, sources = cand.recall(picked, content, {"main": base_model_path()}, k=5, max_length=32)
    assert set(fused["topic_id"]) == set(picked["id"]) and fused.groupby("topic_id").size().max() <= 5
    orphan = fused[fused["topic_id"] == picked["id"].iloc[0]]
    assert len(orphan) == 5 and orphan["tfidf_rank"].isna().all()  # the bi-encoder alone, any language
    language = content.set_index("id")["language"]
    others = fused[fused["topic_id"] != picked["id"].iloc[0]]
    assert (others["content_id"].map(language).to_numpy()
            == others["topic_id"].map(picked.set_index("id")["language"]).to_numpy()).all()


def test_known_topics_are_those_a_retriever_did_not_leave_out():
    known = pd.DataFrame({"id": ["q1", "k1", "k2", "k3"], "language": ["en", "en", "en", "fr"]})
    folds = pd.DataFrame({"topic_id": ["q1", "k1", "k2"], "fold": [0, -1, -1], "oof_group": [-1, 0, 1]})
    from utils.data.folds import Holdout

    found = cand.known_topics(known, folds, {"main": Holdout([0]), "oof1": Holdout([0], [0])})
    assert set(found["main"]["id"]) == {"k1", "k2"} and set(found["oof1"]["id"]) == {"k2"}


def test_channel_use_counts_the_known_topics_of_the_topics_own_channel_and_its_reuse():
    topics = pd.DataFrame({"id": ["t", "a", "b", "o", "p", "h"], "channel": ["c1", "c1", "c1", "c2", "c2", "c1"],
                           "title": ["T", "A", "B", "O", "P", "H"], "description": "", "parent": ""})
    links = pd.DataFrame({"topic_id": ["t", "a", "b", "o", "p", "h", "h"],
                          "content_id": ["x", "x", "y", "z", "z", "z", "w"]})
    candidates = pd.DataFrame({"topic_id": ["t"] * 4 + ["o"], "content_id": ["x", "y", "z", "w", "z"]})
    found = cand.channel_use(candidates, topics, {"t", "a", "b", "o", "p"}, links)
    # x: a (and t itself, never counted); y: b; z: only o and p, of another channel, and h, not known; w: h alone
    assert found["channel_links"].tolist() == [1, 1, 0, 0, 1]  # o's z: p links it (o itself not counted)
    # c1's known links: t-x, a-x, b-y (x twice: 2 of 3 reuse an item); c2's: o-z, p-z (both)
    assert found["channel_reuse"].round(3).tolist() == [0.667] * 4 + [1.0]
    assert (cand.channel_use(candidates, topics, set(), links)[["channel_links", "channel_reuse"]] == 0).all().all()


def test_the_zero_shot_model_and_the_pool_are_sources_of_the_new_channel_candidates(frames):
    """The untuned model's top-K and each topic's pool of unlinked items are sources of their
    own: every topic gets their candidates (the zero-shot model's in any language for a topic
    whose language has none), and they vote in the new-channel candidates only."""
    from utils.retrieval.retriever import base_model_path
    from utils.selection import newchannel

    data, queries, content = frames
    picked = queries.head(4).copy()
    picked.iloc[0, picked.columns.get_loc("language")] = "zz"
    known = data.links[~data.links["topic_id"].isin(picked["id"])]
    supply = newchannel.Supply(data.topics, data.content, known, picked["id"])
    fused, sources = cand.recall(picked, content, {"main": base_model_path()}, k=5, max_length=32,
                                 zero_shot=base_model_path(), supply=supply)
    assert list(sources) == ["tfidf", "retriever", "pool", "zero_shot"]
    assert set(sources["zero_shot"]["topic_id"]) == set(picked["id"])
    assert fused["votes"].max() <= 2 and "zero_shot_rank" not in fused  # the in-channel list: TF-IDF, retriever
    channel = data.topics.set_index("id")["channel"]
    pool = sources["pool"].assign(channel=sources["pool"]["topic_id"].map(channel))
    elsewhere = known.assign(channel=known["topic_id"].map(channel))
    clash = pool.merge(elsewhere, on="content_id", suffixes=("", "_known"))
    assert len(pool) and not (clash["channel"] != clash["channel_known"]).any()  # no other channel links them
    new = newchannel.frame(sources, k=5)
    # the same model twice: both dense sources agree, so each pair they share has both votes
    both = new.dropna(subset=["retriever_rank"])
    assert both["zero_shot_rank"].notna().all() and new["votes"].max() >= 3
    assert set(new["topic_id"]) == set(picked["id"])
    assert supply.annotate(new)["supply"].notna().all()


def test_tfidf_top_k_is_the_same_with_or_without_sparse_dot_topn(frames, monkeypatch):
    import builtins
    import sys

    _, queries, content = frames
    fast = cand.tfidf_candidates(queries, content, k=6, chunk=5)
    real_import = builtins.__import__

    def without(name, *args, **kwargs):
        if name == "sparse_dot_topn":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sparse_dot_topn", raising=False)
    monkeypatch.setattr(builtins, "__import__", without)
    dense = cand.tfidf_candidates(queries, content, k=6, chunk=5)
    assert (fast["score"] > 0).all() and (dense["score"] > 0).all()  # no n-gram shared: no candidate
    merged = fast.merge(dense, on=["topic_id", "rank"], suffixes=("", "_dense"))
    assert len(merged) == len(fast) == len(dense)
    np.testing.assert_allclose(merged["score"], merged["score_dense"], rtol=1e-5)
    # the same items with the same scores; an item in only one list ties the list's last score
    for topic, f in fast.groupby("topic_id"):
        d = dense[dense["topic_id"] == topic]
        f_scores, d_scores = f.set_index("content_id")["score"], d.set_index("content_id")["score"]
        both = f_scores.index.intersection(d_scores.index)
        np.testing.assert_allclose(f_scores[both], d_scores[both], rtol=1e-5)
        only = pd.concat([f_scores.drop(both), d_scores.drop(both)])
        np.testing.assert_allclose(only, f_scores.min(), rtol=1e-5)
