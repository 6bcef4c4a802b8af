"""Stage 2: a cross-encoder re-scores each (topic, candidate) pair of the fused candidates.

- ``training_topics``: the topics the reranker may learn from: not validated, not
  always-training (fold -1), and recalled by a retriever that never trained on them (an
  out-of-fold retriever of notebook 03), since a retriever's own training topics have their
  true links at the top and a reranker trained on them leans on the rank;
- ``training_pairs``: their top candidates labelled by the known links, plus the links recall
  missed, negatives subsampled;
- ``pair_texts``: (topic text, candidate text) with the candidate's recall rank written in
  front of the candidate, as the method does;
- ``train``: sentence-transformers' ``CrossEncoderTrainer`` with ``BinaryCrossEntropyLoss``
  (one logit, sigmoid; class imbalance is left to the tuned threshold), bf16/fp16 on a GPU;
- ``score``: the probability of every candidate; ``save``/``load``: the model folder with
  its settings (``reranker.json``) and tuned post-processing (``postprocess.json``) beside it,
  so the submission rebuilds exactly the validated inputs and selection.

``save``, ``load``, ``score_for`` and ``to_rerank`` also take the other stage-2 model,
:class:`utils.selection.feature_ranker.FeatureRanker` (gradient-boosted trees over recall's features), saved the
same way with ``"model": "feature ranker"`` in its ``reranker.json``, so notebook 06 runs
whichever notebook 05 selected.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from sentence_transformers.cross_encoder import CrossEncoder

from .. import paths, trainer
from ..data.text import TextConfig
from ..kaggle import versions
from ..models import for_inference, inference_dtype, load_cross_encoder
from ..trainer import HISTORY_COLUMNS, HISTORY_FILE
from .feature_ranker import FeatureRanker, RankerConfig
from .postprocess import PostProcess

log = logging.getLogger(__name__)

SETTINGS_FILE = paths.RERANKER_MARKER
POSTPROCESS_FILE = "postprocess.json"
SELECTED_FILE = paths.SELECTED_FILE
"""In ``WORK/reranker``: which of notebook 05's rerankers the submission uses."""


@dataclass
class RerankerConfig:
    """Settings of one reranker; defaults: notebook 05's, a CPU-sized run of MiniLM."""

    max_length: int = 96
    """Tokens per (topic, candidate) pair; the topic text is cut first when too long."""
    epochs: float = 1.0
    batch_size: int = 16
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    train_top_k: int = 20
    """Candidates per training topic (the fused list's best)."""
    rerank_top_k: int | None = None
    """Score only the fused list's best R of each topic (the CPU mode at LECR scale), in
    validation and, unless told otherwise, in notebook 06; None: every candidate."""
    negatives_per_positive: float | None = 2.0
    """Subsample negatives to at most this many per positive (keeping all, 1:13 on mini-LECR,
    left the model at the base rate); None: keep them all."""
    max_pairs: int | None = 5_000
    """Train on at most this many pairs (a random subset, after the negatives' subsampling):
    stage 2 may learn from thousands of topics, which a CPU cannot read all of; None: all."""
    seed: int = 42
    """The fresh head's initial weights, the trainer's and the sampling of pairs: a rerun
    trains the same model."""
    precision: str = "auto"
    """'auto' (bf16 on GPUs that have it, else fp16 on GPU, fp32 on CPU), 'fp32', 'fp16', 'bf16'."""
    eval_batch_size: int = 128

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RerankerConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


# -- training data ---------------------------------------------------------------------------

