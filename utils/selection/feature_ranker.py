"""Stage 2 without a transformer: gradient-boosted trees over what recall already knows.

The cross-encoder (:mod:`utils.selection.cross_encoder`) reads each pair's texts; this ranker reads numbers
(:data:`FEATURES`): the fused rank and votes, each retriever's rank and score and their gaps
to the topic's best, how many candidates the topic has, the share of the language's topics
that have the item among their candidates (hub items are rarely right), the gap to the best
score the item gets from any topic (is this topic the item's best match?), the item's kind and
whether it has a description, the topic's depth and whether it has one. A LightGBM reranker
of this kind was part of LECR's winning solution; here scikit-learn's
``HistGradientBoostingClassifier`` (missing values and categories handled natively) trains
in seconds and scores a hidden-test-sized candidate list in seconds on a CPU.

It trains on the same topics as the cross-encoder (:func:`utils.selection.cross_encoder.training_topics`:
recalled by a retriever that never trained on them), on all their candidates.

The hub share and the item's best score are computed over the frame of topics scored
together, so the tuned threshold fits frames of about the size it was tuned in (a validation
fold); scored a handful of topics at a time, the ranker loses F2 (``bench/ranker_frames.py``
measures how much: docs/RESULTS.md, "Why the defaults"). Score many topics at
once, or train with ``RankerConfig(drop=("hub", "item_gap"))`` to score a handful.

No feature counts an item's known links (its popularity in the training correlations): on
folds that split the topics of one channel such counts look strong only because siblings
share items (docs/history.md, "Experiments not adopted"), and the hidden test's new
items, linked only to new topics, would all look unpopular.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from ..data.load import CATEGORIES, KINDS

log = logging.getLogger(__name__)

MODEL_FILE = "ranker.pkl"
"""The fitted estimator (pickle: load only folders you trust, as with any pickle)."""

SCORES = ["rank", "votes", "mean_score", "tfidf_rank", "tfidf_score", "retriever_rank",
          "retriever_score"]
"""Recall's columns (notebook 04, ``candidates.recall``): a source that did not find the pair
leaves its columns missing, which the trees take as missing values; a column missing on every
training candidate (a source that did not run, such as TF-IDF off) is left out of the ranker."""
FEATURES = [*SCORES, "retriever_gap", "retriever_ratio", "tfidf_gap", "mean_gap", "candidates",
            "hub", "item_gap", "kind", "has_description", "level", "topic_has_description",
            "retriever_best", "retriever_worst", "tfidf_best", "category", "starts_same",
            "same_chapter"]
CATEGORICAL = ("kind", "category")
"""Features the trees split as categories (codes of :data:`~utils.data.load.KINDS` and
:data:`~utils.data.load.CATEGORIES`; missing for a value outside them)."""
GROUPS = {
    "topic's range": ("retriever_best", "retriever_worst", "tfidf_best"),
    "category": ("category",),
    "titles": ("starts_same", "same_chapter"),
    "frame": ("hub", "item_gap"),
    "fine-tuned scores": ("retriever_rank", "retriever_score", "retriever_gap", "retriever_ratio",
                          "retriever_best", "retriever_worst"),
}
"""Named groups of :data:`FEATURES`, for ``RankerConfig(drop=GROUPS[...])`` (their measurement:
docs/history.md)."""
CHAPTER = r"^\s*(\d+)[.:)\s-]"
"""A title's leading number (``3: Fractions``, ``3.2 Decimals``): its chapter."""


