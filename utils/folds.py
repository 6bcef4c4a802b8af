"""The cross-validation split every stage shares: one ``folds.csv`` (topic_id, fold).

- ``source`` topics (never in the test) are always training: fold ``-1``;
- the correlated topics of the split categories (default: every non-source category) go
  through scikit-learn's ``StratifiedGroupKFold``, stratified by language and grouped by
  topic, or by channel (``group="channel"``: whole curricula are held out, the harder and
  more honest test of unseen channels);
- correlated topics of other categories are training (fold ``-1``); topics without
  correlations are not in the table (nothing to train or score on).

Stage 1 and stage 2 both read this table, so the validation topics are never seen by either.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from .data import LECRData

TRAIN_ONLY = -1


def make_folds(data: LECRData, n_splits: int = 5, group: str = "topic",
               categories: list[str] | None = None, seed: int = 42) -> pd.DataFrame:
    """Assign each correlated topic a fold (``-1``: always training); see the module doc."""
    if group not in ("topic", "channel"):
        raise ValueError(f"group must be 'topic' or 'channel', not {group!r}")
    categories = categories or sorted(set(data.topics["category"]) - {"source"})
    topics = data.topics[data.topics["id"].isin(set(data.correlations["topic_id"]))]
    topics = topics[["id", "channel", "category", "language"]].reset_index(drop=True)
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
    return pd.DataFrame({"topic_id": topics["id"], "fold": folds})


def save_folds(folds: pd.DataFrame, work: Path) -> Path:
    path = Path(work) / "folds.csv"
    folds.to_csv(path, index=False)
    return path


def load_folds(work: Path) -> pd.DataFrame:
    """The folds table written by ``02_cv_split`` (clear error if that notebook has not run)."""
    path = Path(work) / "folds.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no folds table; run notebooks/02_cv_split.ipynb "
                                f"first (or `python -m utils.run --only 02`).")
    return pd.read_csv(path, dtype={"topic_id": str, "fold": "int64"})


def split_topics(folds: pd.DataFrame, valid_fold: int) -> tuple[set[str], set[str]]:
    """(training topic ids, validation topic ids) for one validation fold."""
    if valid_fold not in set(folds["fold"]):
        raise ValueError(f"fold {valid_fold} is not in the folds table "
                         f"(folds: {sorted(set(folds['fold']) - {TRAIN_ONLY})})")
    valid = folds["fold"] == valid_fold
    return set(folds.loc[~valid, "topic_id"]), set(folds.loc[valid, "topic_id"])


def holdout_plan(folds: pd.DataFrame, valid_fold: int, oof_groups: int = 0) -> dict[str, list[int]]:
    """Which folds each retriever must not train on: ``{"main": [valid], "oof1": [...], ...}``.

    The main retriever leaves out the validation fold. Each of ``oof_groups`` out-of-fold
    retrievers also leaves out one group of the other folds (fold ``f`` goes to group ``i``
    when it is the i-th remaining fold, round robin), so every training topic of the
    reranker gets candidates from a retriever that never saw it; ``oof_groups`` equal to the
    number of remaining folds is plain k-fold.
    """
    split_topics(folds, valid_fold)  # checks the fold exists
    others = sorted(set(folds["fold"]) - {TRAIN_ONLY, valid_fold})
    if oof_groups < 0 or oof_groups > len(others):
        raise ValueError(f"oof_groups must be between 0 and {len(others)} (the folds other than "
                         f"the validation fold {valid_fold}), not {oof_groups}")
    plan = {"main": [valid_fold]}
    for group in range(oof_groups):
        plan[f"oof{group + 1}"] = sorted([valid_fold, *others[group::oof_groups]])
    return plan
