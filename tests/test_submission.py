import pandas as pd
import pytest

from utils import paths, score, submission
from utils.submission import SubmissionError

CONTENT = ["c1", "c2", "c3"]


def test_frame_lists_every_requested_topic_in_order():
    built = submission.frame({"t2": ["c1", "c3"], "t1": ["c2"]}, ["t1", "t2"])
    assert built.to_dict("list") == {"topic_id": ["t1", "t2"], "content_ids": ["c2", "c1 c3"]}
    submission.check(built, ["t2", "t1"], CONTENT)


@pytest.mark.parametrize("rows, message", [
    ([("t1", "c1"), ("t1", "c2"), ("t2", "c1")], "more than once: row 1 .'t1'., row 2"),
    ([("t1", "c1")], "1 requested topic.s. missing"),
    ([("t1", "c1"), ("t2", "c1"), ("t3", "c1")], "not requested: row 3 .'t3'."),
    ([("t1", ""), ("t2", "c1")], "no content predicted: row 1"),
    ([("t1", "c1 c9"), ("t2", "c1")], "not in content.csv: row 1"),
    ([("t1", "c1 c1"), ("t2", "c1")], "repeated within a topic: row 1"),
])
def test_check_names_the_rows_at_fault(rows, message):
    with pytest.raises(SubmissionError, match=message):
        submission.check(pd.DataFrame(rows, columns=submission.COLUMNS), ["t1", "t2"], CONTENT)


def test_scorer_prints_kaggles_mean_f2_over_the_requested_topics(tmp_path, capsys):
    (tmp_path / "sub.csv").write_text("topic_id,content_ids\nt1,c1 c2\nt2,c3\n")
    (tmp_path / "corr.csv").write_text("topic_id,content_ids\nt1,c1\nt2,c2\nt3,c3\n")
    (tmp_path / "asked.csv").write_text("topic_id\nt1\nt2\n")
    assert score.main([str(tmp_path / "sub.csv"), str(tmp_path / "corr.csv"), "--topics",
                       str(tmp_path / "asked.csv")]) == 0
    # t1: precision 1/2, recall 1 -> F2 = 5 * 0.5 / (4 * 0.5 + 1) = 0.8333; t2: 0
    assert "mean F2 0.4167 over 2 topics" in capsys.readouterr().out
    report = score.evaluate(tmp_path / "sub.csv", tmp_path / "corr.csv", tmp_path / "asked.csv")
    assert report.f2 == pytest.approx(0.8333 / 2, abs=1e-4) and report.valid


def test_model_dir_explicit_working_folder_then_attached(tmp_path):
    attached = tmp_path / "input"
    (attached / "lecr-reranker").mkdir(parents=True)
    (attached / "lecr-reranker" / "reranker.json").write_text("{}")
    assert paths.model_dir(None, None, "reranker.json", "reranker", attached) == attached / "lecr-reranker"
    here = tmp_path / "work"
    here.mkdir()
    (here / "reranker.json").write_text("{}")
    assert paths.model_dir(None, here, "reranker.json", "reranker", attached) == here
    with pytest.raises(FileNotFoundError, match="not a saved reranker"):
        paths.model_dir(tmp_path, here, "reranker.json", "reranker", attached)
    with pytest.raises(FileNotFoundError, match="utils.kaggle.package"):
        paths.model_dir(None, None, "reranker.json", "reranker", tmp_path / "nothing")
