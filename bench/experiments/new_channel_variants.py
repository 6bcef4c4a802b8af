"""The new-channel pipeline's variants on held-out channels: which order and which count carry.

    python bench/experiments/new_channel_variants.py --data ../shared/data/minilecr \\
        --folds /tmp/transfer/fold0 /tmp/transfer/fold1 ... [--record docs/history.md]

Reads ``bench/transfer.py``'s fold folders (each holds one channel, or one family of source
channels, out of every stage; notebook 04's ``candidates_new.parquet`` of every topic). Every
variant chooses its rule on the fold's training topics alone (their own channels hidden in
the candidates, as notebook 04 writes them), then is scored on the held-out topics, channel
by channel: nothing is chosen on the channel scored. The variants cross two choices:

- the **order** of each topic's candidates: the fused list's (``fused``: more votes, then the
  higher mean score), or a feature ranker fitted on the training topics' new-channel
  candidates (the rule chosen on its out-of-fold scores, rankers fitted without the topic's
  channel): notebook 05's (``ranker``), without the supply group's features (the pool, the
  item's links in other channels, the supply), or on relative features alone (ranks, votes,
  each source's margin to the topic's best: :data:`RELATIVE_DROP`);
- the **count**: a fixed top-k, a count that follows the topic's supply (at least n, at least
  a x supply: the ``supply`` family), or the thresholds (``threshold``, ``relative``,
  ``expected F2``, ``top-k``);

and the choice's **weights**: every training topic the same, or every training channel the
same (1 / its topics). ``fused, top-k`` with topics weighed the same is notebook 05's floor.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.tables import record_block  # noqa: E402
from utils import newchannel, tuning  # noqa: E402
from utils.data import load_competition  # noqa: E402
from utils.folds import load_folds  # noqa: E402
from utils.ranker import FeatureRanker, RankerConfig, out_of_fold  # noqa: E402

THRESHOLDS = ["threshold", "relative", "expected F2", "top-k"]
RELATIVE_DROP = ("mean_score", "tfidf_score", "retriever_score", "zero_shot_score", "pool_score", "retriever_best",
                 "retriever_worst", "tfidf_best", "item_links", "supply", "category", "hub")
"""Left out of the ``relative`` ranker: scores on a scale of their own source and channel, and
what counts links or topics: it keeps ranks, votes and each source's margin to the topic's best."""
ORDERS = {"ranker": (), "ranker without supply": ("pool_rank", "pool_score", "pool_gap", "item_links", "supply"),
          "relative ranker": RELATIVE_DROP}
"""The rankers' features left out (``RankerConfig.drop``)."""
VARIANTS = {  # name: (order, families, channels weighed the same)
    "fused, top-k (notebook 05's floor)": ("fused", ["top-k"], False),
    "fused, top-k, channels weighed the same": ("fused", ["top-k"], True),
    "fused, count by supply": ("fused", ["supply", "top-k"], False),
    "fused, count by supply, channels weighed the same": ("fused", ["supply", "top-k"], True),
    "ranker, thresholds (notebook 05)": ("ranker", THRESHOLDS, False),
    "ranker, thresholds, channels weighed the same": ("ranker", THRESHOLDS, True),
    "ranker, count by supply, channels weighed the same": ("ranker", ["supply", "top-k"], True),
    "ranker, thresholds or supply, channels weighed the same": ("ranker", [*THRESHOLDS, "supply"], True),
    "ranker without supply, count by supply, channels weighed the same": ("ranker without supply",
                                                                          ["supply", "top-k"], True),
    "relative ranker, count by supply, channels weighed the same": ("relative ranker", ["supply", "top-k"], True),
    "relative ranker, thresholds or supply, channels weighed the same": ("relative ranker",
                                                                         [*THRESHOLDS, "supply"], True),
}


def channel_weights(topic_ids, topics: pd.DataFrame) -> np.ndarray:
    channel = pd.Series(list(topic_ids)).map(topics.set_index("id")["channel"])
    return (1.0 / channel.map(channel.value_counts())).to_numpy(float)


