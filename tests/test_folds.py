import pandas as pd
import pytest

from utils.data.folds import OOF_GROUPS, TRAIN_ONLY, load_folds, make_folds, save_folds, split_topics
from utils.data.load import load_competition


@pytest.fixture(scope="module")
def data(tiny_dir):
    return load_competition(tiny_dir)


def categorised(folds, data):
    return folds.merge(data.topics[["id", "category", "language", "channel"]],
                       left_on="topic_id", right_on="id")


def test_source_topics_always_train_and_every_language_is_kept(data):
    folds = categorised(make_folds(data, n_splits=3), data)
    assert (folds.loc[folds["category"] == "source", "fold"] == TRAIN_ONLY).all()
    assert set(folds.loc[folds["category"] != "source", "fold"]) == {0, 1, 2}
    correlated = data.topics[data.topics["id"].isin(data.correlations["topic_id"])]
    assert set(folds["topic_id"]) == set(correlated["id"])
    assert set(folds["language"]) == set(correlated["language"])


def test_training_only_topics_get_out_of_fold_groups_siblings_together(data):
    folds = make_folds(data, n_splits=3).merge(data.topics[["id", "parent"]], left_on="topic_id",
                                                right_on="id")
    train_only = folds["fold"] == TRAIN_ONLY
    assert (folds.loc[~train_only, "oof_group"] == -1).all()
    groups = folds.loc[train_only, "oof_group"]
    parents = folds.loc[train_only, "parent"].replace("", None).fillna(folds["topic_id"]).nunique()
    assert groups.nunique() == min(OOF_GROUPS, parents) and groups.between(0, OOF_GROUPS - 1).all()
    siblings = folds[train_only & (folds["parent"] != "")].groupby("parent")["oof_group"].nunique()
    assert (siblings == 1).all()


def test_group_by_channel_keeps_channels_whole(data):
    folds = categorised(make_folds(data, n_splits=2, group="channel"), data)
    split = folds[folds["fold"] != TRAIN_ONLY]
    assert (split.groupby("channel")["fold"].nunique() == 1).all()


def test_split_categories_and_errors(data):
    folds = categorised(make_folds(data, n_splits=2, categories=["aligned"]), data)
    assert (folds.loc[folds["category"] == "supplemental", "fold"] == TRAIN_ONLY).all()
    with pytest.raises(ValueError, match="cannot make 50 folds"):
        make_folds(data, n_splits=50, group="channel")
    train, valid = split_topics(make_folds(data, n_splits=3), 1)
    assert valid and not train & valid
    with pytest.raises(ValueError, match="fold 7 is not in the folds table"):
        split_topics(make_folds(data, n_splits=3), 7)


def test_a_folds_table_saved_before_out_of_fold_groups_reads_without_groups(data, tmp_path):
    folds = make_folds(data, n_splits=3)
    save_folds(folds.drop(columns="oof_group"), tmp_path)
    assert (load_folds(tmp_path)["oof_group"] == -1).all()
    save_folds(folds, tmp_path)
    pd.testing.assert_frame_equal(load_folds(tmp_path), folds)


def test_channel_folds_hold_out_the_channels_named_any_category(data):
    from utils.data.folds import channel_folds

    channels = data.topics.drop_duplicates("channel").set_index("channel")["category"]
    source, other = channels[channels == "source"].index[0], channels[channels != "source"].index[0]
    folds = categorised(channel_folds(data, [[source], [other]]), data)
    assert set(folds.loc[folds["channel"] == source, "fold"]) == {0}
    assert set(folds.loc[folds["channel"] == other, "fold"]) == {1}
    rest = folds[~folds["channel"].isin([source, other])]
    assert (rest["fold"] == TRAIN_ONLY).all() and (rest["oof_group"] >= 0).all()
    with pytest.raises(ValueError, match="no channel"):
        channel_folds(data, [["nowhere"]])
    with pytest.raises(ValueError, match="two groups"):
        channel_folds(data, [[source], [source]])
