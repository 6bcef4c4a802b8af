"""Notebook 05's stage-2 models: train and score each one, then choose among them honestly.

- :func:`backbones`: the model each cross-encoder starts from;
- :func:`train_cross_encoder`: one cross-encoder trained on the training pairs (or the one saved
  with the same settings and pairs, with ``resume``), and its scores of the validation
  candidates;
- :func:`train_feature_ranker`: the feature ranker fitted on every candidate of the training
  topics, and its scores of the validation candidates;
- :func:`fold_tables`: the rule tables of a validation fold's topics, from its own run of
  notebook 05 (``bench/quality.py`` chooses rules on the other folds with them);
- :func:`select`: each model's table of selection rules and the honest comparison
  (:func:`utils.selection.tuning.compare`: the rule and the model chosen on other validation topics than
  those scored), beside stage 1 alone. Each model is saved with its own best rule, the best
  model is recorded for notebook 06, and the tables ``bench/quality.py`` reads are written to
  ``WORK/reranker``.

Each model comes back as a :class:`Stage2`, and the choice as a :class:`Selection`.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sentence_transformers.cross_encoder import CrossEncoder

from .. import paths
from ..models import for_inference, load_cross_encoder
from ..profiling import stage
from ..selection import cross_encoder, newchannel, tuning
from ..trainer import HISTORY_COLUMNS
from .cross_encoder import RerankerConfig
from .feature_ranker import FeatureRanker, RankerConfig
from .postprocess import PostProcess
from .tuning import RuleTable

FEATURES = "features"
"""The feature ranker's name among the stage-2 models (a cross-encoder's: its backbone's)."""


@dataclass
class SelectionConfig:
    """How notebook 05 chooses the rule and the model (:func:`select`), and how honestly it
    reports them. Defaults: what docs/RESULTS.md's figures were measured with."""

    rules: list[str] | None = ("relative",)
    """Rule families (:data:`utils.selection.tuning.FAMILIES`) to choose among; None: all. The relative
    threshold held on both of mini-LECR's views (docs/history.md: choosing among every family
    gained nothing)."""
    blends: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    """Weights of the retriever's cosine blended into the stage-2 score, chosen with the rule;
    1.0: the cosine alone (a stage 2 that does not beat stage 1 gets no weight)."""
    n_splits: int = 5
    n_repeats: int = 5
    """Honest figures: the rule and model chosen on the other parts of the validation topics,
    over ``n_repeats`` random ``n_splits``-fold splits."""
    cpu_top_ks: tuple[int, ...] = (10, 20)
    """Also report the selected cross-encoder reranking only the fused list's best R
    (notebook 06's ``RERANK_TOP_K``: the CPU mode)."""

    def __post_init__(self):
        self.rules = None if self.rules is None else list(self.rules)
        self.blends, self.cpu_top_ks = tuple(self.blends), tuple(self.cpu_top_ks)

    @property
    def honest(self) -> dict:
        return {"n_splits": self.n_splits, "n_repeats": self.n_repeats}

log = logging.getLogger(__name__)


@dataclass
class Stage2:
    """One trained stage-2 model and its scores of the validation candidates."""

    name: str
    model: CrossEncoder | FeatureRanker
    config: RerankerConfig | RankerConfig
    folder: Path
    """Where :func:`select` saves it: ``WORK/reranker/<name>``."""
    scored: pd.DataFrame
    """The validation candidates with ``score``, the model's probability of a link."""
    history: pd.DataFrame
    """The training loss (``utils.trainer.HISTORY_COLUMNS``); empty for the feature ranker."""
    details: dict
    """What ``reranker.json`` records besides the config: the training data and recall."""


@dataclass
class Selection:
    """The choice among the stage-2 models (:func:`select`)."""

    best: str
    """The name of the model selected for the submission."""
    comparison: pd.DataFrame
    """One row per pipeline: stage 1's baselines, each model, the selected one and its CPU
    cuts; honest F2, precision and recall, their spread, the in-sample F2 and the rule."""
    families: pd.DataFrame
    """Honest and in-sample F2 of each rule family (rows) for each model (columns)."""
    tables: dict[str, RuleTable]
    """Each model's rule table: every rule of the families scored on every validation topic."""
    rules: dict[str, PostProcess]
    """Each model's best rule on the validation topics, as saved with it."""


