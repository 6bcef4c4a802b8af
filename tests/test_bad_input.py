"""Files a user may hand the suite: each gets a named error, or a documented normalisation
with a counted warning (issue 20's classes, then a fuzz test for what nobody listed)."""

import codecs
import gzip
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from utils import score, submission
from utils.data.load import ID_COLUMNS, ID_RULE, DataError, DataWarning, load_competition


def load_quietly(folder):
    with pytest.warns(DataWarning) as caught:
        data = load_competition(folder)
    return data, [str(w.message) for w in caught]


def rewrite(folder, name, change):
    file = folder / f"{name}.csv"
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    change(frame).to_csv(file, index=False)


def set_cell(row, column, value):
    def change(frame):
        frame.loc[row, column] = value
        return frame
    return change


# -- encodings -------------------------------------------------------------------------


def test_a_latin1_byte_names_the_file_and_line(tiny_copy):
    file = tiny_copy / "content.csv"
    lines = file.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b",", b",caf\xe9 ", 1)
    file.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError, match=r"content\.csv: line 4 is not valid UTF-8 .*byte 0xe9.*UTF-8"):
        load_competition(tiny_copy)


def test_utf16_tab_separated_gzip_bom_and_crlf_read_as_the_plain_file(tiny_copy, tiny_dir):
    plain = load_competition(tiny_dir)
    text = (tiny_copy / "topics.csv").read_text(encoding="utf-8")
    tsv = pd.read_csv(tiny_copy / "content.csv", dtype=str, keep_default_na=False).to_csv(sep="\t", index=False)
    (tiny_copy / "content.csv").write_bytes(codecs.BOM_UTF16_LE + tsv.encode("utf-16-le"))  # Excel's "Unicode text"
    (tiny_copy / "topics.csv").write_bytes(codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode())
    (tiny_copy / "correlations.csv").write_bytes(gzip.compress((tiny_dir / "correlations.csv").read_bytes()))
    data, messages = load_quietly(tiny_copy)
    for name in ("topics", "content", "correlations"):
        pd.testing.assert_frame_equal(getattr(data, name), getattr(plain, name))
    assert any("content.csv: UTF-16 text, decoded" in m for m in messages)
    assert any("content.csv: tab-separated" in m for m in messages)
    assert any("correlations.csv: gzip-compressed" in m for m in messages)
    assert not any(m.startswith("topics.csv:") for m in messages)  # a BOM and CRLF: lossless, silent


def test_semicolons_and_a_bare_list_of_topics_to_predict(tiny_copy, tiny_dir):
    topics = pd.read_csv(tiny_dir / "topics.csv", dtype=str, keep_default_na=False)
    topics.to_csv(tiny_copy / "topics.csv", sep=";", index=False)  # Excel in a comma-decimal locale
    asked = pd.read_csv(tiny_dir / "sample_submission.csv", dtype=str)[["topic_id"]]
    asked.to_csv(tiny_copy / "sample_submission.csv", index=False)
    data, messages = load_quietly(tiny_copy)
    assert data.topics["id"].tolist() == topics["id"].tolist()
    assert any("topics.csv: semicolon-separated" in m for m in messages)
    assert data.sample_submission["topic_id"].tolist() == asked["topic_id"].tolist()


def test_nul_bytes_are_an_error_not_a_guess(tiny_copy):
    (tiny_copy / "topics.csv").write_bytes("topic".encode("utf-16-le"))  # no byte-order mark
    with pytest.raises(DataError, match=r"topics\.csv: holds NUL bytes"):
        load_competition(tiny_copy)


# -- empty files -----------------------------------------------------------------------


def test_a_topics_file_with_only_its_header(tiny_copy):
    rewrite(tiny_copy, "topics", lambda f: f.iloc[:0])
    with pytest.raises(DataError, match=r"topics\.csv: a header and no data rows"):
        load_competition(tiny_copy)


def test_a_header_only_sample_submission_warns_and_predicting_from_it_stops(tiny_copy):
    rewrite(tiny_copy, "sample_submission", lambda f: f.iloc[:0])
    data, messages = load_quietly(tiny_copy)
    assert any("sample_submission.csv: a header and no data rows" in m for m in messages)
    with pytest.raises(submission.SubmissionError, match="no topics to predict"):
        submission.requested_topics(data, "sample_submission")


# -- ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, column, value", [
    ("content", "id", "c_ab cd"), ("content", "id", "c_ab,cd"), ("content", "id", "c_"),
    ("topics", "id", "t_a\tb"), ("correlations", "topic_id", "t_"),
])
def test_an_id_that_breaks_the_rule_names_the_row(tiny_copy, name, column, value):
    rewrite(tiny_copy, name, set_cell(2, column, value))
    with pytest.raises(DataError, match=rf"{name}\.csv: {column} is not .* followed by one token.* row 3"):
        load_competition(tiny_copy)


