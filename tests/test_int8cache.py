"""The int8 export cache: the same weights exported once, other weights or settings not."""

import logging
import os
import shutil

import numpy as np
import pytest
import torch

from utils import int8cache, models
from utils.retrieval import retriever, search


@pytest.fixture
def small_encoder(tmp_path):
    """A one-layer, 32-wide BERT with MiniLM's tokenizer: exports in a moment."""
    from transformers import BertConfig, BertModel

    folder = tmp_path / "small-encoder"
    torch.manual_seed(0)
    BertModel(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)
    base = retriever.base_model_path()
    for name in os.listdir(base):
        if name.startswith(("tokenizer", "vocab", "special_tokens")):
            shutil.copy(os.path.join(base, name), folder / name)
    return folder


@pytest.fixture
def exports(monkeypatch):
    """Counts ``torch.onnx.export``'s calls."""
    calls = []
    real = torch.onnx.export
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_the_same_weights_export_once(small_encoder, exports, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(int8cache.ENV, str(tmp_path / "cache"))
    texts = ["adding fractions", "the water cycle", "una lección de álgebra"]
    vectors = []
    for _ in range(2):
        with caplog.at_level(logging.INFO, logger="utils.models"):
            model = models.int8(models.load_bi_encoder(small_encoder, 16))
        vectors.append(search.embed(model, texts))
    assert len(exports) == 1 and "from the int8 cache" in caplog.text
    assert np.array_equal(vectors[0], vectors[1])
    assert len(list((tmp_path / "cache").glob(f"*{int8cache.SUFFIX}"))) == 1

    changed = models.load_bi_encoder(small_encoder, 16)
    with torch.no_grad():
        changed[0].auto_model.pooler.dense.bias[0] += 1e-3  # one weight, slightly
    models.int8(changed)
    models.int8(models.load_bi_encoder(small_encoder, 16), fuse=True)  # another setting
    assert len(exports) == 3


def test_a_cross_encoder_saved_and_loaded_again_hits(small_encoder, exports, tmp_path, monkeypatch):
    """Notebook 05 scores the cross-encoder it trained, notebook 06 loads it from its folder:
    one export (the saved config names another head class; not part of the key)."""
    monkeypatch.setenv(int8cache.ENV, str(tmp_path / "cache"))
    trained = models.load_cross_encoder(small_encoder, 16)
    trained.save(str(tmp_path / "reranker"))
    pairs = [("adding fractions", "a video on fractions"), ("the water cycle", "rain")]
    scores = [models.int8(model).predict(pairs) for model in
              (trained, models.load_cross_encoder(tmp_path / "reranker", 16))]
    assert len(exports) == 1 and np.array_equal(scores[0], scores[1])


def test_a_damaged_cache_file_is_exported_again(small_encoder, exports, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(int8cache.ENV, str(tmp_path / "cache"))
    models.int8(models.load_bi_encoder(small_encoder, 16))
    (cached,) = (tmp_path / "cache").glob(f"*{int8cache.SUFFIX}")
    cached.write_bytes(b"not a graph")  # a disk error, a copy cut short by hand
    with caplog.at_level(logging.WARNING, logger="utils.models"):
        model = models.int8(models.load_bi_encoder(small_encoder, 16))
    assert "does not load" in caplog.text and len(exports) == 2
    assert search.embed(model, ["a text"]).shape == (1, 32)
    assert cached.stat().st_size > 1000  # replaced by the new export


def test_key_follows_weights_and_settings(small_encoder):
    one, two = (models.load_bi_encoder(small_encoder, 16)[0].auto_model for _ in range(2))
    assert int8cache.key(one, fuse=False) == int8cache.key(two, fuse=False)
    assert int8cache.key(one, fuse=False) != int8cache.key(one, fuse=True)
    assert int8cache.key(one.half(), fuse=False) != int8cache.key(two, fuse=False)


@pytest.mark.parametrize("setting", ["off", "a file"])
def test_off_or_unwritable_exports_uncached(small_encoder, exports, tmp_path, monkeypatch, caplog,
                                            setting):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(int8cache.ENV, "off" if setting == "off" else str(blocker / "cache"))
    for _ in range(2):
        with caplog.at_level(logging.WARNING, logger="utils.int8cache"):
            model = models.int8(models.load_bi_encoder(small_encoder, 16))
        assert search.embed(model, ["a text"]).shape == (1, 32)
    assert len(exports) == 2
    assert ("could not write" in caplog.text) == (setting == "a file")


def test_trim_removes_the_least_recently_used(tmp_path, monkeypatch):
    monkeypatch.setenv(int8cache.ENV, str(tmp_path))
    files = [tmp_path / f"{name}{int8cache.SUFFIX}" for name in "abcd"]
    for age, path in zip([40, 30, 20, 10], files):  # a the oldest, d the newest
        path.write_bytes(b"x" * 100)
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime - age))
    stale = tmp_path / f"killed{int8cache.PART}"
    stale.write_bytes(b"x")
    os.utime(stale, (0, 0))
    assert int8cache.get("b") == files[1]  # used now: the newest
    removed = int8cache.trim(max_bytes=250, keep=files[0])
    assert removed == [files[2]] + [files[3]]  # a kept as asked, b recently used
    assert not stale.exists() and files[0].exists() and files[1].exists()
