"""The experiments on the seed texts' RNN claims: task construction, run commands, analysis and the write-up."""
import json
import os
import subprocess
import sys

import numpy
import pytest
import spacy
from spacy.lang.en import English

from spacy_rnn.lab.claims import conll_grid, long_range, writeup
from spacy_rnn.lab.claims.analysis import recall_by_novelty, teddy_pair
from spacy_rnn.lab.claims.writeup import _long_range_verdicts, long_range_section
from spacy_rnn.lab.cli import main

from ..conftest import REPO, require_ner_data
from ..corpus import make_examples, make_nlp, train
from .test_project import make_project_copy


def test_long_range_examples_put_the_query_k_steps_after_the_key():
    nlp = English()
    rng = numpy.random.RandomState(0)
    for eg in long_range.make_examples(nlp, 20, 7, rng):
        words = [t.text for t in eg.reference]
        key = next(i for i, w in enumerate(words) if w in long_range.KEYS)
        assert words[-1] == long_range.QUERY and len(words) - 1 - key == 7
        assert [t.tag_ for t in eg.reference][:-1] == [""] * (len(words) - 1)
        assert eg.reference[-1].tag_ == long_range.CLASSES[long_range.KEYS.index(words[key])]


def test_long_range_run_learns_a_short_distance():
    result = long_range.run_one("lstm", 2, 0, steps=250, n_test=100, eval_every=50)
    assert result["accuracy"] >= 0.9  # chance is 0.25
    assert result["steps"] <= 250 and result["curve"]


def test_long_range_verdicts_follow_their_rules():
    mean = {("rnn", 5): 1.0, ("rnn", 20): 0.5, ("rnn", 100): 0.26,
            ("lstm", 100): 0.95, ("gru", 100): 0.3}
    text = "\n".join(_long_range_verdicts(mean, [5, 20, 100], 0.25))
    assert "*plain RNN does well at 5-10 steps*: **confirmed**" in text
    assert "*plain RNN struggles at 20-30 steps*: **confirmed**" in text
    assert "*plain RNN fails past ~50 steps*: **confirmed**" in text
    assert "*LSTM holds past 50 steps*: **confirmed**" in text
    assert "*GRU holds past 50 steps*: **refuted**" in text


def test_long_range_section_renders_table_and_plot(tmp_path):
    results = [{"cell": c, "distance": k, "seed": 0, "steps": 10, "chance": 0.25,
                "accuracy": a} for c, k, a in [("rnn", 5, 1.0), ("rnn", 50, 0.25),
                                               ("lstm", 5, 1.0), ("lstm", 50, 0.6)]]
    lines = long_range_section(results, tmp_path)
    assert "| rnn | 100.0 | 25.0 |" in lines
    assert (tmp_path / "long_range.png").stat().st_size > 1000


def test_experiment_report_writes_what_there_is(tmp_path):
    """`experiment report` before any run: every section that needs a run is left out."""
    markdown = tmp_path / "EXPERIMENTS.md"
    assert main(["experiment", "report", "--output", str(tmp_path / "experiments"),
                 "--markdown", str(markdown)]) == 0
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# Experiments: the seed texts' RNN claims, measured")
    assert "| lstm | not run |" in text and "## The GRU convention" in text


def test_run_command_applies_the_runs_overrides(tmp_path):
    configs = REPO / "configs"
    cmd = conll_grid.run_command("gru", tmp_path, tmp_path / "out", configs, max_steps=50,
                                 seed=3, vectors=None, diagnose_every=5)
    pairs = dict(zip(cmd[::2], cmd[1::2]))
    assert "--components.rnn_tagger.model.cell" in cmd and "gru" in cmd
    assert cmd[cmd.index("--system.seed") + 1] == "3"
    assert cmd[cmd.index("--training.logger.diagnose_every") + 1] == "5"
    assert cmd[cmd.index("--paths.vectors") + 1] == "null"
    clip = conll_grid.run_command("clip-off", tmp_path, tmp_path, configs, max_steps=5000,
                                  seed=0, vectors=None, diagnose_every=5)
    # "rnn" is a variant: lstm.cfg with the cell overridden.
    assert clip[4] == str(configs / "lstm.cfg")
    assert clip[clip.index("--components.rnn_tagger.model.cell") + 1] == "rnn"
    assert clip[clip.index("--training.max_steps") + 1] == str(conll_grid.CLIP_STEPS)
    assert clip[clip.index("--training.optimizer.grad_clip") + 1] == "0.0"
    assert pairs  # the command is a flat list of flags and values


def test_unknown_run_is_named(tmp_path):
    with pytest.raises(ValueError, match="transformer"):
        conll_grid.run_grid(["transformer"], tmp_path, tmp_path, tmp_path)


def test_recall_by_novelty_and_teddy(tmp_path):
    nlp = make_nlp()
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=40)
    from spacy.tokens import DocBin
    DocBin(docs=[eg.reference for eg in examples]).to_disk(tmp_path / "test.spacy")
    seen = {t.norm_ for eg in examples[:6] for t in eg.reference}
    result = recall_by_novelty(nlp, tmp_path / "test.spacy", seen)
    total = sum(len(eg.reference.ents) for eg in examples)
    assert result["seen"]["support"] + result["unseen"]["support"] == total
    assert result["unseen"]["support"] > 0 and result["seen"]["recall"] > 0.5
    pair = teddy_pair(nlp)
    assert [item["text"] for item in pair] == list(long_range_texts())


def long_range_texts():
    from spacy_rnn.lab.claims.analysis import TEDDY
    return TEDDY


@pytest.mark.slow
def test_claims_workflow_offline_small(tmp_path):
    """`spacy project run claims` end to end on a tiny budget writes EXPERIMENTS.md."""
    data = require_ner_data()
    project = make_project_copy(tmp_path)
    variables = {"data_dir": data, "train_limit": 100, "vocab_size": 500, "claims_steps": 6,
                 "claims_runs": "lstm,clip-off", "claims_distances": "2",
                 "claims_lr_steps": 5}
    cmd = [sys.executable, "-m", "spacy", "project", "run", "claims", str(project)]
    for key, value in variables.items():
        cmd += [f"--vars.{key}", str(value)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = (project.parent / "EXPERIMENTS.md").read_text()
    assert "## 1. Vanishing gradients by distance" in text
    assert "## 2. Long-range memory" in text
    assert "## 3. Parameter counts and speed" in text
    run = json.loads((project / "experiments" / "conll" / "lstm" / "run.json").read_text())
    assert run["returncode"] == 0
    assert (project.parent / "experiments" / "gradient_flow_cells.png").exists()
    assert spacy.load(project / "experiments" / "conll" / "lstm" / "model-best")


def test_experiment_report_keeps_the_hand_written_story(tmp_path):
    """EXPERIMENTS.md ends with a hand-kept section (the story behind RESULTS.md):
    a re-run rewrites the generated sections and keeps that one, byte for byte."""
    markdown = tmp_path / "EXPERIMENTS.md"
    story = writeup.STORY_HEADING + "\n\nTyped by hand: 89.90 on test.\n\n### A subsection\n- kept\n"
    markdown.write_text("# Experiments: stale\n\n## 1. old numbers\n| rnn | 0.1 |\n\n" + story,
                        encoding="utf-8")
    assert main(["experiment", "report", "--output", str(tmp_path / "experiments"),
                 "--markdown", str(markdown)]) == 0
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# Experiments: the seed texts' RNN claims, measured")
    assert "old numbers" not in text
    assert text.endswith(story) and text.count(writeup.STORY_HEADING) == 1
