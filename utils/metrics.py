"""The competition's metric (mean F2 over topics) and the retrieval metrics around it.

Predictions and truths are accepted as a ``(topic_id, content_ids)`` frame with
space-separated ids (the submission layout), a Series of such strings or of lists indexed
by topic id, or a dict ``topic_id -> ids``. Scores are averaged over the topics of the
*truth*; a topic missing from the prediction, or predicted empty, scores 0, as on Kaggle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

KS = (5, 10, 20, 50, 100)
BETA = 2.0
"""F2: recall weighs ``BETA``² = 4 times precision."""


def f_beta(hits, kept, truths, beta: float = BETA):
    """F-beta from counts (numbers or arrays): the true items among those kept, the items
    kept and the true items, (1 + β²) hits / (β² truths + kept); 0 where nothing true is kept."""
    hits, kept, truths = (np.asarray(x, dtype=float) for x in (hits, kept, truths))
    denominator = beta**2 * truths + kept
    return np.divide((1 + beta**2) * hits, denominator, out=np.zeros(np.broadcast(hits, denominator).shape),
                     where=denominator > 0)


def as_id_lists(obj) -> dict[str, list[str]]:
    """Normalise any accepted layout to ``{topic_id: [content ids in order]}``."""
    if isinstance(obj, pd.DataFrame):
        obj = dict(zip(obj["topic_id"], obj["content_ids"]))
    elif isinstance(obj, pd.Series):
        obj = obj.to_dict()
    if not isinstance(obj, Mapping):
        raise TypeError(f"expected a (topic_id, content_ids) frame, a Series or a dict, "
                        f"got {type(obj).__name__}")
    out = {}
    for topic, ids in obj.items():
        if isinstance(ids, str):
            ids = ids.split()
        elif ids is None or (isinstance(ids, float) and np.isnan(ids)):
            ids = []
        out[str(topic)] = list(dict.fromkeys(ids))  # unique, order kept
    return out


def scores_per_topic(pred, true, beta: float = BETA) -> pd.DataFrame:
    """Precision, recall and F-beta of each topic of ``true``, one row per topic."""
    pred, true = as_id_lists(pred), as_id_lists(true)
    rows = []
    for topic, truth in true.items():
        guess = set(pred.get(topic, ()))
        truth = set(truth)
        hit = len(guess & truth)
        p = hit / len(guess) if guess else 0.0
        r = hit / len(truth) if truth else 0.0
        f = float(f_beta(hit, len(guess), len(truth), beta))
        rows.append((topic, p, r, f))
    return pd.DataFrame(rows, columns=["topic_id", "precision", "recall", "f2"]).set_index(
        "topic_id")


def mean_f2(pred, true) -> float:
    """Kaggle's LECR metric: F2 of each topic's predicted set, averaged over topics."""
    return float(scores_per_topic(pred, true)["f2"].mean())


def recall_at_k(ranked, true, ks: Iterable[int] = KS) -> pd.Series:
    """Mean over topics of the share of a topic's true items found in its top-k candidates."""
    ranked, true = as_id_lists(ranked), as_id_lists(true)
    ks = list(ks)
    totals = np.zeros(len(ks))
    for topic, truth in true.items():
        truth = set(truth)
        candidates = ranked.get(topic, [])
        for j, k in enumerate(ks):
            totals[j] += len(truth.intersection(candidates[:k])) / len(truth)
    return pd.Series(totals / max(len(true), 1), index=pd.Index(ks, name="k"), name="recall")