def test_spaces_around_ids_are_stripped_and_counted(tiny_copy, tiny_dir):
    topics = pd.read_csv(tiny_dir / "topics.csv", dtype=str, keep_default_na=False)
    linked = pd.read_csv(tiny_dir / "correlations.csv", dtype=str)["topic_id"].iloc[0]
    row = int(topics.index[topics["id"] == linked][0])
    rewrite(tiny_copy, "topics", set_cell(row, "id", linked + " "))
    data, messages = load_quietly(tiny_copy)
    assert linked in set(data.topics["id"])
    assert any(f"topics.csv: spaces around id in 1 row(s): row {row + 1}" in m for m in messages)


def test_a_content_id_twice_in_a_row_is_kept_once(tiny_copy):
    def twice(frame):
        frame.loc[0, "content_ids"] += " " + frame.loc[0, "content_ids"].split()[0]
        return frame
    rewrite(tiny_copy, "correlations", twice)
    data, messages = load_quietly(tiny_copy)
    ids = data.correlations.loc[0, "content_ids"].split()
    assert len(ids) == len(set(ids)) and any("listed twice in 1 row(s): row 1" in m for m in messages)


def test_commas_between_content_ids_say_to_use_spaces(tiny_copy):
    rewrite(tiny_copy, "correlations", lambda f: f.assign(content_ids=f["content_ids"].str.replace(" ", ",")))
    with pytest.raises(DataError, match=r"correlations\.csv: content_ids separated by commas.*spaces"):
        load_competition(tiny_copy)


def test_a_language_code_in_capitals_is_the_same_language(tiny_copy, tiny_dir):
    rewrite(tiny_copy, "content", lambda f: f.assign(language=f["language"].where(f.index % 2 == 0,
                                                                                  f["language"].str.upper())))
    data, messages = load_quietly(tiny_copy)
    assert set(data.content["language"]) == set(load_competition(tiny_dir).content["language"])
    assert any("content.csv: language code in another case" in m for m in messages)


# -- texts -----------------------------------------------------------------------------


def test_topics_predicted_from_little_are_counted(tiny_copy):
    asked = pd.read_csv(tiny_copy / "sample_submission.csv", dtype=str)["topic_id"].tolist()

    def blank_and_alone(frame):
        first = frame["id"] == asked[0]
        frame.loc[first, ["title", "description"]] = ""
        frame.loc[frame["id"] == asked[1], "language"] = "zz"
        return frame
    rewrite(tiny_copy, "topics", blank_and_alone)
    _, messages = load_quietly(tiny_copy)
    assert any("1 topic(s) to predict have no title nor description" in m for m in messages)
    assert any("topic(s) to predict are in a language without content ('zz')" in m for m in messages)


# -- the scorer ------------------------------------------------------------------------


@pytest.fixture
def scoring(tiny_copy):
    """The tiny folder with a perfect submission for its sample_submission's topics."""
    data = load_competition(tiny_copy)
    truth = data.correlations.set_index("topic_id")["content_ids"]
    asked = data.sample_submission["topic_id"]
    perfect = pd.DataFrame({"topic_id": asked, "content_ids": asked.map(truth).fillna(data.content["id"].iloc[0])})
    perfect.to_csv(tiny_copy / "submission.csv", index=False)
    return tiny_copy, perfect, asked.isin(truth.index)


def run_scorer(capsys, *args):
    status = score.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_scorer_counts_a_missing_topic_as_zero_and_says_so(scoring, capsys):
    folder, perfect, scorable = scoring
    status, out, _ = run_scorer(capsys, folder / "submission.csv", folder)
    assert status == 0 and "mean F2 1.0000" in out
    perfect[scorable].iloc[1:].to_csv(folder / "partial.csv", index=False)
    status, out, _ = run_scorer(capsys, folder / "partial.csv", folder)
    assert status == 1 and "missing: 1 requested topic(s)" in out and "mean F2 1.0000" not in out
    perfect.iloc[:0].to_csv(folder / "empty.csv", index=False)
    status, out, _ = run_scorer(capsys, folder / "empty.csv", folder)
    assert status == 1 and "mean F2 0.0000" in out
    if not scorable.all():
        assert "cannot be scored" in run_scorer(capsys, folder / "submission.csv", folder)[1]


def test_the_scorer_needs_to_know_the_requested_topics(scoring, capsys):
    folder, _, _ = scoring
    status, _, err = run_scorer(capsys, folder / "submission.csv", folder / "correlations.csv")
    assert status == 2 and "which topics were requested" in err and err.count("\n") == 1