def training_topics(candidates: pd.DataFrame, folds: pd.DataFrame, valid_fold: int) -> set[str]:
    """Topics whose candidates may train stage 2 (see the module doc): not validated, and
    recalled by a retriever that never trained on them (training-only topics too, when an
    out-of-fold retriever left their group out: notebook 03), of every category.

    ``candidates`` carries ``retriever`` (which retriever recalled the topic) and ``in_fold``
    (whether that retriever trained on it), as notebook 04 writes them.
    """
    fold = folds.set_index("topic_id")["fold"]
    per_topic = candidates.groupby("topic_id")["in_fold"].first()
    topic_fold = pd.Series(per_topic.index.map(fold), index=per_topic.index)
    in_fold = per_topic.to_numpy(dtype=bool)
    keep = (topic_fold != valid_fold).to_numpy() & topic_fold.notna().to_numpy()
    keep &= ~in_fold
    return set(per_topic.index[keep])


def training_pairs(candidates: pd.DataFrame, links: pd.DataFrame, topics: set[str],
                   config: RerankerConfig) -> pd.DataFrame:
    """``topic_id, content_id, rank, label`` rows for the reranker from ``topics`` only: their
    best ``train_top_k`` candidates and the true links recall missed (written with rank
    ``train_top_k + 1``)."""
    rows = candidates.loc[candidates["topic_id"].isin(topics) & (candidates["rank"] <= config.train_top_k),
                          ["topic_id", "content_id", "rank", "label"]]
    known = links[links["topic_id"].isin(topics)]
    recalled = pd.MultiIndex.from_frame(rows[["topic_id", "content_id"]])
    missed = known[~pd.MultiIndex.from_frame(known[["topic_id", "content_id"]]).isin(recalled)]
    rows = pd.concat([rows, missed.assign(rank=config.train_top_k + 1, label=1)], ignore_index=True)
    if config.negatives_per_positive is not None:
        positives = rows[rows["label"] == 1]
        negatives = rows[rows["label"] == 0]
        limit = int(round(config.negatives_per_positive * len(positives)))
        if len(negatives) > limit:
            negatives = negatives.sample(limit, random_state=config.seed)
        rows = pd.concat([positives, negatives])
    if config.max_pairs is not None and len(rows) > config.max_pairs:
        rows = rows.sample(config.max_pairs, random_state=config.seed)
    rows = rows.sample(frac=1.0, random_state=config.seed)  # shuffle: the trainer batches in order
    return rows.reset_index(drop=True).astype({"rank": "int64", "label": "int8"})


def pair_texts(rows: pd.DataFrame, topic_text: pd.Series, content_text: pd.Series
               ) -> tuple[list[str], list[str]]:
    """(topic texts, candidate texts) for ``rows`` (``topic_id, content_id, rank``), the
    candidate's fused recall rank written in front of its text."""
    queries = rows["topic_id"].map(topic_text).fillna("")
    documents = "rank " + rows["rank"].astype(int).astype(str) + " | " + rows["content_id"].map(content_text).fillna("")
    return queries.tolist(), documents.tolist()


# -- training and scoring -------------------------------------------------------------------

