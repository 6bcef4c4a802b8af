"""Honest F2 of feature-ranker variants, fold by fold: which features and training topics help.

    python bench/ranker_variants.py --data ../shared/data/minilecr --work /tmp/quality --folds 0 1 2 3 4

For each fold folder that ``bench/quality.py`` left (``WORK/fold{f}``: notebook 04's
candidates, the folds, notebook 05's choice of rules), this trains notebook 05's feature
ranker and variants of it on the same fold, scores the validation topics together as 05
does, and reports the honest F2 (:func:`utils.tuning.crossfit`: the rule chosen on other
validation topics, among the rule families 05 chose from) and the mean average precision of
the ranker's probability per topic (its order of each topic's candidates before any rule: a
smoother measure than the F2 of a rule chosen on a few dozen topics). With two folds or more
it also reports the F2 when the rule is chosen on the other folds (:func:`utils.tuning.transfer`).
The variants:

- ``notebook 05``: every feature, the training topics of the notebook's
  ``STAGE2_CATEGORIES``, the rule also chosen on the training topics of its
  ``RULE_TRAINING_TOPICS`` (as the notebook ran on that fold); ``rule from validation topics
  only``: the same ranker, its rule chosen on other validation topics alone;
- ``without <group>``: one group of :data:`utils.ranker.GROUPS` left out;
- ``trained on split topics only``, ``... on every category``, ``... without source``: the
  training topics of the split categories alone (stage 2's training topics before
  out-of-fold groups), of every category, of every category but ``source``;
- ``calibrated across channels``: probabilities calibrated on out-of-fold predictions grouped
  by channel (``RankerConfig.calibrate``); ``calibrated, rules: relative and expected F2``: the
  same, the expected F2 (which reads the scores as probabilities) offered beside the relative
  rule;
- ``without second degree and link counts``: none of the features read from the links of
  known topics alike (the nearest ones, those of the same title, text or parent), as notebook
  04 with ``NEIGHBOURS = 0`` and ``LINK_COUNTS = False`` leaves them; ``without them, ...``:
  the same on the split topics only, calibrated, or with the rule chosen among fewer
  families; ``without second degree, on split topics only``: that group alone left out;
- ``before``: the ranker of commit 4bbb91c: its features (no group of this change), trained
  on the split topics only, its rule chosen among absolute and relative thresholds;
- ``rule from training topics (by channel)``, ``(by topic)``, ``(split categories)``: notebook
  05's ranker, its rule chosen not on validation topics but on the training topics' out-of-fold
  scores (:func:`utils.ranker.out_of_fold`, the folds grouped by channel or by topic; every
  training topic, or those of the split categories), then scored on every validation topic
  (:func:`utils.tuning.chosen_on`); ``rule from training and validation topics``: chosen on
  both, the validation part cross-fitted as for the others (``crossfit(extra=...)``);
  ``rule from split training and validation topics``: the same with the training topics of
  the split categories only;
- ``trees: <settings>``: notebook 05's ranker with other tree settings (:data:`TREES`): the
  defaults were picked when stage 2 trained on the split topics alone; it now trains on
  every category's out-of-fold topics, several times as many;
- ``the ranker alone (no cosine blended in)``: notebook 05's ranker with the blend weight
  fixed at 0, to see what the ranker itself carries to a held-out channel.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from bench.tables import print_by_fold  # noqa: E402
from utils import reranker, stage2, tuning  # noqa: E402
from utils.data import load_competition  # noqa: E402
from utils.folds import load_folds, split_topics  # noqa: E402
from utils.ranker import GROUPS, FeatureRanker, RankerConfig  # noqa: E402

NEW_GROUPS = ("topic's range", "category", "titles", "second degree", "link counts", "sibling counts")
"""The feature groups added after 4bbb91c (and kept: text lengths were dropped)."""

TREES = {"600 iterations, rate 0.05, 15 leaves, 50 per leaf":
         {"max_iter": 600, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 50},
         "300 iterations, rate 0.05, 15 leaves, 100 per leaf":
         {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 100},
         "1000 iterations, rate 0.03, 31 leaves, 100 per leaf":
         {"max_iter": 1000, "learning_rate": 0.03, "max_leaf_nodes": 31, "min_samples_leaf": 100},
         "600 iterations, rate 0.02, 7 leaves, 100 per leaf":
         {"max_iter": 600, "learning_rate": 0.02, "max_leaf_nodes": 7, "min_samples_leaf": 100}}
"""Tree settings tried beside the default (``RankerConfig``: 300 iterations, rate 0.02, 7 leaves,
100 per leaf)."""


def variants(split_categories: list[str], categories=None, rule_topics=None) -> dict[str, dict]:
    """``{name: {"config": RankerConfig settings, "categories": training topics' categories
    (None: all), "families": rule families or None (notebook 05's), "blends": the cosine's
    weights or None (notebook 05's), "tune": where else the rule is chosen}}``;
    ``categories``: notebook 05's ``STAGE2_CATEGORIES``, ``rule_topics`` its
    ``RULE_TRAINING_TOPICS`` (None: the rule chosen on validation topics alone)."""
    found = {"notebook 05": {"categories": categories}}
    found["the ranker alone (no cosine blended in)"] = {"categories": categories, "blends": [0.0]}
    if rule_topics:
        found["notebook 05"]["tune"] = ("channel", rule_topics, True)
    found["rule from validation topics only"] = {"categories": categories}
    found.update({f"without {name}": {"config": {"drop": GROUPS[name]}, "categories": categories}
                  for name in GROUPS})
    found["trained on split topics only"] = {"categories": split_categories}
    found["trained on every category"] = {"categories": None}
    found["trained without source"] = {"categories": ["aligned", "supplemental"]}
    found["calibrated across channels"] = {"config": {"calibrate": True}, "categories": categories}
    found["calibrated, rules: relative and expected F2"] = {"config": {"calibrate": True}, "categories": categories,
                                                            "families": ["relative", "expected F2"]}
    local = GROUPS["second degree"] + GROUPS["link counts"] + GROUPS["sibling counts"]
    found["without second degree and link counts"] = {"config": {"drop": local}, "categories": categories}
    found["without second degree, on split topics only"] = {
        "config": {"drop": GROUPS["second degree"]}, "categories": split_categories}
    for families in (["relative", "1st place"], ["relative"]):
        found[f"without them, rules: {' and '.join(families)}"] = {
            "config": {"drop": local}, "categories": categories, "families": families}
    found["without them, on split topics only"] = {"config": {"drop": local},
                                                  "categories": split_categories}
    found["without them, calibrated"] = {"config": {"drop": local, "calibrate": True},
                                         "categories": categories}
    found["before"] = {"config": {"drop": tuple(f for g in NEW_GROUPS for f in GROUPS[g])},
                       "categories": split_categories, "families": ["threshold", "relative"]}
    for name, tune in {"by channel": ("channel", None, False), "by topic": ("topic", None, False),
                       "split categories": ("channel", split_categories, False)}.items():
        found[f"rule from training topics ({name})"] = {"categories": categories, "tune": tune}
    found["rule from training and validation topics"] = {"categories": categories,
                                                         "tune": ("channel", None, True)}
    found["rule from split training and validation topics"] = {
        "categories": categories, "tune": ("channel", split_categories, True)}
    found.update({f"trees: {label}": {"config": trees, "categories": categories}
                  for label, trees in TREES.items()})
    return found


def average_precision(scored: pd.DataFrame) -> float:
    """Mean over topics of the average precision of ``score`` against ``label`` among the
    topic's candidates (topics with no link among them left out): how well the ranker orders
    each topic's candidates, whatever rule then selects from them. A smoother measure than
    the honest F2, whose rule is chosen on a few dozen topics."""
    from sklearn.metrics import average_precision_score

    found = [average_precision_score(group["label"], group["score"])
             for _, group in scored.groupby("topic_id") if group["label"].any()]
    return float(sum(found) / len(found)) if found else float("nan")


def fold_tables(folder: Path, data, fold: int, config: RankerConfig = RankerConfig(),
                names=None) -> tuple[dict[str, tuning.RuleTable], dict[str, list], dict[str, tuple], dict[str, float]]:
    """``({variant: rule table on the fold's validation topics}, {variant: its families},
    {variant: (rule table on its training topics' out-of-fold scores, whether the validation
    topics count too)}, {variant: its probability's average precision per topic})``, the third
    for the variants that choose their rule there."""
    candidates = pd.read_parquet(folder / "candidates.parquet")
    folds = load_folds(folder)
    chosen = json.loads((folder / "reranker" / reranker.SELECTED_FILE).read_text())
    families, blends = chosen.get("rules"), chosen.get("blends", [0.0])
    _, valid_topics = split_topics(folds, fold)
    valid = candidates[candidates["topic_id"].isin(valid_topics)]
    truth = data.correlations[data.correlations["topic_id"].isin(valid_topics)]
    tables, rules, sources, precision = {}, {}, {}, {}
    for name, variant in variants("split", chosen.get("stage2_categories"),
                                  chosen.get("rule_training_topics")).items():
        if names and name not in names:
            continue
        topics = reranker.training_topics(candidates, folds, fold, categories=variant.get("categories"),
                                          topics=data.topics)
        settings = RankerConfig(**{**config.as_dict(), **variant.get("config", {})})
        training = candidates[candidates["topic_id"].isin(topics)]
        model = FeatureRanker.fit(training, data, settings)
        rules[name] = variant.get("families") or families
        scored = model.score(valid, data)
        precision[name] = average_precision(scored)
        tables[name] = tuning.rule_table(scored, truth, rules[name], blends=variant.get("blends", blends))
        if variant.get("tune"):
            group_by, tune_categories, with_valid = variant["tune"]
            tune_topics = reranker.training_topics(candidates, folds, fold, categories=tune_categories,
                                                   topics=data.topics) & topics
            sources[name] = (stage2.training_rules(training, data, settings, tune_topics, rules[name],
                                                   variant.get("blends", blends), group_by=group_by),
                            with_valid)
    return tables, rules, sources, precision


def honest_f2(name: str, table: tuning.RuleTable, sources: dict) -> float:
    """The variant's honest F2 on the validation topics: its rule chosen on other validation
    topics (cross-fitted), on its training topics, or on both (``sources``)."""
    if name not in sources:
        return tuning.crossfit({name: table}).quality()["f2"]
    source, with_valid = sources[name]
    if with_valid:
        return tuning.crossfit({name: table}, extra={name: source}).quality()["f2"]
    return tuning.chosen_on(source, table)["f2"]


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the competition folder the folds were run on")
    parser.add_argument("--work", required=True, help="bench/quality.py's working folder (fold{f}/ inside)")
    parser.add_argument("--folds", type=int, nargs="+", required=True)
    parser.add_argument("--variants", nargs="+", help="only these variants (names as printed)")
    args = parser.parse_args(argv)
    data = load_competition(args.data)
    honest, tables, precision = {}, {}, {}
    for fold in args.folds:
        tables[fold], _, sources, precision[f"fold {fold}"] = fold_tables(
            Path(args.work) / f"fold{fold}", data, fold, names=args.variants)
        honest[f"fold {fold}"] = {name: honest_f2(name, table, sources)
                                  for name, table in tables[fold].items()}
        print(f"fold {fold} done", flush=True)
    table = pd.DataFrame(honest)
    table["mean"] = table.mean(axis=1)
    if len(args.folds) > 1:
        moved = tuning.transfer(tables)
        table["rule from other folds (mean)"] = moved[moved["model"] != "selected"].groupby(
            "model")["f2"].mean()
    print_by_fold(table, "variant (honest F2)")
    ranking = pd.DataFrame(precision)
    ranking["mean"] = ranking.mean(axis=1)
    print()
    print_by_fold(ranking, "variant (average precision per topic)")
    return table


if __name__ == "__main__":
    main()
