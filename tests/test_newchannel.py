"""A new curriculum (utils.selection.newchannel): supply, the pool source, the regime, on hand-made cases."""

import numpy as np
import pandas as pd
import pytest

from utils.selection import newchannel


@pytest.fixture
def curricula():
    """Two known channels (A: two topics in en, B: one in en) and a new one (N: two en
    topics, one fr); items: a and b linked by A only, s linked by A and B, u and v by nobody
    (new content), f by nobody, in French."""
    topics = pd.DataFrame({"id": ["a1", "a2", "b1", "n1", "n2", "n3"],
                           "channel": ["A", "A", "B", "N", "N", "N"],
                           "language": ["en", "en", "en", "en", "en", "fr"]})
    content = pd.DataFrame({"id": ["a", "b", "s", "u", "v", "f"],
                            "language": ["en", "en", "en", "en", "en", "fr"]})
    links = pd.DataFrame({"topic_id": ["a1", "a1", "a2", "b1"], "content_id": ["a", "s", "b", "s"]})
    return topics, content, links, newchannel.Supply(topics, content, links, ["n1", "n2", "n3"])


def test_the_pool_is_what_no_other_channel_links(curricula):
    topics, content, links, supply = curricula
    assert sorted(supply.pool("N", "en")) == ["u", "v"]  # s, a, b are linked by known channels
    assert sorted(supply.pool("A", "en")) == ["a", "b", "u", "v"]  # A hidden: its own items are free
    assert sorted(supply.pool("B", "en")) == ["u", "v"]  # s is still linked by A
    assert supply.pool("N", "fr") == ["f"] and supply.pool("N", "de") == []


def test_supply_shares_the_pool_among_the_topics_that_need_items(curricula):
    topics, content, links, supply = curricula
    table = supply.table(["n1", "n3", "a1", "b1"])
    # n1: 2 unlinked en items for the 2 open en topics; n3: 1 fr item, 1 fr topic
    assert table.loc["n1", ["unlinked", "open"]].tolist() == [2, 2] and table.loc["n1", "supply"] == 1.0
    assert table.loc["n3", "supply"] == 1.0
    # a1, its channel hidden: a, b, u, v for the 2 open en topics and A's own 2 topics
    assert table.loc["a1", ["unlinked", "open"]].tolist() == [4, 4]
    assert table.loc["b1", ["unlinked", "open"]].tolist() == [2, 3]


def test_annotate_gives_each_candidate_its_topics_supply(curricula):
    topics, content, links, supply = curricula
    candidates = pd.DataFrame({"topic_id": ["n1", "n1", "a1", "b1"], "content_id": ["s", "u", "a", "s"]})
    assert supply.annotate(candidates)["supply"].tolist() == [1.0, 1.0, 1.0, 2 / 3]


def test_a_channel_with_enough_known_topics_keeps_the_in_channel_pipeline(curricula):
    topics, *_ = curricula
    found = newchannel.regime(["a1", "b1", "n1"], topics, ["a1", "a2", "b1"], min_known=2)
    assert found.to_dict() == {"a1": newchannel.KNOWN, "b1": newchannel.NEW, "n1": newchannel.NEW}
    assert (newchannel.regime(["n1"], topics, [], min_known=0) == newchannel.KNOWN).all()


def test_the_pool_source_recalls_as_many_items_as_the_supply_suggests(curricula):
    topics, content, links, supply = curricula
    table = supply.table(["n1", "a1"])
    assert newchannel.pool_sizes(table, k=1, factor=1.0).tolist() == [1, 1]  # at least k
    assert newchannel.pool_sizes(table, k=1, factor=3.0).tolist() == [2, 3]  # 3 x supply, at most the pool
    queries = topics[topics["id"].isin(["n1", "a1"])].reset_index(drop=True)
    query_emb = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)  # a1, n1
    vectors = {"a": [0.0, 1.0], "b": [0.6, 0.8], "s": [1.0, 0.0], "u": [0.8, 0.6], "v": [0.0, 1.0], "f": [1, 0]}
    corpus_emb = np.array([vectors[c] for c in content["id"]], dtype=np.float32)
    found = newchannel.pool_candidates(queries, query_emb, content, corpus_emb, supply, k=1, factor=3.0)
    by_topic = found.groupby("topic_id")["content_id"].agg(list).to_dict()
    assert by_topic == {"n1": ["v", "u"], "a1": ["u", "b", "a"]}  # never s: linked by the other channel
    assert list(found.columns) == ["topic_id", "content_id", "rank", "score"]