@dataclass
class RankerConfig:
    """Settings of the gradient-boosted ranker (scikit-learn's names). The defaults, small
    trees and a slow rate, won among the settings tried on mini-LECR's validation folds,
    where deeper or longer-trained trees overfit; trained on many channels' topics, larger
    trees still carried worse to a held-out channel (docs/history.md,
    "Experiments not adopted")."""

    max_iter: int = 300
    """Boosting iterations (all of them: no early stopping on a random split of the rows,
    which would mix the topics' candidates)."""
    learning_rate: float = 0.02
    max_leaf_nodes: int = 7
    min_samples_leaf: int = 100
    l2_regularization: float = 1.0
    seed: int = 42
    drop: tuple[str, ...] = ()
    """Features of :data:`FEATURES` left out, e.g. ``GROUPS["frame"]`` (``("hub", "item_gap")``):
    a ranker whose scores do not depend on the frame of topics scored together (see the
    module doc)."""

    def __post_init__(self):
        self.drop = tuple(self.drop)  # a list read back from JSON
        unknown = sorted(set(self.drop) - set(FEATURES))
        if unknown:
            raise ValueError(f"RankerConfig.drop names no feature: {unknown}; the features are {FEATURES}")

    @property
    def columns(self) -> list[str]:
        """The features the trees read: :data:`FEATURES` less ``drop``."""
        return [name for name in FEATURES if name not in self.drop]

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RankerConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def features(candidates: pd.DataFrame, data) -> pd.DataFrame:
    """:data:`FEATURES` for each row of ``candidates`` (recall's columns, every candidate of
    each topic), with ``data`` (:class:`~utils.data.load.LECRData`) for the items and topics."""
    found = candidates.reindex(columns=SCORES).astype("float64")
    by_topic = candidates.groupby("topic_id")
    best = {c: by_topic[c].transform("max") for c in ("retriever_score", "tfidf_score", "mean_score") if c in candidates}
    found["retriever_gap"] = found["retriever_score"] - best.get("retriever_score", np.nan)
    found["retriever_ratio"] = found["retriever_score"] / best.get("retriever_score", np.nan)
    found["tfidf_gap"] = found["tfidf_score"] - best.get("tfidf_score", np.nan)
    found["mean_gap"] = found["mean_score"] - best.get("mean_score", np.nan)
    found["candidates"] = by_topic["content_id"].transform("size")
    topics = data.topics.set_index("id")
    content = data.content.set_index("id")
    language = candidates["topic_id"].map(topics["language"]).to_numpy()  # by position
    by_item = candidates.groupby("content_id")
    found["hub"] = (by_item["topic_id"].transform("size")
                    / candidates.groupby(language)["topic_id"].transform("nunique"))
    found["item_gap"] = found["retriever_score"] - (by_item["retriever_score"].transform("max")
                                                    if "retriever_score" in candidates else np.nan)
    kind = pd.Categorical(candidates["content_id"].map(content["kind"]), categories=KINDS)
    found["kind"] = kind.codes.astype("float64")
    found.loc[found["kind"] < 0, "kind"] = np.nan  # a kind outside KINDS: missing
    found["has_description"] = (candidates["content_id"].map(content["description"]) != "").astype(float)
    found["level"] = candidates["topic_id"].map(topics["level"]).astype(float)
    found["topic_has_description"] = (candidates["topic_id"].map(topics["description"]) != "").astype(float)
    for column in ("retriever_score", "tfidf_score"):  # the topic's range of scores
        values = found[column] if column in candidates else pd.Series(np.nan, index=found.index)
        best_value = values.groupby(candidates["topic_id"].to_numpy()).transform("max")
        found[column.replace("score", "best")] = best_value.to_numpy()
        if column == "retriever_score":
            found["retriever_worst"] = values.groupby(candidates["topic_id"].to_numpy()).transform("min").to_numpy()
    topic_title = candidates["topic_id"].map(topics["title"])
    content_title = candidates["content_id"].map(content["title"])
    category = pd.Categorical(candidates["topic_id"].map(topics["category"]), categories=CATEGORIES)
    found["category"] = np.where(category.codes < 0, np.nan, category.codes)
    first_word = [title.str.split(n=1).str[0].str.casefold() for title in (topic_title, content_title)]
    found["starts_same"] = (first_word[0] == first_word[1]).astype(float)
    chapters = [title.str.extract(CHAPTER, expand=False).astype(float) for title in (topic_title, content_title)]
    found["same_chapter"] = np.where(chapters[0].isna() | chapters[1].isna(), np.nan,
                                     (chapters[0] == chapters[1]).astype(float))
    return found[FEATURES]