def folder_of(work, name: str) -> Path:
    """Where the stage-2 model ``name`` is saved: ``WORK/reranker/<name>`` (``/`` of a hub id
    replaced)."""
    return Path(work) / "reranker" / str(name).replace("/", "_")


def backbones(names, retriever_dir, base_model=None) -> dict[str, str]:
    """Notebook 05's ``BACKBONES``, each name mapped to the model its cross-encoder starts
    from: ``"retriever"`` to the fine-tuned retriever saved in ``retriever_dir``, ``"base"`` to
    ``base_model``, or if None to the model that retriever was fine-tuned from
    (:func:`utils.retrieval.retriever.base_model_of`, looked up only when asked for), any other name to
    itself (a folder or a hub id)."""
    from ..retrieval.retriever import base_model_of

    def backbone(name) -> str:
        if name == "retriever":
            return str(retriever_dir)
        if name == "base":
            return str(base_model or base_model_of(retriever_dir))
        return name

    return {name: backbone(name) for name in names}


def train_cross_encoder(name: str, backbone, work, pairs: pd.DataFrame, valid: pd.DataFrame,
                  topic_text: pd.Series, content_text: pd.Series, config: RerankerConfig,
                  trained_on: dict, resume: bool = False, processes: int = 1,
                  int8: bool = False, timer=None) -> Stage2:
    """Train a cross-encoder from ``backbone`` on ``pairs`` (:func:`utils.selection.cross_encoder.training_pairs`)
    and score ``valid`` (its fused list's best ``config.rerank_top_k`` of each topic, if set);
    with ``resume``, reuse the one saved in its folder if it was trained with the same
    settings, backbone, pairs and ``trained_on`` (:func:`utils.selection.cross_encoder.trained`).
    ``processes`` > 1: trained data-parallel, one process per GPU (:mod:`utils.trainer`).
    ``int8``: on a CPU, score with a copy run in int8, as notebook 06's ``INT8`` runs it.
    ``timer`` (a :class:`~utils.profiling.StageTimer`) times the training and the scoring."""
    folder = folder_of(work, name)
    details = {**trained_on, "backbone": paths.portable_name(backbone, work), "train_pairs": len(pairs)}
    if processes > 1:  # a step sees that many batches: recorded, as for the retriever
        details["processes"] = processes
    saved = cross_encoder.trained(folder, config, **details) if resume else None
    if saved:
        model, history = saved
    else:
        with stage(timer, f"cross-encoder {name}: train", items=len(pairs)):
            model = load_cross_encoder(backbone, config.max_length, seed=config.seed)  # the same head each run
            history = cross_encoder.train(model, pairs, topic_text, content_text, config, folder, processes)
    scored_part = cross_encoder.best_of(valid, config.rerank_top_k)
    with stage(timer, f"cross-encoder {name}: score", items=len(scored_part)):
        scorer = for_inference(copy.deepcopy(model), int8) if int8 and model.device.type == "cpu" else model
        scored = cross_encoder.score(scorer, scored_part, topic_text, content_text, config)
    return Stage2(name, model, config, folder, scored, history, details)


def train_feature_ranker(train_candidates: pd.DataFrame, valid: pd.DataFrame, data, config: RankerConfig,
                   work, trained_on: dict) -> Stage2:
    """Fit the feature ranker on every candidate of the training topics (labelled) and score
    ``valid``; ``data`` is the :class:`~utils.data.load.LECRData` its features read."""
    model = FeatureRanker.fit(train_candidates, data, config)
    return Stage2(FEATURES, model, model.config, folder_of(work, FEATURES), model.score(valid, data),
                  pd.DataFrame(columns=HISTORY_COLUMNS), {**trained_on, "train_pairs": len(train_candidates)})