def test_the_new_channel_candidates_are_the_fused_top_k_and_the_pool():
    def source(topic, items):
        return pd.DataFrame({"topic_id": topic, "content_id": items, "rank": range(1, len(items) + 1),
                             "score": np.linspace(0.9, 0.5, len(items)).astype("float32")})

    sources = {"tfidf": source("t", ["a", "b", "c"]), "retriever": source("t", ["b", "a", "d"]),
               "zero_shot": source("t", ["b", "e"]), "pool": source("t", ["x", "y", "z", "b"])}
    found = newchannel.frame(sources, k=2)
    # the fused top 2 (b, a: most votes) and every pool item, re-ranked by votes
    assert found["content_id"].tolist() == ["b", "a", "x", "y", "z"]
    assert found["rank"].tolist() == [1, 2, 3, 4, 5] and found["votes"].tolist() == [4, 2, 1, 1, 1]
    assert found.loc[found["content_id"] == "x", "pool_rank"].item() == 1
    with pytest.raises(ValueError, match="recall source"):
        newchannel.frame({"pool": sources["pool"]})


def _scored(topic, scores, labels):
    return pd.DataFrame({"topic_id": topic, "content_id": [f"{topic}-{i}" for i in range(len(scores))],
                         "rank": range(1, len(scores) + 1), "score": scores, "label": labels})


def test_a_channels_known_topics_refine_the_rule_chosen_on_the_training_topics():
    """Training topics have one link each (a top-1 rule is best there); the channel's known
    topics have four (top-4 is best): with a weak prior the known topics decide, with a strong
    one the training topics; without known topics, the training topics' best."""
    from utils.selection import tuning

    families = {"top-k": [{"min_items": k, "threshold": None} for k in (1, 4)]}
    grid = pd.DataFrame({"family": ["top-k"] * 2, "blend": 0.0, "threshold": np.nan, "relative": np.nan,
                         "fill": 1, "min_items": [1, 4], "per_supply": np.nan,
                         "skip_taken": False, newchannel.TRAINING_F2: [0.9, 0.5]})
    known = pd.concat([_scored(f"k{i}", [0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 1, 1, 0]) for i in range(3)])
    truth = pd.DataFrame({"topic_id": [f"k{i}" for i in range(3)],
                          "content_ids": [" ".join(f"k{i}-{j}" for j in range(4)) for i in range(3)]})
    table = tuning.rule_table(known, truth, families)
    assert newchannel.choose_rule(grid).min_items == 1
    assert newchannel.choose_rule(grid, table, prior=1).min_items == 4
    assert newchannel.choose_rule(grid, table, prior=100).min_items == 1
    assert set(table.rules["skip_taken"]) == {False, True}  # a skip_taken twin reads its plain rule's mean

    topics = pd.DataFrame({"id": ["n1", "m1", "k0", "k1", "k2"], "channel": ["N", "M", "N", "N", "N"]})
    scored = pd.concat([_scored("n1", [0.9, 0.8, 0.7, 0.6, 0.5], [0] * 5), _scored("m1", [0.9, 0.8], [0, 0])])
    saved = newchannel.choose_rule(grid)
    picked = newchannel.select(scored, saved, topics, grid.assign(family="top-k"), known, truth, prior=1)
    assert len(picked["n1"]) == 4 and len(picked["m1"]) == 1  # M has no known topic: the saved rule
    assert newchannel.select(scored, saved, topics) == saved.apply(scored)
    with pytest.raises(ValueError, match="not the saved grid"):
        newchannel.choose_rule(grid.assign(family="other"), table)
