"""int8 (ONNX Runtime) and bfloat16 inference on a CPU against float32, and their fallbacks."""

import numpy as np
import pytest
import torch

from utils import models
from utils.kaggle import versions
from utils.retrieval import retriever, search
from utils.selection import cross_encoder


def test_int8_bi_encoder_agrees_with_float32(frames):
    _, _, queries, content = frames
    corpus = content[content["language"].isin(set(queries["language"]))]
    found = {}
    for int8 in (False, True):
        model = models.for_inference(models.load_bi_encoder(retriever.base_model_path(), 32), int8)
        assert isinstance(model[0].model, models.OnnxRuntimeTransformer) == int8
        q, c = search.embed(model, queries["text"]), search.embed(model, corpus["text"])
        assert c.dtype == np.float32 and np.allclose(np.linalg.norm(c, axis=1), 1, atol=1e-4)
        found[int8] = (c, search.search(queries, q, corpus, c, k=5))
    cosine = (found[False][0] * found[True][0]).sum(axis=1)
    assert cosine.mean() > 0.98 and cosine.min() > 0.9
    lists = [f[1].groupby("topic_id")["content_id"].agg(set) for f in found.values()]
    overlap = [len(a & b) / len(a) for a, b in zip(lists[0], lists[1])]
    assert np.mean(overlap) >= 0.8  # mostly the same top 5


def test_int8_cross_encoder_scores_agree(frames, tmp_path):
    data, topics, queries, content = frames
    pairs = data.links[data.links["topic_id"].isin(queries["id"])].head(16).assign(rank=1)
    config = cross_encoder.RerankerConfig(max_length=48, eval_batch_size=8)
    torch.manual_seed(0)
    models.load_cross_encoder(retriever.base_model_path(), 48).save(str(tmp_path))  # one head for both
    scores = [cross_encoder.score(models.for_inference(models.load_cross_encoder(tmp_path, 48), int8),
                             pairs, topics.set_index("id")["text"], content.set_index("id")["text"],
                             config)["score"].to_numpy() for int8 in (False, True)]
    assert np.abs(scores[0] - scores[1]).max() < 0.05  # an untrained head: no ranking to compare


def test_int8_fuses_attention_and_agrees_with_the_graph_as_exported(frames, caplog, monkeypatch, tmp_path):
    """ONNX Runtime's BERT fusions apply to MiniLM's exported graph (one attention operator
    per layer), and the fused int8 model embeds as the unfused one does."""
    import logging

    from utils import int8cache

    monkeypatch.setenv(int8cache.ENV, str(tmp_path))  # exported here, whatever the session cached

    texts = frames[3]["text"].head(24).tolist()
    vectors = {}
    for fuse in (False, True):
        with caplog.at_level(logging.INFO, logger="utils.models"):
            model = models.int8(models.load_bi_encoder(retriever.base_model_path(), 32), fuse=fuse)
        vectors[fuse] = search.embed(model, texts)
    assert "'Attention': 6" in caplog.text  # the six layers of MiniLM-L6
    assert (vectors[False] * vectors[True]).sum(axis=1).min() > 0.97


def test_int8_says_what_is_missing(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    assert "onnxruntime not installed" in models.int8_available()
    with pytest.raises(RuntimeError, match="onnxruntime not installed.*float32"):
        models.int8(models.load_bi_encoder(retriever.base_model_path(), 16))


def test_missing_int8_packages_install_from_the_wheels(monkeypatch, tmp_path):
    calls = []
    have = {"onnx": "1.0"}
    monkeypatch.setattr(versions, "installed", lambda name: have.get(name))

    def pip(command, **_):
        calls.append(command)
        have["onnxruntime"] = "1.0"

    assert versions.ensure_present(versions.INT8_PACKAGES, None, run=pip) == ["onnxruntime"]
    assert not calls  # no wheels: nothing to install from, the caller falls back
    assert versions.ensure_present(versions.INT8_PACKAGES, tmp_path, run=pip) == []
    assert calls[0][-1] == "onnxruntime" and "--no-index" in calls[0]


def test_bf16_on_a_cpu_is_a_choice_and_int8_loads_float32(monkeypatch):
    monkeypatch.setattr(models, "CPU_BF16", False)
    assert models.inference_dtype("cpu") == torch.float32
    assert models.set_cpu_bf16(True) is True
    assert models.inference_dtype("cpu") == torch.bfloat16
    assert models.inference_dtype("cpu", int8=True) == torch.float32  # int8 quantises float32
    assert models.set_cpu_bf16("auto") == models.bf16_native()
    with pytest.raises(ValueError, match="BF16 must be"):
        models.set_cpu_bf16("yes")


def test_bf16_bi_encoder_finds_the_float32_candidates(frames, monkeypatch):
    """``load_for_inference`` under BF16: bfloat16 weights, float32 unit vectors within a
    rounding of float32's, the same top 5 but for near-ties."""
    _, _, queries, content = frames
    corpus = content[content["language"].isin(set(queries["language"]))]
    found = {}
    for bf16 in (False, True):
        monkeypatch.setattr(models, "CPU_BF16", bf16)
        model = models.load_for_inference(retriever.base_model_path(), 32)
        assert next(model.parameters()).dtype == (torch.bfloat16 if bf16 else torch.float32)
        q, c = search.embed(model, queries["text"]), search.embed(model, corpus["text"])
        assert c.dtype == np.float32 and np.allclose(np.linalg.norm(c, axis=1), 1, atol=1e-3)
        found[bf16] = (c, search.search(queries, q, corpus, c, k=5))
    cosine = (found[False][0] * found[True][0]).sum(axis=1)
    assert cosine.min() > 0.999
    lists = [f[1].groupby("topic_id")["content_id"].agg(set) for f in found.values()]
    overlap = [len(a & b) / len(a) for a, b in zip(lists[0], lists[1])]
    assert np.mean(overlap) >= 0.9


def test_bf16_leaves_a_saved_cross_encoder_in_float32(tmp_path, monkeypatch):
    """BF16 is the bi-encoders': a cross-encoder's tuned thresholds on probabilities were not
    checked in bfloat16, so ``cross_encoder.load`` keeps it in float32 on a CPU."""
    from utils.selection.postprocess import PostProcess

    config = cross_encoder.RerankerConfig(max_length=48, eval_batch_size=8)
    cross_encoder.save(models.load_cross_encoder(retriever.base_model_path(), 48), tmp_path, config,
                  PostProcess())
    monkeypatch.setattr(models, "CPU_BF16", True)
    model, _, _ = cross_encoder.load(tmp_path)
    assert next(model.model.parameters()).dtype == torch.float32
