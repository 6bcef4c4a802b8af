"""How much the stored precision of cached content embeddings changes the candidates.

    python bench/cache_precision.py --data ../shared/data/minilecr --retriever WORK/retriever/round2

Embeds the folder's content and its correlated and requested topics with the retriever,
then searches the same-language top ``--k`` (``utils.retrieval.search.search``) with the content
vectors as embedded (float32), stored in float16 and read back, and as a
:class:`utils.retrieval.embcache.ContentCache` holding a random half of the texts returns them (the
other half embedded fresh, in other batches: the float noise a cache adds at best).

The cache is keyed by the weights, not by the precision they ran in: a cache that notebook
04 saved in float32 (or float16 on a GPU) serves notebook 06 on a CPU that infers in
bfloat16. Two more rows measure that: every text in bfloat16 (the precision's own change),
and bfloat16 queries and fresh texts beside a float32 cache of half the texts (the mixed
case). For each row it counts the (topic, item) pairs that entered or left a topic's list,
the topics whose list changed at all (order included), and the recall@k of the correlated
topics against the folder's correlations.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from utils import metrics, models
from utils.data.load import load_competition  # noqa: E402
from utils.data.text import text_frames  # noqa: E402
from utils.profiling import code_version, machine  # noqa: E402
from utils.retrieval import retriever, search  # noqa: E402
from utils.retrieval.embcache import ContentCache  # noqa: E402


def changes(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    both = before.merge(after, on=["topic_id", "content_id"], how="outer", indicator=True)
    lists = [frame.groupby("topic_id")["content_id"].agg(tuple) for frame in (before, after)]
    return {"pairs in one list only": int((both["_merge"] != "both").sum()),
            "topics whose list changed (order included)": int(lists[0].ne(lists[1]).sum())}


def cell(column: str, value) -> str:
    if column.startswith("recall"):
        return f"{value:.4f}"
    return f"{value:.2g}" if column.startswith("max") else f"{value:,.0f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--retriever", required=True, help="a bi-encoder folder (notebook 03's round)")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args(argv)
    data = load_competition(args.data)
    topics, content = text_frames(data, retriever.text_config(args.retriever))
    queries = topics[topics["id"].isin(set(data.correlations["topic_id"]) | set(data.sample_submission["topic_id"]))]
    model = models.load_bi_encoder(args.retriever, args.max_length)
    vectors = search.embed(model, content["text"], 256)
    query_emb = search.embed(model, queries["text"], 256)
    half = np.sort(np.random.default_rng(0).choice(len(content), len(content) // 2, replace=False))

    def half_cached() -> ContentCache:
        """A float32 cache of half the texts, as notebook 04 leaves it."""
        cache = ContentCache("bench", args.max_length)
        cache.embed(model, content["text"].iloc[half])
        return cache

    bf16 = models.load_bi_encoder(args.retriever, args.max_length, dtype=torch.bfloat16)
    bf16_queries = search.embed(bf16, queries["text"], 256)
    variants = {"float16, read back": (query_emb, vectors.astype(np.float16).astype(np.float32)),
                "float32 cache, half the texts fresh": (query_emb, half_cached().embed(model, content["text"])),
                "bfloat16, every text": (bf16_queries, search.embed(bf16, content["text"], 256)),
                "bfloat16 queries and fresh texts, float32 cache of half":
                    (bf16_queries, half_cached().embed(bf16, content["text"]))}
    truth = data.correlations[data.correlations["topic_id"].isin(set(queries["id"]))]

    def recall(found: pd.DataFrame) -> float:
        return float(metrics.recall_at_k(search.ranked_lists(found), truth, [args.k]).iloc[0])

    base = search.search(queries, query_emb, content, vectors, k=args.k)
    rows = {"float32, every text": {"pairs in one list only": 0,
                                    "topics whose list changed (order included)": 0,
                                    "max vector difference": 0.0, f"recall@{args.k}": recall(base)}}
    for name, (topic_vectors, found) in variants.items():
        lists = search.search(queries, topic_vectors, content, found, k=args.k)
        rows[name] = {**changes(base, lists), "max vector difference": float(np.abs(found - vectors).max()),
                      f"recall@{args.k}": recall(lists)}
    print(f"machine: {machine()}\ncode: {code_version()}\n{len(queries):,} topics, {len(content):,} "
          f"content items, top {args.k}, {len(base):,} pairs in all")
    table = pd.DataFrame(rows).T
    print("| | " + " | ".join(table.columns) + " |\n|---|" + "---|" * len(table.columns))
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(cell(column, v) for column, v in row.items()) + " |")


if __name__ == "__main__":
    main()
