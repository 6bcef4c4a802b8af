"""Honest F2 of other ways to choose the selection rule, on the kept fold files.

    python bench/rule_choice.py docs/quality/minilecr-topic-honest docs/quality/minilecr-channel-honest \
        --data ../shared/data/minilecr

Each folder holds ``bench/quality.py``'s kept folds (``foldF/reranker/scored_valid.parquet``
and ``valid_truth.csv``: the feature ranker's scores of the fold's validation topics). For each
fold, the feature ranker's rule is chosen as notebook 05 chooses it (the relative family at its
blends, with and without ``skip_taken``, on the fold's other topics:
:func:`utils.selection.tuning.crossfit`) and in other ways, each honest (chosen on other topics than
those scored). With ``--data``, folds kept before notebook 04 wrote ``channel_links`` get it
(and ``channel_reuse``) as notebook 04 computes them for the validation topics (the known
topics: ``foldF/folds.csv``'s topics outside the fold; :func:`utils.retrieval.candidates.channel_use`).

- ``without skip_taken``: the grid before ``skip_taken``; ``fused list, top-k``: the floor,
  and the same floor on the items no known topic of the channel links;
- ``smoothed over thresholds``: each rule's mean F2 averaged with its neighbours' on the
  threshold grid (a window of 3) before the choice;
- ``blends every 0.1``, ``relative every 0.05``: finer grids;
- ``relative, at least n``: the relative rule with a floor of n items (0 to 4) per topic;
- ``geometric blend``, ``blend over the topic's best``: the cosine blended into the ranker's
  probability by a weighted geometric mean, or each score divided by the topic's best before
  the weighted mean (the weight chosen with the rule);
- ``other folds at weight w``: the rule of the best mean F2 over the fold's part plus w times
  that over the other folds' topics (w = 0: notebook 05's choice; w = 1 weighs every
  topic the same), and ``other folds, w chosen on them``: w itself chosen on the other
  folds, their pools without the fold scored (nested), so that the figure is honest about w too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.model_selection import RepeatedKFold  # noqa: E402

from bench.tables import print_by_fold  # noqa: E402
from utils.data.load import load_competition  # noqa: E402
from utils.retrieval import candidates
from utils.selection import stage2, tuning  # noqa: E402
from utils.selection.tuning import FAMILIES, RuleTable  # noqa: E402

BLENDS = list(stage2.SelectionConfig().blends)
"""Notebook 05's blends."""
SPLITS = REPEATS = 5
"""The honest figures' repeated k-fold over a fold's topics, as notebook 05's defaults."""
WEIGHTS = [0, 0.1, 0.25, 0.5, 1, 2]
"""Weights per topic of the other folds' topics tried (beside "all": the other folds alone)."""
RELATIVE = FAMILIES["relative"]


