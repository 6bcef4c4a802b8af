"""The feature ranker's F2 by the number of topics scored together, fold by fold.

    python bench/ranker_frames.py --data ../shared/data/minilecr --work /tmp/quality_v2 --folds 0 1 2 3 4

Two of :mod:`utils.selection.feature_ranker`'s features (the hub share and ``item_gap``) are computed over the
topics scored together. For each fold folder that ``bench/quality.py`` left (``WORK/fold{f}``:
notebook 04's candidates and the folds), this trains notebook 05's feature ranker on the same
out-of-fold topics, tunes its post-processing on the validation topics scored together as 05
does, then scores those topics again in frames of fewer topics (consecutive slices of a seeded
random order) with the same rule. Beside it, the ranker without those two features
(``RankerConfig(drop=...)``), whose scores do not depend on the frame, with its own tuned rule.
It prints one table of mean F2 per frame size and fold.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.tables import print_by_fold  # noqa: E402
from utils.data.folds import load_folds, split_topics  # noqa: E402
from utils.data.load import load_competition  # noqa: E402
from utils.selection import cross_encoder, stage2, tuning  # noqa: E402
from utils.selection.feature_ranker import FeatureRanker, RankerConfig  # noqa: E402

FRAME_FEATURES = ("hub", "item_gap")
BLENDS = stage2.SelectionConfig().blends  # notebook 05's
FAMILIES = ("threshold", "relative")  # the rules notebook 05 chose from when this was measured


def frames(topics, size: int | None, seed: int) -> list[list[str]]:
    """``topics`` in a seeded random order, cut into consecutive frames of ``size`` topics
    (None: one frame of all; 0: two halves)."""
    order = np.random.default_rng(seed).permutation(sorted(topics))
    if size is None:
        return [list(order)]
    return [list(part) for part in (np.array_split(order, 2) if size == 0 else
                                    (order[i:i + size] for i in range(0, len(order), size)))]


def fold_figures(candidates: pd.DataFrame, data, folds: pd.DataFrame, fold: int,
                 sizes=(None, 0, 10, 3, 1), seed: int = 0, config: RankerConfig = RankerConfig()) -> dict:
    """F2 of one validation fold by frame (:func:`label`): notebook 05's ranker in frames of
    each of ``sizes``, and the ranker without :data:`FRAME_FEATURES` (all together)."""
    _, valid_topics = split_topics(folds, fold)
    train = candidates[candidates["topic_id"].isin(cross_encoder.training_topics(candidates, folds, fold))]
    valid = candidates[candidates["topic_id"].isin(valid_topics)]
    truth = data.correlations[data.correlations["topic_id"].isin(valid_topics)]
    found = {}
    for drop in ((), FRAME_FEATURES):
        model = FeatureRanker.fit(train, data, RankerConfig(**{**config.as_dict(), "drop": drop}))
        rule, _ = tuning.tune(model.score(valid, data), truth, families=FAMILIES, blends=BLENDS)
        for size in (sizes if not drop else (None,)):
            scored = pd.concat([model.score(valid[valid["topic_id"].isin(frame)], data)
                                for frame in frames(valid_topics, size, seed)])
            found[label(size, drop)] = rule.quality(scored, truth)["f2"]
    return found


def label(size: int | None, drop=()) -> str:
    if drop:
        return f"ranker without {' and '.join(drop)} (any frame)"
    return {None: "all validation topics together (notebook 05)", 0: "halves",
            1: "one topic at a time"}.get(size, f"frames of {size} topics")


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the competition folder the folds were run on")
    parser.add_argument("--work", required=True, help="bench/quality.py's working folder (fold{f}/ inside)")
    parser.add_argument("--folds", type=int, nargs="+", required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10, 3, 1],
                        help="frame sizes besides all topics together (0: halves)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = load_competition(args.data)
    columns = {}
    for fold in args.folds:
        folder = Path(args.work) / f"fold{fold}"
        candidates = pd.read_parquet(folder / "candidates.parquet")
        columns[f"fold {fold}"] = fold_figures(candidates, data, load_folds(folder), fold,
                                               (None, *args.sizes), args.seed)
        print(f"fold {fold} done", flush=True)
    table = pd.DataFrame(columns)
    table["mean"] = table.mean(axis=1)
    print_by_fold(table, "frame the validation topics are scored in")
    return table


if __name__ == "__main__":
    main()
