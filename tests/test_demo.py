import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from utils.data.demo import SPARSE_LANGUAGE, DemoConfig, main, write_demo
from utils.data.load import load_competition
from utils.data.text import content_texts, topic_texts
from utils.data.tree import TopicTree
from utils.metrics import recall_at_k


def test_same_seed_same_files(tmp_path):
    write_demo(tmp_path / "a", DemoConfig.preset("tiny"))
    write_demo(tmp_path / "b", DemoConfig.preset("tiny"))
    write_demo(tmp_path / "c", DemoConfig.preset("tiny", seed=1))
    for name in ("topics", "content", "correlations", "sample_submission"):
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (
            tmp_path / "b" / f"{name}.csv").read_bytes()
    assert (tmp_path / "a" / "topics.csv").read_bytes() != (tmp_path / "c" / "topics.csv").read_bytes()


def test_carries_what_the_real_data_carries(tiny_dir):
    data = load_competition(tiny_dir)  # valid by the loader's own checks
    topics, content, links = data.topics, data.content, data.links
    assert topics["language"].nunique() >= 8
    assert set(topics["category"]) == {"source", "aligned", "supplemental"}
    assert set(content["kind"]) == {"video", "exercise", "document", "html5", "audio"}
    assert topics["level"].max() >= 4  # deep trees
    per_item = links.groupby("content_id").size()
    per_topic = links.groupby("topic_id").size()
    assert per_item.max() > 1 and per_topic.max() > 1  # many-to-many
    assert 0.3 < (content["text"] != "").mean() < 0.7  # text on about half
    assert (content["description"] == "").mean() > 0.3
    assert (topics["description"] == "").mean() > 0.3
    sparse = content["language"].value_counts().get(SPARSE_LANGUAGE, 0)
    assert 0 < sparse <= 2 and (topics["language"] == SPARSE_LANGUAGE).sum() >= 5
    assert topics["title"].duplicated().any()  # titles repeat, as in LECR
    # curricula reuse content: the aligned channels their source's, a few languages English items
    used = links.merge(topics[["id", "channel", "language", "category"]], left_on="topic_id", right_on="id")
    spread = used.groupby("content_id").agg(channels=("channel", "nunique"), languages=("language", "nunique"),
                                            aligned=("category", lambda c: (c == "aligned").any()),
                                            source=("category", lambda c: (c == "source").any()))
    assert ((spread["channels"] > 1) & spread["aligned"] & spread["source"]).any()
    assert (spread["languages"] > 1).any()
    submission = data.sample_submission["topic_id"]
    assert submission.isin(data.correlations["topic_id"]).all()
    assert not submission.isin(topics.loc[topics["category"] == "source", "id"]).any()


def test_signal_is_learnable(small_dir):
    """A plain TF-IDF retriever, per language, beats chance by a wide margin."""
    data = load_competition(small_dir)
    topics = data.topics[data.topics["id"].isin(data.correlations["topic_id"])]
    t_text = topic_texts(topics, TopicTree(data.topics))
    c_text = content_texts(data.content)
    ranked, chance = {}, []
    for language, group in topics.groupby("language"):
        items = data.content[data.content["language"] == language]
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4))
        c_vec = vectorizer.fit_transform(c_text[items["id"]])
        scores = (vectorizer.transform(t_text[group["id"]]) @ c_vec.T).toarray()
        for topic, row in zip(group["id"], scores):
            ranked[topic] = items["id"].to_numpy()[np.argsort(-row)[:10]].tolist()
            chance.append(min(10 / len(items), 1.0))
    recall = recall_at_k(ranked, data.correlations, ks=[10]).loc[10]
    print(f"TF-IDF recall@10 {recall:.3f}, chance {np.mean(chance):.3f}")
    assert recall > 4 * np.mean(chance)


def test_cli_prints_sizes(tmp_path, capsys):
    main(["--out", str(tmp_path / "d"), "--size", "tiny", "--topics", "300"])
    out = capsys.readouterr().out
    assert "topics" in out and "links" in out
    assert 250 <= len(pd.read_csv(tmp_path / "d" / "topics.csv")) <= 350
