"""Tests for spacy_rnn.lab.run_report: the training log reader, the plots and the summary."""
import json

import pytest

pytest.importorskip("matplotlib")

from spacy_rnn.lab.evaluate import seqeval_report, write_metrics  # noqa: E402
from spacy_rnn.lab.run_report import (  # noqa: E402
    PER_TYPE_PNG,
    TRAINING_CURVE_PNG,
    plot_gradient_flow,
    plot_per_type_f1,
    plot_training_curve,
    read_training_log,
    write_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _log_row(epoch, step, loss, f):
    """One line as ConsoleLogger.v3 writes it: scores in 0-100, score in 0-1."""
    return {
        "epoch": epoch,
        "step": step,
        "losses": {"rnn_tagger": loss},
        "scores": {"ents_f": f, "ents_p": f + 2.0, "ents_r": f - 2.0},
        "score": f / 100,
    }


LOG_ROWS = [_log_row(0, 0, 120.0, 2.0), _log_row(0, 200, 40.5, 61.3),
            _log_row(1, 400, 18.2, 74.9), _log_row(2, 600, 9.7, 73.8)]


@pytest.fixture
def log_path(tmp_path):
    path = tmp_path / "training" / "log.jsonl"
    path.parent.mkdir()
    # A trailing blank line, as editors leave them, must not matter.
    path.write_text("".join(json.dumps(row) + "\n" for row in LOG_ROWS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def metrics_json(tmp_path):
    y_true = [["B-PER", "I-PER", "O", "B-ORG", "B-LOC"], ["B-PER", "O", "B-MISC"]]
    y_pred = [["B-PER", "I-PER", "O", "B-ORG", "B-PER"], ["O", "O", "B-MISC"]]
    metrics = seqeval_report(y_true, y_pred)
    metrics.update({"dataset": "toy", "config": "lstm", "seed": 0, "n_docs": 2,
                    "words_per_second": 12345.6,
                    "spacy": {"ents_p": 0.75, "ents_r": 0.6, "ents_f": 2 / 3, "ents_per_type": {}}})
    path = tmp_path / "metrics" / "metrics.json"
    write_metrics(metrics, path, tmp_path / "metrics" / "metrics.md")
    return path


def _assert_png(path):
    assert path.is_file()
    data = path.read_bytes()
    assert len(data) > 1000
    assert data.startswith(PNG_SIGNATURE)


def test_read_training_log(log_path):
    rows = read_training_log(log_path)
    assert rows == LOG_ROWS


@pytest.mark.parametrize("bad_line", [
    "{not json",
    "[1, 2]",
    '{"epoch": 0, "losses": {}, "scores": {}}',
    '{"epoch": 0, "step": 5, "losses": {"rnn_tagger": "x"}, "scores": {}}',
    '{"epoch": 0, "step": 5, "losses": {}, "scores": null}',
])
def test_read_training_log_malformed(tmp_path, bad_line):
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps(LOG_ROWS[0]) + "\n" + bad_line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"log\.jsonl, line 2"):
        read_training_log(path)


def test_plots(tmp_path, metrics_json):
    metrics = json.loads(metrics_json.read_text(encoding="utf-8"))
    _assert_png(plot_training_curve(LOG_ROWS, tmp_path / "a" / "curve.png", title="t"))
    _assert_png(plot_per_type_f1(metrics, tmp_path / "b" / "bars.png"))


def test_write_report(tmp_path, metrics_json, log_path):
    md_path = write_report(metrics_json, log_path, tmp_path / "report")
    assert md_path == tmp_path / "report" / "README.md"
    _assert_png(tmp_path / "report" / TRAINING_CURVE_PNG)
    _assert_png(tmp_path / "report" / PER_TYPE_PNG)
    markdown = md_path.read_text(encoding="utf-8")
    assert f"]({TRAINING_CURVE_PNG})" in markdown
    assert f"]({PER_TYPE_PNG})" in markdown
    assert "| PER |" in markdown
    assert "toy / lstm / seed 0" in markdown
    assert "Best dev ents_f: 74.90 at step 400" in markdown


def test_write_report_without_log(tmp_path, metrics_json):
    for log_path in (None, tmp_path / "no-such-log.jsonl"):
        out = tmp_path / f"report-{log_path is None}"
        markdown = write_report(metrics_json, log_path, out).read_text(encoding="utf-8")
        _assert_png(out / PER_TYPE_PNG)
        assert not (out / TRAINING_CURVE_PNG).exists()
        assert "No training log found" in markdown
        assert f"]({PER_TYPE_PNG})" in markdown
        assert TRAINING_CURVE_PNG not in markdown


def test_write_report_empty_log(tmp_path, metrics_json):
    log_path = tmp_path / "log.jsonl"
    log_path.write_text("", encoding="utf-8")
    markdown = write_report(metrics_json, log_path, tmp_path / "out").read_text(encoding="utf-8")
    assert "has no entries" in markdown


def test_write_report_bad_metrics(tmp_path):
    with pytest.raises(ValueError, match="RNN044"):
        write_report(tmp_path / "missing.json", None, tmp_path / "out")
    (tmp_path / "m.json").write_text('{"overall": {}}', encoding="utf-8")
    with pytest.raises(ValueError, match="RNN044"):
        write_report(tmp_path / "m.json", None, tmp_path / "out")


def test_report_plots_gradient_flow(tmp_path):
    rows = [{"step": 10, "updates": 10, "clipped_updates": 3, "clip_rate": 0.3,
             "distance": [-1, 0, 1, 2], "distance_norm_sum": [1.0, 4.0, 2.0, 0.5],
             "distance_count": [1, 2, 2, 1], "cell": "bilstm"}]
    png = plot_gradient_flow({"lstm": rows, "rnn": rows}, tmp_path / "g.png")
    assert png.stat().st_size > 1000
    metrics = {"overall": {"f1": 0.5, "precision": 0.5, "recall": 0.5, "support": 2},
               "per_type": {"PER": {"f1": 0.5, "precision": 0.5, "recall": 0.5, "support": 2}}}
    (tmp_path / "m.json").write_text(json.dumps(metrics))
    (tmp_path / "g.jsonl").write_text(json.dumps(rows[0]) + "\n")
    md = write_report(tmp_path / "m.json", None, tmp_path / "r", tmp_path / "g.jsonl")
    assert "Gradient clipping fired in 3 of 10 updates (30.0%)" in md.read_text()
    assert (tmp_path / "r" / "gradient_flow.png").exists()
