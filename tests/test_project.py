"""The spaCy project workflow, end to end, offline on a small slice of the local mirror."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spacy_rnn.data import DATASETS

from .conftest import REPO, require_ner_data


def make_project_copy(tmp_path: Path) -> Path:
    """A throwaway copy of project/ whose ../configs and ../spacy_rnn resolve to the
    repo, so the test never overwrites a developer's own project outputs."""
    root = tmp_path / "repo"
    (root / "project").mkdir(parents=True)
    (root / "project" / "project.yml").write_text(
        (REPO / "project" / "project.yml").read_text(encoding="utf8"), encoding="utf8")
    (root / "project" / "results_header.md").write_text(
        (REPO / "project" / "results_header.md").read_text(encoding="utf8"), encoding="utf8")
    (root / "configs").symlink_to(REPO / "configs")
    (root / "spacy_rnn").symlink_to(REPO / "spacy_rnn")
    return root / "project"


def run_workflow(project: Path, **variables) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "spacy", "project", "run", "all", str(project)]
    for key, value in variables.items():
        cmd += [f"--vars.{key}", str(value)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


SMALL = {"train_limit": 100, "max_steps": 10, "vocab_size": 500}


@pytest.mark.slow
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_workflow_all_offline_small(dataset, tmp_path):
    """Every registered dataset goes through the same workflow, offline."""
    data_dir = require_ner_data()
    project = make_project_copy(tmp_path)
    result = run_workflow(project, dataset=dataset, data_dir=data_dir, **SMALL)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((project / "metrics" / f"{dataset}-lstm.json").read_text())
    assert metrics["dataset"] == dataset and metrics["config"] == "lstm"
    assert "PER" in metrics["per_type"]
    assert 0.0 <= metrics["overall"]["f1"] <= 1.0
    assert metrics["training"]["seconds"] > 0 and "CPU" in metrics["training"]["hardware"]
    report = project / "reports" / f"{dataset}-lstm"
    assert (report / "training_curve.png").stat().st_size > 1000
    assert (report / "per_type_f1.png").stat().st_size > 1000
    if dataset == "conll2003":
        # A second run skips every step: deps and outputs are declared.
        again = run_workflow(project, dataset=dataset, data_dir=data_dir, **SMALL)
        assert again.returncode == 0
        assert again.stdout.count("Skipping") == 5, again.stdout[-2000:]


def test_download_offline_without_mirror_fails_fast(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-m", "spacy_rnn", "download", "conll2003", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0
    assert "data_dir" in result.stderr or "data-dir" in result.stderr


@pytest.mark.slow
def test_compare_workflow_ends_with_the_speed_benchmark(tmp_path):
    """`compare` trains spaCy's ner beside ours, tabulates both, then benchmarks their speed."""
    data_dir = require_ner_data()
    project = make_project_copy(tmp_path)
    cmd = [sys.executable, "-m", "spacy", "project", "run", "compare", str(project)]
    for key, value in {**SMALL, "data_dir": data_dir, "bench_rounds": 1}.items():
        cmd += [f"--vars.{key}", str(value)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    speed = json.loads((project / "benchmarks" / "speed-conll2003-lstm.json").read_text())
    assert set(speed["pipelines"]) == {"blank", "spacy-ner", "lstm"}
    assert speed["pipelines"]["spacy-ner"]["vs_baseline"] == 1.0
    assert speed["pipelines"]["lstm"]["vs_baseline"] > 0
    assert set(speed["scaling_us_per_token"]["lstm"]) == {"10", "100", "1000", "10000"}
    results_md = (project.parent / "RESULTS.md").read_text()
    assert "spacy-ner-efficiency" in results_md and "lstm" in results_md
