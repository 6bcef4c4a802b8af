"""The submission file: built from the selected items, checked before it is trusted, scored.

Kaggle's format is ``topic_id,content_ids`` with the content ids space-separated. ``check``
enforces what a valid submission needs: every requested topic exactly once, nothing else,
every content id real, no topic left empty (an empty prediction scores 0). Scoring is
:mod:`utils.score`'s.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .data import csvfile

COLUMNS = ["topic_id", "content_ids"]


class SubmissionError(ValueError):
    """A submission that breaks the format or the rules above."""


def frame(chosen: dict[str, list[str]], topic_ids) -> pd.DataFrame:
    """One row per requested topic, in the requested order (topics absent from ``chosen``
    get an empty row, which :func:`check` then rejects)."""
    topic_ids = list(topic_ids)
    return pd.DataFrame({"topic_id": topic_ids,
                         "content_ids": [" ".join(chosen.get(t, [])) for t in topic_ids]})


def requested_topics(data, predict: str = "sample_submission", folds=None, valid_fold: int = 0) -> list[str]:
    """The topics to predict: those of ``sample_submission.csv`` (``predict``
    ``"sample_submission"``), or the validation fold ``valid_fold`` of ``folds``
    (``"valid"``); an empty list is an error, never an empty submission."""
    if predict == "sample_submission":
        requested = data.sample_submission["topic_id"].drop_duplicates().tolist()
        where = f"{Path(data.path) / 'sample_submission.csv'} has no rows: list the topic ids to predict in it"
    elif predict == "valid":
        from .data.folds import split_topics

        requested = sorted(split_topics(folds, valid_fold)[1])
        where = f"validation fold {valid_fold} has no topics: check folds.csv (notebook 02)"
    else:
        raise ValueError(f'PREDICT must be "sample_submission" or "valid", not {predict!r}')
    if not requested:
        raise SubmissionError(f"no topics to predict: {where}.")
    return requested


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
    """A submission file, read as Kaggle reads it: plain UTF-8 CSV (anything else raises
    :class:`utils.data.csvfile.CSVError` naming the file and the fix)."""
    return csvfile.read(path, strict=True)[0]
