"""Candidate recall between the stages: several retrievers, their fusion, and the report.

- ``dense_candidates``: a bi-encoder's same-language top-K (:func:`utils.retrieval.search.search`);
- ``tfidf_candidates``: scikit-learn's TF-IDF on character n-grams, fitted per language on
  that language's content, searched in query chunks (memory bounded by the chunk);
- the untuned base model's ``dense_candidates`` (``zero_shot``): a third voter whose view
  of the texts no training channel has bent;
- ``assign_retrievers``: which trained retriever recalls each topic (out of fold where one
  exists, so the reranker's training topics get candidates like unseen topics get);
- ``fuse``: rank each (topic, content) pair by how many retrievers return it, then by its
  mean score, keeping every source's rank and score as features for stage 2;
- ``label``; ``stage1_table``: what stage 1 alone achieves (honest F2 of a top-k and of a
  score threshold), the baseline stage 2 must beat.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from ..metrics import recall_at_k
from ..models import load_for_inference
from ..profiling import stage
from ..retrieval import search
from ..selection import newchannel
from .search import COLUMNS

log = logging.getLogger(__name__)


def dense_candidates(model, queries: pd.DataFrame, corpus: pd.DataFrame, k: int = 50,
                     batch_size: int = 256, query_chunk: int = 1024,
                     any_language_fallback: bool = False, timer=None,
                     query_emb: np.ndarray | None = None, cache=None) -> pd.DataFrame:
    """Top-``k`` same-language items by cosine for ``queries`` (``id, language, text``).

    Only the corpus items in the queries' languages are embedded. With
    ``any_language_fallback``, a query whose language has no corpus item is searched against
    the whole corpus instead (then every item is embedded), so it still gets candidates.
    ``timer`` (a :class:`~utils.profiling.StageTimer`) times embedding and search apart;
    ``query_emb``: the queries' embeddings, if already computed; ``cache`` (a
    :class:`~utils.retrieval.embcache.ContentCache` for ``model``): content embeddings looked up there,
    only the misses embedded (and added to it).
    """
    return _dense(model, queries, corpus, k, batch_size, query_chunk, any_language_fallback, timer,
                  query_emb, cache)[0]


def _dense(model, queries, corpus, k, batch_size, query_chunk, any_language_fallback, timer,
           query_emb, cache, supply=None, pool_factor: float = newchannel.POOL_FACTOR
           ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """:func:`dense_candidates`, and with ``supply`` (a :class:`~utils.selection.newchannel.Supply`) the
    pool source from the same embeddings (:func:`utils.selection.newchannel.pool_candidates`)."""
    covered = set(queries["language"]) & set(corpus["language"])
    orphans = queries[~queries["language"].isin(covered)]
    if not (any_language_fallback and len(orphans)):
        corpus = corpus[corpus["language"].isin(covered)]
    with stage(timer, "embed content", items=len(corpus)):
        corpus_emb = (search.embed(model, corpus["text"], batch_size) if cache is None
                      else cache.embed(model, corpus["text"], batch_size))
    if query_emb is None:
        with stage(timer, "embed topics", items=len(queries)):
            query_emb = search.embed(model, queries["text"], batch_size)
    with stage(timer, "dense search", items=len(queries)):
        found = search.search(queries, query_emb, corpus, corpus_emb, k=k, query_chunk=query_chunk)
    if any_language_fallback and len(orphans):
        rows = np.flatnonzero(~queries["language"].isin(covered).to_numpy())
        log.warning("%d topic(s) in languages without content (%s): searched in every language",
                    len(orphans), ", ".join(sorted(set(orphans["language"]))))
        anywhere = search.search(orphans.assign(language="*"), query_emb[rows],
                                 corpus.assign(language="*"), corpus_emb, k=k, query_chunk=query_chunk)
        found = pd.concat([found, anywhere], ignore_index=True)
    pool = None
    if supply is not None:
        with stage(timer, "pool search", items=len(queries)):
            pool = newchannel.pool_candidates(queries, query_emb, corpus, corpus_emb, supply, k, pool_factor,
                                              query_chunk)
    return found, pool


def empty_candidates() -> pd.DataFrame:
    """A candidates table (:data:`~utils.retrieval.search.COLUMNS`) without rows, typed."""
    return pd.DataFrame({"topic_id": pd.Series(dtype=str), "content_id": pd.Series(dtype=str),
                         "rank": pd.Series(dtype="int64"), "score": pd.Series(dtype="float32")})


CHANNEL_LINKS = {"channel_links": ("channel",)}
"""How many known topics of the topic's own channel link the candidate: an item the
curriculum already attaches elsewhere (:func:`channel_use`)."""


def link_counts(candidates: pd.DataFrame, topics: pd.DataFrame, known: set, links: pd.DataFrame,
                counts: dict = CHANNEL_LINKS) -> pd.DataFrame:
    """``counts`` (``{column: the topic columns two topics share}``, :data:`CHANNEL_LINKS`) for each row of ``candidates``
    (``topic_id, content_id``), counting the ``links`` of the ``known`` topic ids (``topics``:
    the topics table), never the candidate's own topic; an empty title or parent counts
    nothing (missing)."""
    table = topics.set_index("id")
    own = pd.MultiIndex.from_frame(links[["topic_id", "content_id"]])
    known_links = links[links["topic_id"].isin(known)].join(table, on="topic_id")
    pairs = candidates[["topic_id", "content_id"]].join(table, on="topic_id")
    self_link = (pd.MultiIndex.from_frame(candidates[["topic_id", "content_id"]]).isin(own)
                 & candidates["topic_id"].isin(known).to_numpy())
    out = {}
    for name, keys in counts.items():
        linked = known_links.groupby([*keys, "content_id"]).size()
        found = pd.MultiIndex.from_frame(pairs[[*keys, "content_id"]])
        values = linked.reindex(found).fillna(0).to_numpy() - self_link
        blank = (pairs[keys[0]] == "").to_numpy()
        out[name] = np.where(blank, np.nan, values)
    return pd.DataFrame(out, index=candidates.index)


def channel_use(candidates: pd.DataFrame, topics: pd.DataFrame, known: set, links: pd.DataFrame
                ) -> pd.DataFrame:
    """For each row of ``candidates``, what the curriculum of its topic already does with the
    item, from the ``links`` of the ``known`` topic ids: ``channel_links``, how many known
    topics of the topic's channel link it (never the topic itself), and ``channel_reuse``, the
    share of that channel's known links whose item another known topic of the channel links
    too (0 for a channel with no known link). A curriculum that does not reuse its items
    rarely attaches a linked item again: the selection may leave such items out
    (:attr:`utils.selection.postprocess.PostProcess.skip_taken`)."""
    reuse = channel_reuse(links[links["topic_id"].isin(known)], topics)
    found = link_counts(candidates, topics, known, links, CHANNEL_LINKS)
    channel = topics.set_index("id")["channel"]
    found["channel_reuse"] = candidates["topic_id"].map(channel).map(reuse).fillna(0.0).to_numpy()
    return found


def channel_reuse(links: pd.DataFrame, topics: pd.DataFrame) -> pd.Series:
    """Per channel with ``links`` (``topic_id, content_id``; ``topics``: the topics table),
    the share of its links whose item another topic of the same channel links too."""
    channel = links["topic_id"].map(topics.set_index("id")["channel"]).rename("channel")
    per_item = links.groupby([channel, links["content_id"]])["topic_id"].transform("size")
    return (per_item > 1).groupby(channel).mean().rename("reused")


def known_topics(topics: pd.DataFrame, folds: pd.DataFrame, holdouts: dict) -> dict[str, pd.DataFrame]:
    """``{retriever: the topics whose links it may know}``: the correlated topics (in
    ``folds``) it did not leave out, for :func:`recall`'s :func:`channel_use`."""
    return {name: topics[topics["id"].isin(set(folds["topic_id"]) - held.topics(folds))]
            for name, held in holdouts.items()}