def train(model: CrossEncoder, pairs: pd.DataFrame, topic_text: pd.Series, content_text: pd.Series,
          config: RerankerConfig, out_dir, processes: int = 1) -> pd.DataFrame:
    """Train on ``pairs`` (from :func:`training_pairs`); returns the loss log, also written
    to ``out_dir`` (where notebook 05 then saves the model: a model saved there before stops
    counting as one, for :func:`trained`, until the new one is saved). ``processes`` > 1:
    data-parallel, one process per GPU (:mod:`utils.trainer`)."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    if pairs["label"].nunique() < 2:
        raise ValueError(f"the reranker needs positive and negative pairs; got {len(pairs)} pairs "
                         f"all labelled {pairs['label'].iloc[0] if len(pairs) else '-'}: check that "
                         f"the training topics have candidates (notebook 04) and correlations.")
    out_dir = Path(out_dir)
    for stale in (SETTINGS_FILE, HISTORY_FILE):
        (out_dir / stale).unlink(missing_ok=True)
    queries, documents = pair_texts(pairs, topic_text, content_text)
    dataset = Dataset.from_dict({"query": queries, "document": documents,
                                 "label": pairs["label"].astype("float32").tolist()})
    loss = BinaryCrossEntropyLoss(model)
    history = trainer.train(CrossEncoderTrainer, CrossEncoderTrainingArguments, model, dataset,
                            loss, config, config.epochs, out_dir, log_points=20, processes=processes,
                            ddp_find_unused_parameters=False)  # every weight is used; True fails in DDP
    out_dir.mkdir(parents=True, exist_ok=True)
    history.to_csv(out_dir / HISTORY_FILE, index=False)
    return history


def trained(folder, config: RerankerConfig, **details) -> tuple[CrossEncoder, pd.DataFrame] | None:
    """The cross-encoder :func:`save` left in ``folder`` and its loss log (empty if not
    kept), if it was trained with ``config`` and ``details`` (backbone, training pairs and
    topics, validation fold, recall settings: what ``reranker.json`` records), else None:
    notebook 05's ``RESUME``, as notebook 03 reuses a saved round. A folder saved before the
    recall's texts were recorded counts as built with the default texts (as
    :meth:`TextConfig.from_dict`)."""
    folder = Path(folder)
    if not (folder / SETTINGS_FILE).is_file():
        return None
    saved = settings(folder)
    if "backbone" in saved:  # saved before the names were portable
        saved["backbone"] = paths.portable_name(saved["backbone"], folder.parent.parent)
    if "recall" in saved and "text" not in saved["recall"]:
        saved["recall"] = {**saved["recall"], "text": TextConfig().as_dict()}
    wanted = json.loads(json.dumps({"model": CROSS_ENCODER, **config.as_dict(), **details}, default=str))
    wanted.pop("rerank_top_k")  # how it scores, not how it trained
    if any(saved.get(key) != value for key, value in wanted.items()):
        return None
    log.info("%s: reusing the saved cross-encoder (same settings and training pairs)", folder)
    history = (pd.read_csv(folder / HISTORY_FILE) if (folder / HISTORY_FILE).is_file()
               else pd.DataFrame(columns=HISTORY_COLUMNS))  # saved before history.csv was kept
    return load_cross_encoder(folder, config.max_length), history


def score(model: CrossEncoder, candidates: pd.DataFrame, topic_text: pd.Series,
          content_text: pd.Series, config: RerankerConfig) -> pd.DataFrame:
    """``candidates`` with ``score``: the reranker's probability that the pair is a link."""
    queries, documents = pair_texts(candidates, topic_text, content_text)
    if not queries:
        return candidates.assign(score=np.array([], dtype="float32"))
    probabilities = model.predict(list(zip(queries, documents)), batch_size=config.eval_batch_size,
                                  show_progress_bar=False, convert_to_numpy=True)
    return candidates.assign(score=np.asarray(probabilities, dtype="float32").reshape(-1))


def to_rerank(candidates: pd.DataFrame, rule: PostProcess, top_k: int | None,
              model=None) -> pd.DataFrame:
    """The candidates the CPU mode reranks: those of fused ``rank`` <= ``top_k``; all of them
    when ``top_k`` is None, when ``rule`` runs no reranker (then nothing is saved by cutting)
    or when ``model`` is a feature ranker (it scores every candidate in seconds, and its
    features read the whole list)."""
    if not rule.needs_score or isinstance(model, FeatureRanker):
        return candidates
    return best_of(candidates, top_k)


def best_of(candidates: pd.DataFrame, top_k: int | None) -> pd.DataFrame:
    """The candidates of fused ``rank`` <= ``top_k`` (all of them for None)."""
    return candidates if not top_k else candidates[candidates["rank"] <= top_k]


