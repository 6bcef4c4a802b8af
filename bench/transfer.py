"""Transfer to a curriculum the suite never saw: leave one channel out, score each channel apart.

    python bench/transfer.py --data ../shared/data/minilecr --work /tmp/transfer --together TESSA \\
        --profile cpu -p MAX_PAIRS=4000 -p 'VALIDATE="last"' --keep docs/quality/minilecr-transfer
    python bench/transfer.py --work docs/quality/minilecr-transfer --report-only [--record docs/RESULTS.md]

The held-out groups: each aligned and supplemental channel alone, then each ``source``
channel but the largest (the one every fold trains on, Khan Academy on LECR and mini-LECR),
channels whose titles start with a ``--together`` prefix held out together (trees that mirror
one another, such as TESSA's four languages, would leak into each other). Each group is the
only validation fold of its own folder ``WORK/fold{f}`` (:func:`utils.data.folds.channel_folds`:
its topics fold 0, every other correlated topic training-only with the out-of-fold groups
notebook 02 gives them), so the rest of the data trains as a submission's run trains on it:
the out-of-fold retrievers leave out groups of sibling topics, not whole channels. Notebooks
03-05 run through the runner (``bench/quality.py``'s :func:`~bench.quality.run_fold`, with
``RESUME``): no stage sees the group's channels.

The report reads each fold's files (``--keep`` copies them, a few hundred kilobytes) and gives
one row per held-out channel, the aligned and supplemental ones apart from the sources (whose
trees mirror their content, so they are easier): topics, links per topic, and the F2 of

- **new channel**: notebook 05's new-channel pipeline (:mod:`utils.selection.newchannel`), its rule
  chosen on the training topics alone: what a new curriculum gets;
- **floor**: the new-channel candidates' fused top-k, k chosen on the training topics alone;
- **floor, k chosen on the channel**: the same, k chosen on other topics of the held-out
  channel (repeated 5-fold), which a curator with part of the curriculum aligned could do;
- **in-channel pipeline**: notebook 05's selected model with its rule chosen on other topics
  of the held-out channel (its honest figure), the pipeline of a known curriculum;

and the mean and standard deviation of each column over the channels.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench import quality  # noqa: E402
from bench.tables import record_block  # noqa: E402
from utils.data.folds import channel_folds, save_folds  # noqa: E402
from utils.data.load import load_competition  # noqa: E402
from utils.selection import stage2, tuning  # noqa: E402

STAGES = ["03", "04", "05"]
VALID_FOLD = 0
"""Each folder's held-out group (:func:`prepare`)."""
RESULT_FILES = [*quality.RESULT_FILES, "reranker/new_channel.csv", "reranker/new_channel_topics.csv",
                "reranker/regimes.csv", "reranker/new_channel_valid.parquet"]
GRID, SETTINGS = "grid.csv", "new_channel.json"
CHANNELS_FILE = "channels.csv"
"""Each fold folder's held-out channels: ``channel, title, category, fold``."""
KEPT_COLUMNS = ["topic_id", "content_id", "rank", "votes", "score", "supply", "label"]
"""What ``--keep`` keeps of the new-channel validation candidates (enough for the floors and
the rules that follow the supply)."""


def transfer_groups(data, together=()) -> list[list[str]]:
    """The held-out channel groups: every correlated non-source channel alone (aligned first),
    then the source channels but the largest, those whose title starts with one of
    ``together``'s prefixes as one group per prefix."""
    topics = data.topics[data.topics["id"].isin(set(data.correlations["topic_id"]))]
    sizes = topics.groupby("channel").size()
    category = topics.groupby("channel")["category"].first()
    title = data.topics[data.topics["level"] == 0].drop_duplicates("channel").set_index("channel")["title"]
    order = sorted(sizes.index, key=lambda c: (category[c] == "source", category[c], -sizes[c], c))
    largest_source = sizes[category == "source"].idxmax() if (category == "source").any() else None
    groups, joined = [], {}
    for channel in order:
        if channel == largest_source:
            continue
        prefix = next((p for p in together if str(title.get(channel, "")).startswith(p)), None)
        if prefix is None:
            groups.append([channel])
        elif prefix in joined:
            joined[prefix].append(channel)
        else:
            joined[prefix] = [channel]
            groups.append(joined[prefix])
    return groups


def channels_table(data, groups) -> pd.DataFrame:
    title = data.topics[data.topics["level"] == 0].drop_duplicates("channel").set_index("channel")["title"]
    category = data.topics.groupby("channel")["category"].first()
    return pd.DataFrame([{"channel": c, "title": title.get(c, c), "category": category[c], "fold": f}
                         for f, group in enumerate(groups) for c in group])


def prepare(data, work: Path, groups) -> None:
    """Write each group's folds table (the group fold 0, the rest training-only) and held-out
    channels into ``work/fold{f}``."""
    for fold, group in enumerate(groups):
        folder = work / f"fold{fold}"
        folder.mkdir(parents=True, exist_ok=True)
        save_folds(channel_folds(data, [group]), folder)
        channels_table(data, [group]).to_csv(folder / CHANNELS_FILE, index=False)


def keep(folder: Path, into: Path) -> None:
    quality.keep(folder, into)
    selected = json.loads((folder / "reranker" / "selected.json").read_text())["folder"]
    for name in (GRID, SETTINGS):  # the new-channel rule's grid and settings, saved beside the model
        source = folder / "reranker" / selected / "new_channel" / name
        if source.is_file():
            (into / "reranker" / f"new_channel_{name}").write_bytes(source.read_bytes())
    for name in (CHANNELS_FILE, *RESULT_FILES[len(quality.RESULT_FILES):]):
        source = folder / name
        if source.exists():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".parquet"):
                pd.read_parquet(source, columns=KEPT_COLUMNS).to_parquet(into / name, index=False)
            else:
                (into / name).write_bytes(source.read_bytes())


