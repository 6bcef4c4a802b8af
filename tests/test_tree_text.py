import pandas as pd
import pytest

from utils.data.text import TextConfig, content_texts, topic_texts
from utils.data.tree import TopicTree

TOPICS = pd.DataFrame({
    "id": ["t_root", "t_math", "t_frac", "t_add", "t_other"],
    "title": ["Channel", "Math", "Fractions", "Adding fractions", "Other"],
    "description": ["", "", "", "Add  two\nfractions.", ""],
    "parent": ["", "t_root", "t_math", "t_frac", "t_root"],
    "level": [0, 1, 2, 3, 1],
})


def test_tree_navigation():
    tree = TopicTree(TOPICS)
    assert tree.ancestors("t_add") == ["t_frac", "t_math", "t_root"]
    assert tree.ancestors("t_root") == []
    assert tree.root("t_add") == "t_root"
    assert tree.children("t_root") == ["t_math", "t_other"]
    assert tree.children("t_add") == []
    assert tree.breadcrumb("t_add") == "Channel > Math > Fractions > Adding fractions"
    assert tree.breadcrumb("t_add", max_depth=1) == "Fractions > Adding fractions"


def test_topic_text_has_title_then_description_then_ancestors():
    texts = topic_texts(TOPICS, TopicTree(TOPICS))
    assert texts["t_add"] == "Adding fractions | Add two fractions. | Channel > Math > Fractions"
    assert texts["t_root"] == "Channel"  # empty parts are left out
    assert texts["t_frac"] == "Fractions | Channel > Math"
    short = topic_texts(TOPICS, TopicTree(TOPICS), TextConfig(max_ancestors=1, max_chars=30))
    assert short["t_add"] == "Adding fractions | Add two fractions. | Fractions"[:30]
    context_first = topic_texts(TOPICS, TopicTree(TOPICS), TextConfig(description_first=False))
    assert context_first["t_add"] == "Adding fractions | Channel > Math > Fractions | Add two fractions."


def test_content_text_falls_back_on_text_and_caps():
    content = pd.DataFrame({
        "id": ["c_a", "c_b", "c_c"], "kind": ["video", "document", "exercise"],
        "title": ["Intro", "Book", "Quiz"], "description": ["Short.", "", ""],
        "text": ["ignored", "x" * 1000, ""],
    })
    texts = content_texts(content, TextConfig(text_chars=10))
    assert texts["c_a"] == "video | Intro | Short."
    assert texts["c_b"] == "document | Book | " + "x" * 10
    assert texts["c_c"] == "exercise | Quiz"


def test_text_settings_round_trip_as_saved_with_a_model(caplog):
    config = TextConfig(description_first=False, max_ancestors=2)
    assert TextConfig.from_dict(config.as_dict()) == config
    with caplog.at_level("WARNING"):
        assert TextConfig.from_dict(None, source="old/round2") == TextConfig()
    assert "old/round2 records no text settings" in caplog.text
    with pytest.raises(ValueError, match=r"new/round1: unknown text settings \['lowercase'\]"):
        TextConfig.from_dict({**config.as_dict(), "lowercase": True}, source="new/round1")
