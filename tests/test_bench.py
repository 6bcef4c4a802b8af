"""Smoke tests of the benchmarks on tiny sizes (their figures come from full runs, not tests)."""

import importlib.util
import json
import re
from pathlib import Path

import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stage2", ["cross-encoder", "feature ranker"])
def test_speed_benchmark_smoke(tiny_dir, recalled, tmp_path, capsys, stage2):
    from utils.selection import cross_encoder
    from utils.selection.feature_ranker import FeatureRanker, RankerConfig
    from utils.selection.postprocess import PostProcess

    out = tmp_path / "submission.csv"
    models = []
    if stage2 == "feature ranker":  # a saved feature ranker replaces the fresh cross-encoder
        trees = FeatureRanker.fit(recalled[0], recalled[1], RankerConfig(max_iter=5, min_samples_leaf=5))
        models = ["--reranker", str(cross_encoder.save(trees, tmp_path / "features", trees.config,
                                                  PostProcess(0.5)))]
    variants = ["fp32", "int8+cache10", "bf16"] if stage2 == "cross-encoder" else ["fp32+cache0"]
    load("speed").main(["--data", str(tiny_dir), "--work", str(tmp_path), "--topics", "12",
                        "--content", "120", "--k", "5", "--rerank-top-k", "3",
                        "--baseline-items", "16", "--out", str(out), "--variants", *variants,
                        *models])
    printed = capsys.readouterr().out
    for stage in ("machine:", "load the models", "TF-IDF search", "embed content", "embed topics",
                  "dense search", "fuse", "rerank", "post-process", "check", "write",
                  "load the content embeddings", "total (min)", "suite / raw", "int8 / suite", "bf16 / suite",
                  *(f"== {v}" for v in variants)):
        assert stage in printed, stage
    assert ("cross-encoder (cross_encoder.score)" in printed) == (stage2 == "cross-encoder")
    # the share of new content the variant names is embedded; the rest is looked up
    found = re.findall(r"content embeddings: (\d+) looked up, (\d+) embedded", printed)
    if stage2 == "cross-encoder":
        assert found[0][0] == "0" and int(found[1][1]) > 0 and int(found[1][0]) > 4 * int(found[1][1])
    else:  # no fp32 run before it: the cache is built first, then every text is a hit
        assert "embedding the content in float32 first" in printed and found[0][1] == "0"
    import pandas as pd

    assert len(pd.read_csv(out)) == 12  # every query topic predicted once


def test_record_block_replaces_its_own_section(tmp_path):
    from bench.tables import record_block

    doc = tmp_path / "RESULTS.md"
    doc.write_text("# Results\n\nkept\n")
    record_block(doc, "bench/quality.py:mini", "first")
    record_block(doc, "bench/quality.py:other", "B")
    record_block(doc, "bench/quality.py:mini", "second")
    text = doc.read_text()
    assert "kept" in text and "second" in text and "first" not in text and "B" in text
    assert text.count("<!-- bench/quality.py:mini -->") == 1


def test_quality_refuses_to_mix_settings(tmp_path):
    quality = load("quality")
    (tmp_path / "fold1").mkdir()
    (tmp_path / "fold1" / quality.BENCH_FILE).write_text(
        json.dumps({"profile": "demo", "params": {"EPOCHS": 1}}))
    with pytest.raises(SystemExit, match="other settings"):
        quality.run_fold("demo", tmp_path / "fold1", 1, "demo", {"EPOCHS": 2})


def test_quality_runs_the_notebooks_inline_where_asked(tmp_path, monkeypatch):
    quality = load("quality")
    calls = []
    monkeypatch.setattr(quality.runner, "run", lambda *args, **kwargs: calls.append(kwargs))
    quality.run_fold("demo", tmp_path / "fold0", 0, "demo", {"EPOCHS": 2}, inline=True)
    assert [(c["inline"], c["params"]["EPOCHS"], c["params"]["VALID_FOLD"]) for c in calls] == [(True, 2, 0)]
    folds = []
    monkeypatch.setattr(quality, "run_fold", lambda *args, **kwargs: folds.append((args[2], kwargs["inline"])))
    with pytest.raises(SystemExit, match="no fold"):  # nothing ran for real: nothing to report
        quality.main(["--data", "demo", "--work", str(tmp_path / "w"), "--folds", "1", "--inline"])
    assert folds == [(1, True)]


