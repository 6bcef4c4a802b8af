"""The submission path as one call: the saved models, and the prediction of a list of topics.

- :class:`Pipeline` holds what notebooks 03-05 saved and validated: the retriever, the
  stage-2 model with its tuned post-processing, the recall settings stage 2 was trained on
  (``reranker.json``) and the texts each model reads; :meth:`Pipeline.load` reads them from
  their folders (the working folder's, or attached datasets);
- :func:`predict`: texts, stage-1 recall (:func:`utils.retrieval.candidates.recall`, content
  embeddings looked up in the caches), the CPU mode's cut, stage 2, the post-processing, and
  a checked submission frame: every requested topic exactly once, never empty, every id real.
  A topic whose channel has too few known links for the validated in-channel pipeline (a new
  curriculum: :func:`utils.selection.newchannel.regime`) takes the new-channel pipeline notebook 05
  saved beside the model: the new-channel candidates, their ranker and its rule.

Notebook 06 and ``bench/speed.py`` both call :func:`predict`, so the benchmark times exactly
the notebook's path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import submission
from .data.text import TextConfig, text_frames
from .profiling import stage
from .retrieval import embcache, retriever
from .retrieval.candidates import channel_use, recall
from .selection import cross_encoder, newchannel, stage2
from .selection.postprocess import PostProcess

REMOVED_RECALL = ("neighbours", "neighbours_vote", "link_counts")
"""Notebook 04's settings of an earlier version (the second degree, link counts): a stage 2
trained with one on cannot be served its candidates."""


@dataclass
class Pipeline:
    """The trained pipeline, ready to predict."""

    retriever: str
    """The bi-encoder: a folder (notebook 03's round) or a hub id."""
    stage2: object
    """The reranker: a ``CrossEncoder`` or a :class:`~utils.selection.feature_ranker.FeatureRanker`."""
    config: object
    """Its :class:`~utils.selection.cross_encoder.RerankerConfig` or :class:`~utils.selection.feature_ranker.RankerConfig`."""
    rule: PostProcess
    """The tuned selection."""
    recall: dict = field(default_factory=dict)
    """Notebook 04's recall settings (``top_k``, ``tfidf``, ``max_length``, ``zero_shot``): the
    candidates stage 2 was trained on."""
    zero_shot: str | None = None
    """The zero-shot model fused as a third source, if notebook 04 fused one."""
    retriever_text: TextConfig = field(default_factory=TextConfig)
    reranker_text: TextConfig = field(default_factory=TextConfig)
    new_channel: tuple | None = None
    """The new-channel rule and its settings (:func:`utils.selection.stage2.load_new_channel`); None for
    a model saved without one: every topic then takes the in-channel pipeline."""

    @property
    def min_known(self) -> int:
        """The known linked topics a channel needs for the in-channel pipeline."""
        return int(self.new_channel[1].get("min_known", newchannel.MIN_KNOWN)) if self.new_channel else 0

    @classmethod
    def load(cls, retriever_dir, reranker_dir, work=None, int8: bool = False) -> "Pipeline":
        """The models saved in ``retriever_dir`` and ``reranker_dir``; with ``int8``, a
        cross-encoder runs in int8 on a CPU (:func:`utils.models.for_inference`)."""
        model, config, rule = cross_encoder.load(reranker_dir, int8=int8)
        settings = cross_encoder.settings(reranker_dir).get("recall", {})
        removed = {name: settings[name] for name in REMOVED_RECALL if settings.get(name)}
        if removed:
            raise ValueError(f"{reranker_dir}: its stage 2 was trained on candidates with {removed}, options "
                             "this version no longer has (docs/history.md); rerun notebooks 04-05, or "
                             "use the code it came from")
        return cls(str(retriever_dir), model, config, rule, settings,
                   retriever.zero_shot_model(settings.get("zero_shot"), retriever_dir, work),
                   retriever.text_config(retriever_dir),
                   TextConfig.from_dict(settings.get("text"), source=str(reranker_dir)),
                   stage2.load_new_channel(reranker_dir))

    @property
    def top_k(self) -> int:
        return self.recall.get("top_k", 50)

    @property
    def max_length(self) -> int:
        return self.recall.get("max_length", 64)

    def saved_caches(self) -> dict[str, embcache.ContentCache]:
        """The content embeddings notebook 04 saved beside each bi-encoder (the retriever's
        in its folder, the zero-shot model's in its ``zero_shot/``), for the weights loaded
        now (a cache saved for other weights or another max length is left empty)."""
        folder = Path(self.retriever)
        saved_with = {"main": (folder, self.retriever),
                      "zero_shot": (folder / retriever.ZERO_SHOT_DIR, self.zero_shot)}
        return {name: embcache.ContentCache.load(where, model, self.max_length)
                for name, (where, model) in saved_with.items() if model}

    def describe(self) -> str:
        settings = self.recall
        fresh = (f"a new curriculum (a channel with fewer than {self.min_known} known linked topics): "
                 f"the new-channel candidates, post-processing {self.new_channel[0]}, zero-shot "
                 f"{self.zero_shot or 'off'}" if self.new_channel else
                 "no new-channel pipeline saved: every topic takes the in-channel one")
        return (f"post-processing: {self.rule}\nrecall: top {self.top_k}, TF-IDF "
                f"{settings.get('tfidf', True)}, max length {self.max_length}\n{fresh}\n"
                f"texts: {self.retriever_text}" + ("" if self.reranker_text == self.retriever_text
                                                   else f"\nreranker texts: {self.reranker_text}"))


@dataclass
class Prediction:
    submission: pd.DataFrame
    """``topic_id, content_ids``: every requested topic once, checked."""
    chosen: dict[str, list[str]]
    reranked: int
    """Candidate pairs stage 2 scored (0 when the tuned rule runs no reranker)."""
    regimes: pd.Series = field(default_factory=lambda: pd.Series(dtype=str))
    """Each requested topic's pipeline: :data:`utils.selection.newchannel.KNOWN` or :data:`~utils.selection.newchannel.NEW`."""
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Every candidate scored (``topic_id, content_id, rank, score``: the score its rule read,
    ``kept``): what the review page shows below the cut (:mod:`utils.review`)."""

    def sizes(self) -> pd.Series:
        return pd.Series({topic: len(items) for topic, items in self.chosen.items()})


def predict(data, requested, pipeline: Pipeline, *, top_k: int | None = None,
            rerank_top_k: int | None = None, caches: dict | None = None, int8: bool = False,
            batch_size: int = 256, query_chunk: int = 1024, timer=None) -> Prediction:
    """Predict the topics ``requested`` (ids of ``data.topics``) with ``pipeline``.

    ``top_k``: candidates per topic (default: as notebook 04 validated them);
    ``rerank_top_k``: the CPU mode, reranking only the fused list's best R
    (:func:`utils.selection.cross_encoder.to_rerank`; default: as notebook 05 validated the cross-encoder,
    its ``RerankerConfig.rerank_top_k``); ``caches``: content embeddings per bi-encoder
    (:meth:`Pipeline.saved_caches`); ``int8``: the bi-encoders in int8 on a CPU. Topics whose
    links ``data`` holds are known, unless requested: they serve the second degree, and a
    requested topic whose channel has fewer than ``pipeline.min_known`` of them takes the
    new-channel pipeline (:mod:`utils.selection.newchannel`). Raises if a topic gets no candidate at
    all (never a silent gap); the returned frame is checked (:func:`utils.submission.check`)."""
    requested = list(requested)
    with stage(timer, "build texts"):
        topics, content = text_frames(data, pipeline.retriever_text)
        # the reranker's own texts where they differ (one trained beside another retriever)
        rerank_topics, rerank_content = (
            (topics, content) if pipeline.reranker_text == pipeline.retriever_text
            else text_frames(data, pipeline.reranker_text))
    known_ids = set(data.correlations["topic_id"]) - set(requested)
    regimes = (newchannel.regime(requested, data.topics, known_ids, pipeline.min_known) if pipeline.new_channel
               else pd.Series(newchannel.KNOWN, index=pd.Index(requested, name="topic_id"), name="regime"))
    args = {"top_k": top_k or pipeline.top_k, "caches": caches, "int8": int8, "batch_size": batch_size,
            "query_chunk": query_chunk, "timer": timer}
    chosen, reranked, scored = {}, 0, []
    in_channel = [t for t in requested if regimes[t] == newchannel.KNOWN]
    if in_channel:
        part, frame, reranked = _in_channel(data, in_channel, pipeline, topics, content, rerank_topics,
                                            rerank_content, known_ids, rerank_top_k, **args)
        chosen.update(part)
        scored.append(frame)
    fresh = [t for t in requested if regimes[t] == newchannel.NEW]
    if fresh:
        part, frame = _new_channel(data, fresh, pipeline, topics, content, known_ids, **args)
        chosen.update(part)
        scored.append(frame)
    left_out = [t for t in requested if not chosen.get(t)]
    if left_out:
        raise RuntimeError(f"{len(left_out)} topic(s) got no candidate at all, e.g. {left_out[:3]}: "
                           f"is content.csv empty for every language?")
    with stage(timer, "check", items=len(requested)):
        result = submission.frame(chosen, requested)
        submission.check(result, requested, data.content["id"])
    candidates = pd.concat(scored, ignore_index=True) if scored else pd.DataFrame(
        columns=["topic_id", "content_id", "rank", "score"])
    kept = pd.MultiIndex.from_tuples([(t, c) for t, ids in chosen.items() for c in ids], names=["topic_id", "content_id"])
    candidates["kept"] = pd.MultiIndex.from_frame(candidates[["topic_id", "content_id"]]).isin(kept)
    return Prediction(result, {t: chosen[t] for t in requested}, reranked, regimes, candidates)


def _in_channel(data, requested, pipeline, topics, content, rerank_topics, rerank_content, known_ids,
                rerank_top_k, *, top_k, caches, int8, batch_size, query_chunk, timer):
    """The validated in-channel pipeline on ``requested``: ({topic: items}, the scored candidates,
    pairs reranked)."""
    settings = pipeline.recall
    queries = topics.set_index("id").loc[requested].reset_index()
    known = topics[topics["id"].isin(known_ids)]
    fused, _ = recall(queries, content, {"main": pipeline.retriever}, k=top_k,
                      tfidf=settings.get("tfidf", True), known={"main": known}, links=data.links,
                      max_length=pipeline.max_length, topic_table=data.topics, batch_size=batch_size, query_chunk=query_chunk, timer=timer, caches=caches, int8=int8)
    rerank_top_k = rerank_top_k or getattr(pipeline.config, "rerank_top_k", None)  # as 05 validated
    fused = cross_encoder.to_rerank(fused, pipeline.rule, rerank_top_k, pipeline.stage2)
    reranked = len(fused) if pipeline.rule.needs_score else 0
    with stage(timer, "rerank", items=reranked):
        scored = cross_encoder.score_for(pipeline.rule, pipeline.stage2, fused,
                                    rerank_topics.set_index("id")["text"],
                                    rerank_content.set_index("id")["text"], pipeline.config,
                                    data=data)
    with stage(timer, "post-process", items=len(requested)):
        chosen = pipeline.rule.apply(scored)
    frame = scored[["topic_id", "content_id", "rank"]].assign(score=pipeline.rule.final_scores(scored).to_numpy(float))
    return chosen, frame, reranked


def _new_channel(data, requested, pipeline, topics, content, known_ids, *, top_k, caches, int8, batch_size,
                 query_chunk, timer) -> dict[str, list[str]]:
    """The new-channel pipeline on ``requested`` (:mod:`utils.selection.newchannel`): its candidates
    (TF-IDF, the fine-tuned and the zero-shot bi-encoders, the pool of unlinked items) in their
    fused order, and its rule, chosen again per channel where some of the channel's topics are known
    (:func:`utils.selection.newchannel.select`: a curator who aligned a few; their items then skipped
    where the channel rarely reuses its items): ({topic: items}, the scored candidates)."""
    rule, settings = pipeline.new_channel
    channel = data.topics.set_index("id")["channel"]
    ours = set(channel[requested])
    revealed = sorted(t for t in known_ids if channel.get(t) in ours)
    queries = topics.set_index("id").loc[[*requested, *revealed]].reset_index()
    supply = newchannel.Supply(data.topics, data.content, data.links[data.links["topic_id"].isin(known_ids)],
                               requested)
    _, sources = recall(queries, content, {"main": pipeline.retriever}, k=top_k,
                        tfidf=pipeline.recall.get("tfidf", True), max_length=pipeline.max_length,
                        zero_shot=pipeline.zero_shot, supply=supply,
                        pool_factor=pipeline.recall.get("pool_factor", newchannel.POOL_FACTOR),
                        batch_size=batch_size, query_chunk=query_chunk, timer=timer, caches=caches, int8=int8)
    with stage(timer, "new channel: fuse", items=len(queries)):
        found = stage2.fused_order(supply.annotate(newchannel.frame(sources, top_k)))
        if revealed:  # what the channel's known topics already link (skip_taken)
            found = found.join(channel_use(found, data.topics, set(known_ids), data.links))
        scored = found[found["topic_id"].isin(set(requested))]
        known = found[found["topic_id"].isin(set(revealed))] if revealed else None
    with stage(timer, "new channel: post-process", items=len(requested)):
        chosen = newchannel.select(scored, rule, data.topics, settings.get("grid"), known,
                                   data.correlations[data.correlations["topic_id"].isin(set(revealed))],
                                   prior=pipeline.min_known)
    return chosen, scored[["topic_id", "content_id", "rank", "score"]].astype({"score": float})
