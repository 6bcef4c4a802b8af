"""Choosing the selection rule, and the stage-2 model, on validation topics: honestly.

:data:`FAMILIES` are grids of :class:`~utils.selection.postprocess.PostProcess` rules. :func:`rule_table`
scores every rule of a grid on each validation topic at once (numpy, no loop over topics or
rules' candidates); :func:`tune` picks the rule of the best mean F2 (in sample: optimistic);
:func:`crossfit` gives the honest figure, where the rule (and the model, among several) is
chosen on some topics and scored on others (repeated k-fold over the validation topics),
since a choice among thousands of rules made on the topics it is scored on overstates what
it does on new ones; :func:`compare` and :func:`by_family` put both side by side.
:func:`transfer` scores rules chosen on other folds, and :func:`joined` puts the tables of
several folds' topics together.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedKFold

from ..metrics import as_id_lists, f_beta
from ..selection import postprocess
from .postprocess import FIELDS, PostProcess, Ranked, considered, supply_of

THRESHOLDS = tuple(np.round(np.linspace(0.0, 0.98, 50), 2))
"""Absolute thresholds tried: fixed values (not the scores' quantiles), so that the same grid
scores every fold and a rule chosen on some folds applies to another."""

TOP_KS = (*range(1, 21), *range(25, 101, 5))
"""The fixed numbers per topic the ``top-k`` family tries: every k to 20, then every fifth to
100, so that the floor also fits curricula whose topics have dozens of links (some of
mini-LECR's supplemental channels: docs/RESULTS.md, "Whole channels held out")."""

FAMILIES: dict[str, list[dict]] = {
    "threshold": [{"relative": None, "fill": f} for f in (1, 2, 3)],
    "relative": [{"relative": r, "fill": f} for r in (0.5, 0.6, 0.7, 0.8, 0.9) for f in (1, 2, 3)],
    "at least n": [{"min_items": n} for n in (2, 3, 4, 5, 6, 8, 10)],
    "top-k": [{"min_items": k, "threshold": None} for k in TOP_KS],
    "supply": [{"per_supply": a, "min_items": n, "threshold": None}
               for a in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0) for n in (1, 2, 3, 4, 5, 6, 8, 10)],
}
"""The rule families :func:`rule_table` scores: each entry, with every threshold of
:data:`THRESHOLDS` unless it sets ``threshold`` (None), is one rule. ``threshold``: an
absolute threshold (and a fill); ``relative``: also relative to the topic's best; ``at least
n``: a threshold above the topic's best n; ``top-k``: a
fixed number per topic (the floor any rule must beat); ``supply``: at least n, and at least a
multiple of the topic's supply of items (a label-free count: :mod:`utils.selection.newchannel`), by
score alone."""

RULE_COLUMNS = ["family", *FIELDS]


@dataclass
class RuleTable:
    """Every rule of a grid scored on every validation topic: ``rules`` (one row per rule,
    :data:`RULE_COLUMNS`), and per rule and topic the items kept (``kept``) and the true links
    among them (``hits``); ``truths``: each topic's number of true links."""

    rules: pd.DataFrame
    topics: pd.Index
    kept: np.ndarray
    hits: np.ndarray
    truths: np.ndarray
    score: str = "score"
    blend_with: str = "retriever_score"
    reuse_gate: float | None = None
    """The gate ``skip_taken`` rules were scored with (None: :data:`utils.selection.postprocess.REUSE_GATE`)."""

    def f2(self) -> np.ndarray:
        """Rules x topics: each rule's F2 on each topic (0 where it keeps no true link)."""
        return f_beta(self.hits, self.kept, self.truths).astype(np.float32)

    def quality(self, index=None) -> pd.DataFrame:
        """Mean F2, precision and recall of rules (default: all) over all topics."""
        index = slice(None) if index is None else index
        kept, hits = self.kept[index], self.hits[index]
        precision = np.divide(hits, kept, out=np.zeros_like(hits, dtype=float), where=kept > 0)
        return pd.DataFrame({"f2": f_beta(hits, kept, self.truths).mean(-1),
                             "precision": precision.mean(-1),
                             "recall": (hits / self.truths).mean(-1)})

    def rule(self, i: int) -> PostProcess:
        return PostProcess.from_row(self.rules.iloc[i].to_dict(), self.score, self.blend_with, self.reuse_gate)

    def best(self, weights=None) -> tuple[PostProcess, float]:
        """The rule of the highest mean F2 (the first such in grid order) and that F2; with
        ``weights`` (one per topic), the highest weighted mean."""
        mean = self.mean_f2(weights)
        i = int(np.argmax(mean))
        return self.rule(i), float(mean[i])

    def mean_f2(self, weights=None) -> np.ndarray:
        """Each rule's mean F2 over the topics, weighted by ``weights`` (one per topic) if given."""
        f2 = self.f2()
        if weights is None:
            return f2.mean(axis=1)
        weights = np.asarray(weights, dtype=float)
        return f2 @ (weights / weights.sum())

    def subset(self, families=None, skip_taken: bool | None = None) -> "RuleTable":
        """The table of the rules of ``families`` only (None: all), and of that ``skip_taken``
        (None: both)."""
        if families is None and skip_taken is None:
            return self
        keep = np.ones(len(self.rules), dtype=bool)
        if families is not None:
            keep &= self.rules["family"].isin(list(families)).to_numpy()
        if skip_taken is not None:
            keep &= (self.rules["skip_taken"].astype(bool) == skip_taken).to_numpy()
        if not keep.any():
            raise ValueError(f"no rule of families {list(families or [])} and skip_taken {skip_taken} in "
                             f"this table (it has {sorted(self.rules['family'].unique())})")
        return RuleTable(self.rules[keep].reset_index(drop=True), self.topics, self.kept[keep],
                         self.hits[keep], self.truths, self.score, self.blend_with, self.reuse_gate)


def _truth_counts(truth, topics) -> tuple[np.ndarray, set]:
    lists = as_id_lists(truth)
    missing = [t for t in topics if not lists.get(t)]
    if missing:
        raise ValueError(f"{len(missing)} scored topic(s) have no true link to score against, "
                         f"e.g. {missing[:3]}: pass only topics with correlations")
    return (np.array([len(set(lists[t])) for t in topics], dtype=float),
            {(t, c) for t, ids in lists.items() for c in ids})


def rule_table(scored: pd.DataFrame, truth, families=None, blends=(0.0,), score: str = "score",
               blend_with: str = "retriever_score", thresholds=THRESHOLDS,
               skip_taken=(False, True)) -> RuleTable:
    """Score every rule of ``families`` (names of :data:`FAMILIES`, or a dict like it;
    default all) at each blend, with and without ``skip_taken`` (each value of it), on every
    topic of ``truth`` (topics it has that ``scored`` lacks score 0)."""
    families = {name: FAMILIES[name] for name in (families or FAMILIES)} if not isinstance(
        families, dict) else families
    topics = pd.Index(sorted(as_id_lists(truth)), name="topic_id")
    truths, links = _truth_counts(truth, topics)
    scored = scored[scored["topic_id"].isin(topics)]
    label = np.fromiter(((t, c) in links for t, c in zip(scored["topic_id"], scored["content_id"])),
                        dtype=bool, count=len(scored))
    gate = postprocess.REUSE_GATE  # read now, and kept with the table's rules
    rows_read = considered(scored, gate)
    rows, kept, hits = [], [], []
    for blend in blends:
        blocks = {}
        for skip in skip_taken:
            if skip and rows_read.all() and False in blocks:  # nothing taken: the same sets
                blocks[skip] = blocks[False]
            else:
                part = rows_read if skip else np.ones(len(scored), dtype=bool)
                blocks[skip] = _scored_rules(scored[part], label[part], topics, families, float(blend),
                                             score, blend_with, thresholds)
            block_rows, block_kept, block_hits = blocks[skip]
            rows += [{**row, "skip_taken": bool(skip)} for row in block_rows]
            kept += block_kept
            hits += block_hits
    rules = pd.DataFrame(rows, columns=RULE_COLUMNS)
    counts = np.int16 if len(scored) and scored.groupby("topic_id").size().max() < 2**15 else np.int32
    return RuleTable(rules, topics, np.array(kept, dtype=counts), np.array(hits, dtype=counts),
                     truths, score, blend_with, gate)


def _scored_rules(scored, label, topics, families, blend, score, blend_with, thresholds):
    """Per rule of ``families`` at ``blend`` on the rows of ``scored``: its fields, and the
    items it keeps and the true links among them per topic of ``topics``."""
    rule = PostProcess(score=score, blend=blend, blend_with=blend_with)
    frame = Ranked(scored["topic_id"].to_numpy(), rule.final_scores(scored).to_numpy(float),
                   scored["content_id"].to_numpy(), supply_of(scored))
    frame_label = label[frame.order]
    column = topics.get_indexer(frame.topics)
    rows, kept, hits = [], [], []
    for family, entries in families.items():
        for entry in entries:
            grid = [entry.get("threshold")] if "threshold" in entry else thresholds
            for threshold in grid:
                rule = PostProcess(**{**entry, "threshold": threshold}, score=score,
                                   blend=blend, blend_with=blend_with)
                keep = frame.keep(rule)
                row_kept, row_hits = np.zeros(len(topics)), np.zeros(len(topics))
                row_kept[column] = frame.by_topic(keep)
                row_hits[column] = frame.by_topic(keep & frame_label)
                kept.append(row_kept)
                hits.append(row_hits)
                rows.append({"family": family, **{k: v for k, v in asdict(rule).items() if k in RULE_COLUMNS}})
    return rows, kept, hits


def threshold_curve(table: RuleTable) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, the best mean F2 of the table's rules at each absolute threshold): the F2
    curve of a threshold, in sample."""
    f2 = pd.Series(table.f2().mean(axis=1)).groupby(table.rules["threshold"].to_numpy()).max()
    return f2.index.to_numpy(float), f2.to_numpy()


def tune(scored: pd.DataFrame, truth, score: str = "score", families=None, blends=(0.0,),
         blend_with: str = "retriever_score") -> tuple[PostProcess, RuleTable]:
    """The rule of the best mean F2 on ``truth``'s topics (in sample), and the scored grid."""
    table = rule_table(scored, truth, families, blends, score, blend_with)
    return table.best()[0], table


def stage1_tables(candidates: pd.DataFrame, truth, families=None) -> dict[str, RuleTable]:
    """The stage-1 baselines on recall's candidates: a fixed top-k of the fused list (the
    floor any rule must beat; it skips nothing, ``skip_taken``) and ``families``' rules on the
    retriever's cosine (0 where only TF-IDF found the pair)."""
    return {
        "stage 1: fused list, top-k": rule_table(candidates.assign(score=1.0 / candidates["rank"]),
                                                 truth, ["top-k"], skip_taken=(False,)),
        "stage 1: retriever cosine": rule_table(
            candidates.assign(score=candidates["retriever_score"].fillna(0.0)), truth, families),
    }


# -- honest figures: choose on some topics, score on others -------------------------------------

def topic_quality(table: RuleTable, rule: int, columns=slice(None)) -> pd.DataFrame:
    """Per topic of ``table`` (``columns``: some of them): the F2, precision and recall of its
    ``rule``-th rule, and that rule's family."""
    kept, hits = table.kept[rule, columns], table.hits[rule, columns]
    return pd.DataFrame({
        "topic_id": table.topics[columns],
        "f2": f_beta(hits, kept, table.truths[columns]),
        "precision": np.divide(hits, kept, out=np.zeros(np.shape(hits)), where=kept > 0),
        "recall": hits / table.truths[columns], "family": table.rules["family"].iloc[rule]})


@dataclass
class CrossFit:
    """Out-of-sample figures of a choice among rules (and models): per topic and repeat, the
    F2, precision and recall of the rule chosen without that topic, and what was chosen."""

    per_topic: pd.DataFrame
    """Index (repeat, topic_id); columns f2, precision, recall, model and family chosen."""

    def quality(self) -> pd.Series:
        """Mean F2, precision and recall over topics (averaged over repeats)."""
        return self.per_topic[["f2", "precision", "recall"]].groupby(level="repeat").mean().mean()

    def spread(self) -> float:
        """Standard deviation of the mean F2 across repeats (how much the split matters)."""
        return float(self.per_topic["f2"].groupby(level="repeat").mean().std(ddof=0))


def crossfit(tables: dict[str, RuleTable], n_splits: int = 5, n_repeats: int = 5,
             seed: int = 0) -> CrossFit:
    """Honest figures of "take the model and rule of the best mean F2" among ``tables`` (one
    per model, scored on the same topics): repeated ``n_splits``-fold over the topics, the
    choice made on the other parts' topics and scored on the part's."""
    names = list(tables)
    topics = tables[names[0]].topics
    if any(not t.topics.equals(topics) for t in tables.values()):
        raise ValueError("crossfit needs tables scored on the same topics")
    if len(topics) < 2:
        raise ValueError(f"crossfit needs at least 2 topics, got {len(topics)}")
    f2 = {name: table.f2() for name, table in tables.items()}
    parts = min(n_splits, len(topics))
    splitter = RepeatedKFold(n_splits=parts, n_repeats=n_repeats, random_state=seed)
    out = []
    for i, (fit, held) in enumerate(splitter.split(np.arange(len(topics)))):
        means = {name: f2[name][:, fit].mean(axis=1) for name in names}
        name = max(names, key=lambda n: means[n].max())  # ties: the first model named
        chosen = topic_quality(tables[name], int(np.argmax(means[name])), held)
        out.append(chosen.assign(repeat=i // parts, model=name))
    return CrossFit(pd.concat(out).set_index(["repeat", "topic_id"]).sort_index())


def joined(tables) -> RuleTable:
    """One table of every topic of ``tables`` (the same grid, different topics: e.g. several
    folds' validation topics)."""
    tables = list(tables)
    if not tables:
        raise ValueError("joined needs at least one rule table")
    first = tables[0]
    if any(not t.rules.equals(first.rules) for t in tables[1:]):
        raise ValueError("joined needs tables scored with the same grid (families and blends)")
    topics = first.topics.append([t.topics for t in tables[1:]])
    if topics.has_duplicates:
        raise ValueError(f"joined: topics in more than one table, e.g. "
                         f"{topics[topics.duplicated()][:3].tolist()}: join the tables of different topics")
    return RuleTable(first.rules, topics, *(np.concatenate([getattr(t, name) for t in tables], axis=-1)
                                            for name in ("kept", "hits", "truths")),
                     first.score, first.blend_with, first.reuse_gate)


def compare(tables: dict[str, RuleTable], families=None, **crossfit_args) -> pd.DataFrame:
    """One row per model, and one (``selected``) for choosing among them: the honest
    (cross-fitted) F2, precision and recall of choosing its rule on other topics, the spread
    of that F2 over repeats, and the in-sample F2 of the best rule, with that rule (and
    model), each among ``families`` (default all)."""
    tables = {name: table.subset(families) for name, table in tables.items()}
    rows = {}
    for name, table in tables.items():
        honest = crossfit({name: table}, **crossfit_args)
        rule, f2 = table.best()
        rows[name] = {**honest.quality().add_prefix("honest ").to_dict(), "spread": honest.spread(),
                      "in-sample f2": f2, "model": name, "rule": rule}
    honest = crossfit(tables, **crossfit_args)
    best = max(rows, key=lambda n: rows[n]["in-sample f2"])
    rows["selected"] = {**honest.quality().add_prefix("honest ").to_dict(), "spread": honest.spread(),
                        "in-sample f2": rows[best]["in-sample f2"], "model": best,
                        "rule": rows[best]["rule"]}
    return pd.DataFrame(rows).T


def by_family(tables: dict[str, RuleTable], **crossfit_args) -> pd.DataFrame:
    """Honest and in-sample F2 of each rule family (rows) for each model (columns, two
    levels: ``honest`` and ``in-sample``)."""
    honest, in_sample = {}, {}
    for name, table in tables.items():
        for family in table.rules["family"].unique():
            part = table.subset([family])
            honest[(name, family)] = crossfit({name: part}, **crossfit_args).quality()["f2"]
            in_sample[(name, family)] = part.best()[1]
    frame = pd.DataFrame({"honest": pd.Series(honest), "in-sample": pd.Series(in_sample)})
    return frame.unstack(level=0).swaplevel(axis=1).sort_index(axis=1)


def transfer(tables: dict, families=None) -> pd.DataFrame:
    """Rules chosen on other folds: ``tables`` is ``{fold: {model: RuleTable}}``, every table
    scored with the same grid; for each fold and model (and ``selected``, the choice among
    models), the rule of the best mean F2 over the other folds' topics, scored on the fold's.
    Returns one row per (fold, model): F2, precision, recall, and the family chosen."""
    folds = list(tables)
    models = list(tables[folds[0]])
    rows = []
    for fold in folds:
        others = [f for f in folds if f != fold]
        if not others:
            raise ValueError("transfer needs at least two folds")
        means = {}
        for model in models:
            parts = [tables[f][model].subset(families) for f in others]
            if any(not p.rules.equals(parts[0].rules) for p in parts):
                raise ValueError(f"{model}: the folds' rule grids differ; score them with one grid")
            means[model] = np.concatenate([p.f2() for p in parts], axis=1).mean(axis=1)
        for model in [*models, "selected"]:
            name = max(models, key=lambda n: means[n].max()) if model == "selected" else model
            table = tables[fold][name].subset(families)
            chosen = topic_quality(table, int(np.argmax(means[name])), slice(None))
            rows.append({"fold": fold, "model": model, "chosen": name,
                         "family": chosen["family"].iloc[0],
                         **chosen[["f2", "precision", "recall"]].mean().to_dict()})
    return pd.DataFrame(rows)
