"""A curriculum the suite has not seen: what recall and selection use for a topic whose
channel has no known links.

Within a curriculum whose topics are partly aligned (enough known links in the topic's
channel: :data:`MIN_KNOWN`), the pipeline of notebooks 04-05 applies as validated within a
channel. A topic of a new curriculum has none of that to lean on: a rule tuned on other
curricula guesses its number of items badly (mini-LECR's channels have 2 to 25 links a
topic), and a retriever fine-tuned on them ranks a new curriculum's items worse than the
model as shipped. What it can lean on needs no label of the new channel:

- **supply**: new content usually arrives with its curriculum (LECR's hidden test adds items
  that only its new topics link). For each topic, the items of its language that no known
  topic of *another* channel links are its channel's likely pool (``unlinked``), and the
  topics that still need items (the open topics of that language, and the topic's own
  channel's) share them: ``supply`` = unlinked / open, a label-free guess of the items a topic
  gets;
- **the pool as a recall source** (``pool``, :func:`pool_candidates`): the topic's nearest
  unlinked items of its language, as many as its supply suggests, at least the list's top K,
  so that a topic with dozens of items can recall them all.

:class:`Supply` computes both from the known links, always hiding the topic's own channel, so
that a training topic of a known channel looks as a topic of a new channel does: the rule
that turns the supply into a number of items per topic (the ``supply`` family of
:data:`utils.selection.tuning.FAMILIES`) is chosen on the training topics, each channel weighing the
same (:func:`utils.selection.stage2.new_channel`), and applies to channels no stage saw.
:func:`frame` fuses the pool with TF-IDF, the fine-tuned and the zero-shot bi-encoders into
the new-channel candidates, ordered as the in-channel list is (more votes, then the higher
mean score). A ranker trained on the training topics' new-channel candidates ordered them
worse on held-out channels than that fusion, and is not used (docs/history.md).

:func:`regime` says which topics are of a new channel. A curator often aligns a few topics
of a new curriculum first: :func:`choose_rule` then chooses the rule on them as well, each
weighing as much as ``MIN_KNOWN`` training topics' mean together (at ``MIN_KNOWN`` known
topics, the channel's own topics weigh half).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..retrieval import search
from ..retrieval.search import COLUMNS

MIN_KNOWN = 20
"""A channel with at least this many known linked topics is a known curriculum (notebook 05's
in-channel pipeline); with fewer, its topics take the new-channel pipeline."""
POOL_FACTOR = 3.0
"""The pool source recalls ``POOL_FACTOR`` x a topic's supply of unlinked items (at least
the candidate list's top K, at most the pool): a topic's items vary about threefold around
its channel's mean (docs/RESULTS.md, "A new curriculum")."""
NEW, KNOWN = "new", "known"
GRID_FILE, TRAINING_F2 = "grid.csv", "training f2"
"""Saved with the new-channel pipeline: every rule of its grid and that rule's mean F2 on the
training topics, each channel weighing the same (the choice a channel's known topics then
refine)."""
CANDIDATES_FILE = "candidates_new.parquet"
"""Notebook 04's new-channel candidates of every topic, beside ``candidates.parquet``."""


def regime(topic_ids, topics: pd.DataFrame, known_ids, min_known: int = MIN_KNOWN) -> pd.Series:
    """Per topic of ``topic_ids``: :data:`KNOWN` where its channel has at least ``min_known``
    topics among ``known_ids`` (the topics whose links are known), else :data:`NEW`."""
    channel = topics.set_index("id")["channel"]
    known = channel.reindex(list(set(known_ids))).dropna().value_counts()
    ids = pd.Index(list(topic_ids), name="topic_id")
    counts = ids.map(channel).map(known).fillna(0).to_numpy()
    return pd.Series(np.where(counts >= min_known, KNOWN, NEW), index=ids, name="regime")


