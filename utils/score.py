"""Score a submission the way Kaggle does (mean F2 over the requested topics), and say what
Kaggle would have refused.

    python -m utils.score SUBMISSION.csv COMPETITION_FOLDER [--topics TOPICS.csv]

The folder gives the truth (``correlations.csv``), the real content ids (``content.csv``) and
the requested topics (``sample_submission.csv``, or ``--topics``: any CSV with a ``topic_id``
column, such as the ``requested.csv`` notebook 06 writes beside a validation-fold
submission). ``COMPETITION_FOLDER`` may instead be a ``correlations.csv`` file, with
``--topics`` then required (and ``--content content.csv`` to check the ids).

The mean runs over every requested topic that has correlations: a requested topic missing
from the submission, or predicted empty, scores 0, as on Kaggle, so a partial submission
cannot score as a complete one. The report names, apart from the figure:

- ``missing``: requested topics the submission lacks (scored 0);
- ``extra``: submitted topics nobody requested (ignored);
- ``empty``: topics predicted nothing (scored 0); ``unknown``: content ids not in
  ``content.csv`` (counted wrong);
- ``cannot be scored``: requested topics without correlations (left out of the mean).

Exit status: 0 for a complete, valid submission; 1 when it was scored but has missing, extra,
empty or unknown entries (Kaggle would refuse it or score it low); 2, with one line naming
the file and the fix, when nothing can be scored: an unreadable file, wrong columns, a topic
listed twice, ids separated by commas, no topic to score.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .data import csvfile
from .metrics import scores_per_topic
from .submission import COLUMNS

_SHOW = 3


class ScoreError(ValueError):
    """A file the scorer cannot use (the message names it and the fix)."""


@dataclass
class Report:
    """A scored submission: the mean over the scored topics, and what was wrong beside it."""

    per_topic: pd.DataFrame
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    unscorable: list[str] = field(default_factory=list)

    @property
    def f2(self) -> float:
        return float(self.per_topic["f2"].mean())

    @property
    def valid(self) -> bool:
        return not (self.missing or self.extra or self.empty or self.unknown)

    def lines(self, name: str) -> list[str]:
        means = self.per_topic[["f2", "precision", "recall"]].mean()
        out = [f"{name}: mean F2 {means['f2']:.4f} over {len(self.per_topic)} topics "
               f"(precision {means['precision']:.4f}, recall {means['recall']:.4f})"]
        for label, ids, meaning in [
            ("missing", self.missing, "requested topic(s) not in the submission, scored 0"),
            ("extra", self.extra, "submitted topic(s) not requested, ignored"),
            ("empty", self.empty, "topic(s) predicted nothing, scored 0"),
            ("unknown", self.unknown, "content id(s) not in content.csv, counted wrong"),
            ("cannot be scored", self.unscorable,
             "requested topic(s) without correlations, left out of the mean"),
        ]:
            if ids:
                out.append(f"{label}: {len(ids)} {meaning} (e.g. {', '.join(ids[:_SHOW])})")
        if not self.valid:
            out.append("not a valid submission: Kaggle refuses missing or extra topics")
        return out


def _read(file, columns: list[str], what: str, strict: bool = False) -> pd.DataFrame:
    try:
        frame, _ = csvfile.read(file, strict=strict, columns=None if strict else columns)
    except csvfile.CSVError as err:
        raise ScoreError(str(err)) from None
    absent = [c for c in columns if c not in frame.columns]
    if absent or (strict and list(frame.columns) != columns):
        raise ScoreError(f"{file}: columns are {list(frame.columns)}; {what} needs "
                         f"{','.join(columns)}" + (" and no other" if strict else "") + ".")
    return frame


def _ids(frame: pd.DataFrame, file) -> pd.Series:
    """``content_ids`` split on whitespace; a comma in an id is a format error."""
    commas = frame["content_ids"].str.contains(",", regex=False)
    if commas.any():
        raise ScoreError(f"{file}: content ids separated by commas (topic "
                         f"{frame.loc[commas, 'topic_id'].iloc[0]!r}); separate them with spaces.")
    return frame["content_ids"].str.split()


def evaluate(submission, truth, topics=None, content=None) -> Report:
    """Score the file ``submission`` against ``truth`` (a competition folder, or a
    correlations file with ``topics`` given); see the module doc. Raises :class:`ScoreError`."""
    truth = Path(truth)
    if truth.is_dir():
        topics = topics or truth / "sample_submission.csv"
        content = content or truth / "content.csv"
        truth = truth / "correlations.csv"
    elif topics is None:
        raise ScoreError(f"{truth}: which topics were requested? pass the competition folder, or "
                         "--topics sample_submission.csv (or notebook 06's requested.csv).")
    submitted = _read(submission, COLUMNS, "a submission", strict=True)
    correlations = _read(truth, COLUMNS, "a correlations file")
    requested = list(dict.fromkeys(_read(topics, ["topic_id"], "the requested topics")["topic_id"].str.strip()))
    twice = submitted["topic_id"].duplicated()
    if twice.any():
        raise ScoreError(f"{submission}: topic {submitted.loc[twice, 'topic_id'].iloc[0]!r} listed "
                         f"more than once ({twice.sum()} repeat(s)); list each topic once.")
    predicted = dict(zip(submitted["topic_id"], _ids(submitted, submission)))
    known = dict(zip(correlations["topic_id"], _ids(correlations, truth)))
    report = Report(per_topic=pd.DataFrame(),
                    missing=[t for t in requested if t not in predicted],
                    extra=[t for t in predicted if t not in set(requested)],
                    empty=[t for t in requested if t in predicted and not predicted[t]],
                    unscorable=[t for t in requested if not known.get(t)])
    if content is not None:
        real = set(_read(content, ["id"], "a content file")["id"])
        report.unknown = sorted({i for t in requested for i in predicted.get(t, []) if i not in real})
    scored = {t: known[t] for t in requested if known.get(t)}
    if not scored:
        raise ScoreError(f"{topics}: none of its {len(requested)} requested topic(s) has correlations "
                         f"in {truth}; score against the correlations that hold their links.")
    report.per_topic = scores_per_topic(predicted, scored)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.score", description=__doc__.split("\n")[0])
    parser.add_argument("submission")
    parser.add_argument("truth", help="the competition folder (or its correlations.csv, with --topics)")
    parser.add_argument("--topics", help="a CSV whose topic_id column lists the requested topics "
                                         "(default: the folder's sample_submission.csv)")
    parser.add_argument("--content", help="content.csv, to check every content id is real "
                                          "(default: the folder's)")
    args = parser.parse_args(argv)
    try:
        report = evaluate(args.submission, args.truth, args.topics, args.content)
    except ScoreError as err:
        print("error: " + " ".join(str(err).split()), file=sys.stderr)  # one line
        return 2
    print("\n".join(report.lines(args.submission)))
    return 0 if report.valid else 1


if __name__ == "__main__":
    sys.exit(main())
