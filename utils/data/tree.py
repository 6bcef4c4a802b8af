"""The topic tree of a competition folder: ancestors, breadcrumb, channel root, children.

Built once from ``topics`` (validated by :mod:`utils.data.load`, so every parent exists and levels
grow by one) in O(n); each query walks at most the topic's depth.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd


class TopicTree:
    """Parent/child links between topics, keyed by topic id."""

    def __init__(self, topics: pd.DataFrame):
        ids = topics["id"].tolist()
        self.parent = dict(zip(ids, topics["parent"].tolist()))
        self.title = dict(zip(ids, topics["title"].tolist()))
        self._children: dict[str, list[str]] = defaultdict(list)
        for topic, parent in self.parent.items():
            if parent:
                self._children[parent].append(topic)
        # process topics from the roots down so each one reads its parent's finished path
        order = topics.sort_values("level", kind="stable")["id"].tolist()
        self._root: dict[str, str] = {}
        for topic in order:
            parent = self.parent[topic]
            self._root[topic] = self._root[parent] if parent else topic

    def __contains__(self, topic_id: str) -> bool:
        return topic_id in self.parent

    def ancestors(self, topic_id: str) -> list[str]:
        """Ids from the parent up to the channel root (empty for a root)."""
        chain = []
        parent = self.parent[topic_id]
        while parent:
            chain.append(parent)
            parent = self.parent[parent]
        return chain

    def root(self, topic_id: str) -> str:
        """The id of the topic's channel root."""
        return self._root[topic_id]

    def children(self, topic_id: str) -> list[str]:
        """Direct children, in the order of the topics table."""
        return list(self._children.get(topic_id, ()))

    def breadcrumb(self, topic_id: str, sep: str = " > ", max_depth: int | None = None) -> str:
        """Titles from the root down to the topic, e.g. ``Math > Fractions > Adding``.

        ``max_depth`` keeps only the nearest ancestors (the root is dropped first).
        """
        chain = [topic_id, *self.ancestors(topic_id)]
        if max_depth is not None:
            chain = chain[: max_depth + 1]
        return sep.join(self.title[t] for t in reversed(chain))

    def ancestor_titles(self, topic_ids, max_depth: int | None = None) -> list[list[str]]:
        """For each topic, its ancestors' titles nearest first (parent, grandparent, ...)."""
        out = []
        for topic in topic_ids:
            chain = self.ancestors(topic)
            if max_depth is not None:
                chain = chain[:max_depth]
            out.append([self.title[t] for t in chain])
        return out