@dataclass
class FeatureRanker:
    """The fitted estimator with its settings; ``score`` is its probability of a link."""

    estimator: HistGradientBoostingClassifier
    config: RankerConfig

    @classmethod
    def fit(cls, candidates: pd.DataFrame, data,
            config: RankerConfig = RankerConfig()) -> "FeatureRanker":
        """Train on ``candidates``: every candidate of the training topics and only those
        (``label``: notebook 04's), since features are computed over the frame passed, as
        :meth:`score` computes them over the topics it predicts. A feature missing on every
        training candidate (TF-IDF off, no title with a chapter number) carries nothing to
        learn: it is added to the config's ``drop``, so scoring leaves it out too."""
        labels = candidates["label"]
        if labels.nunique() < 2:
            raise ValueError(f"the feature ranker needs positive and negative candidates; the "
                             f"{candidates['topic_id'].nunique()} training topics have "
                             f"{len(labels)} candidates, all labelled "
                             f"{labels.iloc[0] if len(labels) else '-'}")
        found = features(candidates, data)
        config = _without_empty(config, found)
        estimator = _estimator(config)
        estimator.fit(found[config.columns], labels)
        return cls(estimator, config)

    def score(self, candidates: pd.DataFrame, data) -> pd.DataFrame:
        """``candidates`` with ``score``: the probability that the pair is a link. Features are
        computed over the frame passed (the candidate count, the hub share, the item's best
        score): pass every candidate of the topics predicted, as recall made them."""
        columns = self.config.columns
        trained_on = list(getattr(self.estimator, "feature_names_in_", columns))
        if trained_on != columns:
            raise ValueError(f"this feature ranker was trained on the features {trained_on}; this "
                             f"version of utils.selection.feature_ranker computes {columns}: retrain it with "
                             "notebooks/05_reranker.ipynb (seconds), or use the code it came from")
        if candidates.empty:
            return candidates.assign(score=np.array([], dtype="float32"))
        probability = self.estimator.predict_proba(features(candidates, data)[columns])[:, 1]
        return candidates.assign(score=probability.astype("float32"))

    def save(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / MODEL_FILE, "wb") as out:
            pickle.dump(self.estimator, out)
        return folder

    @classmethod
    def load(cls, folder, config: RankerConfig) -> "FeatureRanker":
        path = Path(folder) / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{folder}: no {MODEL_FILE}; run notebooks/05_reranker.ipynb "
                                    "(it trains the feature ranker), or attach its output folder.")
        with open(path, "rb") as saved:
            return cls(pickle.load(saved), config)


def _without_empty(config: RankerConfig, found: pd.DataFrame) -> RankerConfig:
    """``config`` with the features missing on every row of ``found`` added to its ``drop``."""
    empty = tuple(name for name in config.columns if found[name].isna().all())
    if not empty:
        return config
    log.info("feature ranker: %s missing on every training candidate, left out", empty)
    return RankerConfig.from_dict({**config.as_dict(), "drop": (*config.drop, *empty)})


def _estimator(config: RankerConfig) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=config.max_iter, learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes, min_samples_leaf=config.min_samples_leaf,
        l2_regularization=config.l2_regularization, random_state=config.seed,
        categorical_features=[name in CATEGORICAL for name in config.columns], early_stopping=False)


def importances(ranker: FeatureRanker, candidates: pd.DataFrame, data, repeats: int = 3,
                seed: int = 0) -> pd.Series:
    """Drop in ROC AUC when each feature is shuffled (scikit-learn's permutation importance)
    on ``candidates`` (labelled, e.g. the validation fold's)."""
    from sklearn.inspection import permutation_importance

    columns = ranker.config.columns
    found = permutation_importance(ranker.estimator, features(candidates, data)[columns],
                                   candidates["label"], scoring="roc_auc", n_repeats=repeats,
                                   random_state=seed)
    return pd.Series(found.importances_mean, index=columns).sort_values(ascending=False)
