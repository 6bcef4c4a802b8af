import os
import shutil

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from utils.data.demo import DemoConfig, write_demo  # noqa: E402
from utils.data.load import load_competition  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def int8_cache(tmp_path_factory):
    """One int8 export cache for the test session (the notebooks' kernels inherit it), so
    that the tests neither read nor fill the user's (``utils.int8cache``)."""
    from utils.int8cache import ENV

    path, before = tmp_path_factory.mktemp("int8-cache"), os.environ.get(ENV)
    os.environ[ENV] = str(path)
    yield path
    if before is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = before


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """The tiny demo dataset (generated once per test session); do not modify it."""
    path = tmp_path_factory.mktemp("tiny") / "data"
    write_demo(path, DemoConfig.preset("tiny"))
    return path


@pytest.fixture
def tiny_copy(tiny_dir, tmp_path):
    """A private copy of the tiny demo dataset that a test may break."""
    return shutil.copytree(tiny_dir, tmp_path / "data")


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory):
    """The small demo dataset (the demo run's default size); do not modify it."""
    path = tmp_path_factory.mktemp("small") / "data"
    write_demo(path, DemoConfig.preset("small"))
    return path


@pytest.fixture(scope="session")
def recalled(tiny_dir):
    """Tiny-demo candidates shaped like notebook 04's: 12 per topic from the topic's language,
    true links ranked high more often than not, scores falling with the rank."""
    data = load_competition(tiny_dir)
    rng = np.random.default_rng(0)
    linked = data.links.groupby("topic_id")["content_id"].agg(set)
    by_language = data.content.groupby("language")["id"].agg(list)
    rows = []
    for topic, language in data.topics.set_index("id")["language"].items():
        if topic not in linked.index or language not in by_language.index:
            continue
        pool = list(dict.fromkeys([*sorted(linked[topic]), *by_language[language]]))[:12]
        order = sorted(pool, key=lambda c: rng.random() - (0.4 if c in linked[topic] else 0))
        for rank, content in enumerate(order, 1):
            score = 0.9 - 0.03 * rank + rng.normal(0, 0.02)
            rows.append({"topic_id": topic, "content_id": content, "rank": rank, "votes": 2,
                         "mean_score": score, "tfidf_rank": float(rank), "tfidf_score": score / 2,
                         "retriever_rank": float(rank), "retriever_score": score,
                         "label": int(content in linked[topic])})
    return pd.DataFrame(rows), data


@pytest.fixture(scope="session")
def frames(tiny_dir):
    """The tiny demo's (data, topic texts, 12 linked topics as queries, content texts)."""
    from utils.data.text import text_frames

    data = load_competition(tiny_dir)
    topics, content = text_frames(data)
    queries = topics[topics["id"].isin(data.correlations["topic_id"])].head(12)
    return data, topics, queries, content


@pytest.fixture(scope="session")
def labelled_pairs(frames):
    """Cross-encoder training pairs of the tiny demo: 16 links (label 1) and 16 pairs of the
    same topics with other content (label 0), with the topic and content texts."""
    data, topics, queries, content = frames
    positives = data.links[data.links["topic_id"].isin(queries["id"])].head(16)
    pairs = pd.concat([positives.assign(label=1, rank=1),
                       positives.assign(content_id=np.roll(positives["content_id"].to_numpy(), 5),
                                        label=0, rank=2)])
    return pairs, topics.set_index("id")["text"], content.set_index("id")["text"]