def recall(queries: pd.DataFrame, content: pd.DataFrame, retrievers: dict, serving=None,
           k: int = 50, tfidf: bool = True, max_length: int = 64, batch_size: int = 256,
           query_chunk: int = 1024, timer=None, known: dict | None = None,
           links: pd.DataFrame | None = None, topic_table: pd.DataFrame | None = None, zero_shot=None,
           caches: dict | None = None, int8: bool = False, supply=None,
           pool_factor: float = newchannel.POOL_FACTOR
           ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Stage 1 for ``queries``: the fused top-``k`` of TF-IDF and a fine-tuned bi-encoder.
    With ``topic_table`` (the topics table), the fused candidates get :func:`channel_use`'s
    columns, counted on the ``links`` of the topics ``known`` to the retriever that recalls
    each topic (``{retriever: topics}``, as :func:`known_topics`). ``zero_shot`` (a model folder or hub
    id, usually the base model the retrievers were fine-tuned from) adds that model's top-``k``
    of every query as a source (``zero_shot``), and ``supply`` (a
    :class:`~utils.selection.newchannel.Supply`) the pool source (``pool``: each topic's nearest
    unlinked items, ``pool_factor`` x its supply, :func:`utils.selection.newchannel.pool_candidates`);
    neither votes in the fused table: both are the new-channel candidates' sources
    (:func:`utils.selection.newchannel.frame`). ``caches`` maps a retriever's name,
    or ``zero_shot``, to its :class:`~utils.retrieval.embcache.ContentCache`: content embeddings are
    looked up there and the misses embedded and added (:mod:`utils.retrieval.embcache`).

    ``retrievers`` maps names to model folders (or hub ids); ``serving`` (``topic_id,
    retriever``, from :func:`assign_retrievers`) says which one recalls each topic (default:
    the only one). A topic whose language has no content is searched in every language by
    the bi-encoder. Returns the fused table and the sources (``tfidf``, ``retriever``,
    ``pool``, ``zero_shot``). ``timer`` (a :class:`~utils.profiling.StageTimer`) times each step
    apart. The bi-encoders run in half precision on a GPU, and in int8 on a CPU with ``int8``
    (:func:`utils.models.for_inference`).
    """
    if serving is None:
        if len(retrievers) != 1:
            raise ValueError("several retrievers need `serving`: which topic each one recalls")
        serving = pd.DataFrame({"topic_id": queries["id"], "retriever": next(iter(retrievers))})
    sources, caches = {}, caches or {}
    if tfidf:
        with stage(timer, "TF-IDF search", items=len(queries)):
            sources["tfidf"] = tfidf_candidates(queries, content, k=k, chunk=query_chunk)
    if topic_table is not None and (known is None or links is None):
        raise ValueError("channel_use's columns (topic_table=) need known= and links=")
    dense, pools = [], []
    for name, path in retrievers.items():
        served = queries[queries["id"].isin(serving.loc[serving["retriever"] == name, "topic_id"])]
        if len(served):
            with stage(timer, "load the retriever"):
                model = load_for_inference(path, max_length, int8)
            with stage(timer, "embed topics", items=len(served)):
                query_emb = search.embed(model, served["text"], batch_size)
            found, pool = _dense(model, served, content, k, batch_size, query_chunk, True, timer, query_emb,
                                 caches.get(name), supply, pool_factor)
            dense.append(found)
            pools.append(pool)
            log.info("%s: candidates for %d topics", name, len(served))
    sources["retriever"] = pd.concat(dense, ignore_index=True) if dense else pd.DataFrame(columns=COLUMNS)
    if supply is not None:
        sources["pool"] = pd.concat(pools, ignore_index=True) if pools else empty_candidates()
    if zero_shot is not None:
        with stage(timer, "load the zero-shot model"):
            model = load_for_inference(zero_shot, max_length, int8)
        sources["zero_shot"] = dense_candidates(model, queries, content, k=k, batch_size=batch_size,
                                                query_chunk=query_chunk, any_language_fallback=True,
                                                timer=timer, cache=caches.get("zero_shot"))
    with stage(timer, "fuse", items=len(queries)):
        fused = fuse({name: sources[name] for name in ("tfidf", "retriever") if name in sources}, k=k)
    if topic_table is not None:
        with stage(timer, "channel use", items=len(fused)):
            served_by = fused["topic_id"].map(serving.set_index("topic_id")["retriever"])
            counts = []
            for name in retrievers:
                served, ids = fused[served_by == name], set(known[name]["id"])
                if len(served):
                    counts.append(channel_use(served, topic_table, ids, links))
            fused = (fused.join(pd.concat(counts)) if counts
                     else fused.assign(channel_links=np.nan, channel_reuse=np.nan))
    return fused, sources


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-``k`` column indices (best first) and their scores (``torch.topk``, which
    runs on every core, unlike numpy's partition and sort)."""
    k = min(k, scores.shape[1])
    values, index = torch.topk(torch.from_numpy(np.ascontiguousarray(scores)), k, dim=1)
    return index.numpy(), values.numpy()


def _sparse_top_k(queries, matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, score) of each row's top ``k`` nonzero scores of ``queries @ matrix``
    (both sparse), best first: sparse_dot_topn's product, which keeps only each row's top k
    and runs on every core, where installed; else the dense product and :func:`_top_k`.
    Items that share no n-gram with the topic (score 0) are never candidates."""
    try:
        from sparse_dot_topn import sp_matmul_topn
    except ImportError:
        index, top = _top_k((queries @ matrix).toarray(), k)
        rows = np.repeat(np.arange(len(index)), index.shape[1])
        keep = top.ravel() > 0
        return rows[keep], index.ravel()[keep], top.ravel()[keep]
    found = sp_matmul_topn(queries, matrix, top_n=k, sort=True, n_threads=torch.get_num_threads())
    return np.repeat(np.arange(found.shape[0]), np.diff(found.indptr)), found.indices, found.data


def tfidf_candidates(queries: pd.DataFrame, corpus: pd.DataFrame, k: int = 50,
                     ngram_range: tuple[int, int] = (3, 5), max_features: int | None = 200_000,
                     chunk: int = 1024) -> pd.DataFrame:
    """Top-``k`` same-language items by TF-IDF cosine on character n-grams (``char_wb``);
    an item sharing no n-gram with the topic is not a candidate."""
    parts = []
    for language, group in queries.groupby("language", sort=False):
        items = corpus[corpus["language"] == language]
        if items.empty:
            log.warning("%d topic(s) in language %r: no content in that language, "
                        "no TF-IDF candidates", len(group), language)
            continue
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range,
                                     max_features=max_features, sublinear_tf=True,
                                     dtype=np.float32)
        matrix = vectorizer.fit_transform(items["text"]).T.tocsr()
        ids = items["id"].to_numpy()
        for start in range(0, len(group), chunk):
            rows = group.iloc[start: start + chunk]
            row, column, score = _sparse_top_k(vectorizer.transform(rows["text"]), matrix, k)
            parts.append(pd.DataFrame({"topic_id": rows["id"].to_numpy()[row], "content_id": ids[column],
                                       "score": score.astype(np.float32)}))
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    return search.with_ranks(pd.concat(parts, ignore_index=True), "score")[COLUMNS]


def assign_retrievers(topic_ids, folds: pd.DataFrame, holdouts: dict) -> pd.DataFrame:
    """``topic_id, retriever, in_fold`` for ``topic_ids``, given what each retriever left out.

    ``holdouts`` is ``{"main": Holdout([valid fold]), "oof1": Holdout(...), ...}`` (see
    :func:`utils.data.folds.holdout_plan`; a plain list of folds stands for a Holdout of those
    folds). A topic that an out-of-fold retriever left out (other than a validation topic)
    goes to that retriever; every other topic (validation, training-only topics no
    out-of-fold retriever left out, unlabelled topics to predict) goes to ``main``.
    ``in_fold`` is True where the assigned retriever trained on the topic (its candidates
    are too easy to learn from).
    """
    from ..data.folds import Holdout

    holdouts = {name: held if isinstance(held, Holdout) else Holdout(held)
                for name, held in holdouts.items()}
    ids = pd.Series(list(topic_ids), dtype=str)
    table = folds.set_index("topic_id").reindex(ids).reset_index()
    labelled = table["fold"].notna().to_numpy()
    table = table.fillna({"fold": -99, "oof_group": -1}).astype({"fold": "int64"})
    valid = table["fold"].isin(holdouts["main"].folds).to_numpy()
    serving = np.full(len(ids), "main", dtype=object)
    held_out = {name: held.mask(table) & labelled for name, held in holdouts.items()}
    for name, mask in held_out.items():
        if name != "main":
            serving[mask & ~valid] = name
    in_fold = labelled & ~np.array([held_out[name][i] for i, name in enumerate(serving)], dtype=bool)
    return pd.DataFrame({"topic_id": ids, "retriever": serving, "in_fold": in_fold})


def fuse(sources: dict[str, pd.DataFrame], k: int = 50,
         using: list[str] | None = None) -> pd.DataFrame:
    """Fuse candidate lists: more votes first, then higher mean score; top ``k`` per topic.

    ``using`` names the sources that propose and rank candidates (default: all); the others
    only add their rank and score where they found the same pair. Returns ``topic_id,
    content_id, rank`` (fused, 1-based), ``votes``, ``mean_score`` and ``<source>_rank`` /
    ``<source>_score`` for every source (NaN where it missed the pair).
    """
    using = list(using or sources)
    unknown = set(using) - set(sources)
    if unknown:
        raise ValueError(f"cannot fuse {sorted(unknown)}: the sources are {list(sources)}")
    wide = None
    for name in using + [n for n in sources if n not in using]:
        part = sources[name][COLUMNS].rename(columns={"rank": f"{name}_rank",
                                                      "score": f"{name}_score"})
        how = "outer" if name in using else "left"
        wide = part if wide is None else wide.merge(part, on=["topic_id", "content_id"], how=how)
    wide = wide[["topic_id", "content_id",
                 *(f"{n}_{c}" for n in sources for c in ("rank", "score"))]]
    score_columns = [f"{name}_score" for name in using]
    wide["votes"] = wide[score_columns].notna().sum(axis=1)
    wide["mean_score"] = wide[score_columns].mean(axis=1)
    wide = search.with_ranks(wide, "mean_score", keys=["votes"])
    wide = wide[wide["rank"] <= k]
    leading = ["topic_id", "content_id", "rank", "votes", "mean_score"]
    return wide[leading + [c for c in wide.columns if c not in leading]].reset_index(drop=True)


def label(candidates: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Add ``label`` (1: a known link, 0: not) to a candidates table."""
    known = pd.MultiIndex.from_frame(links[["topic_id", "content_id"]])
    pairs = pd.MultiIndex.from_frame(candidates[["topic_id", "content_id"]])
    return candidates.assign(label=pairs.isin(known).astype("int8"))


# -- reports on validation topics -------------------------------------------------------------

def recall_table(tables: dict[str, pd.DataFrame], truth, ks) -> pd.DataFrame:
    """Mean per-topic recall@K (columns: K) of each candidates table (rows)."""
    return pd.DataFrame({name: recall_at_k(search.ranked_lists(frame), truth, ks)
                         for name, frame in tables.items()}).T


def recall_by_language(tables: dict[str, pd.DataFrame], truth: pd.DataFrame,
                       topic_language: pd.Series, k: int) -> pd.DataFrame:
    """Recall@k of each table (columns) per language of the truth's topics (rows, largest
    first), with the number of topics."""
    language = truth["topic_id"].map(topic_language)
    counts = language.value_counts()
    table = pd.DataFrame({lang: recall_table(tables, truth[language == lang], [k])[k]
                          for lang in counts.index}).T
    table.insert(0, "topics", counts)
    return table


def stage1_table(tables: dict[str, pd.DataFrame], truth, **crossfit_args) -> pd.DataFrame:
    """F2 of stage 1 alone for each candidates table: every topic takes its top k (by
    ``rank``), or every candidate above a score threshold (``score``, or ``mean_score`` for a
    fused table; a topic with none above keeps its best; no item skipped). ``F2 at top-k``
    and ``F2 at threshold`` are honest (:func:`utils.selection.tuning.crossfit`: k or the threshold
    chosen on other topics); the in-sample figures of the best k and threshold stand beside them."""
    from ..selection import tuning

    rows = {}
    for name, frame in tables.items():
        score = frame["score" if "score" in frame else "mean_score"].astype(float).fillna(0.0)
        plain = {"skip_taken": (False,)}
        by = {"top-k": tuning.rule_table(frame.assign(score=1.0 / frame["rank"]), truth, ["top-k"], **plain),
              "threshold": tuning.rule_table(frame.assign(score=score), truth, ["threshold"], **plain)}
        row = {}
        for how, table in by.items():
            rule, in_sample = table.best()
            row[f"F2 at {how}"] = tuning.crossfit({name: table}, **crossfit_args).quality()["f2"]
            row[f"in-sample F2 at {how}"] = in_sample
            row[f"best {how}"] = rule.min_items if how == "top-k" else rule.threshold
        rows[name] = row
    return pd.DataFrame(rows).T