def test_quality_names_the_folds_of_its_split(tmp_path):
    """The report's "not yet" lists the split's own folds (three for the channel view), not
    ``--folds``' default five."""
    quality = load("quality")
    pd.DataFrame({"topic_id": list("abcde"), "fold": [-1, 0, 2, 1, 0]}).to_csv(
        tmp_path / "folds.csv", index=False)
    assert quality.split_folds(tmp_path) == [0, 1, 2]


def test_kept_fold_results_are_not_git_ignored():
    """``--keep`` folders are meant to be committed: none of their files may be git-ignored
    (the repository ignores ``*.csv`` elsewhere)."""
    import shutil
    import subprocess

    quality = load("quality")
    root = BENCH.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    kept = [f"docs/quality/any-name/fold0/{name}" for name in quality.RESULT_FILES]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *kept], cwd=root,
                             capture_output=True, text=True).stdout.split()
    assert ignored == []


def test_stage_timer_saves_its_steps_and_none_times_nothing(tmp_path):
    from utils.profiling import StageTimer, stage

    timer = StageTimer()
    with stage(timer, "a step", items=3):
        bytearray(2**20)
    with stage(None, "not timed"):
        pass
    table = pd.read_csv(timer.save(tmp_path / "timings" / "04.csv"), index_col="stage")
    assert list(table.index) == ["a step"] and table.loc["a step", "items"] == 3
    assert table.loc["a step", "seconds"] >= 0 and table.loc["a step", "peak RSS MiB"] > 0


def test_code_version_names_the_commit(tmp_path):
    from utils.profiling import code_version

    assert code_version(tmp_path) == "unknown"  # not a git checkout
    version = code_version()
    assert version == "unknown" or version.split()[0].isalnum()


def test_ranker_frames_benchmark_smoke(recalled):
    import pandas as pd

    from utils.selection.feature_ranker import RankerConfig

    candidates, data = recalled
    topics = sorted(candidates["topic_id"].unique())
    folds = pd.DataFrame({"topic_id": topics, "fold": [i % 3 for i in range(len(topics))]})
    candidates = candidates.assign(in_fold=False)  # every topic recalled out of fold
    found = load("ranker_frames").fold_figures(candidates, data, folds, 0, sizes=(None, 0, 1),
                                               config=RankerConfig(max_iter=5, min_samples_leaf=5))
    assert set(found) == {"all validation topics together (notebook 05)", "halves",
                          "one topic at a time", "ranker without hub and item_gap (any frame)"}
    assert all(0 <= f2 <= 1 for f2 in found.values())