def channel_rows(folder: Path, data) -> pd.DataFrame:
    """One row per held-out channel of the fold folder ``folder``."""
    channels = pd.read_csv(folder / CHANNELS_FILE, dtype=str)
    fold = int(folder.name[4:])
    truth = pd.read_csv(folder / "reranker" / "valid_truth.csv", dtype=str)
    per_topic = pd.read_csv(folder / "reranker" / "new_channel_topics.csv", dtype={"topic_id": str})
    scored = pd.read_parquet(folder / "reranker" / "new_channel_valid.parquet")
    in_channel = pd.read_parquet(folder / "reranker" / "scored_valid.parquet")
    selected = json.loads((folder / "reranker" / "selected.json").read_text())
    channel_of = data.topics.set_index("id")["channel"]
    rows = []
    for _, row in channels.iterrows():
        topics = [t for t in truth["topic_id"] if channel_of.get(t) == row["channel"]]
        if not topics:
            continue
        mine = truth[truth["topic_id"].isin(topics)]
        links = mine["content_ids"].str.split().str.len()
        by_pipeline = per_topic[per_topic["topic_id"].isin(topics)].groupby("pipeline")["f2"].mean()
        part = scored[scored["topic_id"].isin(topics)]
        floor = tuning.rule_table(part.assign(score=1.0 / part["rank"]), mine, ["top-k"], skip_taken=(False,))
        model = in_channel[in_channel["topic_id"].isin(topics)]
        pipeline = tuning.rule_table(model.assign(score=model[f"score:{selected['name']}"]), mine,
                                     selected.get("rules"), blends=selected.get("blends", [0.0]))
        honest = {"n_splits": min(5, len(topics)), "n_repeats": 5}
        rows.append({
            "channel": row["title"], "category": row["category"], "fold": fold, "topics": len(topics),
            "links per topic": links.mean(),
            "new channel": by_pipeline.get(stage2.FUSED, np.nan),
            "floor": by_pipeline.get(stage2.FLOOR, np.nan),
            "floor, k chosen on the channel": tuning.crossfit({"f": floor}, **honest).quality()["f2"],
            "in-channel pipeline, rule chosen on the channel": tuning.crossfit({"m": pipeline}, **honest).quality()["f2"],
        })
    return pd.DataFrame(rows)


def report(work: Path, data) -> str:
    folders = sorted((p for p in work.glob("fold*") if (p / "reranker" / "new_channel_topics.csv").is_file()),
                     key=lambda p: int(p.name[4:]))
    table = pd.concat([channel_rows(p, data) for p in folders], ignore_index=True)
    lines = []
    columns = ["new channel", "floor", "floor, k chosen on the channel", "in-channel pipeline, rule chosen on the channel"]
    for name, part in (("aligned and supplemental channels", table[table["category"] != "source"]),
                       ("source channels (reported apart: their trees mirror their content)",
                        table[table["category"] == "source"])):
        if part.empty:
            continue
        lines += [f"**{name}**", "", "| channel | category | fold | topics | links per topic | "
                  + " | ".join(columns) + " |", "|---" * (5 + len(columns)) + "|"]
        for _, row in part.iterrows():
            lines.append(f"| {row['channel']} | {row['category']} | {row['fold']} | {row['topics']} | "
                         f"{row['links per topic']:.1f} | " + " | ".join(f"{row[c]:.3f}" for c in columns) + " |")
        mean, std = part[columns].mean(), part[columns].std(ddof=1)
        lines.append(f"| mean ± std over {len(part)} channels | | | {part['topics'].sum()} | | "
                     + " | ".join(f"{mean[c]:.3f} ± {std[c]:.3f}" if len(part) > 1 else f"{mean[c]:.3f}"
                                  for c in columns) + " |")
        beats = (part["new channel"] >= part["floor, k chosen on the channel"]).sum()
        lines += ["", f"The new-channel pipeline at or above the floor with k chosen on the channel: "
                      f"{beats} of {len(part)} channels; above the floor with k chosen on the training "
                      f"topics: {(part['new channel'] >= part['floor']).sum()} of {len(part)}.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    from utils import run as runner

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="competition folder (needed to run, and for the report)")
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--folds", nargs="+", type=int, help="folds to run (default: all)")
    parser.add_argument("--together", nargs="*", default=[], metavar="PREFIX",
                        help="hold out together the source channels whose title starts with PREFIX")
    parser.add_argument("--keep", type=Path, help="copy each finished fold's result files here")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--record", type=Path, help="write the report into this file between markers")
    parser.add_argument("--name", default="minilecr-transfer", help="the report's marker in --record")
    parser.add_argument("--inline", action="store_true", help="run the notebooks in this process")
    parser.add_argument("--profile", default="demo", choices=list(runner.PROFILES),
                        help="the runner's settings (utils.run.PROFILES)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    data = load_competition(args.data or "../shared/data/minilecr")
    if not args.report_only:
        groups = transfer_groups(data, args.together)
        prepare(data, args.work, groups)
        params = runner.parse_params(args.param)
        command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
        for fold in args.folds if args.folds is not None else range(len(groups)):
            folder = args.work / f"fold{fold}"
            quality.run_fold(args.data, folder, VALID_FOLD, args.profile, params, command=command, inline=args.inline,
                             stages=STAGES)
            if args.keep:
                keep(folder, args.keep / folder.name)
    text = report(args.keep or args.work, data)
    print(text)
    if args.record:
        record_block(args.record, f"bench/transfer.py:{args.name}", text)


if __name__ == "__main__":
    main()
