"""Load and validate a competition folder in the Kaggle LECR layout.

``load_competition(path)`` reads the four CSV files into typed pandas frames whose text
columns hold ``""`` (never NaN), checks them, and returns an :class:`LECRData`. Every problem
raises one :class:`DataError` whose message names the file, the first offending rows (as
1-based data rows, header excluded, with their ids) and what to fix. Oddities that real data
has (a content language that differs from its topic's) are :class:`DataWarning` warnings with
a count, kept in ``LECRData.warnings``.

Ids are a prefix (``t_`` for topics, ``c_`` for content) followed by one token without
whitespace or commas (:data:`ID_RULE`). What can be fixed without guessing is fixed, with a
counted warning: a file saved as UTF-16, tab-separated or gzip-compressed
(:mod:`utils.data.csvfile`), spaces around an id, a language code in capitals (``EN`` is ``en``),
a content id listed twice in one row. A file that is not UTF-8 is an error, not a guess.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from . import csvfile

FILES = {
    "topics": (
        "topics.csv",
        ["id", "title", "description", "channel", "category", "level", "language", "parent",
         "has_content"],
    ),
    "content": (
        "content.csv",
        ["id", "title", "description", "kind", "text", "language", "copyright_holder", "license"],
    ),
    "correlations": ("correlations.csv", ["topic_id", "content_ids"]),
    "sample_submission": ("sample_submission.csv", ["topic_id", "content_ids"]),
}
CATEGORIES = ("source", "aligned", "supplemental")
KINDS = ("document", "video", "exercise", "audio", "html5")
_SHOW = 5  # rows named in an error message


class DataError(ValueError):
    """A competition file that cannot be used as it is (the message says where and how to fix)."""


class DataWarning(UserWarning):
    """Something unusual but usable in a competition file."""


@dataclass
class LECRData:
    """The four competition tables, typed, NaN-free and validated."""

    path: Path
    topics: pd.DataFrame
    content: pd.DataFrame
    correlations: pd.DataFrame
    sample_submission: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @cached_property
    def links(self) -> pd.DataFrame:
        """Correlations in long form: one ``(topic_id, content_id)`` row per link."""
        return explode_ids(self.correlations)

    def __repr__(self) -> str:
        return (f"LECRData({str(self.path)!r}: {len(self.topics):,} topics, "
                f"{len(self.content):,} content, {len(self.links):,} links, "
                f"{len(self.sample_submission):,} topics to predict)")


def explode_ids(frame: pd.DataFrame, column: str = "content_ids") -> pd.DataFrame:
    """``(topic_id, "c_1 c_2")`` rows -> one ``(topic_id, content_id)`` row per id."""
    long = frame.assign(content_id=frame[column].str.split())[["topic_id", "content_id"]]
    long = long.explode("content_id").dropna(subset=["content_id"])
    return long.reset_index(drop=True).astype({"topic_id": str, "content_id": str})


def _rows(frame: pd.DataFrame, mask, id_column: str = "id") -> str:
    """Name the first few rows where ``mask`` holds: data row number (1-based) and id."""
    hits = frame.index[mask]
    shown = ", ".join(
        f"row {i + 1} ({id_column} {frame.at[i, id_column]!r})" for i in hits[:_SHOW]
    )
    more = f" and {len(hits) - _SHOW} more" if len(hits) > _SHOW else ""
    return f"{len(hits)} row(s): {shown}{more}"


def read_table(path: Path, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Read one competition CSV as strings (empty fields are ``""``) and check its columns;
    also return the notes on what :func:`utils.data.csvfile.read` normalised to read it."""
    filename, columns = FILES[name]
    file = Path(path) / filename
    if not file.exists():
        raise DataError(
            f"{file}: file not found. A competition folder holds "
            f"{', '.join(f for f, _ in FILES.values())}; pass the folder that contains them "
            f"(or generate one with `python -m utils.data.demo --out DIR`)."
        )
    try:
        frame, notes = csvfile.read(file)
    except csvfile.CSVError as err:
        raise DataError(f"{err} The file needs the header row {','.join(columns)} and its data rows."
                        if "empty" in str(err) or "no header" in str(err) else str(err)) from None
    if name == "sample_submission" and "content_ids" not in frame.columns:
        frame["content_ids"] = ""  # a plain list of the topics to predict will do
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{file}: missing column(s) {missing}; found {list(frame.columns)}. "
            f"The file needs the columns {columns} (Kaggle's LECR layout)."
        )
    return frame, [f"{filename}: {note}." for note in notes]


