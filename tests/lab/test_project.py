"""The spaCy project workflow, end to end, offline on a small slice of the local mirror."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spacy_rnn.lab.corpora import DATASETS

from ..conftest import REPO, SHARED, require_ner_data


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


def run_command(project: Path, command: str, **variables) -> subprocess.CompletedProcess:
    """`spacy project run COMMAND` (a command or a workflow), offline."""
    cmd = [sys.executable, "-m", "spacy", "project", "run", command, str(project)]
    for key, value in variables.items():
        cmd += [f"--vars.{key}", str(value)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


def run_workflow(project: Path, **variables) -> subprocess.CompletedProcess:
    return run_command(project, "all", **variables)


# The no-vectors `lstm` recipe keeps these runs small and fast; the default (the
# headline) is trained by the README's first command, not here.
SMALL = {"train_limit": 100, "max_steps": 10, "vocab_size": 500, "config": "lstm",
         "vectors": "null"}


@pytest.mark.slow
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_workflow_all_offline_small(dataset, tmp_path):
    """Every registered dataset goes through the same workflow, offline."""
    data_dir = require_ner_data()
    project = make_project_copy(tmp_path)
    result = run_workflow(project, dataset=dataset, data_dir=data_dir, **SMALL)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((project / "metrics" / f"{dataset}-lstm-s0.json").read_text())
    assert metrics["dataset"] == dataset and metrics["config"] == "lstm"
    assert "PER" in metrics["per_type"]
    assert 0.0 <= metrics["overall"]["f1"] <= 1.0
    assert metrics["training"]["seconds"] > 0 and "CPU" in metrics["training"]["hardware"]
    assert metrics["training"]["peak_rss_mb"] > 100  # a torch process: far above 100 MiB
    # Trained on the tokens the test split is scored on (vars.gold_preproc).
    assert metrics["training"]["gold_preproc"] is True
    # The budget as resolved (vars.max_steps; project.yml passes max_epochs 0).
    assert (metrics["training"]["max_steps"], metrics["training"]["max_epochs"]) == (10, 0)
    assert metrics["training"]["sourced_components"] == []
    # The train step calibrated the confidences it trained.
    calibration = json.loads((project / "training" / f"{dataset}-lstm-s0" /
                              "calibration.json").read_text())
    assert calibration["temperature"] > 0
    report = project / "reports" / f"{dataset}-lstm-s0"
    assert (report / "training_curve.png").stat().st_size > 1000
    assert (report / "per_type_f1.png").stat().st_size > 1000
    if DATASETS[dataset].char_level:
        # Trained on characters, the saved model must also read raw text as characters.
        import spacy

        nlp = spacy.load(project / "training" / f"{dataset}-lstm-s0" / "model-best")
        assert [t.text for t in nlp.make_doc("张三在北京市工作。")] == list("张三在北京市工作。")
    if dataset == "conll2003":
        # A second run skips every step: deps and outputs are declared.
        again = run_workflow(project, dataset=dataset, data_dir=data_dir, **SMALL)
        assert again.returncode == 0
        assert again.stdout.count("Skipping") == 6, again.stdout[-2000:]
        check_cross_domain_and_pretrained(project, data_dir)


def check_cross_domain_and_pretrained(project: Path, data_dir: Path) -> None:
    """The CoNLL model on WNUT-17's test split, and a pretrained NER on CoNLL's, PER only."""
    cross = run_command(project, "cross-evaluate", data_dir=data_dir, eval_on="wnut17", **SMALL)
    assert cross.returncode == 0, cross.stdout[-3000:] + cross.stderr[-3000:]
    metrics = json.loads((project / "metrics" / "conll2003-lstm-s0-on-wnut17.json").read_text())
    assert metrics["eval_on"] == "wnut17" and metrics["types"] == ["PER"]
    assert list(metrics["per_type"]) == ["PER"] and metrics["per_type"]["PER"]["support"] == 429
    pretrained = SHARED / "models" / "en_core_web_md"
    if pretrained.exists():
        result = run_command(project, "pretrained-evaluate", pretrained=pretrained, **SMALL)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        metrics = json.loads((project / "metrics" / "conll2003-pretrained.json").read_text())
        assert metrics["config"] == "en_core_web_md" and metrics["types"] == ["PER"]
        assert metrics["per_type"]["PER"]["support"] == 1617
        assert metrics["per_type"]["PER"]["f1"] > 0.5  # a real NER, far from chance
    tabulated = run_command(project, "results", **SMALL)
    assert tabulated.returncode == 0, tabulated.stderr[-3000:]
    rows = (project.parent / "RESULTS.md").read_text().splitlines()
    assert any(row.startswith("| conll2003 → wnut17 | lstm | ") and "| gold | (PER only) |" in row
               for row in rows)



def test_download_offline_without_mirror_fails_fast(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-m", "spacy_rnn", "download", "conll2003", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0
    assert "data_dir" in result.stderr or "data-dir" in result.stderr


@pytest.mark.slow
def test_compare_workflow_ends_with_the_speed_benchmarks(tmp_path):
    """`compare` trains spaCy's ner beside ours, tabulates both, then benchmarks their
    inference and training speed."""
    data_dir = require_ner_data()
    project = make_project_copy(tmp_path)
    result = run_command(project, "compare", data_dir=data_dir, bench_rounds=1, **SMALL)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    speed = json.loads((project / "benchmarks" / "speed-conll2003-lstm-s0.json").read_text())
    assert set(speed["pipelines"]) == {"blank", "spacy-ner", "lstm"}
    assert speed["pipelines"]["spacy-ner"]["vs_baseline"] == 1.0
    assert speed["pipelines"]["lstm"]["vs_baseline"] > 0
    assert set(speed["scaling_us_per_token"]["lstm"]) == {"10", "100", "1000", "10000"}
    assert set(speed["batch_scaling_us_per_token"]["lstm"]) == {"1", "10", "100", "1000"}
    results_md = (project.parent / "RESULTS.md").read_text()
    assert "spacy-ner-efficiency" in results_md and "lstm" in results_md
    # spaCy's ner logs its dev curve with wall time, like ours (for time-to-F1).
    for run in ("spacy-ner-efficiency-s0", "lstm-s0"):
        log = (project / "training" / f"conll2003-{run}" / "log.jsonl").read_text().splitlines()
        assert log and all("seconds" in json.loads(line) for line in log)
    train_speed = json.loads(
        (project / "benchmarks" / "train-speed-conll2003-lstm-s0.json").read_text())
    assert set(train_speed) == {"lstm", "spacy-ner-efficiency"}
    assert all(r["words_per_second"] > 0 and r["peak_rss_mb"] > 100 for r in train_speed.values())


def test_every_source_dependency_exists():
    """Each step reruns when the code it runs changes: a deps path left behind by a
    move would make `spacy project run` fail, or stop tracking that code."""
    import srsly

    project = srsly.read_yaml(REPO / "project" / "project.yml")
    sources = {dep for command in project["commands"] for dep in command.get("deps", [])
               if dep.startswith("../") and "${" not in dep}
    assert sources, "no source dependencies found"
    missing = sorted(dep for dep in sources if not (REPO / "project" / dep).exists())
    assert missing == []


def test_train_step_depends_on_every_module_the_plugin_loads():
    """A change to any module `import spacy_rnn` loads (a loss, a layer, the
    decoder) must make `spacy project run` retrain: each is a deps of the train
    step, itself or through its folder."""
    import srsly

    project = srsly.read_yaml(REPO / "project" / "project.yml")
    (train,) = [c for c in project["commands"] if c["name"] == "train"]
    deps = [(REPO / "project" / d).resolve() for d in train["deps"] if d.startswith("../")]
    code = ("import sys, spacy_rnn\n"
            "print('\\n'.join(sorted(m.__file__ for n, m in sys.modules.items()\n"
            "      if n.startswith('spacy_rnn') and getattr(m, '__file__', None))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=REPO).stdout.split()
    assert loaded
    uncovered = [path for path in loaded
                 if not any(Path(path).resolve() == d or d in Path(path).resolve().parents
                            for d in deps)]
    assert uncovered == []