def test_rule_choice_benchmark_smoke(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    for fold in range(3):
        topics = [f"t{fold}_{i}" for i in range(6)]
        scored = pd.DataFrame([(t, f"c{j}") for t in topics for j in range(8)], columns=["topic_id", "content_id"])
        scored["score:features"] = rng.random(len(scored)).astype("float32")
        scored["retriever_score"] = rng.uniform(0.3, 0.8, len(scored))
        scored["rank"] = scored.groupby("topic_id").cumcount() + 1
        scored["channel_links"] = rng.integers(0, 2, len(scored))  # what notebook 04 writes now
        folder = tmp_path / f"fold{fold}" / "reranker"
        folder.mkdir(parents=True)
        scored.to_parquet(folder / "scored_valid.parquet", index=False)
        pd.DataFrame({"topic_id": topics, "content_ids": ["c0 c3", "c1", "c2 c5 c7", "c4", "c6 c0", "c3"]}).to_csv(
            folder / "valid_truth.csv", index=False)
    table = load("rule_choice").view(tmp_path)
    assert list(table.columns) == ["fold 0", "fold 1", "fold 2", "mean"]
    assert table.index[0].startswith("notebook 05") and "other folds, w chosen on them" in table.index
    assert {"without skip_taken", "fused list, top-k (the floor)", "fused list, top-k of the items not taken"} <= set(table.index)
    assert ((table >= 0) & (table <= 1)).all().all()


def test_cache_precision_benchmark_smoke(tiny_dir, capsys):
    from utils.retrieval.retriever import base_model_path

    load("cache_precision").main(["--data", str(tiny_dir), "--retriever", base_model_path(),
                                  "--k", "5", "--max-length", "32"])
    out = capsys.readouterr().out
    assert "| float16, read back |" in out and "| float32 cache, half the texts fresh |" in out
    assert "| bfloat16 queries and fresh texts, float32 cache of half |" in out and "recall@5" in out


def test_scale_benchmark_runs_each_notebook_in_its_own_process(tmp_path):
    """Its whole path (02-06 in the CPU mode: int8, last rounds validated, the fused top 10
    reranked) on tiny data, the training cut further."""
    scale = load("scale")
    doc = tmp_path / "RESULTS.md"
    small = ["N_SPLITS=3", "ROUNDS=1", "EPOCHS=0.5", "MAX_PAIRS=96", "BATCH_SIZE=16", "MAX_LENGTH=32",
             "TOP_K=20", "TRAIN_TOP_K=3", "RERANKER_MAX_PAIRS=120", "RERANKER_MAX_LENGTH=32",
             "RERANKER_BATCH_SIZE=16",
             "MIN_KNOWN=3",  # the tiny demo's channels are small: 06 takes the in-channel pipeline
             f"RERANKER={str(tmp_path / 'w' / 'reranker' / 'base')!r}"]  # 06 runs the cross-encoder's CPU mode
    scale.main(["--work", str(tmp_path / "w"), "--size", "tiny", "--record", str(doc),
                *[arg for p in small for arg in ("-p", p)]])
    work = tmp_path / "w"
    assert (work / "folds.csv").is_file()  # notebook 02 ran on the data it wrote
    assert "02_cv_split.ipynb done" in (work / "scale-logs" / "02.log").read_text()
    recall = pd.read_csv(work / "retriever" / "recall.csv", index_col="model")
    assert [name.split()[:2] for name in recall.index] == [["round", "1"], ["oof1", "round"], ["oof2", "round"]]
    assert "transformer in ONNX Runtime, int8" in (work / "scale-logs" / "04.log").read_text()
    # the cross-encoder scored the fused top 10 (in int8), and notebook 06 reranked so
    assert json.loads((work / "reranker" / "base" / "reranker.json").read_text())["rerank_top_k"] == 10
    scored = pd.read_parquet(work / "reranker" / "scored_valid.parquet")
    assert scored.loc[scored["rank"] <= 10, "score:base"].notna().all()
    assert scored.loc[scored["rank"] > 10, "score:base"].isna().all() and (scored["rank"] > 10).any()
    log = (work / "scale-logs" / "06.log").read_text()
    reranked = int(log.split(" candidates reranked")[0].split()[-1].replace(",", ""))
    assert reranked == 0 or reranked <= 10 * pd.read_csv(work / "submission.csv")["topic_id"].nunique()
    text = doc.read_text()
    assert "<!-- bench/scale.py -->" in text and "| 02 |" in text and "| 06 |" in text and "topics" in text
    assert "Incomplete" not in text
    # the steps 03-06 timed, each with its own StageTimer
    for step in ["| 03 | retriever round 1: train | ", "| 03 | oof2 round 1: validate | ",
                 "| 04 | TF-IDF search | ", "| 05 | cross-encoder base: score | ",
                 "| 05 | choose the model and rule, honestly | ", "| 06 | rerank | "]:
        assert step in text
    partial = tmp_path / "partial.md"
    with pytest.raises(SystemExit, match=r"notebook 03 failed.*03\.log"):  # a notebook's error, with its log
        scale.main(["--work", str(tmp_path / "w"), "--size", "tiny", "--only", "02", "03", "--record", str(partial),
                    "-p", "EPOCHS='x'"])
    # what ran before the failure is recorded, marked incomplete
    assert "**Incomplete**: notebooks 03 did not complete" in partial.read_text() and "| 02 |" in partial.read_text()


def test_the_gpu_fold_script_parses_and_says_how_to_use_it():
    import subprocess

    script = BENCH / "gpu_fold.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    usage = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert usage.returncode == 2 and "bench/gpu_fold.sh prepare DATA_DIR" in usage.stdout
    assert "bench/gpu_fold.sh run [FOLD]" in usage.stdout
