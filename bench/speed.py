"""Speed and memory of the submission path at LECR scale, variant beside variant, in one run.

    python bench/speed.py                                  # full scale: ~154k content, 10k topics
    python bench/speed.py --rerank-top-k 10                # the CPU mode (see below)
    python bench/speed.py --variants fp32 int8             # some variants only
    python bench/speed.py --content 20000 --topics 1000    # a quicker run

Generates (or reuses) the full-size demo dataset in WORK/demo-data-full (~77k topics, ~154k
content items), takes ``--topics`` of its non-source topics as the hidden-test-sized query
set (the hidden test: ~10k new topics) and its content as the corpus, and runs notebook 06's
path on them: :func:`utils.predict.predict` (texts, recall with TF-IDF and the bi-encoder,
stage 2, post-processing, the checked submission), the same call the notebook makes. Each
stage's wall time and peak memory (resident set; GPU peak on a GPU) go into a table, one
column per variant:

- ``fp32``: float32 encoders, no content embedding known (notebook 06 with nothing saved:
  every content text embedded; the embeddings it computes are kept for the cache variants);
- ``int8``: the encoders in int8 through ONNX Runtime (:func:`utils.models.int8`), exported
  and quantised in each variant as in a fresh Kaggle kernel (:mod:`utils.int8cache` off);
- ``int8+cacheN``: int8, with the content embeddings saved by notebook 04 loaded from disk
  (:class:`utils.retrieval.embcache.ContentCache`, float32 vectors of the fp32 variant) for all but
  N% of the content, a random N% being new to the cache (new items, changed texts):
  ``int8+cache10`` is a plausible hidden-test mix, ``cache0`` and ``cache100`` the bounds;
- ``fp32+cacheN``: the same in float32 (notebook 06 with ``INT8 = False, BF16 = False``);
- ``bf16``, ``bf16+cacheN``: the bi-encoder in bfloat16 (notebook 06's ``BF16``, on by
  default where the CPU has bfloat16 units, Intel AMX; emulated and slow elsewhere); a
  cross-encoder stays float32.

The raw limit, in the same run: the bare transformer's forward pass (tokenise, then
``model(**batch)`` under ``torch.inference_mode``, no pooling or pipeline) over a sample of
the same texts, in the same batches (sorted by length, as sentence-transformers sorts them),
same batch size, max length and weights' type, alternating twice with the suite's own
encode of that sample (the faster of each pair of runs kept): both encoders' float32
throughput and the suite's as a ratio of the raw one, and the int8 and bfloat16 encoders'
throughput.

Models: ``--retriever`` and ``--reranker`` take folders from notebooks 03 and 05 (the
reranker's saved recall settings, max length and post-processing then apply); without them
the offline MiniLM serves as both (a fresh one-logit head for the reranker: the same cost as
a trained one, with ``--reranker-max-length`` and a fixed threshold rule). The CPU mode
reranks only the fused list's best ``--rerank-top-k`` candidates (notebook 06's
``RERANK_TOP_K``; its F2 cost is in notebook 05's table and the quality benchmark). A
feature ranker folder (``utils.selection.feature_ranker``) as ``--reranker`` scores every candidate (nothing to
cut), and the raw comparison then covers the bi-encoder only.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import re
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from utils import int8cache, models, paths, predict, submission
from utils.data.load import load_competition  # noqa: E402
from utils.data.text import text_frames  # noqa: E402
from utils.profiling import StageTimer, code_version, machine  # noqa: E402
from utils.retrieval import embcache, retriever, search
from utils.selection import cross_encoder  # noqa: E402
from utils.selection.feature_ranker import FeatureRanker  # noqa: E402
from utils.selection.postprocess import PostProcess  # noqa: E402

VARIANTS = ["fp32", "int8", "bf16", "fp32+cache10", "int8+cache0", "int8+cache10", "int8+cache100",
            "bf16+cache10"]
CACHE_DIR = "speed-cache"
"""Under WORK: the fp32 variant's content embeddings, and the cache variants' subsets."""


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


def new_share(variant: str) -> float | None:
    """The share of content new to the cache in ``variant`` (``int8+cache10``: 0.1); None
    without a cache."""
    return int(variant.split("cache")[1]) / 100 if "cache" in variant else None


def default_pipeline(retriever_path, args, int8: bool) -> predict.Pipeline:
    """The offline MiniLM as both encoders (a fresh one-logit head for the reranker)."""
    config = cross_encoder.RerankerConfig(max_length=args.reranker_max_length,
                                     eval_batch_size=args.rerank_batch_size)
    cross = models.for_inference(models.load_cross_encoder(
        retriever.base_model_path(), config.max_length, dtype=models.inference_dtype()), int8)
    return predict.Pipeline(str(retriever_path), cross, config, PostProcess(threshold=0.5, fill=1))


def cache_with_new(full: embcache.ContentCache, texts: pd.Series, share: float, folder: Path,
                   seed: int = 0) -> Path:
    """Save into ``folder`` the cache ``full`` without the keys of a random ``share`` of
    ``texts`` (those items are new to it)."""
    rng = np.random.default_rng(seed)
    new = texts.iloc[rng.permutation(len(texts))[:round(share * len(texts))]]
    keep = ~np.isin(full.keys, embcache.keys(new, full.max_length))
    vectors = full.vectors[keep] if full.vectors is not None else None
    embcache.ContentCache(full.model, full.max_length, full.dtype, full.keys[keep], vectors).save(folder)
    return folder


def main(argv=None) -> None:
    # every variant loads its models as notebook 06 does in a fresh Kaggle kernel: int8
    # exported anew, not taken from an earlier variant's export (utils.int8cache)
    with mock.patch.dict(os.environ, {int8cache.ENV: "off"}):
        measure(argv)


def measure(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="a folder in the Kaggle layout (default: the full-size "
                                       "demo data, generated once into WORK/demo-data-full)")
    parser.add_argument("--work", help="working folder (default: as utils.paths resolves it)")
    parser.add_argument("--topics", type=int, default=10_000, help="query topics")
    parser.add_argument("--content", type=int, default=0, help="corpus items (0: all)")
    parser.add_argument("--retriever", help="bi-encoder folder or hub id (default: offline MiniLM)")
    parser.add_argument("--reranker", help="notebook 05's reranker folder (default: the offline "
                                           "MiniLM with a fresh head)")
    parser.add_argument("--variants", nargs="+", default=VARIANTS, metavar="VARIANT",
                        help=f"the variants to run, in this order ({', '.join(VARIANTS)}; any "
                             "fp32+cacheN, int8+cacheN or bf16+cacheN)")
    parser.add_argument("--k", type=int, help="candidates per topic (default: the reranker's "
                                              "recall settings, else 50)")
    parser.add_argument("--rerank-top-k", type=int, default=0,
                        help="rerank only the fused top R (the CPU mode); 0: every candidate")
    parser.add_argument("--max-length", type=int, default=64,
                        help="bi-encoder max length (without --reranker)")
    parser.add_argument("--reranker-max-length", type=int, default=96,
                        help="without --reranker: the cross-encoder's max length")
    parser.add_argument("--batch-size", type=int, default=256, help="embedding batch")
    parser.add_argument("--rerank-batch-size", type=int, default=128)
    parser.add_argument("--query-chunk", type=int, default=1024)
    parser.add_argument("--baseline-items", type=int, default=4096,
                        help="texts (and pairs) in the raw forward-pass comparison")
    parser.add_argument("--out", help="submission file (default: WORK/bench-submission.csv)")
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants if not re.fullmatch(r"(fp32|int8|bf16)(\+cache\d+)?", v)]
    if unknown:
        parser.error(f"unknown variants {unknown}: choose among {VARIANTS} (any fp32, int8 or "
                     "bf16 with +cacheN)")

    work = paths.work_dir(args.work)
    data_dir = Path(args.data) if args.data else paths.demo_dir(args.work, size="full")
    print(f"machine: {machine()}")
    print(f"code: {code_version()}")
    loading = StageTimer(log=print)
    with loading.stage("load and check the data"):
        data = load_competition(data_dir)
    rng = np.random.default_rng(0)
    pool = data.topics.loc[data.topics["category"] != "source", "id"].to_numpy()
    requested = list(pool[np.sort(rng.choice(len(pool), min(args.topics, len(pool)), replace=False))])
    if args.content:
        rows = np.sort(rng.choice(len(data.content), min(args.content, len(data.content)), replace=False))
        data = dataclasses.replace(data, content=data.content.iloc[rows].reset_index(drop=True))
    retriever_path = args.retriever or retriever.base_model_path()

    def pipeline(int8: bool) -> predict.Pipeline:
        if not args.reranker:
            made = default_pipeline(retriever_path, args, int8)
            made.recall = {"max_length": args.max_length}
        else:
            made = predict.Pipeline.load(retriever_path, args.reranker, work, int8=int8)
        if args.k:
            made.recall = {**made.recall, "top_k": args.k}
        return made

    models.set_cpu_bf16(False)  # each variant sets its own; float32 unless it says bf16
    first = pipeline(False)
    max_length = first.max_length
    content_text = text_frames(data, first.retriever_text)[1]["text"]
    print(f"data: {data_dir}; {len(requested):,} query topics, {len(data.content):,} content "
          f"items; retriever {retriever_path}, k={first.top_k}, max length {max_length}, "
          f"batch {args.batch_size}; reranker: {args.reranker or 'offline MiniLM, fresh head'}"
          + ("" if isinstance(first.stage2, FeatureRanker) else
             f", max length {first.config.max_length}, batch {first.config.eval_batch_size}"))

    cache_dir = work / CACHE_DIR
    full = embcache.ContentCache.load(cache_dir / "all", retriever_path, max_length)
    tables, totals = {}, {}
    for variant in args.variants:
        print(f"\n== {variant}")
        int8, share = variant.startswith("int8"), new_share(variant)
        models.set_cpu_bf16(variant.startswith("bf16"))
        if share is not None and len(full) == 0:
            print("no saved content embeddings: embedding the content in float32 first (not timed)")
            full.embed(models.load_bi_encoder(retriever_path, max_length), content_text, args.batch_size)
            full.save(cache_dir / "all")
        if share is not None:
            folder = cache_with_new(full, content_text, share, cache_dir / f"new{round(share * 100)}")
        timer = StageTimer(log=print)
        with timer.stage("load the models"):
            made = pipeline(int8)
        caches = None
        if variant == "fp32":  # notebook 06 with nothing saved: every text embedded, then kept
            caches = {"main": embcache.ContentCache(embcache.model_id(retriever_path), max_length)}
        elif share is not None:
            with timer.stage("load the content embeddings"):
                caches = {"main": embcache.ContentCache.load(folder, retriever_path, max_length)}
        result = predict.predict(data, requested, made, rerank_top_k=args.rerank_top_k or None,
                                 caches=caches, int8=int8, batch_size=args.batch_size,
                                 query_chunk=args.query_chunk, timer=timer)
        with timer.stage("write"):
            submission.write(result.submission, Path(args.out) if args.out
                             else work / "bench-submission.csv")
        if caches:
            cache = caches["main"]
            print(f"content embeddings: {cache.hits:,} looked up, {cache.misses:,} embedded")
            if variant == "fp32":
                full = cache
                full.save(cache_dir / "all")
        tables[variant] = timer.table()
        totals[variant] = tables[variant]["seconds"].sum()
        print(f"{variant}: {totals[variant]:.1f} s ({totals[variant] / 60:.1f} min); "
              f"{result.reranked:,} pairs reranked")

    stages = list(dict.fromkeys(s for t in tables.values() for s in t.index))
    side = pd.DataFrame({v: t["seconds"].reindex(stages) for v, t in tables.items()})
    side.loc["total (s)"] = side.sum()
    side.loc["total (min)"] = (side.loc["total (s)"] / 60).round(1)
    side.loc["peak RSS (MiB)"] = [t["peak RSS MiB"].max() for t in tables.values()]
    print("\nseconds per stage, one column per variant (data loaded once, "
          f"{loading.table()['seconds'].iloc[0]:.1f} s, not in the totals):")
    print(side.round(1).astype(object).where(side.notna(), "").to_string())

    # the raw limit, on a sample of the same texts: suite and raw alternate twice, best kept
    models.set_cpu_bf16(False)
    stage2 = first.stage2
    trees = isinstance(stage2, FeatureRanker)
    bi = models.load_bi_encoder(retriever_path, max_length, dtype=models.inference_dtype())
    bi_int8 = models.int8(models.load_bi_encoder(retriever_path, max_length))
    bi_bf16 = models.load_bi_encoder(retriever_path, max_length, dtype=torch.bfloat16)
    cross_int8 = None if trees else pipeline(True).stage2
    cross_bf16 = None if trees else copy.deepcopy(stage2).to(torch.bfloat16)  # an option: BF16 is the bi-encoders'
    sample = content_text.sample(min(args.baseline_items, len(content_text)), random_state=0).tolist()
    encoders = {"bi-encoder (search.embed)": (
        len(sample), lambda: search.embed(bi, sample, args.batch_size),
        lambda: raw_forward(bi[0].auto_model, bi.tokenizer, sample, args.batch_size, max_length),
        lambda: search.embed(bi_int8, sample, args.batch_size),
        lambda: search.embed(bi_bf16, sample, args.batch_size))}
    if not trees:
        topics_text, content_by_id = (frame.set_index("id")["text"]
                                      for frame in text_frames(data, first.reranker_text))
        config = first.config
        pairs = (pd.DataFrame({"topic_id": requested}).merge(
            pd.DataFrame({"content_id": data.content["id"]}).sample(8, random_state=0), how="cross")
            .assign(rank=1).head(args.baseline_items))
        first_texts, second_texts = cross_encoder.pair_texts(pairs, topics_text, content_by_id)
        encoders["cross-encoder (cross_encoder.score)"] = (
            len(pairs), lambda: cross_encoder.score(stage2, pairs, topics_text, content_by_id, config),
            lambda: raw_forward(stage2.model, stage2.tokenizer, list(zip(first_texts, second_texts)),
                                config.eval_batch_size, config.max_length),
            lambda: cross_encoder.score(cross_int8, pairs, topics_text, content_by_id, config),
            lambda: cross_encoder.score(cross_bf16, pairs, topics_text, content_by_id, config))
    best = {name: [min(times) for times in zip(*[(timed(suite), raw(), timed(quantised), timed(half))
                                                for _ in range(2)])]
            for name, (_, suite, raw, quantised, half) in encoders.items()}
    ratios = pd.DataFrame({
        "items": [n for n, *_ in encoders.values()],
        "suite items/s": [n / best[name][0] for name, (n, *_) in encoders.items()],
        "raw forward items/s": [n / best[name][1] for name, (n, *_) in encoders.items()],
        "int8 items/s": [n / best[name][2] for name, (n, *_) in encoders.items()],
        "bf16 items/s": [n / best[name][3] for name, (n, *_) in encoders.items()],
    }, index=list(encoders))
    ratios["suite / raw"] = ratios["suite items/s"] / ratios["raw forward items/s"]
    ratios["int8 / suite"] = ratios["int8 items/s"] / ratios["suite items/s"]
    ratios["bf16 / suite"] = ratios["bf16 items/s"] / ratios["suite items/s"]
    print(ratios.round(2).to_string())
    print("command: python " + " ".join([os.path.relpath(__file__), *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    main()
