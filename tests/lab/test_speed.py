"""The speed harness: structure and ratios (no timing assertions: those flake)."""
import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from spacy_rnn.lab.cli import main
from spacy_rnn.lab.speed import (
    BLANK,
    batch_scaling,
    benchmark_inference,
    scaling,
    speed_markdown,
    training_speed,
    training_speed_markdown,
)

from ..corpus import TRAIN_DATA, make_examples, make_nlp, train


def test_benchmark_inference_alternates_and_compares():
    nlp = make_nlp()
    train(nlp, make_examples(nlp), n_iter=1)
    texts = [t for t, _ in TRAIN_DATA]
    result = benchmark_inference({"rnn": nlp}, texts, rounds=2, baseline="rnn")
    assert set(result["pipelines"]) == {BLANK, "rnn"}
    rnn = result["pipelines"]["rnn"]
    assert len(rnn["seconds_runs"]) == 2
    assert rnn["vs_baseline"] == 1.0
    assert result["pipelines"][BLANK]["vs_blank"] == 1.0
    assert result["words"] == sum(len(nlp.make_doc(t)) for t in texts)
    assert "| rnn |" in speed_markdown(result)
    per_token = scaling(nlp, lengths=(10, 100), total_tokens=400)
    assert set(per_token) == {10, 100} and all(v > 0 for v in per_token.values())
    per_batch = batch_scaling(nlp, texts, batch_sizes=(1, 4))
    assert set(per_batch) == {1, 4} and all(v > 0 for v in per_batch.values())


def test_benchmark_cli(tmp_path):
    nlp = make_nlp()
    train(nlp, make_examples(nlp), n_iter=1)
    nlp.to_disk(tmp_path / "model")
    db = DocBin()
    blank = spacy.blank("en")
    for text, _ in TRAIN_DATA:
        db.add(blank.make_doc(text))
    db.to_disk(tmp_path / "test.spacy")
    code = main(["benchmark", str(tmp_path / "test.spacy"), "--model",
                 f"rnn={tmp_path / 'model'}", "--output", str(tmp_path / "speed.json"),
                 "--rounds", "1", "--threads", "1"])
    assert code == 0
    assert "rnn" in srsly.read_json(tmp_path / "speed.json")["pipelines"]


def _log_row(step, seconds, words, f1):
    return {"epoch": 0, "step": step, "losses": {"rnn_tagger": 1.0},
            "scores": {"ents_f": f1}, "score": f1 / 100, "seconds": seconds, "words": words}


def test_training_speed_time_to_threshold_and_throughput():
    rows = [_log_row(0, 2, 100, 1.0), _log_row(200, 60, 30000, 88.0),
            _log_row(400, 120, 60000, 90.5), _log_row(600, 180, 90000, 90.2)]
    speed = training_speed(rows, threshold=90.0)
    assert speed["seconds_to_threshold"] == 120 and speed["step_to_threshold"] == 400
    assert speed["words_per_second"] == 500.0
    assert (speed["best_score"], speed["best_step"], speed["last_step"]) == (90.5, 400, 600)
    never = training_speed(rows, threshold=95.0)
    assert never["seconds_to_threshold"] is None and never["step_to_threshold"] is None
    text = training_speed_markdown({"a": speed, "b": never})
    assert "2.0 min (step 400)" in text and "not reached" in text


def test_training_speed_needs_timed_log():
    # ConsoleLogger.v3's own lines carry no seconds: say which logger is needed.
    untimed = [{k: v for k, v in _log_row(0, 1, 1, 0.0).items() if k != "seconds"}]
    with pytest.raises(ValueError, match="RNN047"):
        training_speed(untimed)


def test_train_speed_command_reads_log_and_meta(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.jsonl").write_text("\n".join(
        srsly.json_dumps(r) for r in [_log_row(0, 10, 1000, 50.0), _log_row(200, 70, 31000, 91.0)]))
    srsly.write_json(run / "train_meta.json", {"seconds": 75.0, "peak_rss_mb": 812.5,
                                                "hardware": "CPU x2"})
    out = tmp_path / "speed.json"
    assert main(["train-speed", "--run", f"mine={run}", "--output", str(out)]) == 0
    result = srsly.read_json(out)["mine"]
    assert result["seconds_to_threshold"] == 70 and result["peak_rss_mb"] == 812.5
    assert "| mine | 443 | 1.2 min (step 200) | 91.00 (200) | 812 MiB | CPU x2 |" in \
        capsys.readouterr().out