def fold_rows(folder: Path, data, variants=VARIANTS) -> pd.DataFrame:
    """Per variant and held-out channel of ``folder``: its topics' mean F2, precision, recall."""
    folds = load_folds(folder)
    linked = set(data.correlations["topic_id"])
    valid_ids = set(folds.loc[folds["fold"] == 0, "topic_id"]) & linked
    train_ids = set(folds.loc[folds["fold"] != 0, "topic_id"]) & linked
    new = pd.read_parquet(folder / newchannel.CANDIDATES_FILE)
    train, valid = new[new["topic_id"].isin(train_ids)], new[new["topic_id"].isin(valid_ids)]
    truth = data.correlations[data.correlations["topic_id"].isin(valid_ids)]
    train_truth = data.correlations[data.correlations["topic_id"].isin(train_ids)]
    orders = {"fused": (train.assign(score=1.0 / train["rank"]), valid.assign(score=1.0 / valid["rank"]))}
    for order in {order for order, _, _ in variants.values()} - set(orders):
        config = RankerConfig(drop=ORDERS[order])
        orders[order] = (out_of_fold(train, data, config, group_by="channel"),
                         FeatureRanker.fit(train, data, config).score(valid, data))
    channel = data.topics.set_index("id")["channel"]
    title = data.topics[data.topics["level"] == 0].drop_duplicates("channel").set_index("channel")["title"]
    rows = []
    for name, (order, families, weighed) in variants.items():
        on_train, on_valid = orders[order]
        source = tuning.rule_table(on_train, train_truth, families, skip_taken=(False,))
        weights = channel_weights(source.topics, data.topics) if weighed else None
        chosen = int(np.argmax(source.mean_f2(weights)))
        target = tuning.rule_table(on_valid, truth, families, skip_taken=(False,))
        per_topic = tuning.topic_quality(target, chosen)
        per_topic["channel"] = per_topic["topic_id"].map(channel).map(title)
        rule = source.rule(chosen)
        for held, part in per_topic.groupby("channel"):
            rows.append({"fold": folder.name, "channel": held, "variant": name, "topics": len(part),
                         **part[["f2", "precision", "recall"]].mean().to_dict(),
                         "rule": f"{source.rules['family'].iloc[chosen]}: {rule.describe()}"
                         if hasattr(rule, "describe") else str(rule)})
    return pd.DataFrame(rows)


def report(table: pd.DataFrame, data) -> str:
    category = data.topics.drop_duplicates("channel").set_index("channel")["category"]
    title = data.topics[data.topics["level"] == 0].drop_duplicates("channel").set_index("channel")["title"]
    category_of = {title[c]: category[c] for c in title.index}
    table = table.assign(category=table["channel"].map(category_of))
    f2 = table.pivot_table(index="variant", columns="channel", values="f2", sort=False)
    lines = []
    for name, kinds in (("aligned and supplemental channels", ("aligned", "supplemental")), ("source channels", ("source",))):
        columns = [c for c in f2.columns if category_of.get(c) in kinds]
        if not columns:
            continue
        part = f2[columns]
        topics = table.drop_duplicates("channel").set_index("channel")["topics"]
        floor = part.loc[next(iter(VARIANTS))]
        lines += [f"**{name}** (F2; topics: " + ", ".join(f"{c} {topics[c]}" for c in columns) + ")", "",
                  "| variant | " + " | ".join(columns) + " | mean | at or above the floor |",
                  "|---" * (len(columns) + 3) + "|"]
        for variant, row in part.iterrows():
            lines.append(f"| {variant} | " + " | ".join(f"{v:.3f}" for v in row) + f" | {row.mean():.3f} | "
                         f"{int((row >= floor - 1e-12).sum())} of {len(row)} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--folds", nargs="+", type=Path, required=True, help="bench/transfer.py's fold folders")
    parser.add_argument("--out", type=Path, help="also write the rows (CSV) here")
    parser.add_argument("--record", type=Path, help="write the report into this file between markers")
    args = parser.parse_args(argv)
    data = load_competition(args.data)
    table = pd.concat([fold_rows(folder, data) for folder in args.folds], ignore_index=True)
    if args.out:
        table.to_csv(args.out, index=False)
    command = "python bench/experiments/new_channel_variants.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    text = f"`{command}`\n\n" + report(table, data)
    print(text)
    if args.record:
        record_block(args.record, "bench/experiments/new_channel_variants.py", text)


if __name__ == "__main__":
    main()
