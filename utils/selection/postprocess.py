"""From scored candidates to the final sets: selection rules, tuned for mean F2 and validated
out of sample.

A rule (:class:`PostProcess`) orders each topic's candidates by a score (optionally a
``blend`` of the reranker's probability with a stage-1 score; at blend 1 the reranker is not
used at all) and keeps, as a union:

- every candidate whose score reaches the absolute ``threshold`` and, when set, ``relative``
  times the topic's best score;
- the topic's best ``min_items`` candidates, whatever their scores (a fixed top-k when
  ``threshold`` is None), and with ``per_supply`` at least that many times the topic's
  supply (its ``supply`` column: the items its language's pool holds per topic that needs
  them, :mod:`utils.selection.newchannel`): a count that follows a label-free signal;

and a topic left with nothing takes its best ``fill`` candidates, so no topic is ever
predicted empty (an empty prediction scores 0). With ``skip_taken`` the rule first leaves out
the candidates that known topics of the topic's own channel already link, in a channel whose
known links rarely reuse an item (:func:`utils.retrieval.candidates.channel_use`), unless the topic
has no other candidate: such a curriculum rarely attaches one item to two of its topics.

The rule is chosen on validation topics (:mod:`utils.selection.tuning`) and saved as JSON beside the
model, so the submission applies exactly what was validated.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import BETA, scores_per_topic

BETA2 = BETA**2
"""F2: recall weighs 2² = 4 times precision (:data:`utils.metrics.BETA`)."""

FIELDS = ["blend", "threshold", "relative", "fill", "min_items", "per_supply", "skip_taken"]
"""The fields that make one rule (the others name the columns it reads)."""
REMOVED = ("gap", "item_gap", "expected_f2")
"""Fields of an earlier version's rules (LECR's 1st-place rules, the expected F2; not adopted:
docs/history.md): a saved rule that sets one cannot be applied as it was validated."""
SUPPLY = "supply"
"""The candidates' column ``per_supply`` reads: the topic's supply of items
(:meth:`utils.selection.newchannel.Supply.annotate`)."""
TAKEN, REUSE = "channel_links", "channel_reuse"
"""The candidates' columns that ``skip_taken`` reads (:func:`utils.retrieval.candidates.channel_use`):
how many known topics of the topic's own channel link the item, and the share of that
channel's known links whose item it attaches twice or more. A frame without the first has no
item taken; without the second, every channel counts as one that does not reuse."""
REUSE_GATE = 0.1
"""``skip_taken`` leaves items out only in channels that reuse fewer of their linked items
than this (on mini-LECR a channel's share is 0, or 0.15 and more: docs/RESULTS.md, "Within a
channel")."""


@dataclass
class PostProcess:
    """A selection rule (see the module docstring); saved as JSON beside the model, so the
    submission applies exactly what was validated."""

    threshold: float | None = 0.0
    """Keep candidates scoring at least this; None: none kept by score (a fixed top-k)."""
    relative: float | None = None
    """...and at least this times the topic's best score."""
    fill: int = 1
    """A topic with nothing kept takes its best ``fill``."""
    score: str = "score"
    blend: float = 0.0
    """Weight of ``blend_with`` mixed into ``score``: (1 - blend) * score + blend * blend_with."""
    blend_with: str = "retriever_score"
    """A stage-1 score of the candidates table (missing where that retriever missed the pair: 0)."""
    min_items: int = 0
    """Always keep the topic's best ``min_items``."""
    per_supply: float | None = None
    """...and its best ceil(``per_supply`` x its ``supply``) (:data:`SUPPLY`; a frame without
    that column keeps ``min_items`` alone)."""
    skip_taken: bool = False
    """Leave out the candidates already linked to a known topic of the topic's channel
    (:data:`TAKEN` > 0) in a channel that rarely reuses its items (:data:`REUSE` below
    ``reuse_gate``) before anything else, unless every candidate of the topic is."""
    reuse_gate: float = REUSE_GATE
    """The reuse share below which ``skip_taken`` applies (:data:`REUSE_GATE` when the rule
    was made): saved with the rule, so that a loaded rule skips what was validated."""

    @property
    def needs_score(self) -> bool:
        """False when ``blend`` is 1: ``score`` gets no weight, so it need not be computed."""
        return self.blend < 1.0

    def final_scores(self, scored: pd.DataFrame) -> pd.Series:
        if not self.blend:
            return scored[self.score]
        return (1 - self.blend) * scored[self.score] + self.blend * scored[self.blend_with].fillna(0.0)

    def keep(self, scored: pd.DataFrame) -> np.ndarray:
        """Which rows of ``scored`` the rule keeps (a boolean array aligned with its rows)."""
        rows = np.flatnonzero(considered(scored, self.reuse_gate)) if self.skip_taken else np.arange(len(scored))
        part = scored.iloc[rows]
        frame = Ranked(part["topic_id"].to_numpy(), self.final_scores(part).to_numpy(float),
                        part["content_id"].to_numpy(), supply_of(part))
        kept = np.zeros(len(scored), dtype=bool)
        kept[rows[frame.order]] = frame.keep(self)
        return kept

    def apply(self, scored: pd.DataFrame) -> dict[str, list[str]]:
        """``{topic_id: [content ids, best first]}``: every topic of ``scored`` gets at least one."""
        final = scored.assign(final_score=self.final_scores(scored).to_numpy(float))[self.keep(scored)]
        final = final.sort_values(["topic_id", "final_score"], ascending=[True, False], kind="stable")
        return final.groupby("topic_id", sort=False)["content_id"].agg(list).to_dict()

    def quality(self, scored: pd.DataFrame, truth) -> pd.Series:
        """Mean F2, precision and recall of the selected sets on ``truth``'s topics."""
        return scores_per_topic(self.apply(scored), truth)[["f2", "precision", "recall"]].mean()

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def load(cls, path) -> "PostProcess":
        fields = json.loads(Path(path).read_text())
        removed = {name: fields.pop(name) for name in REMOVED if name in fields}
        if any(value is not None for value in removed.values()):
            raise ValueError(f"{path}: a rule of an earlier version ({removed}), which this one no longer "
                             "applies; rerun notebook 05, or use the code it came from")
        return cls(**fields)

    @classmethod
    def from_row(cls, row: dict, score: str = "score", blend_with: str = "retriever_score",
                 reuse_gate: float | None = None) -> "PostProcess":
        """The rule of one row of a table of rules (:data:`FIELDS`, NaN for unset);
        ``reuse_gate``: the gate its table was scored with (None: :data:`REUSE_GATE`)."""
        def number(name):
            value = row.get(name)
            return None if value is None or pd.isna(value) else float(value)

        skip = row.get("skip_taken")
        return cls(threshold=number("threshold"), relative=number("relative"),
                   fill=int(row["fill"]), min_items=int(row["min_items"]), per_supply=number("per_supply"),
                   blend=float(row["blend"]), score=score, blend_with=blend_with,
                   skip_taken=bool(skip) if skip is not None and not pd.isna(skip) else False,
                   reuse_gate=REUSE_GATE if reuse_gate is None else float(reuse_gate))


def supply_of(scored: pd.DataFrame) -> np.ndarray | None:
    """The rows' :data:`SUPPLY` as floats (missing as 0), or None for a frame without it."""
    return scored[SUPPLY].fillna(0.0).to_numpy(float) if SUPPLY in scored else None


def considered(scored: pd.DataFrame, gate: float | None = None) -> np.ndarray:
    """The rows a ``skip_taken`` rule reads: the candidates not taken (no known topic of the
    topic's channel links them, :data:`TAKEN`, or the channel reuses its items, :data:`REUSE`,
    at least ``gate`` of the time; None: :data:`REUSE_GATE`), and every candidate of a topic
    whose candidates all are taken."""
    if TAKEN not in scored:
        return np.ones(len(scored), dtype=bool)
    taken = scored[TAKEN].fillna(0).to_numpy() > 0
    if REUSE in scored:
        taken &= scored[REUSE].fillna(0).to_numpy() < (REUSE_GATE if gate is None else gate)
    every = pd.Series(taken).groupby(scored["topic_id"].to_numpy()).transform("all").to_numpy()
    return ~taken | every


class Ranked:
    """A scored frame's rows in topic order, best score first, with what every rule reads."""

    def __init__(self, topic_ids, scores, content_ids, supply=None):
        self.order = np.lexsort((-scores, topic_ids))
        self.supply = None if supply is None else np.asarray(supply, dtype=float)[self.order]
        topic_ids, self.s = topic_ids[self.order], scores[self.order]
        self.topics, self.code = np.unique(topic_ids, return_inverse=True)
        starts = np.flatnonzero(np.r_[True, self.code[1:] != self.code[:-1]])
        self.position = np.arange(len(self.s)) - np.repeat(starts, np.diff(np.r_[starts, len(self.s)]))
        self.best = self.s[starts][self.code]  # each topic's first row is its best

    def by_topic(self, values) -> np.ndarray:
        return np.bincount(self.code, weights=values, minlength=len(self.topics))

    def passes(self, rule: PostProcess) -> np.ndarray:
        """Kept by score: threshold and relative (before min_items, per_supply and fill)."""
        if rule.threshold is None:
            return np.zeros(len(self.s), dtype=bool)
        keep = self.s >= rule.threshold
        if rule.relative is not None:
            keep &= self.s >= rule.relative * self.best
        return keep

    def forced(self, rule: PostProcess) -> np.ndarray:
        """Kept whatever the threshold: min_items and per_supply."""
        keep = self.position < rule.min_items
        if rule.per_supply is not None and self.supply is not None:
            keep |= self.position < np.ceil(rule.per_supply * self.supply)
        return keep

    def keep(self, rule: PostProcess) -> np.ndarray:
        keep = self.forced(rule) | self.passes(rule)
        empty = self.by_topic(keep)[self.code] == 0
        return keep | (empty & (self.position < rule.fill))
