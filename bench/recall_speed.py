"""Candidate recall at LECR scale: wall time and peak memory of embedding and search.

    python bench/recall_speed.py                       # full scale: ~154k content, 10k topics
    python bench/recall_speed.py --content 20000 --topics 2000   # a quicker run

Generates (or reuses) the full-size demo dataset in WORK/demo-data-full, takes ``--topics``
topics as queries and ``--content`` items as the corpus, then times, with the suite's own
code (utils.search, utils.candidates): embedding the content, embedding the topics, the
chunked same-language dense search, and the TF-IDF retriever. Prints the machine and one
table; peak memory is the resident set above each stage's start (the search's excludes the
embeddings it is given).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import torch  # noqa: E402

from utils import candidates, paths, retriever, search  # noqa: E402
from utils.data import load_competition  # noqa: E402
from utils.profiling import StageTimer  # noqa: E402
from utils.text import text_frames  # noqa: E402


def machine() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, {gpu}, torch "
            f"{torch.__version__} ({torch.get_num_threads()} threads)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="a folder in the Kaggle layout (default: the full-size "
                                       "demo data, generated once into WORK/demo-data-full)")
    parser.add_argument("--work", help="working folder (default: as utils.paths resolves it)")
    parser.add_argument("--topics", type=int, default=10_000, help="query topics")
    parser.add_argument("--content", type=int, default=0, help="corpus items (0: all)")
    parser.add_argument("--model", help="bi-encoder folder or hub id (default: offline MiniLM)")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--query-chunk", type=int, default=1024)
    args = parser.parse_args(argv)

    data_dir = Path(args.data) if args.data else paths.demo_dir(args.work, size="full")
    data = load_competition(data_dir)
    topics, content = text_frames(data)
    rng = np.random.default_rng(0)
    pool = topics[topics["id"].isin(data.topics.loc[data.topics["category"] != "source", "id"])]
    queries = pool.iloc[np.sort(rng.choice(len(pool), min(args.topics, len(pool)), replace=False))]
    if args.content:
        content = content.iloc[np.sort(rng.choice(len(content), min(args.content, len(content)),
                                                  replace=False))]
    print(f"machine: {machine()}")
    print(f"data: {data_dir}; {len(queries):,} query topics, {len(content):,} content items, "
          f"k={args.k}, max length {args.max_length}, batch {args.batch_size}")

    timer = StageTimer(log=print)
    model = retriever.load_model(args.model or retriever.base_model_path(), args.max_length)
    with timer.stage("embed content", items=len(content)):
        content_emb = search.embed(model, content["text"], args.batch_size)
    with timer.stage("embed topics", items=len(queries)):
        query_emb = search.embed(model, queries["text"], args.batch_size)
    with timer.stage("dense search", items=len(queries)):
        found = search.search(queries, query_emb, content, content_emb, k=args.k,
                              query_chunk=args.query_chunk)
    with timer.stage("tfidf search", items=len(queries)):
        tfidf = candidates.tfidf_candidates(queries, content, k=args.k, chunk=args.query_chunk)
    table = timer.table()
    table["items/s"] = (table["items"] / table["seconds"]).round(1)
    print(table.to_string())
    print(f"embeddings: {content_emb.nbytes / 2**20:,.0f} MiB content, "
          f"{query_emb.nbytes / 2**20:,.0f} MiB topics; candidates: dense {len(found):,}, "
          f"TF-IDF {len(tfidf):,}")
    print("command: python " + " ".join([os.path.relpath(__file__), *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    main()
