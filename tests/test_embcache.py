import numpy as np
import pandas as pd
import pytest

from utils.data.load import load_competition
from utils.data.text import text_frames
from utils.retrieval import candidates as cand
from utils.retrieval.embcache import ContentCache, keys, model_id
from utils.retrieval.retriever import base_model_path


@pytest.fixture(scope="module")
def frames(tiny_dir):
    data = load_competition(tiny_dir)
    topics, content = text_frames(data)
    return topics[topics["id"].isin(data.correlations["topic_id"])].head(6), content


def recall(queries, content, cache=None):
    fused, _ = cand.recall(queries, content, {"main": base_model_path()}, k=5, max_length=32,
                           tfidf=False, caches={"main": cache} if cache is not None else None)
    return fused


def test_cached_recall_equals_uncached_and_embeds_only_what_changed(frames, tmp_path):
    queries, content = frames
    fresh = ContentCache(model_id(base_model_path()), 32)
    uncached = recall(queries, content)
    pd.testing.assert_frame_equal(recall(queries, content, fresh), uncached, atol=1e-5)
    embedded = fresh.misses
    assert embedded > 0 and len(fresh) == content.loc[content["language"].isin(set(queries["language"])),
                                                      "text"].nunique()
    fresh.save(tmp_path)

    saved = ContentCache.load(tmp_path, base_model_path(), 32)
    pd.testing.assert_frame_equal(recall(queries, content, saved), uncached, atol=1e-5)
    assert (saved.hits, saved.misses) == (embedded, 0)  # nothing embedded again

    changed = content.copy()
    row = changed.index[changed["language"] == queries["language"].iloc[0]][0]
    changed.loc[row, "text"] = "A title nobody has seen | " + changed.loc[row, "text"]
    saved.hits = saved.misses = 0
    recall(queries, changed, saved)
    assert saved.misses == 1 and len(saved) == len(fresh) + 1  # the changed text alone


def test_a_cache_for_other_weights_or_length_is_not_used(frames, tmp_path):
    _, content = frames
    cache = ContentCache(model_id(base_model_path()), 32, keys_=keys(["a"], 32),
                         vectors=np.ones((1, 384), dtype=np.float32))
    cache.save(tmp_path)
    assert len(ContentCache.load(tmp_path, base_model_path(), 32)) == 1
    assert len(ContentCache.load(tmp_path, base_model_path(), 64)) == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.safetensors").write_bytes(b"other weights")
    assert len(ContentCache.load(tmp_path, other, 32)) == 0
    assert keys(["a"], 32)[0] != keys(["a"], 64)[0] and keys(["a"], 32)[0] != keys(["b"], 32)[0]


def test_a_partly_filled_cache_returns_each_text_its_own_vector(frames):
    from utils.models import load_bi_encoder as load_model
    from utils.retrieval import search

    _, content = frames
    texts = content["text"].head(60).tolist()
    model = load_model(base_model_path(), 32)
    cache = ContentCache("m", 32)
    cache.embed(model, texts[::3])
    np.testing.assert_allclose(cache.embed(model, texts[::-1]), search.embed(model, texts[::-1]), atol=1e-5)
    third = len(texts[::3])  # embedded by the first call, looked up by the second
    assert (cache.hits, cache.misses) == (third, len(texts))  # each text embedded once
