"""Speed and memory of the submission path at LECR scale, stage by stage, beside the raw limit.

    python bench/speed.py                                  # full scale: ~154k content, 10k topics
    python bench/speed.py --rerank-top-k 10                # the CPU mode (see below)
    python bench/speed.py --content 20000 --topics 1000    # a quicker run

Generates (or reuses) the full-size demo dataset in WORK/demo-data-full (~77k topics, ~154k
content items), takes ``--topics`` of its non-source topics as the hidden-test-sized query
set (the hidden test: ~10k new topics) and its content as the corpus, and runs what notebook
06 runs, with the same functions: load and check the data, build the texts, recall
(TF-IDF, content and topic embedding, same-language search, fusion:
``utils.candidates.recall``), rerank (``utils.reranker.score``), post-process
(``PostProcess.apply``), write and check the submission. Each stage's wall time and peak
memory (resident set above the stage's start; GPU peak on a GPU) go into one table.

The raw limit, in the same run: the bare transformer's forward pass (tokenise, then
``model(**batch)`` under ``torch.inference_mode``, no pooling or pipeline) over a sample of
the same texts, in the same batches (sorted by length, as sentence-transformers sorts them),
same batch size, max length and weights' type, alternating twice with the suite's own
encode of that sample (the faster of each pair of runs kept): both encoders' throughput
and the suite's as a ratio of the raw one.

Models: ``--retriever`` and ``--reranker`` take folders from notebooks 03 and 05 (the
reranker's saved max length and post-processing then apply); without them the offline
MiniLM serves as both (a fresh one-logit head for the reranker: the same cost as a trained
one, with ``--reranker-max-length`` and a fixed threshold rule). The CPU mode reranks only
the fused list's best ``--rerank-top-k`` candidates (notebook 06's ``RERANK_TOP_K``; its F2
cost is in notebook 05's table and the quality benchmark). A feature ranker folder
(``utils.ranker``) as ``--reranker`` scores every candidate (nothing to cut), and the raw
comparison then covers the bi-encoder only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from utils import candidates, paths, reranker, retriever, search, submission  # noqa: E402
from utils.data import load_competition  # noqa: E402
from utils.postprocess import PostProcess  # noqa: E402
from utils.profiling import StageTimer, code_version, machine  # noqa: E402
from utils.ranker import FeatureRanker  # noqa: E402
from utils.text import text_frames  # noqa: E402

# the stages of stage 1 (recall from the texts), as utils.candidates.recall names them
STAGE1 = ("TF-IDF search", "load the retriever", "embed content", "embed topics", "dense search",
          "fuse")


def raw_forward(model: torch.nn.Module, tokenizer, texts: list, batch_size: int,
                max_length: int) -> float:
    """Seconds for the bare forward pass over ``texts`` (strings, or (a, b) pairs), batched
    in order of length as sentence-transformers batches them, tokenisation included."""
    def length(t):
        return len(t[0]) + len(t[1]) if isinstance(t, tuple) else len(t)

    ordered = sorted(texts, key=length, reverse=True)
    device = next(model.parameters()).device
    model.eval()
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(ordered), batch_size):
            batch = ordered[i: i + batch_size]
            if isinstance(batch[0], tuple):
                first, second = map(list, zip(*batch))
                encoded = tokenizer(first, second, padding=True, truncation="longest_first",
                                    max_length=max_length, return_tensors="pt")
            else:
                encoded = tokenizer(batch, padding=True, truncation=True, max_length=max_length,
                                    return_tensors="pt")
            model(**encoded.to(device))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def timed(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="a folder in the Kaggle layout (default: the full-size "
                                       "demo data, generated once into WORK/demo-data-full)")
    parser.add_argument("--work", help="working folder (default: as utils.paths resolves it)")
    parser.add_argument("--topics", type=int, default=10_000, help="query topics")
    parser.add_argument("--content", type=int, default=0, help="corpus items (0: all)")
    parser.add_argument("--retriever", help="bi-encoder folder or hub id (default: offline MiniLM)")
    parser.add_argument("--reranker", help="notebook 05's reranker folder (default: the offline "
                                           "MiniLM with a fresh head)")
    parser.add_argument("--k", type=int, default=50, help="candidates per topic (recall)")
    parser.add_argument("--rerank-top-k", type=int, default=0,
                        help="rerank only the fused top R (the CPU mode); 0: every candidate")
    parser.add_argument("--max-length", type=int, default=64, help="bi-encoder max length")
    parser.add_argument("--reranker-max-length", type=int, default=96,
                        help="without --reranker: the cross-encoder's max length")
    parser.add_argument("--batch-size", type=int, default=256, help="embedding batch")
    parser.add_argument("--rerank-batch-size", type=int, default=128)
    parser.add_argument("--query-chunk", type=int, default=1024)
    parser.add_argument("--neighbours", type=int, default=0,
                        help="the second degree: content of each topic's N nearest known topics")
    parser.add_argument("--link-counts", action="store_true",
                        help="count the known topics alike that link each candidate")
    parser.add_argument("--baseline-items", type=int, default=4096,
                        help="texts (and pairs) in the raw forward-pass comparison")
    parser.add_argument("--out", help="submission file (default: WORK/bench-submission.csv)")
    args = parser.parse_args(argv)

    work = paths.work_dir(args.work)
    timer = StageTimer(log=print)
    data_dir = Path(args.data) if args.data else paths.demo_dir(args.work, size="full")
    print(f"machine: {machine()}")
    print(f"code: {code_version()}")
    with timer.stage("load and check the data"):
        data = load_competition(data_dir)
    with timer.stage("build texts"):
        topics, content = text_frames(data)
    rng = np.random.default_rng(0)
    pool = topics[topics["id"].isin(data.topics.loc[data.topics["category"] != "source", "id"])]
    queries = pool.iloc[np.sort(rng.choice(len(pool), min(args.topics, len(pool)), replace=False))]
    if args.content:
        content = content.iloc[np.sort(rng.choice(len(content), min(args.content, len(content)),
                                                  replace=False))]
    retriever_path = args.retriever or retriever.base_model_path()
    print(f"data: {data_dir}; {len(queries):,} query topics, {len(content):,} content items; "
          f"retriever {retriever_path}, k={args.k}, max length {args.max_length}, "
          f"batch {args.batch_size}")

    known = topics[topics["id"].isin(data.correlations["topic_id"]) & ~topics["id"].isin(queries["id"])]
    fused, _ = candidates.recall(queries, content, {"main": retriever_path}, k=args.k,
                                 max_length=args.max_length, batch_size=args.batch_size,
                                 query_chunk=args.query_chunk, timer=timer,
                                 neighbours=args.neighbours, known={"main": known}, links=data.links,
                                 topic_table=data.topics if args.link_counts else None)
    with timer.stage("load the reranker"):
        if args.reranker:
            cross, config, rule = reranker.load(args.reranker)
        else:
            config = reranker.RerankerConfig(max_length=args.reranker_max_length,
                                             eval_batch_size=args.rerank_batch_size)
            cross = reranker.load_model(retriever.base_model_path(), config.max_length,
                                        dtype=retriever.inference_dtype())
            rule = PostProcess(threshold=0.5, fill=1)
    trees = isinstance(cross, FeatureRanker)  # reads every candidate: nothing to cut
    if args.rerank_top_k and not trees:
        fused = fused[fused["rank"] <= args.rerank_top_k]
    print(f"reranker: {args.reranker or 'offline MiniLM, fresh head'}, "
          + ("feature ranker" if trees else f"max length {config.max_length}, batch "
             f"{config.eval_batch_size}") + f"; {len(fused):,} pairs")
    topic_text, content_text = topics.set_index("id")["text"], content.set_index("id")["text"]
    with timer.stage("rerank", items=len(fused)):
        scored = (cross.score(fused, data) if trees
                  else reranker.score(cross, fused, topic_text, content_text, config))
    with timer.stage("post-process", items=len(queries)):
        chosen = rule.apply(scored)
    requested = queries["id"].tolist()
    with timer.stage("write and check", items=len(requested)):
        result = submission.frame(chosen, requested)
        submission.check(result, requested, content["id"])
        submission.write(result, Path(args.out) if args.out else work / "bench-submission.csv")

    table = timer.table()
    if "items" in table:
        table["items/s"] = (table["items"] / table["seconds"].where(table["seconds"] > 0)).round(1)
    total = table["seconds"].sum()
    print(table.to_string())
    print(f"total {total:.1f} s ({total / 60:.1f} min); stage 1 (recall, from the texts) "
          f"{table.loc[[s for s in table.index if s in STAGE1], 'seconds'].sum() / 60:.1f} min")

    # the raw limit, on a sample of the same texts: suite and raw alternate twice, best kept
    bi = retriever.load_model(retriever_path, args.max_length, dtype=retriever.inference_dtype())
    sample = content["text"].sample(min(args.baseline_items, len(content)), random_state=0).tolist()
    encoders = {"bi-encoder (search.embed)": (
        len(sample), lambda: search.embed(bi, sample, args.batch_size),
        lambda: raw_forward(bi[0].auto_model, bi.tokenizer, sample, args.batch_size, args.max_length))}
    if not trees:
        pairs = fused.sample(min(args.baseline_items, len(fused)), random_state=0)
        first, second = reranker.pair_texts(pairs, topic_text, content_text, config.rank_in_text)
        encoders["cross-encoder (reranker.score)"] = (
            len(pairs), lambda: reranker.score(cross, pairs, topic_text, content_text, config),
            lambda: raw_forward(cross.model, cross.tokenizer, list(zip(first, second)),
                                config.eval_batch_size, config.max_length))
    best = {name: [min(times) for times in zip(*[(timed(suite), raw()) for _ in range(2)])]
            for name, (_, suite, raw) in encoders.items()}
    ratios = pd.DataFrame({
        "items": [n for n, _, _ in encoders.values()],
        "suite items/s": [n / best[name][0] for name, (n, _, _) in encoders.items()],
        "raw forward items/s": [n / best[name][1] for name, (n, _, _) in encoders.items()],
    }, index=list(encoders))
    ratios["suite / raw"] = ratios["suite items/s"] / ratios["raw forward items/s"]
    print(ratios.round(2).to_string())
    print("command: python " + " ".join([os.path.relpath(__file__), *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    main()
