"""The submission file: built from the selected items, checked before it is trusted, scored.

Kaggle's format is ``topic_id,content_ids`` with the content ids space-separated. ``check``
enforces what a valid submission needs: every requested topic exactly once, nothing else,
every content id real, no topic left empty (an empty prediction scores 0).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .metrics import scores_per_topic

COLUMNS = ["topic_id", "content_ids"]


class SubmissionError(ValueError):
    """A submission that breaks the format or the rules above."""


def frame(chosen: dict[str, list[str]], topic_ids) -> pd.DataFrame:
    """One row per requested topic, in the requested order (topics absent from ``chosen``
    get an empty row, which :func:`check` then rejects)."""
    topic_ids = list(topic_ids)
    return pd.DataFrame({"topic_id": topic_ids,
                         "content_ids": [" ".join(chosen.get(t, [])) for t in topic_ids]})


def _rows(mask: pd.Series, submission: pd.DataFrame, limit: int = 3) -> str:
    rows = [f"row {i + 1} ({submission['topic_id'].iloc[i]!r})" for i in mask.to_numpy().nonzero()[0][:limit]]
    more = int(mask.sum()) - len(rows)
    return ", ".join(rows) + (f" and {more} more" if more > 0 else "")


def check(submission: pd.DataFrame, requested, content_ids, name: str = "submission.csv") -> None:
    """Raise :class:`SubmissionError` naming the rows at fault, or return quietly."""
    if list(submission.columns) != COLUMNS:
        raise SubmissionError(f"{name}: columns are {list(submission.columns)}, expected {COLUMNS}.")
    requested = set(requested)
    duplicated = submission["topic_id"].duplicated(keep=False)
    if duplicated.any():
        raise SubmissionError(f"{name}: topics listed more than once: {_rows(duplicated, submission)}.")
    extra = ~submission["topic_id"].isin(requested)
    if extra.any():
        raise SubmissionError(f"{name}: topics that were not requested: {_rows(extra, submission)}.")
    missing = requested - set(submission["topic_id"])
    if missing:
        raise SubmissionError(f"{name}: {len(missing)} requested topic(s) missing, e.g. "
                              f"{sorted(missing)[:3]}.")
    ids = submission["content_ids"].fillna("").astype(str).str.split()
    empty = ids.str.len() == 0
    if empty.any():
        raise SubmissionError(f"{name}: topics with no content predicted: {_rows(empty, submission)}.")
    known = set(content_ids)
    unknown = ids.map(lambda items: any(i not in known for i in items))
    if unknown.any():
        raise SubmissionError(f"{name}: content ids not in content.csv: {_rows(unknown, submission)}.")
    repeated = ids.map(lambda items: len(items) != len(set(items)))
    if repeated.any():
        raise SubmissionError(f"{name}: a content id repeated within a topic: {_rows(repeated, submission)}.")


def write(submission: pd.DataFrame, path) -> Path:
    path = Path(path)
    submission.to_csv(path, index=False)
    return path


def read(path) -> pd.DataFrame:
    """A submission file as written by Kaggle's format (missing file: a clear error)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such submission file.")
    submission = pd.read_csv(path, dtype=str, keep_default_na=False)
    return submission


def score(submission: pd.DataFrame, correlations: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall and F2 per topic of the submission (Kaggle's metric is the mean F2).

    Topics are the submission's; ``correlations`` (``topic_id, content_ids``) must cover them.
    """
    truth = correlations[correlations["topic_id"].isin(set(submission["topic_id"]))]
    unscored = set(submission["topic_id"]) - set(truth["topic_id"])
    if unscored:
        raise SubmissionError(f"{len(unscored)} submitted topic(s) have no correlations to score "
                              f"against, e.g. {sorted(unscored)[:3]}.")
    pred = dict(zip(submission["topic_id"], submission["content_ids"].str.split()))
    truth_lists = dict(zip(truth["topic_id"], truth["content_ids"].str.split()))
    return scores_per_topic(pred, truth_lists)