def fold_scores(folder) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What :func:`select` wrote in the working folder ``folder`` of a validation fold: its
    validation candidates with each stage-2 model's scores (``score:<model>`` columns) and
    their true links."""
    folder = Path(folder) / "reranker"
    missing = [name for name in ("scored_valid.parquet", "valid_truth.csv") if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: no {', '.join(missing)}; run notebook 05 in this "
                                "validation fold's working folder first")
    return pd.read_parquet(folder / "scored_valid.parquet"), pd.read_csv(folder / "valid_truth.csv", dtype=str)


def fold_tables(folder, rules=None, blends=(0.0,)) -> dict[str, RuleTable]:
    """The rule tables of another validation fold's topics, from what :func:`select` wrote in
    its working folder ``folder`` (``reranker/scored_valid.parquet``, ``valid_truth.csv``):
    stage 1's baselines and each stage-2 model it scored, each model's scores its own (trained
    without that fold), with ``rules``' families at each weight of ``blends``:
    ``bench/quality.py``'s report chooses each fold's rule on the other folds' tables."""
    scored, truth = fold_scores(folder)
    tables = tuning.stage1_tables(scored, truth, rules)
    for column in (c for c in scored.columns if c.startswith("score:")):
        tables[column.split(":", 1)[1]] = tuning.rule_table(scored.assign(score=scored[column]), truth, rules,
                                                            blends=blends)
    return tables


def select(models: list[Stage2], valid: pd.DataFrame, truth: pd.DataFrame, work,
           config: SelectionConfig | None = None, **details) -> Selection:
    """Choose the model and rule of the best F2 on the validation topics, and report it honestly.

    Every rule of ``config.rules``' families, with each weight of ``config.blends`` given to
    the retriever's cosine, is scored on every validation topic. Honest figures choose the
    rule (and, for ``selected``, the model) on the other parts of the topics
    (:attr:`SelectionConfig.honest`). Each model is saved in its folder with its own best
    rule, the best model is recorded with ``details`` for notebook 06, and ``WORK/reranker``
    receives ``f2.csv`` (the comparison), ``rules.csv`` (the families), ``valid_truth.csv`` and
    ``scored_valid.parquet`` (every model's scores, for ``bench/quality.py``'s transfer view).
    The selected cross-encoder is also scored reranking only the fused list's best R, for each
    R of ``config.cpu_top_ks`` (notebook 06's CPU mode)."""
    config = config or SelectionConfig()
    rules, blends, honest = config.rules, config.blends, config.honest
    by_name = {model.name: model for model in models}
    tables = {name: tuning.rule_table(model.scored, truth, rules, blends=blends) for name, model in by_name.items()}
    chosen = tuning.compare(tables, **honest)
    best = chosen.loc["selected", "model"]
    for name, model in by_name.items():
        cross_encoder.save(model.model, model.folder, model.config, chosen.loc[name, "rule"], **model.details)
    cross_encoder.select_for_submission(Path(work) / "reranker", best, by_name[best].folder.name,
                                   rules=rules, blends=list(blends), **details)
    baselines = tuning.stage1_tables(valid, truth, rules)
    rows = [tuning.compare(baselines, **honest).drop(index="selected"), chosen]
    if not isinstance(by_name[best].model, FeatureRanker):  # it reads every candidate anyway
        rows += [_cut(by_name[best], chosen.loc[best, "rule"], truth, top_k, rules, blends, honest)
                 for top_k in config.cpu_top_ks]
    selection = Selection(
        best, pd.concat(rows).rename(index=cross_encoder.pipeline_name).rename_axis("pipeline"),
        tuning.by_family({**baselines, **tables}, **honest), tables,
        {name: chosen.loc[name, "rule"] for name in by_name})
    _write(selection, by_name, valid, truth, Path(work) / "reranker")
    return selection


def _cut(model: Stage2, rule: PostProcess, truth, top_k: int, rules, blends, honest) -> pd.DataFrame:
    """The comparison's row of ``model`` reranking only the fused list's best ``top_k``: its
    honest F2, and in sample the saved ``rule`` as notebook 06 runs it."""
    cut = cross_encoder.to_rerank(model.scored, rule, top_k)
    row = tuning.compare({model.name: tuning.rule_table(cut, truth, rules, blends=blends)}, **honest)
    row = row.loc[[model.name]].assign(**{"in-sample f2": rule.quality(cut, truth)["f2"]})
    return row.rename(index={model.name: f"two stages: the selected reranker, only the fused top {top_k} reranked"})


