from utils import paths
from utils.data.demo import DemoConfig, write_demo


def test_explicit_data_dir_wins(tiny_dir, tmp_path):
    assert paths.data_dir(str(tiny_dir), tmp_path) == tiny_dir.resolve()


def test_falls_back_on_local_input_then_demo(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "KAGGLE_INPUT", tmp_path / "kaggle" / paths.COMPETITION)  # not on Kaggle
    monkeypatch.setattr(paths, "LOCAL_INPUT", tmp_path / "input")
    work = tmp_path / "work"
    demo = paths.data_dir(None, work)
    assert demo == work.resolve() / "demo-data" and (demo / "topics.csv").is_file()
    write_demo(tmp_path / "input", DemoConfig(topics=120, content=240, links=400, seed=3))
    assert paths.data_dir(None, work) == tmp_path / "input"


def test_work_dir_order(tmp_path, monkeypatch):
    monkeypatch.setenv("LECR_WORK_DIR", str(tmp_path / "env"))
    assert paths.work_dir() == (tmp_path / "env").resolve()
    assert paths.work_dir(tmp_path / "explicit") == (tmp_path / "explicit").resolve()


def test_cached_demo_data_is_rewritten_when_the_generator_changes(tmp_path, monkeypatch):
    from utils.data import demo

    work = tmp_path / "work"
    folder = paths.demo_dir(work, size="tiny")
    (folder / "topics.csv").write_text("stale")
    assert paths.demo_dir(work, size="tiny") == folder
    assert (folder / "topics.csv").read_text() == "stale"  # same generator: the cache is kept
    monkeypatch.setattr(demo, "GENERATOR_VERSION", demo.GENERATOR_VERSION + 1)
    paths.demo_dir(work, size="tiny")
    assert (folder / "topics.csv").read_text().startswith("id,title")


def test_on_kaggle_a_missing_competition_stops_and_names_what_is_attached(tmp_path):
    import pytest

    kaggle_input = tmp_path / "input"
    (kaggle_input / "datasets" / "me" / "lecr-utils").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no competition folder.*datasets/me.*Attach the competition"):
        paths.data_dir(None, tmp_path / "work", kaggle_input=kaggle_input)
    assert paths.data_dir("demo", tmp_path / "work", kaggle_input=kaggle_input).name == "demo-data"
