import json
import random

import pandas as pd
import pytest
import torch
from datasets import Dataset

from utils import models
from utils.data.folds import Holdout, make_folds, split_topics
from utils.data.load import load_competition
from utils.data.text import TextConfig, text_frames
from utils.retrieval import retriever


@pytest.fixture(scope="module")
def setup(tiny_dir):
    data = load_competition(tiny_dir)
    topics, content = text_frames(data)
    train, valid = split_topics(make_folds(data, n_splits=3), 0)
    by_id = topics.set_index("id")
    pairs = retriever.training_pairs(data.links, train, by_id["text"],
                                     content.set_index("id")["text"], by_id["language"])
    return data, topics, content, train, valid, pairs


def test_training_pairs_hold_training_topics_only(setup):
    data, _, content, train, valid, pairs = setup
    assert set(pairs["topic_id"]) <= train and not set(pairs["topic_id"]) & valid
    pool = retriever.negative_pool(content, data.links, valid)
    valid_only = set(data.links.loc[data.links["topic_id"].isin(valid), "content_id"]) - set(
        data.links.loc[~data.links["topic_id"].isin(valid), "content_id"])
    assert valid_only and not set(pool["id"]) & valid_only


def test_sampler_batches_hold_one_language_and_no_collision(setup):
    data, *_, pairs = setup
    rows = retriever.SamplerRows.from_pairs(pairs, data.links)
    dataset = Dataset.from_pandas(pairs[["anchor", "positive"]], preserve_index=False)
    sampler = retriever.LanguageBatchSampler(dataset, batch_size=16, drop_last=False, seed=1, rows=rows)
    known = set(zip(data.links["topic_id"], data.links["content_id"]))
    batches = list(sampler)
    assert len(batches) == len(sampler) and all(2 <= len(b) <= 16 for b in batches)
    seen = [i for b in batches for i in b]
    # most rows are placed; on the tiny data a language of 3-6 topics cannot pair them all
    assert len(seen) == len(set(seen)) and len(seen) >= 0.75 * len(pairs)
    for batch in batches:
        rows_ = pairs.iloc[batch]
        assert rows_["language"].nunique() == 1
        assert rows_["topic_id"].is_unique and rows_["content_id"].is_unique
        assert rows_["anchor"].is_unique and rows_["positive"].is_unique
        for topic in rows_["topic_id"]:  # no in-batch false negative
            others = set(rows_.loc[rows_["topic_id"] != topic, "content_id"])
            assert not any((topic, c) in known for c in others)
    sampler.set_epoch(1)
    assert list(sampler) != batches  # reshuffled each epoch


def test_mined_negatives_are_never_known_positives(setup):
    data, topics, content, train, valid, pairs = setup
    model = models.load_bi_encoder(retriever.base_model_path(), max_length=32)
    pool = retriever.negative_pool(content, data.links, valid)
    mined = retriever.mine_negatives(model, pairs, pool, top_n=10, negatives=2)
    assert len(mined) > 0.5 * len(pairs)
    random.random()  # another global random state (round 1 trained, or resumed): the same draw
    state = random.getstate()
    pd.testing.assert_frame_equal(retriever.mine_negatives(model, pairs, pool, top_n=10, negatives=2), mined)
    assert random.getstate() == state  # and the caller's state left as it was
    assert {"negative_1", "negative_2", "negative_ids"} <= set(mined.columns)
    positives = data.links.groupby("topic_id")["content_id"].agg(set)
    language = content.set_index("id")["language"]
    for row in mined.itertuples():
        assert row.negative_ids
        assert not set(row.negative_ids) & positives[row.topic_id]
        assert set(row.negative_ids) <= set(pool["id"])
        assert {language[c] for c in row.negative_ids} == {row.language}


