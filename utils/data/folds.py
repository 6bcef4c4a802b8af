"""The cross-validation split every stage shares: one ``folds.csv`` (topic_id, fold).

- ``source`` topics (never in the test) are always training: fold ``-1``;
- the correlated topics of the split categories (default: every non-source category) go
  through scikit-learn's ``StratifiedGroupKFold``, stratified by language and grouped by
  topic, or by channel (``group="channel"``: whole curricula are held out, the harder and
  more honest test of unseen channels);
- correlated topics of other categories are training (fold ``-1``); topics without
  correlations are not in the table (nothing to train or score on);
- every training-only topic also gets an out-of-fold group (``oof_group``, 0 to
  :data:`OOF_GROUPS` - 1; siblings, the topics of one parent, share one), so the out-of-fold
  retrievers can leave some of them out too (:func:`holdout_plan`) and stage 2 learns from
  the candidates of thousands of training-only topics of many channels and languages, not
  only from the split topics of the other folds.

Stage 1 and stage 2 both read this table, so the validation topics are never seen by either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

from .load import LECRData

TRAIN_ONLY = -1
OOF_GROUPS = 12
"""Out-of-fold groups of the training-only topics: 12 divide evenly among 1, 2, 3, 4 or 6
out-of-fold retrievers."""


def make_folds(data: LECRData, n_splits: int = 5, group: str = "topic",
               categories: list[str] | None = None, seed: int = 42) -> pd.DataFrame:
    """Assign each correlated topic a fold (``-1``: always training) and the training-only
    ones an out-of-fold group (``oof_group``; ``-1`` for the split topics); see the module
    doc."""
    if group not in ("topic", "channel"):
        raise ValueError(f"group must be 'topic' or 'channel', not {group!r}")
    categories = categories or sorted(set(data.topics["category"]) - {"source"})
    topics = data.topics[data.topics["id"].isin(set(data.correlations["topic_id"]))]
    topics = topics[["id", "channel", "category", "language", "parent"]].reset_index(drop=True)
    split = topics["category"].isin(categories) & (topics["category"] != "source")
    folds = pd.Series(TRAIN_ONLY, index=topics.index, dtype="int64")
    pool = topics[split]
    groups = pool["id"] if group == "topic" else pool["channel"]
    if groups.nunique() < n_splits:
        raise ValueError(
            f"cannot make {n_splits} folds: only {groups.nunique()} {group}(s) of categories "
            f"{categories} have correlations; lower n_splits, group by topic, or add categories.")
    # a language too rare to stratify is still split, by group: StratifiedGroupKFold only
    # warns when a class has fewer members than folds
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for fold, (_, valid) in enumerate(splitter.split(pool, pool["language"], groups)):
        folds.loc[pool.index[valid]] = fold
    return pd.DataFrame({"topic_id": topics["id"], "fold": folds,
                         "oof_group": oof_groups(topics, folds == TRAIN_ONLY)})


def channel_folds(data: LECRData, groups: list[list[str]]) -> pd.DataFrame:
    """A folds table that holds out whole channels, chosen by hand: fold ``i`` is every
    correlated topic of the channels of ``groups[i]`` (channel ids, any category, ``source``
    included), every other correlated topic trains (fold ``-1``, with out-of-fold groups as
    :func:`make_folds` gives them). For transfer benchmarks: leave one curriculum (or a
    family of curricula that mirror one another) out, and score each channel apart."""
    known = set(data.topics["channel"])
    named = [channel for group in groups for channel in group]
    unknown = sorted(set(named) - known)
    if unknown:
        raise ValueError(f"channel_folds: no channel {unknown} in topics.csv; its channels are "
                         f"{sorted(known)}")
    if len(named) != len(set(named)):
        raise ValueError("channel_folds: a channel is named in two groups")
    topics = data.topics[data.topics["id"].isin(set(data.correlations["topic_id"]))]
    topics = topics[["id", "channel", "parent"]].reset_index(drop=True)
    fold_of = {channel: i for i, group in enumerate(groups) for channel in group}
    folds = topics["channel"].map(fold_of).fillna(TRAIN_ONLY).astype("int64")
    empty = [i for i in range(len(groups)) if not (folds == i).any()]
    if empty:
        raise ValueError(f"channel_folds: groups {empty} have no correlated topic")
    return pd.DataFrame({"topic_id": topics["id"], "fold": folds,
                         "oof_group": oof_groups(topics, folds == TRAIN_ONLY)})


def oof_groups(topics: pd.DataFrame, train_only: pd.Series) -> np.ndarray:
    """:data:`OOF_GROUPS` groups of the ``train_only`` rows of ``topics`` (``-1`` elsewhere),
    siblings together (grouped by parent; a root by itself), of balanced sizes."""
    out = np.full(len(topics), -1, dtype="int64")
    pool = topics[train_only.to_numpy()]
    parents = pool["parent"].where(pool["parent"] != "", pool["id"])
    n = min(OOF_GROUPS, parents.nunique())
    if n >= 2:
        for number, (_, part) in enumerate(GroupKFold(n_splits=n).split(pool, groups=parents)):
            out[np.flatnonzero(train_only.to_numpy())[part]] = number
    elif len(pool):
        out[train_only.to_numpy()] = 0
    return out


def save_folds(folds: pd.DataFrame, work: Path) -> Path:
    path = Path(work) / "folds.csv"
    folds.to_csv(path, index=False)
    return path


def load_folds(work: Path) -> pd.DataFrame:
    """The folds table written by ``02_cv_split`` (clear error if that notebook has not run;
    a table written before ``oof_group`` existed reads as one without groups)."""
    path = Path(work) / "folds.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no folds table; run notebooks/02_cv_split.ipynb "
                                f"first (or `python -m utils.run --only 02`).")
    folds = pd.read_csv(path, dtype={"topic_id": str, "fold": "int64", "oof_group": "int64"})
    if "oof_group" not in folds:
        folds["oof_group"] = -1
    return folds


def split_topics(folds: pd.DataFrame, valid_fold: int) -> tuple[set[str], set[str]]:
    """(training topic ids, validation topic ids) for one validation fold."""
    if valid_fold not in set(folds["fold"]):
        raise ValueError(f"fold {valid_fold} is not in the folds table "
                         f"(folds: {sorted(set(folds['fold']) - {TRAIN_ONLY})})")
    valid = folds["fold"] == valid_fold
    return set(folds.loc[~valid, "topic_id"]), set(folds.loc[valid, "topic_id"])


@dataclass(frozen=True)
class Holdout:
    """What one retriever leaves out of its training: the split topics of ``folds`` and the
    training-only topics of out-of-fold ``groups``."""

    folds: tuple[int, ...]
    groups: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "folds", tuple(sorted(int(f) for f in self.folds)))
        object.__setattr__(self, "groups", tuple(sorted(int(g) for g in self.groups)))

    def mask(self, folds: pd.DataFrame) -> np.ndarray:
        """Which rows of the folds table this retriever leaves out."""
        group = folds["oof_group"] if "oof_group" in folds else pd.Series(-1, index=folds.index)
        return (folds["fold"].isin(self.folds)
                | ((folds["fold"] == TRAIN_ONLY) & group.isin(self.groups))).to_numpy()

    def topics(self, folds: pd.DataFrame) -> set[str]:
        return set(folds.loc[self.mask(folds), "topic_id"])

    def as_dict(self) -> dict:
        """As ``fit.json`` records it (no ``holdout_groups`` when there are none)."""
        return {"holdout_folds": list(self.folds),
                **({"holdout_groups": list(self.groups)} if self.groups else {})}

    @classmethod
    def from_dict(cls, saved: dict) -> "Holdout":
        return cls(saved["holdout_folds"], saved.get("holdout_groups", ()))


def holdout_plan(folds: pd.DataFrame, valid_fold: int, oof_groups: int = 0) -> dict[str, Holdout]:
    """What each retriever must not train on: ``{"main": Holdout([valid]), "oof1": ...}``.

    The main retriever leaves out the validation fold. Each of ``oof_groups`` out-of-fold
    retrievers also leaves out one share of the other folds (fold ``f`` goes to retriever
    ``i`` when it is the i-th remaining fold, round robin) and one share of the training-only
    topics (out-of-fold group ``g`` goes to retriever ``g % oof_groups``), so every training
    topic of stage 2 gets candidates from a retriever that never saw it; ``oof_groups``
    equal to the number of remaining folds is plain k-fold. With no other fold (one channel
    held out, everything else training-only: :func:`channel_folds`), each leaves out its share
    of the training-only topics' groups alone.
    """
    split_topics(folds, valid_fold)  # checks the fold exists
    others = sorted(set(folds["fold"]) - {TRAIN_ONLY, valid_fold})
    groups = sorted(set(folds["oof_group"]) - {-1}) if "oof_group" in folds else []
    most = len(others) if others else len(groups)
    if oof_groups < 0 or oof_groups > most:
        what = (f"the folds other than the validation fold {valid_fold}" if others
                else "the training-only topics' out-of-fold groups")
        raise ValueError(f"oof_groups must be between 0 and {most} ({what}), not {oof_groups}")
    plan = {"main": Holdout([valid_fold])}
    for i in range(oof_groups):
        plan[f"oof{i + 1}"] = Holdout([valid_fold, *others[i::oof_groups]],
                                      [g for g in groups if g % oof_groups == i])
    return plan
