import pandas as pd
import pytest

from utils.data.load import DataError, DataWarning, load_competition


def edit(folder, name, change):
    """Apply ``change`` to the frame of ``folder/name.csv`` and write it back."""
    file = folder / f"{name}.csv"
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    change(frame).to_csv(file, index=False)


def test_loads_typed_nan_free_frames(tiny_dir):
    data = load_competition(tiny_dir)
    assert data.topics["level"].dtype == "int64"
    assert data.topics["has_content"].dtype == bool
    for frame in (data.topics, data.content, data.correlations, data.sample_submission):
        assert not frame.isna().any().any()
    assert set(data.links.columns) == {"topic_id", "content_id"}
    assert len(data.links) == data.correlations["content_ids"].str.split().str.len().sum()


def test_loads_the_real_mini_dataset_with_its_language_warning():
    from pathlib import Path
    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "minilecr"
    if not folder.is_dir():
        pytest.skip("../shared/data/minilecr is not here")
    with pytest.warns(DataWarning, match="another language"):
        data = load_competition(folder)
    assert len(data.topics) == 3433 and len(data.links) == 15869


def test_missing_file(tiny_copy):
    (tiny_copy / "content.csv").unlink()
    with pytest.raises(DataError, match=r"content\.csv: file not found"):
        load_competition(tiny_copy)


def test_empty_file(tiny_copy):
    (tiny_copy / "correlations.csv").write_text("")
    with pytest.raises(DataError, match=r"correlations\.csv: the file is empty"):
        load_competition(tiny_copy)


def test_missing_column(tiny_copy):
    edit(tiny_copy, "topics", lambda f: f.drop(columns="language"))
    with pytest.raises(DataError, match=r"topics\.csv: missing column\(s\) \['language'\]"):
        load_competition(tiny_copy)


def test_duplicate_id_names_the_rows(tiny_copy):
    def duplicate(frame):
        frame.loc[5, "id"] = frame.loc[2, "id"]
        return frame
    edit(tiny_copy, "content", duplicate)
    with pytest.raises(DataError, match=r"content\.csv: duplicate id in 2 row\(s\): row 3 .*row 6"):
        load_competition(tiny_copy)


def test_dangling_parent(tiny_copy):
    def dangle(frame):
        frame.loc[frame["parent"] != "", "parent"] = frame["parent"].where(
            frame.index != frame.index[frame["parent"] != ""][0], "t_000000000000")
        return frame
    edit(tiny_copy, "topics", dangle)
    with pytest.raises(DataError, match=r"topics\.csv: parent names no topic in 1 row"):
        load_competition(tiny_copy)


def test_parent_in_another_channel(tiny_copy):
    def move(frame):
        child = frame.index[frame["parent"] != ""][0]
        frame.loc[child, "channel"] = "zzzzzz"
        return frame
    edit(tiny_copy, "topics", move)
    with pytest.raises(DataError, match="another channel"):
        load_competition(tiny_copy)


def test_level_that_does_not_match_the_tree(tiny_copy):
    def relevel(frame):
        child = frame.index[frame["parent"] != ""][0]
        frame.loc[child, "level"] = "7"
        return frame
    edit(tiny_copy, "topics", relevel)
    with pytest.raises(DataError, match="level does not match the tree"):
        load_competition(tiny_copy)


def test_correlation_naming_an_unknown_content_id(tiny_copy):
    def add_unknown(frame):
        frame.loc[0, "content_ids"] += " c_ffffffffffff"
        return frame
    edit(tiny_copy, "correlations", add_unknown)
    with pytest.raises(DataError, match=r"content id\(s\) not in content\.csv \(c_ffffffffffff\)"):
        load_competition(tiny_copy)


def test_correlation_naming_an_unknown_topic(tiny_copy):
    def add_unknown(frame):
        frame.loc[0, "topic_id"] = "t_ffffffffffff"
        return frame
    edit(tiny_copy, "correlations", add_unknown)
    with pytest.raises(DataError, match=r"correlations\.csv: topic_id not in topics\.csv"):
        load_competition(tiny_copy)


def test_sample_submission_naming_an_unknown_topic(tiny_copy):
    def add_unknown(frame):
        frame.loc[len(frame)] = ["t_ffffffffffff", ""]
        return frame
    edit(tiny_copy, "sample_submission", add_unknown)
    with pytest.raises(DataError, match=r"sample_submission\.csv: topic_id not in topics\.csv"):
        load_competition(tiny_copy)


def test_bad_category_and_flags(tiny_copy):
    edit(tiny_copy, "topics", lambda f: f.assign(category=f["category"].replace("aligned", "x")))
    with pytest.raises(DataError, match="category not in"):
        load_competition(tiny_copy)


def test_folder_that_does_not_exist(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_competition(tmp_path / "nowhere")