def test_fit_saves_each_round_and_resumes_from_it(setup, tmp_path):
    data, topics, content, train, valid, pairs = setup
    config = retriever.RetrieverConfig(max_length=16, epochs=0.2, batch_size=8, rounds=1)
    small = pairs.head(48)
    pool = retriever.negative_pool(content, data.links, valid)
    history, reports = retriever.fit(retriever.base_model_path(), small, pool, data.links, config,
                                     tmp_path, holdout=[0], report=lambda model, folder: pd.Series({5: 0.5}))
    assert len(history) and list(reports) == ["round 1"]
    assert retriever.trained(tmp_path) == {"main": (tmp_path / "round1", Holdout(folds=(0,)))}
    assert retriever.text_config(tmp_path / "round1") == TextConfig()  # saved in fit.json
    weights = next((tmp_path / "round1").glob("*.safetensors"))
    saved_at = weights.stat().st_mtime_ns
    again, reports = retriever.fit(retriever.base_model_path(), small, pool, data.links, config,
                                   tmp_path, holdout=[0], report=lambda model, folder: pd.Series({5: 0.5}),
                                   resume=True)
    assert weights.stat().st_mtime_ns == saved_at and list(reports) == ["round 1"]  # reused
    pd.testing.assert_frame_equal(again, history, check_dtype=False)  # its loss history too
    changed = retriever.RetrieverConfig(max_length=16, epochs=0.3, batch_size=8, rounds=1)
    retrained, _ = retriever.fit(retriever.base_model_path(), small, pool, data.links, changed,
                                 tmp_path, holdout=[0], resume=True)
    assert len(retrained)  # other settings: trained again
    torch.rand(3)  # another global random state: a rerun still trains the same weights
    retriever.fit(retriever.base_model_path(), small, pool, data.links, changed, tmp_path / "rerun", holdout=[0])
    assert ((tmp_path / "rerun" / "round1" / weights.name).read_bytes()
            == (tmp_path / "round1" / weights.name).read_bytes())
    other_text = TextConfig(description_first=False)
    retriever.fit(retriever.base_model_path(), small, pool, data.links, changed, tmp_path / "oof1",
                  holdout=[0, 1], resume=True, text=other_text)
    assert retriever.text_config(tmp_path / "oof1" / "round1") == other_text
    with pytest.raises(ValueError, match="trained on texts built differently"):
        retriever.text_config(tmp_path / "round1", tmp_path / "oof1" / "round1")


def test_fit_can_validate_the_last_round_only(setup, tmp_path):
    """Notebook 03's VALIDATE = "last": the round 04 recalls with is validated, no other; with
    INT8 (the CPU mode), round 2's negatives are mined by an int8 copy of round 1."""
    data, topics, content, train, valid, pairs = setup
    config = retriever.RetrieverConfig(max_length=16, epochs=0.1, negative_epochs=0.1, batch_size=8,
                                       rounds=2, top_n=10)
    seen, reported = [], {}

    def report(model, folder):
        seen.append(folder)
        reported.update({k: v.clone() for k, v in model.state_dict().items()})
        return pd.Series({5: 0.5})

    pool = retriever.negative_pool(content, data.links, valid)
    _, reports = retriever.fit(retriever.base_model_path(), pairs.head(96), pool, data.links, config,
                               tmp_path, holdout=[0], report_last_only=True, report=report, int8=True)
    assert seen == [tmp_path / "round2"] and list(reports) == ["round 2"]
    fits = [json.loads((tmp_path / f"round{r}" / retriever.FIT_FILE).read_text()) for r in (1, 2)]
    assert "mining" not in fits[0] and fits[1]["mining"] == "int8"
    saved = models.load_bi_encoder(tmp_path / "round2", 16).state_dict()
    assert all(v.equal(reported[k]) for k, v in saved.items())  # the model reported is the one saved
    weights = next((tmp_path / "round2").glob("*.safetensors"))
    saved_at = weights.stat().st_mtime_ns
    retriever.fit(retriever.base_model_path(), pairs.head(96), pool, data.links, config, tmp_path,
                  holdout=[0], resume=True, int8=True)
    assert weights.stat().st_mtime_ns == saved_at  # the same settings: reused
    with pytest.raises(ValueError, match="no batch of two or more training pairs"):  # not the Trainer's error
        retriever.train(models.load_bi_encoder(retriever.base_model_path(), 16), pairs.head(1), data.links,
                        config, 1, tmp_path / "one")