def _write(selection: Selection, models: dict[str, Stage2], valid, truth, folder: Path) -> None:
    selection.comparison.to_csv(folder / "f2.csv")
    selection.families.to_csv(folder / "rules.csv")
    truth.to_csv(folder / "valid_truth.csv", index=False)
    valid.drop(columns="score", errors="ignore").assign(
        **{f"score:{name}": model.scored["score"] for name, model in models.items()}).to_parquet(
        folder / "scored_valid.parquet", index=False)


# -- a new curriculum -------------------------------------------------------------------------

NEW_CHANNEL = "new_channel"
"""Where the new-channel pipeline is saved, inside the selected stage-2 model's folder (so it
travels with it to Kaggle), and its settings file's stem (``new_channel.json``: not
``reranker.json``, which marks the one reranker a dataset holds)."""
NEW_CHANNEL_RULES = ["supply", "top-k"]
"""The rule families the new-channel rule is chosen among (:data:`utils.selection.tuning.FAMILIES`): a
count per topic that follows its supply, or a fixed one."""
FLOOR, FUSED = "stage 1: fused list, top-k", "new channel: fused list, count by supply"


@dataclass
class NewChannel:
    """The new-channel pipeline (:mod:`utils.selection.newchannel`): the new-channel candidates in their
    fused order, and the rule chosen on the training topics (their own channels hidden, each
    channel weighing the same): nothing of it is chosen on the topics it is applied to."""

    rule: PostProcess
    scored: pd.DataFrame
    """The validation topics' new-channel candidates with ``score``, the order the rule reads."""
    on_training: RuleTable
    """Every rule on the training topics (the choice's table)."""
    weights: np.ndarray
    """Each training topic's weight in the choice: 1 / its channel's training topics."""
    report: pd.DataFrame
    """Per pipeline (the fused list's top-k floor, the new-channel pipeline): the F2, precision
    and recall on the validation topics of the rule chosen on the training topics, the honest F2
    of a rule chosen on other validation topics (a curator who has aligned some of the
    channel), in sample."""
    per_topic: pd.DataFrame
    """Per pipeline and validation topic (``pipeline, topic_id``): the F2, precision and recall
    of the rule chosen on the training topics."""


def fused_order(candidates: pd.DataFrame) -> pd.DataFrame:
    """``candidates`` with ``score``: the fused order (1 / ``rank``), which the rules read."""
    return candidates.assign(score=1.0 / candidates["rank"].to_numpy(float))


def channel_weights(topic_ids, topics: pd.DataFrame) -> np.ndarray:
    """One weight per topic of ``topic_ids``: 1 / how many of them its channel holds, so that
    each channel counts the same in a mean over them."""
    channel = pd.Series(list(topic_ids)).map(topics.set_index("id")["channel"])
    return (1.0 / channel.map(channel.value_counts())).to_numpy(float)


def new_channel(train: pd.DataFrame, valid: pd.DataFrame, truth: pd.DataFrame, data,
                rules=NEW_CHANNEL_RULES, n_splits: int = 5, n_repeats: int = 5) -> NewChannel:
    """Choose the new-channel rule on ``train`` (the training topics' new-channel candidates,
    notebook 04's ``candidates_new.parquet``, their channels hidden), each channel weighing the
    same, and report it on ``valid`` (the validation topics' new-channel candidates) against
    ``truth``, beside the fused list's top-k floor."""
    train = fused_order(train[train["topic_id"].isin(set(data.correlations["topic_id"]))])
    scored = fused_order(valid)
    train_truth = data.correlations[data.correlations["topic_id"].isin(set(train["topic_id"]))]
    plain = {"skip_taken": (False,)}
    on_training = tuning.rule_table(train, train_truth, rules, **plain)
    weights = channel_weights(on_training.topics, data.topics)
    rule = on_training.best(weights)[0]
    floor_training = tuning.rule_table(train, train_truth, ["top-k"], **plain)
    tables = {FLOOR: (tuning.rule_table(scored, truth, ["top-k"], **plain), floor_training, None),
              FUSED: (tuning.rule_table(scored, truth, rules, **plain), on_training, weights)}
    rows, per_topic = {}, []
    for name, (table, source, weight) in tables.items():
        chosen = tuning.topic_quality(table, int(np.argmax(source.mean_f2(weight))))
        honest = tuning.crossfit({name: table}, n_splits=n_splits, n_repeats=n_repeats).quality()
        rows[name] = {**chosen[["f2", "precision", "recall"]].mean().to_dict(), "family": chosen["family"].iloc[0],
                      "honest f2 (chosen on the channel's other topics)": honest["f2"],
                      "in-sample f2": table.best()[1]}
        per_topic.append(chosen.assign(pipeline=name))
    return NewChannel(rule, scored, on_training, weights, pd.DataFrame(rows).T.rename_axis("new channel"),
                      pd.concat(per_topic, ignore_index=True)[["pipeline", "topic_id", "f2", "precision", "recall"]])


