"""What a CUDA device changes in the code, run on the CPU, so a GPU user never runs a line CI
has not: half-precision inference (bi-encoder and cross-encoder) against float32, and
mixed-precision (bf16) training for a few steps."""

import numpy as np
import pandas as pd
import pytest
import torch

from utils import models
from utils.data.folds import make_folds, split_topics
from utils.retrieval import retriever, search
from utils.selection import cross_encoder


def test_the_inference_dtype_follows_the_device(monkeypatch):
    for choice in ("auto", True, False):
        monkeypatch.setattr(models, "CPU_BF16", choice)
        assert models.inference_dtype("cuda:0") == torch.float16
        assert models.inference_dtype("cuda:0", int8=True) == torch.float16
    assert models.inference_dtype("cpu") == torch.float32  # False, the last choice


def test_half_precision_embeddings_find_the_same_candidates(frames):
    """notebook 06 on a GPU embeds with float16 weights (``inference_dtype``)."""
    _, _, queries, content = frames
    corpus = content[content["language"].isin(set(queries["language"]))]
    found = {}
    for dtype in (torch.float32, torch.float16):
        model = models.load_bi_encoder(retriever.base_model_path(), 32, dtype=dtype)
        q, c = search.embed(model, queries["text"]), search.embed(model, corpus["text"])
        assert q.dtype == np.float32 and np.allclose(np.linalg.norm(c, axis=1), 1, atol=1e-3)
        found[dtype] = (c, search.search(queries, q, corpus, c, k=5))
    cosine = (found[torch.float32][0] * found[torch.float16][0]).sum(axis=1)
    assert cosine.min() > 0.999
    lists = [f[1].groupby("topic_id")["content_id"].agg(set) for f in found.values()]
    assert (lists[0] == lists[1]).mean() >= 0.9  # near-ties aside, the same top 5


def test_half_precision_cross_encoder_scores_agree(frames, tmp_path):
    data, topics, queries, content = frames
    pairs = data.links[data.links["topic_id"].isin(queries["id"])].head(16)
    pairs = pd.concat([pairs, pairs.assign(content_id=np.roll(pairs["content_id"].to_numpy(), 3))]).assign(rank=1)
    config = cross_encoder.RerankerConfig(max_length=48, eval_batch_size=8)
    models.load_cross_encoder(retriever.base_model_path(), 48).save(str(tmp_path))  # one head for both
    scores = [cross_encoder.score(models.load_cross_encoder(tmp_path, 48, dtype=dtype), pairs,
                             topics.set_index("id")["text"], content.set_index("id")["text"], config)["score"]
              for dtype in (torch.float32, torch.float16)]
    assert np.abs(scores[0].to_numpy() - scores[1].to_numpy()).max() < 0.01


@pytest.fixture(scope="module")
def pairs(tiny_dir, frames):
    data, topics, _, content = frames
    train, _ = split_topics(make_folds(data, n_splits=3), 0)
    by_id = topics.set_index("id")
    return retriever.training_pairs(data.links, train, by_id["text"], content.set_index("id")["text"],
                                    by_id["language"]).head(32)


def test_bf16_mixed_precision_trains_the_retriever(frames, pairs, tmp_path):
    data = frames[0]
    model = models.load_bi_encoder(retriever.base_model_path(), max_length=24)
    before = next(model.parameters()).detach().clone()
    config = retriever.RetrieverConfig(batch_size=8, max_length=24, precision="bf16")
    history = retriever.train(model, pairs, data.links, config, 1, tmp_path)
    assert len(history) and np.isfinite(history["loss"]).all()
    weights = next(model.parameters())
    assert weights.dtype == torch.float32 and not weights.detach().equal(before)  # float32 master weights


def test_bf16_mixed_precision_trains_the_cross_encoder(labelled_pairs, tmp_path):
    model = models.load_cross_encoder(retriever.base_model_path(), 32)
    config = cross_encoder.RerankerConfig(max_length=32, batch_size=8, epochs=1, precision="bf16")
    history = cross_encoder.train(model, *labelled_pairs, config, tmp_path)
    assert len(history) and np.isfinite(history["loss"]).all()