ID_COLUMNS = {"topics": ("id", "parent"), "content": ("id",), "correlations": ("topic_id",),
              "sample_submission": ("topic_id",)}
"""The columns of each file that hold one id (``content_ids`` holds a space-separated list)."""
ID_RULE = r"[^\s,]+"
"""What follows an id's prefix (``t_``, ``c_``): one non-empty token, no whitespace or comma."""


def _normalise(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Fix, in place and with a counted note each, what is unambiguous: spaces around ids,
    a language code's case and spaces (``EN`` is ``en``), runs of spaces in ``content_ids``
    and a content id listed twice in one row."""
    notes = []
    for name, columns in ID_COLUMNS.items():
        frame, filename = tables[name], FILES[name][0]
        for column in columns:
            stripped = frame[column].str.strip()
            changed = stripped != frame[column]
            if changed.any():
                notes.append(f"{filename}: spaces around {column} in {_rows(frame, changed, column)}; "
                             "stripped.")
                frame[column] = stripped
    for name in ("topics", "content"):
        frame, filename = tables[name], FILES[name][0]
        code = frame["language"].str.strip().str.lower()
        changed = code != frame["language"]
        if changed.any():
            examples = sorted(set(frame.loc[changed, "language"]))[:_SHOW]
            notes.append(f"{filename}: language code in another case or with spaces ({examples}) in "
                         f"{changed.sum():,} row(s); read in lower case.")
            frame["language"] = code
    for name in ("correlations", "sample_submission"):
        frame, filename = tables[name], FILES[name][0]
        tokens = frame["content_ids"].str.split()
        unique = tokens.map(lambda ids: list(dict.fromkeys(ids)))
        repeated = tokens.str.len() != unique.str.len()
        if repeated.any():
            notes.append(f"{filename}: a content id listed twice in {_rows(frame, repeated, 'topic_id')}; "
                         "kept once.")
        frame["content_ids"] = unique.str.join(" ")
    return notes


def _check_ids(frame: pd.DataFrame, file: str, column: str, prefix: str) -> None:
    ids = frame[column]
    empty = ids.str.strip() == ""
    if empty.any():
        raise DataError(f"{file}: empty {column} in {_rows(frame, empty, column)}; "
                        f"every row needs an id.")
    dup = ids.duplicated(keep=False)
    if dup.any():
        raise DataError(f"{file}: duplicate {column} in {_rows(frame, dup, column)}; "
                        f"each {column} must appear once: remove or merge the repeated rows.")
    bad = ~ids.str.fullmatch(prefix + ID_RULE)
    if bad.any():
        raise DataError(f"{file}: {column} is not {prefix!r} followed by one token (no spaces or "
                        f"commas) in {_rows(frame, bad, column)}; ids look like {prefix}0123456789ab.")


def _typed_topics(topics: pd.DataFrame) -> pd.DataFrame:
    level = pd.to_numeric(topics["level"], errors="coerce")
    bad = level.isna() | (level < 0) | (level % 1 != 0)
    if bad.any():
        raise DataError(f"topics.csv: level is not a whole number >= 0 in {_rows(topics, bad)}.")
    flag = topics["has_content"].str.strip().str.lower()
    bad = ~flag.isin(["true", "false", "1", "0"])
    if bad.any():
        raise DataError(f"topics.csv: has_content is not True/False in {_rows(topics, bad)}.")
    bad = ~topics["category"].isin(CATEGORIES)
    if bad.any():
        raise DataError(f"topics.csv: category not in {CATEGORIES} in {_rows(topics, bad)}.")
    return topics.assign(level=level.astype("int64"), has_content=flag.isin(["true", "1"]))


def _check_tree(topics: pd.DataFrame) -> None:
    known = set(topics["id"])
    has_parent = topics["parent"] != ""
    dangling = has_parent & ~topics["parent"].isin(known)
    if dangling.any():
        raise DataError(
            f"topics.csv: parent names no topic in {_rows(topics, dangling)}; add the parent "
            f"topic, or empty the parent field if the row is a channel root."
        )
    by_id = topics.set_index("id")
    parent_channel = topics["parent"].map(by_id["channel"])
    parent_level = topics["parent"].map(by_id["level"])
    other = has_parent & (parent_channel != topics["channel"])
    if other.any():
        raise DataError(f"topics.csv: parent sits in another channel in {_rows(topics, other)}; "
                        f"a topic and its parent share one channel.")
    bad_root = ~has_parent & (topics["level"] != 0)
    bad_child = has_parent & (topics["level"] != parent_level + 1)
    if bad_root.any() or bad_child.any():
        raise DataError(
            f"topics.csv: level does not match the tree in {_rows(topics, bad_root | bad_child)}; "
            f"a root (empty parent) has level 0 and every other topic its parent's level + 1."
        )
    roots = topics.loc[~has_parent, "channel"]
    rootless = ~topics["channel"].isin(set(roots))
    if rootless.any():
        raise DataError(f"topics.csv: channel has no root topic in {_rows(topics, rootless)}; "
                        f"each channel needs one topic with an empty parent.")
    multi = ~has_parent & roots.duplicated(keep=False).reindex(topics.index, fill_value=False)
    if multi.any():
        raise DataError(f"topics.csv: a channel has several roots in {_rows(topics, multi)}; "
                        f"each channel has one root topic (level 0, empty parent).")


def _check_topic_lists(frame: pd.DataFrame, file: str, topic_ids: set[str]) -> None:
    _check_ids(frame, file, "topic_id", "t_")
    unknown = ~frame["topic_id"].isin(topic_ids)
    if unknown.any():
        raise DataError(f"{file}: topic_id not in topics.csv in "
                        f"{_rows(frame, unknown, 'topic_id')}; add the topic to topics.csv "
                        f"or remove the row.")


def validate(data: LECRData) -> list[str]:
    """Check ``data`` (raises :class:`DataError`); return the warnings it found."""
    topics, content, corr = data.topics, data.content, data.correlations
    _check_ids(topics, "topics.csv", "id", "t_")
    _check_ids(content, "content.csv", "id", "c_")
    _check_tree(topics)

    topic_ids = set(topics["id"])
    _check_topic_lists(corr, "correlations.csv", topic_ids)
    empty = corr["content_ids"].str.strip() == ""
    if empty.any():
        raise DataError(f"correlations.csv: empty content_ids in "
                        f"{_rows(corr, empty, 'topic_id')}; list the topic's content ids "
                        f"(space-separated) or drop the row.")
    links = data.links
    commas = corr["content_ids"].str.contains(",", regex=False)
    if commas.any():
        raise DataError(f"correlations.csv: content_ids separated by commas in "
                        f"{_rows(corr, commas, 'topic_id')}; separate the ids with spaces "
                        f"(c_1 c_2), as Kaggle's files do.")
    unknown = ~links["content_id"].isin(set(content["id"]))
    if unknown.any():
        bad = corr["topic_id"].isin(set(links.loc[unknown, "topic_id"]))
        names = ", ".join(links.loc[unknown, "content_id"].unique()[:_SHOW])
        raise DataError(f"correlations.csv: content id(s) not in content.csv ({names}) in "
                        f"{_rows(corr, bad, 'topic_id')}; add the items to content.csv or "
                        f"remove the ids.")
    _check_topic_lists(data.sample_submission, "sample_submission.csv", topic_ids)

    found = []
    unknown_kind = ~content["kind"].isin(KINDS)
    if unknown_kind.any():
        found.append(f"content.csv: {unknown_kind.sum():,} item(s) of a kind outside {KINDS} "
                     f"(e.g. {content.loc[unknown_kind, 'kind'].iloc[0]!r}); they are kept.")
    lang = links.assign(
        topic_language=links["topic_id"].map(topics.set_index("id")["language"]),
        content_language=links["content_id"].map(content.set_index("id")["language"]),
    )
    mismatch = lang["topic_language"] != lang["content_language"]
    if mismatch.any():
        found.append(f"correlations.csv: {mismatch.sum():,} of {len(lang):,} links join a topic "
                     f"to content of another language; same-language retrieval cannot "
                     f"recall them.")
    flagged = topics.loc[topics["id"].isin(set(corr["topic_id"])) & ~topics["has_content"]]
    if len(flagged):
        found.append(f"topics.csv: {len(flagged):,} topic(s) with has_content False have "
                     f"correlations (e.g. {flagged['id'].iloc[0]}).")
    found += prediction_warnings(topics, content, data.sample_submission["topic_id"])
    return found


def prediction_warnings(topics: pd.DataFrame, content: pd.DataFrame, requested,
                        what: str = "sample_submission.csv") -> list[str]:
    """Counts of the topics in ``requested`` (ids) that will be predicted from little: no title
    nor description (their text is their ancestors' titles alone, or nothing for a root), or
    a language without content (the bi-encoder then searches every language, TF-IDF nothing)."""
    asked = topics[topics["id"].isin(set(requested))]
    found = []
    blank = (asked["title"].str.strip() == "") & (asked["description"].str.strip() == "")
    if blank.any():
        found.append(f"{what}: {blank.sum():,} topic(s) to predict have no title nor description "
                     f"(e.g. {asked.loc[blank, 'id'].iloc[0]}): predicted from their ancestors' "
                     f"titles alone, or from nothing for a channel root.")
    alone = ~asked["language"].isin(set(content["language"]))
    if alone.any():
        languages = sorted(set(asked.loc[alone, "language"]))
        found.append(f"{what}: {alone.sum():,} topic(s) to predict are in a language without content "
                     f"({', '.join(map(repr, languages[:_SHOW]))}): the bi-encoder searches every "
                     f"language for them, TF-IDF proposes nothing.")
    return found


def load_competition(path, check: bool = True) -> LECRData:
    """Read and validate the competition folder ``path`` (see the module docstring)."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: no such folder; pass the folder that holds topics.csv, "
                        f"content.csv, correlations.csv and sample_submission.csv.")
    tables, notes = {}, []
    for name in FILES:
        tables[name], read_notes = read_table(path, name)
        notes += read_notes
    for name in ("topics", "content"):
        if tables[name].empty:
            raise DataError(f"{path / FILES[name][0]}: a header and no data rows; the file needs "
                            f"one row per {name[:-1] if name == 'topics' else 'content item'}.")
    for name, meaning in (("correlations", "no links to train or validate on (notebooks 02-05 "
                                           "need them; notebook 06 predicts without them)"),
                          ("sample_submission", "no topics to predict (notebook 06 with PREDICT = "
                                                "'sample_submission' stops)")):
        if tables[name].empty:
            notes.append(f"{FILES[name][0]}: a header and no data rows: {meaning}.")
    notes += _normalise(tables)
    tables["topics"] = _typed_topics(tables["topics"])
    data = LECRData(path=path, **tables)
    if check:
        data.warnings = notes + validate(data)
        for message in data.warnings:
            warnings.warn(message, DataWarning, stacklevel=2)
    return data