def score_for(rule: PostProcess, model: CrossEncoder | FeatureRanker, candidates: pd.DataFrame,
              topic_text: pd.Series, content_text: pd.Series, config: RerankerConfig | RankerConfig,
              data=None) -> pd.DataFrame:
    """:func:`score` as ``rule`` needs it: without running the model (``score`` 0) when the
    tuned rule gives the reranker no weight (``blend`` 1: on validation, stage 1 alone won).
    A feature ranker reads ``data`` (:class:`~utils.data.load.LECRData`) instead of the texts."""
    if not rule.needs_score:
        return candidates.assign(score=np.zeros(len(candidates), dtype="float32"))
    if isinstance(model, FeatureRanker):
        if data is None:
            raise ValueError("a feature ranker scores from the data's topics and content: pass data=")
        return model.score(candidates, data)
    return score(model, candidates, topic_text, content_text, config)


# -- the saved reranker ---------------------------------------------------------------------------

CROSS_ENCODER, FEATURE_RANKER = "cross-encoder", "feature ranker"
"""``reranker.json``'s ``model``: which kind of stage-2 model the folder holds."""


def save(model: CrossEncoder | FeatureRanker, folder, config: RerankerConfig | RankerConfig,
         postprocess: PostProcess, **details) -> Path:
    """Save the model with ``reranker.json`` (its kind, settings + ``details``) and
    ``postprocess.json``."""
    folder = Path(folder)
    model.save(str(folder))
    kind = FEATURE_RANKER if isinstance(model, FeatureRanker) else CROSS_ENCODER
    (folder / SETTINGS_FILE).write_text(json.dumps(
        {"model": kind, **config.as_dict(), **details, **versions.record()}, indent=2, default=str))
    postprocess.save(folder / POSTPROCESS_FILE)
    return folder


def settings(folder) -> dict:
    """Everything ``reranker.json`` records: the config, the backbone, the recall settings."""
    return json.loads((Path(folder) / SETTINGS_FILE).read_text())


def load(folder, device: str | None = None, int8: bool = False
         ) -> tuple[CrossEncoder | FeatureRanker, RerankerConfig | RankerConfig, PostProcess]:
    """The saved stage-2 model, its settings and its tuned post-processing (clear error if
    absent); a cross-encoder for inference: half precision on a GPU, int8 on a CPU with
    ``int8`` (:func:`utils.models.for_inference`)."""
    folder = Path(folder)
    missing = [name for name in (SETTINGS_FILE, POSTPROCESS_FILE) if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: not a saved reranker (missing {', '.join(missing)}); "
                                f"run notebooks/05_reranker.ipynb, or attach its output folder.")
    saved = settings(folder)
    rule = PostProcess.load(folder / POSTPROCESS_FILE)
    if saved.get("model") == FEATURE_RANKER:
        config = RankerConfig.from_dict(saved)
        return FeatureRanker.load(folder, config), config, rule
    config = RerankerConfig.from_dict(saved)
    dtype = inference_dtype(device, int8, cpu_bf16_ok=False)  # BF16 is the bi-encoders'
    model = load_cross_encoder(folder, config.max_length, device, dtype)
    return for_inference(model, int8), config, rule


def pipeline_name(name: str) -> str:
    """How notebook 05's comparison (``f2.csv``) names the two-stage pipeline of its stage-2
    model ``name`` ("features": the feature ranker; "selected": the choice among them; a
    stage-1 baseline, or a name already given, keeps its name; else a cross-encoder's backbone)."""
    if name.startswith(("stage 1", "two stages")):
        return name
    return {"features": "two stages: feature ranker",
            "selected": "two stages: the selected reranker"}.get(name, f"two stages: reranker from {name}")


def select_for_submission(reranker_dir, name: str, folder: str, **details) -> Path:
    """Record which reranker under ``reranker_dir`` the submission uses (and ``details``:
    how it was chosen)."""
    path = Path(reranker_dir) / SELECTED_FILE
    path.write_text(json.dumps({"name": name, "folder": folder, **details}))
    return path


def selected(work) -> Path | None:
    """The folder of the reranker notebook 05 selected in ``work``, or None if there is none."""
    return paths.saved_models(work)[1]
