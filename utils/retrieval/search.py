"""Embedding and same-language top-K search, in chunks, so memory is bounded by the chunk
size and never by topics x content.

``embed`` wraps ``SentenceTransformer.encode`` (the model's own mean pooling, L2-normalised,
float32 numpy). ``search`` runs sentence-transformers' ``util.semantic_search`` (exact
top-K by dot product on normalised vectors, i.e. cosine, query and corpus chunked) separately
for each language, so a topic only ever sees content of its own language.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch
from sentence_transformers import util

log = logging.getLogger(__name__)
COLUMNS = ["topic_id", "content_id", "rank", "score"]
TIE_MARGIN = 16
"""Extra items fetched past the top ``k`` so that near-ties at the cut (identical texts, whose
scores differ only by the batch they were embedded in) are settled by :func:`with_ranks`'s
order, not by float noise: the same topic gets the same top ``k``, embedded in any company."""


def embed(model, texts, batch_size: int = 128, show_progress_bar: bool = False) -> np.ndarray:
    """L2-normalised float32 embeddings of ``texts`` (a list or Series), in input order,
    whatever the model's weights' type.

    Each distinct text is embedded once, so identical texts (an item copied into several
    channels) get identical vectors: their scores tie exactly, and :func:`with_ranks` orders
    them by id, never by the float noise of the batch each copy happened to be in."""
    inverse, unique = pd.factorize(pd.Series(list(texts), dtype=object))  # no fixed-width copy
    vectors = np.asarray(model.encode(list(unique), batch_size=batch_size, convert_to_numpy=True,
                                      show_progress_bar=show_progress_bar), dtype=np.float32)
    # normalised in float32: a model run in bfloat16 or float16 would round its own norms
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors[inverse]


def search(queries: pd.DataFrame, query_emb: np.ndarray, corpus: pd.DataFrame,
           corpus_emb: np.ndarray, k: int = 100, query_chunk: int = 1024,
           corpus_chunk: int = 100_000, device: str | None = None) -> pd.DataFrame:
    """Top-``k`` corpus items of each query's own language by cosine.

    ``queries``/``corpus`` are frames with ``id`` and ``language`` aligned row by row with
    their embeddings. Returns ``topic_id, content_id, rank (1-based), score``; a query whose
    language has no corpus item gets no rows (and a logged warning).
    """
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    q_lang = queries["language"].to_numpy()
    c_lang = corpus["language"].to_numpy()
    q_ids, c_ids = queries["id"].to_numpy(), corpus["id"].to_numpy()
    parts, missing = [], []
    for language in pd.unique(q_lang):
        q_rows = np.flatnonzero(q_lang == language)
        c_rows = np.flatnonzero(c_lang == language)
        if len(c_rows) == 0:
            missing.append((language, len(q_rows)))
            continue
        hits = util.semantic_search(
            torch.from_numpy(query_emb[q_rows]).to(device),
            torch.from_numpy(corpus_emb[c_rows]).to(device),
            query_chunk_size=query_chunk, corpus_chunk_size=corpus_chunk,
            top_k=min(k + TIE_MARGIN, len(c_rows)), score_function=util.dot_score)
        sizes = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        flat = [(h["corpus_id"], h["score"]) for row in hits for h in row]
        index, score = (np.array(col) for col in zip(*flat))
        parts.append(pd.DataFrame({
            "topic_id": np.repeat(q_ids[q_rows], sizes),
            "content_id": c_ids[c_rows][index.astype(np.int64)],
            "score": score.astype(np.float32),
        }))
    for language, count in missing:
        log.warning("%d topic(s) in language %r: no content in that language, no candidates",
                    count, language)
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    found = with_ranks(pd.concat(parts, ignore_index=True), "score")
    return found[found["rank"] <= k].reset_index(drop=True)[COLUMNS]


def with_ranks(found: pd.DataFrame, score: str, keys=()) -> pd.DataFrame:
    """Sort each topic's rows best first and number them ``rank`` 1, 2, ...

    Order: ``keys`` (descending), then ``score`` rounded to 5 decimals (descending), then
    ``content_id``: float noise from batching (a text embedded in another batch differs in
    the last bits) and exact ties (items with identical texts) never change the order, so
    the same topic gets the same ranks whichever other topics were searched with it.
    """
    order = found.assign(_key=found[score].astype("float64").round(5))
    order = order.sort_values(["topic_id", *keys, "_key", "content_id"],
                              ascending=[True, *[False] * len(keys), False, True], kind="stable")
    order["rank"] = order.groupby("topic_id", sort=False).cumcount() + 1
    return order.drop(columns="_key").reset_index(drop=True)


def ranked_lists(candidates: pd.DataFrame) -> dict[str, list[str]]:
    """``search`` output -> ``{topic_id: [content ids, best first]}`` for the metrics."""
    ordered = candidates.sort_values(["topic_id", "rank"])
    return ordered.groupby("topic_id", sort=False)["content_id"].agg(list).to_dict()