def save_new_channel(result: NewChannel, folder, **details) -> Path:
    """Save the new-channel rule in ``folder / NEW_CHANNEL`` (inside the selected stage-2
    model's folder), with its grid (every rule and its weighted mean F2 on the training topics,
    :data:`utils.selection.newchannel.GRID_FILE`) and ``new_channel.json`` (``details``)."""
    import json

    from ..kaggle import versions

    target = Path(folder) / NEW_CHANNEL
    target.mkdir(parents=True, exist_ok=True)
    result.rule.save(target / cross_encoder.POSTPROCESS_FILE)
    grid = result.on_training.rules.assign(**{newchannel.TRAINING_F2: result.on_training.mean_f2(result.weights)})
    grid.to_csv(target / newchannel.GRID_FILE, index=False)
    (target / f"{NEW_CHANNEL}.json").write_text(json.dumps({**details, **versions.record()}, indent=2, default=str))
    return target


def load_new_channel(folder) -> tuple[PostProcess, dict] | None:
    """The new-channel rule and its settings saved in ``folder / NEW_CHANNEL`` (with ``grid``:
    every rule of its grid and its mean F2 on the training topics, for
    :func:`utils.selection.newchannel.choose_rule`); None where notebook 05 saved none."""
    import json

    target = Path(folder) / NEW_CHANNEL
    if not (target / f"{NEW_CHANNEL}.json").is_file():
        return None
    settings = json.loads((target / f"{NEW_CHANNEL}.json").read_text())
    settings["grid"] = pd.read_csv(target / newchannel.GRID_FILE) if (target / newchannel.GRID_FILE).is_file() else None
    return PostProcess.load(target / cross_encoder.POSTPROCESS_FILE), settings


def by_regime(model: Stage2, rule: PostProcess, fresh: NewChannel, truth: pd.DataFrame, topics: pd.DataFrame,
              known_ids, min_known: int) -> pd.DataFrame:
    """What notebook 06 does with the validation topics: each topic takes its regime's pipeline
    (:func:`utils.selection.newchannel.regime`), the selected ``model`` with its saved ``rule`` in a known
    channel (in sample: the rule was chosen on these topics; its honest figure is in
    ``f2.csv``), the new-channel pipeline elsewhere (chosen on the training topics alone).
    One row per regime and one for all topics: topics, mean F2, precision and recall."""
    from ..metrics import scores_per_topic
    from .newchannel import KNOWN, NEW, regime

    regimes = regime(truth["topic_id"], topics, known_ids, min_known)
    chosen = {KNOWN: rule.apply(model.scored), NEW: fresh.rule.apply(fresh.scored)}
    picked = {topic: chosen[kind].get(topic, []) for topic, kind in regimes.items()}
    per_topic = scores_per_topic(picked, truth).join(regimes)
    table = per_topic.groupby("regime")[["f2", "precision", "recall"]].mean()
    table.insert(0, "topics", per_topic.groupby("regime").size())
    table.loc["all"] = [len(per_topic), *per_topic[["f2", "precision", "recall"]].mean()]
    return table.reindex([KNOWN, NEW, "all"]).dropna(how="all").astype({"topics": "int64"})
