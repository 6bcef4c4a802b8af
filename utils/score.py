"""Score a submission the way Kaggle does (mean F2 over topics), after checking its format.

    python -m utils.score SUBMISSION.csv CORRELATIONS.csv [--content content.csv] [--topics sample_submission.csv]

``--content`` checks that every content id is real; ``--topics`` that the submission lists
exactly the topics of that file (default: the submission's own topics, all of which must be
in the correlations file).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from . import submission as sub


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(prog="python -m utils.score", description=__doc__.split("\n")[0])
    parser.add_argument("submission")
    parser.add_argument("correlations", help="correlations.csv (topic_id, content_ids)")
    parser.add_argument("--content", help="content.csv, to check every content id is real")
    parser.add_argument("--topics", help="a file with the requested topic_id column "
                                         "(e.g. sample_submission.csv)")
    args = parser.parse_args(argv)
    submitted = sub.read(args.submission)
    correlations = pd.read_csv(args.correlations, dtype=str, keep_default_na=False)
    requested = (pd.read_csv(args.topics, dtype=str)["topic_id"] if args.topics
                 else submitted["topic_id"])
    content_ids = (pd.read_csv(args.content, dtype=str, usecols=["id"])["id"] if args.content
                   else {i for ids in submitted["content_ids"].str.split() for i in ids})
    try:
        sub.check(submitted, requested, content_ids, name=args.submission)
        per_topic = sub.score(submitted, correlations)
    except sub.SubmissionError as err:
        sys.exit(f"invalid: {err}")
    means = per_topic[["f2", "precision", "recall"]].mean()
    print(f"{args.submission}: {len(per_topic)} topics, mean F2 {means['f2']:.4f} "
          f"(precision {means['precision']:.4f}, recall {means['recall']:.4f})")
    return float(means["f2"])


if __name__ == "__main__":
    main()
