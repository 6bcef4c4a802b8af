"""The curator's curve: F2 on a new curriculum as a curator aligns its first k topics by hand.

    python bench/curator.py docs/quality/minilecr-transfer --data ../shared/data/minilecr \\
        [--ks 0 5 10 20 50] [--draws 5] [--record docs/RESULTS.md] [--figure docs/figures/curator.png]

Reads ``bench/transfer.py``'s kept fold files (each fold a held-out channel or group of them).
For each held-out channel, each k and each of ``--draws`` random draws (seeded), the links of
k of its topics are revealed and the others are scored, as notebook 06 would predict them with
those k topics known (every correlated topic outside the request is known there):

- **new channel**: the new-channel pipeline (its candidates in their fused order, with each
  topic's supply, as notebook 05 saved them: the revealed topics do not change them, since
  the supply hides the topic's own channel), its rule chosen again on the revealed topics with the training topics as prior
  (:func:`utils.selection.newchannel.choose_rule`), with and without ``skip_taken`` (the revealed topics'
  items left out in a channel that rarely reuses its items): :func:`utils.selection.newchannel.select`,
  notebook 06's code;
- **in-channel pipeline**: notebook 05's selected model (trained without the channel) with its
  rule family chosen on the revealed topics alone, ``skip_taken`` included: the pipeline of a
  known curriculum, from the smallest k that can choose (5);
- **floor**: the new-channel candidates' fused top-k, k chosen on the revealed topics (k = 0:
  on the training topics, as notebook 05 reported it).

Each row: the channel, k, the topics scored, and each pipeline's mean F2 over the draws (the
same draws for every pipeline). Where the in-channel pipeline overtakes the new-channel one is
what ``utils.selection.newchannel.MIN_KNOWN`` should be.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.tables import record_block  # noqa: E402
from utils.data.load import load_competition  # noqa: E402
from utils.metrics import scores_per_topic  # noqa: E402
from utils.retrieval.candidates import channel_use  # noqa: E402
from utils.selection import newchannel, stage2, tuning  # noqa: E402

KS = (0, 5, 10, 20, 50)
DRAWS = 5
PIPELINES = ["new channel", "new channel, without skip_taken", "in-channel pipeline", "floor"]


def _fold(folder: Path):
    reranker = folder / "reranker"
    return {
        "channels": pd.read_csv(folder / "channels.csv", dtype=str).astype({"fold": int}),
        "truth": pd.read_csv(reranker / "valid_truth.csv", dtype=str),
        "new": pd.read_parquet(reranker / "new_channel_valid.parquet"),
        "in_channel": pd.read_parquet(reranker / "scored_valid.parquet"),
        "selected": json.loads((reranker / "selected.json").read_text()),
        "grid": pd.read_csv(reranker / "new_channel_grid.csv"),
        "settings": json.loads((reranker / "new_channel_new_channel.json").read_text()),
        "per_topic": pd.read_csv(reranker / "new_channel_topics.csv", dtype={"topic_id": str}),
    }


def _with_taken(frame: pd.DataFrame, revealed: set, data) -> pd.DataFrame:
    """``frame`` with ``channel_links`` and ``channel_reuse`` as the revealed topics give them."""
    return frame.drop(columns=["channel_links", "channel_reuse"], errors="ignore").join(
        channel_use(frame, data.topics, revealed, data.links))


def _f2(chosen: dict, truth: pd.DataFrame) -> float:
    return float(scores_per_topic(chosen, truth)["f2"].mean())


def curve(folder: Path, data, ks=KS, draws: int = DRAWS, seed: int = 0) -> pd.DataFrame:
    """One row per (held-out channel, k): topics scored and each pipeline's mean F2 over draws."""
    fold = int(folder.name[4:])
    found = _fold(folder)  # each folder's held-out group is its fold 0 (bench/transfer.py)
    channel_of = data.topics.set_index("id")["channel"]
    grid, prior = found["grid"], found["settings"].get("min_known", newchannel.MIN_KNOWN)
    saved = newchannel.choose_rule(grid)
    selected = found["selected"]
    score_column = f"score:{selected['name']}"
    rows = []
    for _, held in found["channels"].iterrows():
        topics = sorted(t for t in found["truth"]["topic_id"] if channel_of.get(t) == held["channel"])
        for k in ks:
            if k >= len(topics):
                continue
            results = {name: [] for name in PIPELINES}
            rng = np.random.default_rng(seed)
            for _ in range(draws if k else 1):
                revealed = set(rng.choice(topics, size=k, replace=False)) if k else set()
                rest = [t for t in topics if t not in revealed]
                truth = found["truth"][found["truth"]["topic_id"].isin(rest)]
                known_truth = found["truth"][found["truth"]["topic_id"].isin(revealed)]
                new = _with_taken(found["new"], revealed, data) if k else found["new"]
                mine, known = new[new["topic_id"].isin(rest)], new[new["topic_id"].isin(revealed)]
                results["new channel"].append(_f2(newchannel.select(
                    mine, saved, data.topics, grid, known, known_truth, prior), truth))
                plain = mine.drop(columns=["channel_links", "channel_reuse"], errors="ignore")
                results["new channel, without skip_taken"].append(_f2(newchannel.select(
                    plain, saved, data.topics, grid, known.drop(columns=["channel_links", "channel_reuse"],
                                                                 errors="ignore"), known_truth, prior), truth))
                if k:
                    table = tuning.rule_table(known.assign(score=1.0 / known["rank"]), known_truth, ["top-k"],
                                              skip_taken=(False,))
                    results["floor"].append(_f2(table.best()[0].apply(mine.assign(score=1.0 / mine["rank"])), truth))
                else:  # k chosen on the training topics, as notebook 05 reported it
                    per_topic = found["per_topic"]
                    results["floor"].append(per_topic.loc[(per_topic["pipeline"] == stage2.FLOOR)
                                                          & per_topic["topic_id"].isin(rest), "f2"].mean())
                if k >= 5:
                    scored = found["in_channel"].assign(score=found["in_channel"][score_column])
                    scored = _with_taken(scored, revealed, data)
                    table = tuning.rule_table(scored[scored["topic_id"].isin(revealed)], known_truth,
                                              selected.get("rules"), blends=selected.get("blends", [0.0]))
                    rule, _ = table.best()
                    results["in-channel pipeline"].append(_f2(rule.apply(scored[scored["topic_id"].isin(rest)]),
                                                              truth))
            rows.append({"channel": held["title"], "category": held["category"], "fold": fold, "k": k,
                         "topics scored": len(topics) - k,
                         **{name: float(np.mean(values)) if values else np.nan
                            for name, values in results.items()}})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    lines = ["| channel | category | k | topics scored | " + " | ".join(PIPELINES) + " |",
             "|---" * (4 + len(PIPELINES)) + "|"]
    for _, row in table.iterrows():
        cells = ["" if pd.isna(row[p]) else f"{row[p]:.3f}" for p in PIPELINES]
        lines.append(f"| {row['channel']} | {row['category']} | {row['k']} | {row['topics scored']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    channels = list(dict.fromkeys(table["channel"]))
    cols = min(3, len(channels))
    rows = -(-len(channels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), sharey=True, squeeze=False)
    for ax, channel in zip(axes.flat, channels):
        part = table[table["channel"] == channel]
        for name in ("new channel", "in-channel pipeline", "floor"):
            ax.plot(part["k"], part[name], marker="o", label=name)
        ax.set(title=f"{channel[:32]} ({part['category'].iloc[0]})")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(channels):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set(ylabel="mean F2 of the other topics")
    for ax in axes[-1]:
        ax.set(xlabel="topics aligned by hand (k)")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="bench/transfer.py's kept fold files")
    parser.add_argument("--data", default="../shared/data/minilecr")
    parser.add_argument("--ks", nargs="+", type=int, default=list(KS))
    parser.add_argument("--draws", type=int, default=DRAWS)
    parser.add_argument("--record", type=Path)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args(argv)
    data = load_competition(args.data)
    folders = sorted((p for p in args.folder.glob("fold*") if (p / "reranker" / "new_channel_grid.csv").is_file()),
                     key=lambda p: int(p.name[4:]))
    table = pd.concat([curve(p, data, args.ks, args.draws) for p in folders], ignore_index=True)
    text = markdown(table)
    print(text)
    if args.figure:
        figure(table, args.figure)
    if args.record:
        record_block(args.record, "bench/curator.py", text)


if __name__ == "__main__":
    main()
