"""Base models on curricula they never saw: zero-shot and fine-tuned recall@50 per held-out channel.

    python bench/base_models.py --data ../shared/data/minilecr --folds /tmp/transfer \\
        --model all-MiniLM-L6-v2=base --model all-mpnet-base-v2=/path/to/all-mpnet-base-v2 \\
        --fine-tune 0 --max-pairs 4000 --work /tmp/base-models

``--folds``: ``bench/transfer.py``'s fold folders (each holds one channel group out, its
``folds.csv`` and ``channels.csv``). For each ``--model NAME=PATH`` (``base``: the offline
all-MiniLM-L6-v2), the content is embedded once and each folder's held-out topics search
their language's content (notebook 04's dense search): zero-shot recall@50 per held-out
channel. With ``--fine-tune F``, each model is also fine-tuned on fold F's training topics by
notebook 03 itself (through the runner, one round, no out-of-fold retriever, at most
``--max-pairs`` pairs, the same settings for every model) in ``WORK/NAME``, and its recall@50
on that fold's held-out topics is reported beside the zero-shot one, both from notebook 03's
``recall.csv``. Prints markdown tables; times each model's embedding.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from bench.tables import print_by_fold  # noqa: E402
from utils import run
from utils.data.folds import load_folds  # noqa: E402
from utils.data.load import load_competition  # noqa: E402
from utils.data.text import text_frames  # noqa: E402
from utils.metrics import recall_at_k  # noqa: E402
from utils.models import load_bi_encoder  # noqa: E402
from utils.retrieval import candidates, retriever  # noqa: E402
from utils.retrieval.search import ranked_lists  # noqa: E402

K = 50


def zero_shot(data, folders: list[Path], models: dict[str, str], max_length: int = 64) -> pd.DataFrame:
    """Recall@K of each model (columns) per held-out channel (rows: its title and topics)."""
    topics, content = text_frames(data)
    title = data.topics[data.topics["level"] == 0].drop_duplicates("channel").set_index("channel")["title"]
    channel = data.topics.set_index("id")["channel"]
    held = {}
    for folder in folders:
        folds = load_folds(folder)
        held[folder.name] = set(folds.loc[folds["fold"] == 0, "topic_id"])
    wanted = set().union(*held.values())
    queries = topics[topics["id"].isin(wanted)]
    corpus = content[content["language"].isin(set(queries["language"]))]
    columns = {}
    for name, path in models.items():
        start = time.perf_counter()
        model = load_bi_encoder(path, max_length)
        found = candidates.dense_candidates(model, queries, corpus, k=K)
        seconds = time.perf_counter() - start
        print(f"{name}: embedded {len(corpus):,} items and {len(queries):,} topics in {seconds:.0f} s")
        rows = {}
        for ids in held.values():
            for group, part in queries[queries["id"].isin(ids)].groupby(queries["id"].map(channel)):
                truth = data.correlations[data.correlations["topic_id"].isin(set(part["id"]))]
                lists = ranked_lists(found[found["topic_id"].isin(set(part["id"]))])
                rows[f"{title.get(group, group)} ({len(part)} topics)"] = recall_at_k(lists, truth, [K])[K]
        columns[name] = pd.Series(rows)
    return pd.DataFrame(columns)


def fine_tuned(data_dir, folder: Path, models: dict[str, str], work: Path, max_pairs: int) -> pd.DataFrame:
    """Each model fine-tuned by notebook 03 on ``folder``'s training topics (one round, no
    out-of-fold retriever, ``max_pairs`` pairs): its zero-shot and round-1 recall@K on the
    held-out topics, and the training time."""
    rows = {}
    for name, path in models.items():
        target = work / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / "folds.csv", target / "folds.csv")
        start = time.perf_counter()
        run.run(data_dir, target, only=["03"], inline=True, log=lambda *_: None,
                params={"BASE_MODEL": path, "VALID_FOLD": 0, "ROUNDS": 1, "OOF_GROUPS": 0,
                        "MAX_PAIRS": max_pairs, "RESUME": True})
        recall = pd.read_csv(target / "retriever" / "recall.csv", index_col="model")[f"recall@{K}"]
        rows[name] = {"zero-shot": recall["zero-shot"], "fine-tuned (round 1)": recall["round 1"],
                      "minutes (03)": (time.perf_counter() - start) / 60}
    return pd.DataFrame(rows).T


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--folds", required=True, type=Path, help="bench/transfer.py's working folder")
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                        help="a model to compare: a folder or hub id; 'base' for the offline MiniLM")
    parser.add_argument("--fine-tune", type=int, help="also fine-tune each model on this fold folder")
    parser.add_argument("--max-pairs", type=int, default=4000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/base-models"))
    args = parser.parse_args(argv)
    models = {}
    for item in args.model:
        name, _, path = item.partition("=")
        models[name] = retriever.base_model_path() if path == "base" else path
    data = load_competition(args.data)
    folders = sorted((p for p in args.folds.glob("fold*") if (p / "folds.csv").is_file()),
                     key=lambda p: int(p.name[4:]))
    table = zero_shot(data, folders, models)
    print(f"\nZero-shot recall@{K} of each held-out channel's topics:\n")
    print_by_fold(table, "held-out channel", digits=3)
    if args.fine_tune is not None:
        found = fine_tuned(args.data, args.folds / f"fold{args.fine_tune}", models, args.work, args.max_pairs)
        print(f"\nFold {args.fine_tune}, fine-tuned on at most {args.max_pairs:,} pairs (one round), recall@{K}:\n")
        print_by_fold(found, "model", digits=3)


if __name__ == "__main__":
    main()