class Supply:
    """The known links seen from each topic with its own channel's links hidden.

    ``topics``, ``content``: the competition tables; ``known_links``: ``topic_id,
    content_id`` of the topics whose links are known; ``open_ids``: the topics that still
    need items (the validation fold, the topics to predict).
    """

    def __init__(self, topics: pd.DataFrame, content: pd.DataFrame, known_links: pd.DataFrame,
                 open_ids):
        self.channel = topics.set_index("id")["channel"]
        self.language = topics.set_index("id")["language"]
        self.content_language = content.set_index("id")["language"]
        links = known_links[["topic_id", "content_id"]].drop_duplicates()
        links = links.assign(channel=links["topic_id"].map(self.channel).to_numpy())
        self.total = links.groupby("content_id").size()
        self.by_channel = links.groupby(["channel", "content_id"]).size()
        # items every known link of which is in one channel: unlinked once it is hidden
        sole = links.drop_duplicates(["channel", "content_id"]).groupby("content_id")["channel"]
        only = sole.first()[sole.size() == 1]
        exclusive = pd.DataFrame({"content_id": only.index, "channel": only.to_numpy(),
                                  "language": only.index.map(self.content_language)})
        self.exclusive = exclusive.groupby(["channel", "language"])["content_id"].agg(list)
        never = content.loc[~content["id"].isin(self.total.index), ["id", "language"]]
        self.never = never.groupby("language")["id"].agg(list)
        open_ids = pd.Index(sorted(set(open_ids)))
        self.open = self.language.reindex(open_ids).value_counts()
        known_topics = links.drop_duplicates("topic_id")["topic_id"]
        self.known_open = pd.Series(1, index=pd.MultiIndex.from_arrays(
            [known_topics.map(self.channel), known_topics.map(self.language)])).groupby(level=[0, 1]).sum()

    def pool(self, channel: str, language: str) -> list[str]:
        """The items of ``language`` that no known topic outside ``channel`` links."""
        return [*self.never.get(language, []), *self.exclusive.get((channel, language), [])]

    def table(self, topic_ids) -> pd.DataFrame:
        """Per topic (index ``topic_id``): ``channel``, ``language``, ``unlinked`` (the size of
        its pool), ``open`` (the topics that share it: the open topics of its language and its
        own channel's known ones) and ``supply`` = unlinked / open."""
        ids = pd.Index(list(dict.fromkeys(topic_ids)), name="topic_id")
        out = pd.DataFrame({"channel": ids.map(self.channel), "language": ids.map(self.language)}, index=ids)
        never = out["language"].map(self.never.str.len()).fillna(0)
        keys = pd.MultiIndex.from_frame(out[["channel", "language"]])
        own = self.exclusive.str.len().reindex(keys).fillna(0).to_numpy()
        known = self.known_open.reindex(keys).fillna(0).to_numpy()
        out["unlinked"] = (never.to_numpy() + own).astype("int64")
        out["open"] = (out["language"].map(self.open).fillna(0).to_numpy() + known).astype("int64")
        out["supply"] = out["unlinked"] / out["open"].clip(lower=1)
        return out

    def annotate(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """``candidates`` with the topic's ``supply`` (:meth:`table`), which the ``supply``
        rules read (:attr:`utils.selection.postprocess.PostProcess.per_supply`)."""
        table = self.table(candidates["topic_id"].unique())
        return candidates.assign(supply=candidates["topic_id"].map(table["supply"]).to_numpy(float))


def pool_sizes(table: pd.DataFrame, k: int, factor: float = POOL_FACTOR) -> pd.Series:
    """Per topic of a :meth:`Supply.table`: how many pool items to recall, ``factor`` x its
    supply, at least ``k``, at most its pool."""
    wanted = np.maximum(k, np.ceil(factor * table["supply"].to_numpy()))
    return pd.Series(np.minimum(wanted, table["unlinked"].to_numpy()).astype("int64"), index=table.index)


def pool_candidates(queries: pd.DataFrame, query_emb: np.ndarray, corpus: pd.DataFrame,
                    corpus_emb: np.ndarray, supply: Supply, k: int = 50,
                    factor: float = POOL_FACTOR, query_chunk: int = 1024) -> pd.DataFrame:
    """The pool source: each query's nearest items of its pool (:meth:`Supply.pool`) by cosine,
    :func:`pool_sizes` of them. ``queries``/``corpus`` (``id, language``) are aligned with
    their embeddings; items of the pool missing from ``corpus`` are not searched."""
    table = supply.table(queries["id"])
    table["k"] = pool_sizes(table, k, factor)
    table = table[table["k"] > 0]
    row_of_query = pd.Series(np.arange(len(queries)), index=queries["id"].to_numpy())
    row_of_item = pd.Series(np.arange(len(corpus)), index=corpus["id"].to_numpy())
    row_of_item = row_of_item[~row_of_item.index.duplicated()]
    parts = []
    for (channel, language, size), group in table.groupby(["channel", "language", "k"], sort=False):
        items = row_of_item.reindex(supply.pool(channel, language)).dropna().astype("int64").to_numpy()
        if not len(items):
            continue
        rows = row_of_query[group.index].to_numpy()
        parts.append(search.search(queries.iloc[rows], query_emb[rows], corpus.iloc[items], corpus_emb[items],
                                   k=int(size), query_chunk=query_chunk))
    if not parts:
        return pd.DataFrame({"topic_id": pd.Series(dtype=str), "content_id": pd.Series(dtype=str),
                             "rank": pd.Series(dtype="int64"), "score": pd.Series(dtype="float32")})
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def frame(sources: dict[str, pd.DataFrame], k: int = 50) -> pd.DataFrame:
    """The new-channel candidates: the fused top ``k`` of TF-IDF, the fine-tuned and the
    zero-shot bi-encoders (whichever of ``tfidf``, ``retriever``, ``zero_shot`` ``sources``
    holds), and every candidate of the ``pool`` source, fused (more votes first, then the
    higher mean score; :func:`utils.retrieval.candidates.fuse`)."""
    from ..retrieval.candidates import fuse

    listed = [name for name in ("tfidf", "retriever", "zero_shot") if name in sources]
    if not listed:
        raise ValueError(f"the new-channel candidates need a recall source, got {list(sources)}")
    top = fuse({name: sources[name] for name in listed}, k=k)
    with_pool = {name: sources[name] for name in listed}
    if "pool" in sources:
        with_pool["pool"] = sources["pool"]
    every = fuse(with_pool, k=np.iinfo(np.int32).max)
    pairs = pd.MultiIndex.from_frame(every[["topic_id", "content_id"]])
    keep = pairs.isin(pd.MultiIndex.from_frame(top[["topic_id", "content_id"]]))
    if "pool_rank" in every:
        keep |= every["pool_rank"].notna().to_numpy()
    kept = every[keep].drop(columns="rank")
    return search.with_ranks(kept, "mean_score", keys=["votes"])[every.columns].reset_index(drop=True)


def choose_rule(grid: pd.DataFrame, known=None, prior: float = MIN_KNOWN):
    """The rule of the new-channel grid (:data:`GRID_FILE`: its rules and their mean F2 on the
    training topics) for a channel whose ``known`` topics (a
    :class:`~utils.selection.tuning.RuleTable` of the same rules, scored on them, with and without
    ``skip_taken``) are few: the best of (``prior`` x the training mean + the F2 summed over
    the known topics) / (``prior`` + their number), among the rules both tables hold. A
    ``skip_taken`` rule's training mean is its plain twin's (no item is taken where the
    channel is hidden). Without known topics, the rule chosen on the training topics."""
    from .postprocess import FIELDS, PostProcess

    fields = [f for f in FIELDS if f != "skip_taken"]

    def keys(rules):  # the grid's fields as numbers (None as NaN), comparable across a CSV file;
        # a field a grid saved by an earlier version lacks is unset (NaN) in all its rules
        return rules.assign(**{f: pd.to_numeric(rules[f]).astype(float) if f in rules else np.nan
                               for f in fields})

    trained = keys(grid.drop(columns="skip_taken", errors="ignore"))
    if known is None or not len(known.topics):
        best = trained.iloc[int(np.argmax(trained[TRAINING_F2].to_numpy()))]
        return PostProcess.from_row(best.to_dict())
    rules = keys(known.rules.drop(columns="skip_taken")).assign(_row=np.arange(len(known.rules)))
    matched = rules.merge(trained, on=["family", *fields], how="inner").sort_values("_row")
    if matched.empty:
        raise ValueError("choose_rule: the known topics' rules are not the saved grid's; score them with "
                         "the new-channel families (utils.selection.stage2.NEW_CHANNEL_RULES)")
    rows = matched["_row"].to_numpy()
    total = prior * matched[TRAINING_F2].to_numpy() + known.f2()[rows].sum(axis=1)
    best = rows[int(np.argmax(total / (prior + len(known.topics))))]
    return known.rule(int(best))


def select(scored: pd.DataFrame, rule, topics: pd.DataFrame, grid: pd.DataFrame | None = None,
           known: pd.DataFrame | None = None, known_truth: pd.DataFrame | None = None,
           prior: float = MIN_KNOWN) -> dict[str, list[str]]:
    """``{topic_id: [content ids, best first]}`` for the new-channel candidates ``scored`` (the
    ranker's ``score``): by ``rule`` (chosen on the training topics), except in a channel with
    ``known`` topics (the same kind of scored candidates, of topics whose links
    ``known_truth`` holds), where :func:`choose_rule` chooses on them too, from ``grid``."""
    from .tuning import rule_table

    if grid is None or known is None or known.empty:
        return rule.apply(scored)
    channel = topics.set_index("id")["channel"]
    families = sorted(set(grid["family"]))
    chosen = {}
    known_channel = known["topic_id"].map(channel)
    for name, part in scored.groupby(scored["topic_id"].map(channel), sort=False):
        mine = known[known_channel == name]
        truth = known_truth[known_truth["topic_id"].isin(set(mine["topic_id"]))] if len(mine) else None
        if truth is None or truth.empty:
            chosen.update(rule.apply(part))
            continue
        table = rule_table(mine, truth, families)
        chosen.update(choose_rule(grid, table, prior).apply(part))
    return chosen
