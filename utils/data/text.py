"""The texts the models read, built once here so no stage rebuilds them by hand.

- topic text: ``title | description | ancestors' titles (root first)``: the topic's own
  words first, so a model's token limit cuts the context rather than the description
- content text: ``kind | title | description`` (the extracted ``text`` when the description
  is empty)

Empty parts are left out; each part and the whole text have a character cap
(:class:`TextConfig`), applied before tokenisation so long descriptions never crowd out the
title.

The settings are saved with every model trained on these texts (``TextConfig.as_dict``, in
the retriever's ``fit.json``, ``candidates.json`` and the reranker's ``reranker.json``) and
read back with ``TextConfig.from_dict``, so inference rebuilds exactly the texts a model
learned from, whatever the code's defaults are by then.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields

import pandas as pd

from .tree import TopicTree

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextConfig:
    """How topic and content texts are built (defaults suit a 64-128 token model)."""

    sep: str = " | "
    """Between the parts of a text."""
    crumb_sep: str = " > "
    """Between ancestors' titles."""
    description_first: bool = True
    """The topic's description before its ancestors' titles (False: after them). Tokenisers
    cut a text's end, and the description is what tells a topic from its siblings: put
    first, it recalled more on mini-LECR at short max lengths (docs/RESULTS.md, "Why the
    defaults")."""
    max_ancestors: int | None = 4
    """Nearest ancestors kept in the topic text (None keeps all, up to the channel root)."""
    title_chars: int = 150
    description_chars: int = 300
    text_chars: int = 300
    """Cap on the extracted ``text`` used when a content item has no description."""
    max_chars: int = 600
    """Cap on the whole text."""

    def as_dict(self) -> dict:
        """The settings as saved with a model (``from_dict`` reads them back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, settings: dict | None, source: str = "the model") -> "TextConfig":
        """The settings a model was saved with. ``None`` (a model saved before text settings
        were recorded) gives the defaults, with a warning; an unknown name is an error."""
        if settings is None:
            log.warning("%s records no text settings (saved before they were recorded): "
                        "assuming the defaults, %s", source, cls())
            return cls()
        unknown = sorted(set(settings) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"{source}: unknown text settings {unknown}; TextConfig has "
                             f"{[f.name for f in fields(cls)]} (a model saved by newer code?)")
        return cls(**settings)


def _clip(values: pd.Series, chars: int) -> pd.Series:
    return values.str.replace(r"\s+", " ", regex=True).str.strip().str.slice(0, chars)


def _join(parts: list[pd.Series], config: TextConfig) -> pd.Series:
    frame = pd.concat(parts, axis=1)
    joined = [config.sep.join(p for p in row if p) for row in frame.itertuples(index=False)]
    return pd.Series(joined, index=frame.index, dtype=object).str.slice(0, config.max_chars)


def topic_texts(topics: pd.DataFrame, tree: TopicTree,
                config: TextConfig = TextConfig()) -> pd.Series:
    """One text per topic, indexed by topic id."""
    crumbs = [
        config.crumb_sep.join(reversed(titles))
        for titles in tree.ancestor_titles(topics["id"], max_depth=config.max_ancestors)
    ]
    description = _clip(topics["description"], config.description_chars)
    context = _clip(pd.Series(crumbs, index=topics.index, dtype=object), config.max_chars)
    parts = [_clip(topics["title"], config.title_chars),
             *((description, context) if config.description_first else (context, description))]
    return _join(parts, config).set_axis(topics["id"].to_numpy()).rename("text")


def content_texts(content: pd.DataFrame, config: TextConfig = TextConfig()) -> pd.Series:
    """One text per content item, indexed by content id."""
    description = _clip(content["description"], config.description_chars)
    fallback = _clip(content["text"], config.text_chars)
    body = description.where(description != "", fallback)
    parts = [content["kind"].astype(str), _clip(content["title"], config.title_chars), body]
    return _join(parts, config).set_axis(content["id"].to_numpy()).rename("text")


def text_frames(data, config: TextConfig = TextConfig()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(topics, content)`` frames of ``id, language, text`` for every topic and item of
    ``data`` (an :class:`~utils.data.load.LECRData`): what the retrievers and rerankers read."""
    topics = data.topics[["id", "language"]].copy()
    topics["text"] = topic_texts(data.topics, TopicTree(data.topics), config).to_numpy()
    content = data.content[["id", "language"]].copy()
    content["text"] = content_texts(data.content, config).to_numpy()
    return topics.reset_index(drop=True), content.reset_index(drop=True)
