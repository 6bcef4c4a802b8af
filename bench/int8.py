"""int8 (three ways) and bfloat16 on a CPU beside float32: speed, agreement, recall and F2 on a fold.

    python bench/int8.py --data ../shared/data/minilecr --work /tmp/quality/fold0 --fold 0

``--work`` is a fold folder of ``bench/quality.py`` (or any working folder where notebooks
02-05 ran): its retriever, the reranker notebook 05 selected and ``folds.csv``. For each way
of running the bi-encoder (and a cross-encoder, where the selected reranker is one):

- ``fp32``: as trained;
- ``torch int8``: ``torch.ao.quantization.quantize_dynamic`` of every ``nn.Linear``, per
  channel (deprecated in torch 2.13, kept for the comparison);
- ``onnx int8``: :func:`utils.models.int8` as the suite runs it: ONNX Runtime's dynamic
  quantisation of the graph as exported;
- ``onnx int8 fused``: :func:`utils.models.int8` with ``fuse=True``: ONNX Runtime's
  transformer fusions (attention, layer norms, GELU), then the same quantisation;
- ``bf16``: the weights in bfloat16, as notebook 06's ``BF16`` runs them (fast where the CPU
  has bfloat16 units, Intel AMX; emulated and slow elsewhere).

It measures the bi-encoder's texts per second on ``--sample`` content texts (best of two
runs), the cosine of each text's vector with its float32 vector (mean and minimum), the
bi-encoder's recall@50 on the fold's validation topics (same-language search), and the
whole path's F2 (:func:`utils.predict.predict`, every content text embedded by the variant).
Notebook 05 tuned the saved post-processing on these topics, so the F2 column is in sample:
read only its difference with fp32 (the same rule for every variant). ``--speed-only``
measures the texts per second and the agreement alone (a few minutes); ``--ways`` runs some
ways only (fp32, the reference, always first).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from utils import models, paths, predict, submission
from utils.data.folds import load_folds  # noqa: E402
from utils.data.load import load_competition  # noqa: E402
from utils.data.text import text_frames  # noqa: E402
from utils.metrics import mean_f2, recall_at_k  # noqa: E402
from utils.profiling import code_version, machine  # noqa: E402
from utils.retrieval import search  # noqa: E402
from utils.retrieval.candidates import dense_candidates  # noqa: E402
from utils.retrieval.search import ranked_lists  # noqa: E402


def torch_int8(model):
    """torch's dynamic quantisation of every linear layer, per channel, in place."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notice
        quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8,
                         inplace=True)
    return model


def bf16(model):
    """The weights in bfloat16, in place."""
    return model.to(torch.bfloat16)


WAYS = {"fp32": None, "torch int8": torch_int8,  # bound now: the whole path's mock replaces models.int8
        "onnx int8": models.int8, "onnx int8 fused": functools.partial(models.int8, fuse=True),
        "bf16": bf16}


def best_of_two(fn) -> float:
    times = []
    for _ in range(2):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--work", required=True, help="a working folder where notebooks 02-05 ran")
    parser.add_argument("--fold", type=int, default=0, help="its validation fold")
    parser.add_argument("--sample", type=int, default=2000, help="texts for speed and agreement")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--ways", nargs="+", choices=list(WAYS), default=list(WAYS),
                        help="the ways to run (fp32 always)")
    parser.add_argument("--speed-only", action="store_true",
                        help="texts per second and agreement only: no recall, no whole path")
    args = parser.parse_args(argv)

    work = Path(args.work)
    models.set_cpu_bf16(False)  # each way converts float32 weights itself
    data = load_competition(args.data)
    requested = submission.requested_topics(data, "valid", load_folds(work), args.fold)
    retriever_dir, reranker_dir = paths.saved_models(work)
    pipeline = predict.Pipeline.load(retriever_dir, reranker_dir, work)
    topics, content = text_frames(data, pipeline.retriever_text)
    queries = topics[topics["id"].isin(requested)]
    truth = data.correlations[data.correlations["topic_id"].isin(requested)]
    sample = content["text"].sample(min(args.sample, len(content)), random_state=0).tolist()
    print(f"machine: {machine()}\ncode: {code_version()}\nfold {args.fold}: {len(requested)} "
          f"validation topics; retriever {retriever_dir}; reranker {reranker_dir} "
          f"({type(pipeline.stage2).__name__}); {len(sample):,} texts for speed and agreement")

    rows, reference = {}, None
    for name, convert in {n: w for n, w in WAYS.items() if n == "fp32" or n in args.ways}.items():
        model = models.load_bi_encoder(retriever_dir, pipeline.max_length)
        if convert is not None:
            model = convert(model)
        seconds = best_of_two(lambda: search.embed(model, sample, args.batch_size))
        vectors = search.embed(model, sample, args.batch_size)
        reference = vectors if reference is None else reference
        cosine = (vectors * reference).sum(axis=1)
        rows[name] = {"texts/s": len(sample) / seconds, "cosine mean": cosine.mean(),
                      "cosine min": cosine.min()}
        if args.speed_only:
            print(name, {k: round(float(v), 4) for k, v in rows[name].items()}, flush=True)
            continue
        found = dense_candidates(model, queries, content, k=50, batch_size=args.batch_size)
        recall = recall_at_k(ranked_lists(found), truth, ks=[50]).iloc[0]
        # the whole path, the variant's quantisation in place of the suite's (no cache)
        with mock.patch.object(models, "int8", convert or (lambda m: m)):
            variant = predict.Pipeline.load(retriever_dir, reranker_dir, work, int8=convert is not None)
            result = predict.predict(data, requested, variant, int8=convert is not None,
                                     batch_size=args.batch_size)
        rows[name].update({"recall@50": recall, "F2 (same rule)": mean_f2(result.chosen, truth)})
        print(name, {k: round(float(v), 4) for k, v in rows[name].items()})
    table = pd.DataFrame(rows).T
    table["speed-up"] = table["texts/s"] / table.loc["fp32", "texts/s"]
    if not args.speed_only:
        table["F2 - fp32"] = table["F2 (same rule)"] - table.loc["fp32", "F2 (same rule)"]
    print("| | " + " | ".join(table.columns) + " |\n|---|" + "---|" * len(table.columns))
    for way, row in table.iterrows():
        print(f"| {way} | " + " | ".join(f"{v:+.4f}" if c == "F2 - fp32" else f"{v:.4g}"
                                         for c, v in row.items()) + " |")
    print("command: python bench/int8.py " + " ".join(argv if argv is not None else sys.argv[1:]))


if __name__ == "__main__":
    main()
