"""Candidate recall between the stages: several retrievers, their fusion, and the report.

- ``dense_candidates``: a bi-encoder's same-language top-K (:func:`utils.search.search`);
- ``tfidf_candidates``: scikit-learn's TF-IDF on character n-grams, fitted per language on
  that language's content, searched in query chunks (memory bounded by the chunk);
- ``fuse``: rank each (topic, content) pair by how many retrievers return it, then by its
  mean score, keeping every source's rank and score as features for stage 2;
- ``label``, ``best_topk_f2``, ``best_threshold_f2``: what stage 1 alone achieves, the
  baseline stage 2 must beat.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from . import search
from .metrics import mean_f2, recall_at_k
from .postprocess import select
from .search import COLUMNS

log = logging.getLogger(__name__)


def dense_candidates(model, queries: pd.DataFrame, corpus: pd.DataFrame, k: int = 50,
                     batch_size: int = 256, query_chunk: int = 1024) -> pd.DataFrame:
    """Top-``k`` same-language items by cosine for ``queries`` (``id, language, text``);
    only the corpus items in the queries' languages are embedded."""
    corpus = corpus[corpus["language"].isin(set(queries["language"]))]
    corpus_emb = search.embed(model, corpus["text"], batch_size)
    query_emb = search.embed(model, queries["text"], batch_size)
    return search.search(queries, query_emb, corpus, corpus_emb, k=k, query_chunk=query_chunk)


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-``k`` column indices (best first) and their scores."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    index = np.take_along_axis(part, order, axis=1)
    return index, np.take_along_axis(scores, index, axis=1)


def tfidf_candidates(queries: pd.DataFrame, corpus: pd.DataFrame, k: int = 50,
                     ngram_range: tuple[int, int] = (3, 5), max_features: int | None = 200_000,
                     chunk: int = 1024) -> pd.DataFrame:
    """Top-``k`` same-language items by TF-IDF cosine on character n-grams (``char_wb``)."""
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
            scores = (vectorizer.transform(rows["text"]) @ matrix).toarray()
            index, top = _top_k(scores, k)
            parts.append(pd.DataFrame({
                "topic_id": np.repeat(rows["id"].to_numpy(), index.shape[1]),
                "content_id": ids[index.ravel()],
                "rank": np.tile(np.arange(1, index.shape[1] + 1), len(rows)),
                "score": top.ravel().astype(np.float32),
            }))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


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
    wide = wide.sort_values(["topic_id", "votes", "mean_score"], ascending=[True, False, False],
                            kind="stable")
    wide["rank"] = wide.groupby("topic_id").cumcount() + 1
    wide = wide[wide["rank"] <= k]
    leading = ["topic_id", "content_id", "rank", "votes", "mean_score"]
    return wide[leading + [c for c in wide.columns if c not in leading]].reset_index(drop=True)


def label(candidates: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Add ``label`` (1: a known link, 0: not) to a candidates table."""
    known = pd.MultiIndex.from_frame(links[["topic_id", "content_id"]])
    pairs = pd.MultiIndex.from_frame(candidates[["topic_id", "content_id"]])
    return candidates.assign(label=pairs.isin(known).astype("int8"))


def predictions_at_k(candidates: pd.DataFrame, k: int) -> dict[str, list[str]]:
    top = candidates[candidates["rank"] <= k].sort_values(["topic_id", "rank"])
    return top.groupby("topic_id")["content_id"].agg(list).to_dict()


def best_topk_f2(candidates: pd.DataFrame, truth, ks=range(1, 21)) -> tuple[int, float, pd.Series]:
    """Mean F2 when every topic takes its top-k; returns (best k, its F2, F2 per k)."""
    curve = pd.Series({k: mean_f2(predictions_at_k(candidates, k), truth) for k in ks},
                      name="f2").rename_axis("k")
    return int(curve.idxmax()), float(curve.max()), curve


def best_threshold_f2(candidates: pd.DataFrame, truth, score: str = "score",
                      thresholds=None) -> tuple[float, float, pd.Series]:
    """Mean F2 over score thresholds (a topic with none keeps its rank-1 item); returns
    (best threshold, its F2, F2 per threshold)."""
    if thresholds is None:
        values = candidates[score].dropna()
        thresholds = np.unique(np.quantile(values, np.linspace(0.5, 1.0, 51)).round(4))
    curve = pd.Series({float(t): mean_f2(select(candidates, score, t, order="rank"), truth)
                       for t in thresholds}, name="f2").rename_axis("threshold")
    return float(curve.idxmax()), float(curve.max()), curve


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


def stage1_table(tables: dict[str, pd.DataFrame], truth) -> pd.DataFrame:
    """Mean F2 of stage 1 alone for each table: best top-k and best score threshold (on
    ``score``, or ``mean_score`` for a fused table)."""
    rows = {}
    for name, frame in tables.items():
        k, f2_k, _ = best_topk_f2(frame, truth)
        score = "score" if "score" in frame else "mean_score"
        t, f2_t, _ = best_threshold_f2(frame, truth, score=score)
        rows[name] = {"best top-k": k, "F2 at top-k": f2_k, "best threshold": t,
                      "F2 at threshold": f2_t}
    return pd.DataFrame(rows).T
