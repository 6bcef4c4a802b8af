"""The summaries the EDA notebook draws: each takes an :class:`~utils.data.load.LECRData` and
returns a small pandas table, so the same numbers are available outside the notebook."""

from __future__ import annotations

import pandas as pd

from ..retrieval import candidates
from .load import LECRData


def overview(data: LECRData) -> pd.Series:
    """Headline counts."""
    topics, links = data.topics, data.links
    return pd.Series({
        "topics": len(topics),
        "topics with content": int(topics["has_content"].sum()),
        "topics with correlations": links["topic_id"].nunique(),
        "channels": topics["channel"].nunique(),
        "languages (topics)": topics["language"].nunique(),
        "content items": len(data.content),
        "links": len(links),
        "mean links per topic": round(links.groupby("topic_id").size().mean(), 2),
        "mean topics per content item": round(links.groupby("content_id").size().mean(), 2),
        "topics to predict": len(data.sample_submission),
    }, name="count")


def per_language(data: LECRData) -> pd.DataFrame:
    """Topics, content and links per language, largest first."""
    links = data.links.merge(data.topics[["id", "language"]], left_on="topic_id", right_on="id")
    table = pd.DataFrame({
        "topics": data.topics["language"].value_counts(),
        "content": data.content["language"].value_counts(),
        "links": links["language"].value_counts(),
    }).fillna(0).astype(int)
    table["content per topic"] = (table["content"] / table["topics"].clip(lower=1)).round(2)
    return table.sort_values(["topics", "content"], ascending=False)


def channels(data: LECRData) -> pd.DataFrame:
    """One row per channel: title, category, main language, size and depth."""
    topics = data.topics
    roots = topics[topics["parent"] == ""].set_index("channel")
    grouped = topics.groupby("channel")
    table = pd.DataFrame({
        "title": roots["title"],
        "category": roots["category"],
        "language": grouped["language"].agg(lambda s: s.mode().iloc[0]),
        "languages": grouped["language"].nunique(),
        "topics": grouped.size(),
        "depth": grouped["level"].max(),
        "topics with content": grouped["has_content"].sum(),
    })
    return table.sort_values("topics", ascending=False)


def levels(data: LECRData) -> pd.DataFrame:
    """Topics per tree level (rows) and category (columns)."""
    return pd.crosstab(data.topics["level"], data.topics["category"])


def links_per_topic(data: LECRData) -> pd.Series:
    """Number of content items each correlated topic links to."""
    return data.links.groupby("topic_id").size().rename("links per topic")


def topics_per_content(data: LECRData) -> pd.Series:
    """Number of topics each linked content item belongs to (LECR is many-to-many)."""
    return data.links.groupby("content_id").size().rename("topics per content item")


def text_lengths(data: LECRData) -> pd.DataFrame:
    """Character length of every non-empty text field, long form (field, length)."""
    parts = []
    for table, frame, columns in (("topic", data.topics, ["title", "description"]),
                                  ("content", data.content, ["title", "description", "text"])):
        for column in columns:
            lengths = frame[column].str.len()
            parts.append(pd.DataFrame({"field": f"{table} {column}",
                                       "length": lengths[lengths > 0].to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def empty_rates(data: LECRData) -> pd.Series:
    """Share of rows whose field is empty, per text field."""
    rates = {}
    for table, frame, columns in (("topic", data.topics, ["title", "description"]),
                                  ("content", data.content,
                                   ["title", "description", "text", "copyright_holder",
                                    "license"])):
        for column in columns:
            rates[f"{table} {column}"] = float((frame[column].str.strip() == "").mean())
    return pd.Series(rates, name="empty share").sort_values()


def channel_reuse(data: LECRData) -> pd.DataFrame:
    """One row per channel with links: title, category, links, and the share of its links
    whose item another topic of the same channel links too. A curriculum that rarely reuses
    an item seldom attaches one already linked elsewhere in it: notebook 05's rule may leave
    such items out there (``utils.selection.postprocess.PostProcess.skip_taken``)."""
    channel = data.links["topic_id"].map(data.topics.set_index("id")["channel"])
    table = pd.DataFrame({"links": data.links.groupby(channel).size(),
                          "reused": candidates.channel_reuse(data.links, data.topics)})
    roots = data.topics[data.topics["parent"] == ""].set_index("channel")
    table.insert(0, "category", roots["category"])
    table.insert(0, "title", roots["title"])
    return table.sort_values("links", ascending=False)


def sharing(data: LECRData) -> pd.DataFrame:
    """How widely content is reused: items by the number of topics, channels and topic
    languages they are linked from (rows: 1, 2, ..., columns: what is counted)."""
    links = data.links.merge(data.topics[["id", "channel", "language"]],
                             left_on="topic_id", right_on="id")
    per_item = links.groupby("content_id").agg(topics=("topic_id", "nunique"),
                                               channels=("channel", "nunique"),
                                               languages=("language", "nunique"))
    table = pd.DataFrame({c: per_item[c].clip(upper=10).value_counts() for c in per_item})
    table = table.sort_index()
    table.index = [f"{i}" if i < 10 else "10+" for i in table.index]
    return table.fillna(0).astype(int)