def test_validation_keeps_each_models_content_embeddings_for_notebook_04(setup, tmp_path, monkeypatch):
    """Notebook 03 validates each round and the base model once; notebook 04 finds their
    content embeddings (a round's in its folder, the base model's in retriever/zero_shot)
    and embeds only the content of languages 03 did not search, with the same candidates."""
    from utils.retrieval import candidates, embcache

    data, topics, content, train, valid, pairs = setup
    queries = topics[topics["id"].isin(valid)]
    base = retriever.base_model_path()
    model = models.load_bi_encoder(base, max_length=16)
    round1 = tmp_path / "round1"
    model.save(str(round1))
    (round1 / retriever.FIT_FILE).write_text("{}")  # a round of ours, as fit() saves it
    report = retriever.validation_report(queries, content, data.correlations, tmp_path, ks=[5, 10])
    first = {path: report(model, path) for path in (base, round1)}
    assert (round1 / embcache.FILE).is_file() and (tmp_path / retriever.ZERO_SHOT_DIR / embcache.FILE).is_file()

    embedded = []
    real_embed = embcache.search.embed
    monkeypatch.setattr(embcache.search, "embed", lambda m, texts, *a, **k: embedded.extend(texts)
                        or real_embed(m, texts, *a, **k))
    for path in (base, round1):  # validated again (a resumed round): the topics embedded only
        pd.testing.assert_series_equal(report(model, path), first[path])
    assert embedded and not set(embedded) & set(content["text"])

    languages = set(queries["language"])
    for path in (base, round1):  # notebook 04: all topics, content of every language
        cache = retriever.content_cache(path, tmp_path, 16)
        assert len(cache) == content.loc[content["language"].isin(languages), "text"].nunique()
        found = candidates.dense_candidates(model, topics, content, k=10, cache=cache)
        pd.testing.assert_frame_equal(found, candidates.dense_candidates(model, topics, content, k=10),
                                      check_exact=False, atol=1e-5)
        in_valid = content["language"].isin(languages)
        assert cache.hits >= in_valid.sum() and cache.misses <= (~in_valid).sum()
    assert not len(retriever.content_cache(round1, tmp_path, 32))  # another max length: not used

    # int8 (notebook 03's INT8): a quantised copy validates, the model in training is untouched
    quantised = retriever.validation_report(queries, content, data.correlations, tmp_path / "int8", ks=[5, 10],
                                            int8=True)(model, base)
    assert not isinstance(model[0].model, models.OnnxRuntimeTransformer)
    assert (quantised - first[base]).abs().max() < 0.15


def test_notebook_06_finds_the_zero_shot_model_it_was_validated_with(tmp_path):
    """The packaged copy beside the retriever first, then a folder of the working folder,
    then the offline base model for its hub id; nothing when none was fused."""
    from utils.paths import BASE_MODEL_ID

    assert retriever.zero_shot_model(None, tmp_path) is None
    assert retriever.zero_shot_model(BASE_MODEL_ID, tmp_path) == retriever.base_model_path()
    (tmp_path / "work" / "mine").mkdir(parents=True)
    (tmp_path / "work" / "mine" / "modules.json").write_text("[]")
    assert retriever.zero_shot_model("mine", tmp_path / "retriever", tmp_path / "work") == str(
        tmp_path / "work" / "mine")
    packaged = tmp_path / "retriever" / retriever.ZERO_SHOT_DIR
    packaged.mkdir(parents=True)
    (packaged / "modules.json").write_text("[]")
    assert retriever.zero_shot_model(BASE_MODEL_ID, tmp_path / "retriever") == str(packaged)