@pytest.mark.parametrize("make, message", [
    (lambda f: f.write_text("topic,content\nt_1,c_1\n"), "columns are"),
    (lambda f: f.write_text("topic_id\tcontent_ids\nt_1\tc_1\n"), "tab-separated"),
    (lambda f: f.write_bytes(b""), "empty"),
    (lambda f: None, "file not found"),
    (lambda f: f.mkdir(), "a folder"),
    (lambda f: f.write_text("topic_id,content_ids\nt_1,c_1\nt_1,c_2\n"), "listed more than once"),
    (lambda f: f.write_text("topic_id,content_ids\nt_1,\"c_1,c_2\"\n"), "commas"),
])
def test_an_unusable_submission_is_one_line_and_status_2(scoring, capsys, tmp_path, make, message):
    folder, _, _ = scoring
    bad = tmp_path / "bad.csv"
    make(bad)
    status, out, err = run_scorer(capsys, bad, folder)
    assert status == 2 and message in err and err.count("\n") == 1 and not out


def test_a_content_file_without_an_id_column(scoring, capsys):
    folder, _, _ = scoring
    rewrite(folder, "content", lambda f: f.rename(columns={"id": "ident"}))
    status, _, err = run_scorer(capsys, folder / "submission.csv", folder)
    assert status == 2 and "content.csv: columns are" in err


# -- fuzz ------------------------------------------------------------------------------


def corrupt(raw: bytes, rng) -> bytes:
    """One random corruption of a CSV file's bytes."""
    lines = raw.split(b"\n")
    kind = rng.integers(11)
    if kind == 0 and len(lines) > 2:  # drop a row
        del lines[rng.integers(1, len(lines))]
    elif kind == 1:  # duplicate a row
        i = rng.integers(len(lines))
        lines.insert(i, lines[i])
    elif kind == 2:  # drop a column
        col = rng.integers(max(1, lines[0].count(b",") + 1))
        lines = [b",".join(p for j, p in enumerate(line.split(b",")) if j != col) for line in lines]
    elif kind == 3:  # blank a field
        i = rng.integers(len(lines))
        parts = lines[i].split(b",")
        parts[rng.integers(len(parts))] = b""
        lines[i] = b",".join(parts)
    elif kind == 4:  # insert bytes
        at = rng.integers(len(raw) + 1)
        junk = bytes(rng.choice(list(b'\x00\xff\xe9",\n\r \t;tc_'), size=rng.integers(1, 6)))
        return raw[:at] + junk + raw[at:]
    elif kind == 5:  # truncate
        return raw[: rng.integers(len(raw) + 1)]
    elif kind == 6:  # shuffle the header
        names = lines[0].split(b",")
        rng.shuffle(names)
        lines[0] = b",".join(names)
    elif kind == 7:  # only the header
        lines = lines[:1]
    elif kind == 8:
        return codecs.BOM_UTF16_LE + raw.decode("utf-8", "replace").encode("utf-16-le")
    elif kind == 9:
        return gzip.compress(raw)
    else:  # a duplicated column name
        lines[0] = lines[0] + b"," + lines[0].split(b",")[0]
    return b"\n".join(lines)


def valid_frames(data) -> None:
    """What a successful load promises: NaN-free frames, ids by the rule, each id once."""
    for name, columns in ID_COLUMNS.items():
        frame = getattr(data, name)
        assert not frame.isna().any().any()
        for column in columns:
            values = frame[column]
            values = values[values != ""] if column == "parent" else values
            assert values.str.fullmatch("[tc]_" + ID_RULE).all()
    assert data.topics["id"].is_unique and data.content["id"].is_unique
    assert data.links["content_id"].isin(set(data.content["id"])).all()


def test_fuzz_loader_and_scorer_raise_nothing_but_named_errors(scoring, tmp_path, capsys):
    folder, _, _ = scoring
    rng = np.random.default_rng(20)
    names = ["topics", "content", "correlations", "sample_submission", "submission"]
    outcomes = {"loaded": 0, "DataError": 0, "scored": 0, "exit 2": 0}
    for trial in range(300):
        case = tmp_path / f"case{trial}"
        shutil.copytree(folder, case)
        for _ in range(rng.integers(1, 3)):
            file = case / f"{names[rng.integers(len(names))]}.csv"
            file.write_bytes(corrupt(file.read_bytes(), rng))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)
                valid_frames(load_competition(case))
            outcomes["loaded"] += 1
        except DataError as err:
            assert str(err).startswith(str(case)) or ".csv" in str(err), err
            outcomes["DataError"] += 1
        status, out, err = run_scorer(capsys, case / "submission.csv", case)
        if status == 2:
            assert err.startswith("error: ") and err.count("\n") == 1 and not out
            outcomes["exit 2"] += 1
        else:
            assert status in (0, 1) and "mean F2" in out and "nan" not in out
            outcomes["scored"] += 1
        shutil.rmtree(case)
    assert all(outcomes.values()), outcomes  # every kind of outcome happened

