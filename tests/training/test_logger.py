"""The training logger: timed JSON lines, gradient diagnostics on request, its old name."""
import json

import pytest
from spacy.cli.train import train as spacy_train
from spacy.util import registry

from spacy_rnn.training.diagnostics import pool_distance_profiles
from spacy_rnn.training.logger import make_training_logger

from ..conftest import REPO
from ..test_configs import tiny_corpus  # noqa: F401  (fixture)


def test_invalid_diagnose_every_names_the_setting():
    with pytest.raises(ValueError, match="diagnose_every"):
        make_training_logger(diagnose_every=-1)


def test_the_0_3_0_name_is_the_same_logger():
    """Configs written by 0.3.0 name DiagnosticsLogger.v1: they still train."""
    assert registry.loggers.get("spacy_rnn.DiagnosticsLogger.v1") is make_training_logger
    assert registry.loggers.get("spacy_rnn.TrainingLogger.v1") is make_training_logger


@pytest.mark.parametrize("every", [0, 1])
def test_spacy_train_writes_timed_log_and_diagnostics(every, tiny_corpus, tmp_path):  # noqa: F811
    grad_log = tmp_path / "gradients.jsonl"
    overrides = {
        "paths.train": str(tiny_corpus / "train.spacy"),
        "paths.dev": str(tiny_corpus / "train.spacy"),
        "paths.grad_log": str(grad_log),
        "training.logger.diagnose_every": every,
        "training.max_steps": 6,
        "training.eval_frequency": 3,
    }
    overrides["paths.log"] = str(tmp_path / "log.jsonl")
    overrides["components.rnn_tagger.model.cell"] = "gru"
    spacy_train(REPO / "configs" / "lstm.cfg", tmp_path / "out", overrides=overrides)
    # spaCy's training log, with the wall time and words seen at each evaluation.
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [0, 3, 6]
    assert all(0 <= row["scores"]["ents_f"] <= 100 and "rnn_tagger" in row["losses"]
               for row in log)
    assert [row["words"] for row in log] == sorted(row["words"] for row in log)
    assert log[-1]["words"] > log[0]["words"] > 0 and log[-1]["seconds"] >= 0
    rows = [json.loads(line) for line in grad_log.read_text().splitlines()]
    if not every:
        assert rows == []
        return
    assert [row["step"] for row in rows] == [0, 3, 6]
    assert all(row["cell"] == "bigru" and row["pipe"] == "rnn_tagger" for row in rows)
    assert sum(row["updates"] for row in rows) == 7  # steps 0..6 (spaCy updates before step 0's eval)
    assert pool_distance_profiles(rows)[0] > 0
