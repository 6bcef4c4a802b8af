import pytest

from utils.data import load_competition
from utils.folds import TRAIN_ONLY, make_folds, split_topics


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