def _scores(folder: Path, data=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    scored, truth = stage2.fold_scores(folder)
    if data is not None and "channel_links" not in scored:
        folds = pd.read_csv(folder / "folds.csv", dtype={"topic_id": str})
        known = set(folds.loc[folds["fold"] != int(folder.name[4:]), "topic_id"])
        scored = scored.join(candidates.channel_use(scored, data.topics, known, data.links))
    return scored.assign(score=scored[f"score:{stage2.FEATURES}"]), truth


def _geometric(scored: pd.DataFrame, weight: float) -> pd.Series:
    cosine = scored["retriever_score"].fillna(scored["retriever_score"].min()).clip(lower=1e-6)
    return np.exp((1 - weight) * np.log(scored["score"].clip(lower=1e-6)) + weight * np.log(cosine))


def _over_best(scored: pd.DataFrame, weight: float) -> pd.Series:
    topic = scored["topic_id"]
    cosine = scored["retriever_score"].fillna(0.0)
    return ((1 - weight) * scored["score"] / scored["score"].groupby(topic).transform("max")
            + weight * cosine / cosine.groupby(topic).transform("max"))


def _smoothed(table: RuleTable, window: int = 3):
    """A function of the rules' mean F2 that averages each with its neighbours on the
    threshold grid (same family, blend, relative and fill)."""
    rules = table.rules.assign(row=np.arange(len(table.rules)))
    keys = [c for c in tuning.RULE_COLUMNS if c != "threshold"]
    groups = [group.sort_values("threshold")["row"].to_numpy()
              for _, group in rules.fillna(-1).groupby(keys)]

    def smooth(mean):
        out = mean.copy()
        for rows in groups:
            out[rows] = pd.Series(mean[rows]).rolling(window, center=True, min_periods=1).mean().to_numpy()
        return out
    return smooth


def _honest(table: RuleTable, pool: np.ndarray | None = None, weight=0.0, transform=None) -> float:
    """Honest F2 of the rule of the best (transformed) mean F2 on the other parts of the
    fold's topics, plus ``weight`` times ``pool`` (other topics' mean F2 per rule; weight
    "all": ``pool`` alone)."""
    f2, repeats = table.f2(), np.zeros(REPEATS)
    splits = RepeatedKFold(n_splits=SPLITS, n_repeats=REPEATS, random_state=0).split(np.arange(len(table.topics)))
    for i, (fit, held) in enumerate(splits):
        mean = pool if weight == "all" else f2[:, fit].mean(axis=1) + (weight * pool if weight else 0.0)
        mean = transform(mean) if transform else mean
        repeats[i // SPLITS] += tuning.topic_quality(table, int(np.argmax(mean)), held)["f2"].sum()
    return float(repeats.mean() / len(table.topics))  # as crossfit: each repeat's mean over every topic


def _pool(tables: list[RuleTable]) -> np.ndarray:
    return tuning.joined(tables).f2().mean(axis=1)


def view(folder: Path, data=None) -> pd.DataFrame:
    """One row per way of choosing, one column per fold of ``folder``: honest F2 (``data``: the
    competition data, for folds kept without ``channel_links``)."""
    folds = sorted(int(p.name[4:]) for p in folder.glob("fold*") if (p / "reranker" / "scored_valid.parquet").is_file())
    if len(folds) < 3:
        raise SystemExit(f"{folder}: {len(folds)} kept fold(s) with scores; the nested choice needs 3 or more")
    frames = {f: _scores(folder / f"fold{f}", data) for f in folds}
    tables = {f: tuning.rule_table(*frames[f], ["relative"], blends=BLENDS) for f in folds}
    rows = {}
    for f in folds:
        scored, truth = frames[f]
        table, others = tables[f], [tables[g] for g in folds if g != f]
        floor = scored.assign(score=1.0 / scored["rank"]) if "rank" in scored else None
        found = {"notebook 05 (relative rule, chosen on the fold's other topics)":
                 tuning.crossfit({"features": table}, SPLITS, REPEATS).quality()["f2"],
                 "without skip_taken": tuning.crossfit({"features": table.subset(skip_taken=False)},
                                                       SPLITS, REPEATS).quality()["f2"],
                 "smoothed over thresholds": _honest(table, transform=_smoothed(table))}
        if floor is not None:
            for name, skip in [("fused list, top-k (the floor)", False), ("fused list, top-k of the items not taken", True)]:
                found[name] = tuning.crossfit({"top-k": tuning.rule_table(floor, truth, ["top-k"], skip_taken=(skip,))},
                                              SPLITS, REPEATS).quality()["f2"]
        for name, families, blends in [
                ("blends every 0.1", {"relative": RELATIVE}, list(np.round(np.linspace(0, 1, 11), 2))),
                ("relative every 0.05", {"relative": [{"relative": r, "fill": fill} for r in np.round(np.arange(0.5, 0.96, 0.05), 2)
                                                      for fill in (1, 2, 3)]}, BLENDS),
                ("relative, at least n", {"relative": [{"relative": r, "fill": 1, "min_items": n} for r in (0.5, 0.6, 0.7, 0.8, 0.9)
                                                       for n in range(5)]}, BLENDS)]:
            found[name] = _honest(tuning.rule_table(scored, truth, families, blends=blends))
        for name, blend in [("geometric blend", _geometric), ("blend over the topic's best", _over_best)]:
            per_weight = {w: tuning.rule_table(scored.assign(score=blend(scored, w)), truth, ["relative"]) for w in BLENDS}
            found[name] = tuning.crossfit(per_weight, SPLITS, REPEATS).quality()["f2"]
        pool = _pool(others)
        for weight in [*WEIGHTS[1:], "all"]:
            found[f"other folds at weight {weight}"] = _honest(table, pool, weight)
        rest = [g for g in folds if g != f]
        curve = {w: np.mean([_honest(tables[g], _pool([tables[h] for h in rest if h != g]), w) for g in rest])
                 for w in [*WEIGHTS, "all"]}
        weight = max(curve, key=curve.get)
        found["other folds, w chosen on them"] = _honest(table, pool, weight)
        rows[f"fold {f}"] = found
        print(f"{folder.name} fold {f} done (w chosen on the other folds: {weight})", flush=True)
    table = pd.DataFrame(rows)
    table["mean"] = table.mean(axis=1)
    return table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="bench/quality.py --keep folders")
    parser.add_argument("--data", help="the competition data the folds ran on: channel_links for folds kept without it")
    args = parser.parse_args(argv)
    data = load_competition(args.data) if args.data else None
    for folder in args.folders:
        print_by_fold(view(folder, data), f"{folder.name}: way of choosing (honest F2)")


if __name__ == "__main__":
    main()
