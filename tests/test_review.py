"""The review page (utils.review), read back with an HTML parser."""

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from utils import review
from utils.data.load import load_competition
from utils.metrics import scores_per_topic


class Page(HTMLParser):
    """The topics of a review page: per section, its data attributes, its F2 and the ids of the
    items of each list (selected, below, missed) with their classes; the scripts' text."""

    def __init__(self, html: str):
        super().__init__()
        self.topics, self.scripts, self._topic, self._list, self._tags = {}, [], None, None, []
        self._in_f2 = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        self._tags.append(tag)
        if tag == "section" and "topic" in classes:
            self._topic = {"language": attrs["data-language"], "channel": attrs["data-channel"], "f2": None,
                           "selected": [], "below": [], "missed": [], "text": ""}
            self.topics[attrs["id"]] = self._topic
        elif tag in ("ol", "ul") and self._topic is not None:
            self._list = next((c for c in classes if c in ("selected", "below", "missed")), None)
        elif tag == "li" and self._topic is not None and self._list:
            self._topic[self._list].append((attrs["data-id"], set(classes)))
        elif tag == "span" and "f2" in classes and self._topic is not None:
            self._in_f2 = True

    def handle_endtag(self, tag):
        if self._tags:
            self._tags.pop()
        if tag == "section":
            self._topic = None
        elif tag in ("ol", "ul"):
            self._list = None
        elif tag == "span":
            self._in_f2 = False

    def handle_data(self, data):
        if self._tags and self._tags[-1] == "script":
            self.scripts.append(data)
        if self._topic is not None:
            self._topic["text"] += data
            if self._in_f2:
                self._topic["f2"] = float(data.split()[-1])


@pytest.fixture(scope="module")
def case(tiny_dir):
    """The tiny demo, a submission of each linked topic's first three links and two other items,
    the candidates behind it, and a topic whose title holds a script tag."""
    data = load_competition(tiny_dir)
    topic = data.correlations["topic_id"].iloc[0]
    data.topics.loc[data.topics["id"] == topic, "title"] = "<script>alert('x')</script> Fractions"
    truth = data.correlations.head(8)
    rng = np.random.default_rng(0)
    rows, chosen = [], {}
    ids = data.content["id"].to_numpy()
    for topic_id, items in zip(truth["topic_id"], truth["content_ids"].str.split()):
        picked = items[:3] + list(rng.choice(ids, 2, replace=False))
        chosen[topic_id] = list(dict.fromkeys(picked))
        for rank, content_id in enumerate([*chosen[topic_id], *rng.choice(ids, 6, replace=False)], 1):
            rows.append({"topic_id": topic_id, "content_id": content_id, "rank": rank, "score": 1 / rank})
    submission = pd.DataFrame({"topic_id": list(chosen), "content_ids": [" ".join(v) for v in chosen.values()]})
    candidates = pd.DataFrame(rows).drop_duplicates(["topic_id", "content_id"])
    return data, submission, candidates, truth, topic


def test_every_topic_and_its_selected_items_as_submitted(case):
    data, submission, candidates, _, _ = case
    page = Page(review.build(data, submission, candidates))
    assert set(page.topics) == set(submission["topic_id"])
    for topic_id, items in zip(submission["topic_id"], submission["content_ids"].str.split()):
        assert [c for c, _ in page.topics[topic_id]["selected"]] == items
        assert len(page.topics[topic_id]["below"]) <= review.BELOW
        assert not page.topics[topic_id]["missed"] and page.topics[topic_id]["f2"] is None  # no truth


def test_hits_misses_and_f2_agree_with_the_metric(case):
    data, submission, candidates, truth, _ = case
    page = Page(review.build(data, submission, candidates, truth))
    expected = scores_per_topic(submission, truth)
    lists = dict(zip(truth["topic_id"], truth["content_ids"].str.split()))
    for topic_id, found in page.topics.items():
        true = set(lists[topic_id])
        assert found["f2"] == pytest.approx(expected.loc[topic_id, "f2"], abs=0.005)
        for content_id, classes in found["selected"]:
            assert ("hit" in classes) == (content_id in true) and ("miss" in classes) == (content_id not in true)
        chosen = {c for c, _ in found["selected"]}
        assert {c for c, _ in found["missed"]} == true - chosen
    text = " ".join(t["text"] for t in page.topics.values())
    assert "not recalled" in text or "stage-1 rank" in text


def test_a_title_holding_a_script_shows_as_text(case):
    data, submission, candidates, _, topic = case
    html = review.build(data, submission, candidates)
    page = Page(html)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<script>alert('x')</script> Fractions" in page.topics[topic]["text"]  # shown, as text
    assert len(page.scripts) == 1 and "alert" not in page.scripts[0]  # only the page's own filter script


def test_a_large_run_keeps_the_worst_topics_or_a_sample_of_every_channel():
    channel = pd.Series({f"t{i}": "AB"[i % 2] for i in range(10)})
    f2 = pd.Series({f"t{i}": i / 10 for i in range(10)})
    assert review.pick(channel.index, channel, f2, 3) == ["t0", "t1", "t2"]
    sampled = review.pick(channel.index, channel, None, 4)
    assert len(sampled) == 4 and set(channel[sampled]) == {"A", "B"}
    assert review.pick(channel.index, channel, None, 20) == list(channel.index)
