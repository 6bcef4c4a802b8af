from types import SimpleNamespace

import pandas as pd

from utils.data import eda


def test_channel_reuse_is_the_share_of_a_channels_links_whose_item_it_links_twice():
    topics = pd.DataFrame({"id": ["r1", "a", "b", "r2", "c"], "channel": ["c1", "c1", "c1", "c2", "c2"],
                           "parent": ["", "r1", "r1", "", "r2"], "title": ["One", "A", "B", "Two", "C"],
                           "category": ["aligned", "aligned", "aligned", "source", "source"]})
    # c1: x in a and b (2 links reuse it), y in a alone; c2: x once (another channel's reuse does not count)
    links = pd.DataFrame({"topic_id": ["a", "b", "a", "c"], "content_id": ["x", "x", "y", "x"]})
    table = eda.channel_reuse(SimpleNamespace(topics=topics, links=links))
    assert table.loc["c1"].tolist() == ["One", "aligned", 3, 2 / 3]
    assert table.loc["c2"].tolist() == ["Two", "source", 1, 0.0]
