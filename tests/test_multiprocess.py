"""Data-parallel training (``utils.trainer``, Kaggle's 2×T4): two processes over gloo on the
CPU, each stage's model trained, handed back to the caller once, and as good as one process's."""

import numpy as np
import pytest
import torch

from utils import models, trainer
from utils.data.folds import make_folds, split_topics
from utils.retrieval import retriever
from utils.selection import cross_encoder


def test_the_number_of_processes_defaults_to_the_visible_gpus():
    assert trainer.processes(None) == max(1, torch.cuda.device_count())
    assert trainer.processes(2) == 2
    with pytest.raises(ValueError, match="1 or more"):
        trainer.processes(0)


def test_two_processes_train_the_retriever_as_well_as_one(frames, tmp_path):
    data, topics, _, content = frames
    train_topics, valid = split_topics(make_folds(data, n_splits=3), 0)
    by_id = topics.set_index("id")
    pairs = retriever.training_pairs(data.links, train_topics, by_id["text"],
                                     content.set_index("id")["text"], by_id["language"]).sample(240, random_state=0)
    queries = topics[topics["id"].isin(valid) & topics["id"].isin(data.correlations["topic_id"])]
    config = retriever.RetrieverConfig(batch_size=16, max_length=24)
    recall, steps = {}, {}
    for processes in (1, 2):
        model = models.load_bi_encoder(retriever.base_model_path(), 24)
        before = next(model.parameters()).detach().clone()
        history = retriever.train(model, pairs, data.links, config, 1, tmp_path / str(processes), processes)
        assert len(history) and np.isfinite(history["loss"]).all()
        assert not next(model.parameters()).detach().equal(before)  # the caller's model is the trained one
        steps[processes] = history["step"].max()
        recall[processes] = retriever.evaluate(model, queries, content, data.correlations, ks=[5, 10, 20])[0]
    assert steps[2] <= steps[1] / 2 + 1  # each step took a batch in each process
    assert (recall[2] - recall[1]).abs().mean() < 0.08  # within the noise of ~20 topics
    assert not list((tmp_path / "2" / "trainer").glob("ddp-*"))  # the job and the result cleared


def test_two_processes_train_the_cross_encoder_and_say_what_failed(labelled_pairs, tmp_path):
    pairs, *texts = labelled_pairs
    model = models.load_cross_encoder(retriever.base_model_path(), 32)
    before = next(model.parameters()).detach().clone()
    config = cross_encoder.RerankerConfig(max_length=32, batch_size=8, epochs=1)
    history = cross_encoder.train(model, pairs, *texts, config, tmp_path, processes=2)
    assert len(history) and not next(model.parameters()).detach().equal(before)
    # a process that fails: its own error, not only the launcher's
    with pytest.raises(RuntimeError, match=r"(?s)2 processes failed.*fp16.*PROCESSES = 1"):
        cross_encoder.train(model, pairs, *texts, cross_encoder.RerankerConfig(max_length=32, precision="fp16"),
                       tmp_path, processes=2)
