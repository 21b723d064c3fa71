"""Calibration of entity confidences: reliability bins, ECE, precision/recall by threshold,
and their place in evaluate and the run report."""
import json

import numpy
import pytest
from spacy.tokens import Doc, DocBin, Span, SpanGroup
from spacy.vocab import Vocab
from thinc.api import fix_random_seed

from spacy_rnn.lab.calibration import (
    calibration_report,
    confidence_pairs,
    precision_recall_curve,
    reliability,
    threshold_for_precision,
)
from spacy_rnn.lab.evaluate import evaluate_model, normalize_label, write_metrics

from ..corpus import TRAIN_DATA, make_examples, make_nlp, train


def test_reliability_bins_and_ece_by_hand():
    conf = numpy.array([0.05, 0.15, 0.15, 0.95, 0.95, 0.95, 0.95, 1.0])
    right = numpy.array([False, True, False, True, True, True, False, True])
    rel = reliability(conf, right, n_bins=10)
    counts = [b["count"] for b in rel["bins"]]
    assert counts == [1, 2, 0, 0, 0, 0, 0, 0, 0, 5]
    top = rel["bins"][9]
    assert top["confidence"] == pytest.approx(0.96) and top["accuracy"] == pytest.approx(0.8)
    assert rel["bins"][2]["accuracy"] is None
    # ECE = sum over bins of count/n * |accuracy - confidence|.
    expected = (1 / 8) * 0.05 + (2 / 8) * abs(0.5 - 0.15) + (5 / 8) * abs(0.8 - 0.96)
    assert rel["ece"] == pytest.approx(expected)
    assert reliability(numpy.zeros(0), numpy.zeros(0, dtype=bool))["ece"] is None


def test_precision_recall_curve_is_exact_and_ties_move_together():
    conf = numpy.array([0.9, 0.8, 0.8, 0.3])
    right = numpy.array([True, True, False, True])
    curve = precision_recall_curve(conf, right, n_gold=5)
    assert curve["threshold"] == [0.9, 0.8, 0.3]
    assert curve["precision"] == pytest.approx([1.0, 2 / 3, 0.75])
    assert curve["recall"] == pytest.approx([0.2, 0.4, 0.6])
    assert threshold_for_precision(curve, 0.99)["threshold"] == 0.9
    assert threshold_for_precision(curve, 0.7)["threshold"] == 0.3  # lowest that reaches it
    assert threshold_for_precision({"threshold": [0.5], "precision": [0.5], "recall": [1.0]},
                                   0.9) is None


def _doc_with_scores(vocab, words, gold, predicted):
    doc = Doc(vocab, words=words)
    gold_doc = Doc(vocab, words=words)
    gold_doc.ents = [Span(gold_doc, s, e, label=label) for s, e, label in gold]
    spans = [Span(doc, s, e, label=label) for s, e, label, _ in predicted]
    doc.spans["rnn_ents"] = SpanGroup(doc, name="rnn_ents", spans=spans,
                                      attrs={"scores": [p for *_, p in predicted]})
    return doc, gold_doc


def test_confidence_pairs_match_exact_span_and_label():
    vocab = Vocab()
    doc, gold = _doc_with_scores(
        vocab, ["Harry", "Potter", "in", "London"],
        gold=[(0, 2, "PERSON"), (3, 4, "LOC")],
        predicted=[(0, 1, "PER", 0.4), (3, 4, "LOC", 0.9)])
    conf, right, labels, n_gold = confidence_pairs([doc], [gold], "rnn_ents",
                                                   normalize_label, normalize_label)
    assert conf.tolist() == pytest.approx([0.4, 0.9])
    assert right.tolist() == [False, True]  # "Harry" alone is not the gold "Harry Potter"
    assert labels == ["PER", "LOC"] and n_gold == {"PER": 1, "LOC": 1}
    report = calibration_report([doc], [gold], "rnn_ents", normalize_label, normalize_label)
    assert report["per_label"]["n"] == 1 and report["curve"]["recall"] == [0.0]


def test_missing_span_group_is_a_clear_error():
    vocab = Vocab()
    doc = Doc(vocab, words=["Harry"])
    with pytest.raises(ValueError, match="RNN063.*'rnn_ents'"):
        confidence_pairs([doc], [Doc(vocab, words=["Harry"])], "rnn_ents",
                         normalize_label, normalize_label)


def test_evaluate_and_report_include_calibration(tmp_path):
    pytest.importorskip("matplotlib")
    from spacy_rnn.lab.run_report import write_report

    fix_random_seed(0)
    nlp = make_nlp()
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=20)
    db = DocBin()
    for eg in examples:
        db.add(eg.reference)
    db.to_disk(tmp_path / "test.spacy")
    metrics = evaluate_model(nlp, tmp_path / "test.spacy")
    cal = metrics["calibration"]
    n_predicted = sum(len(nlp(text).ents) for text, _ in TRAIN_DATA)
    assert cal["all"]["n"] == n_predicted > 0
    assert 0.0 <= cal["all"]["ece"] <= 1.0
    write_metrics(metrics, tmp_path / "m.json", tmp_path / "m.md")
    json.loads((tmp_path / "m.json").read_text())  # JSON-safe
    summary = write_report(tmp_path / "m.json", None, tmp_path / "report")
    text = summary.read_text()
    assert "Expected calibration error" in text
    for png in ("reliability.png", "precision_recall_by_threshold.png"):
        assert (tmp_path / "report" / png).read_bytes().startswith(b"\x89PNG")
    # Confidence off: no calibration entry, no error.
    nlp.get_pipe("rnn_tagger").confidence = False
    assert "calibration" not in evaluate_model(nlp, tmp_path / "test.spacy")


def test_temperature_fit_keeps_entities_lowers_log_loss_and_is_saved(tmp_path):
    from spacy_rnn.lab.temperature import (
        GRID,
        calibrate_model,
        fit_temperature,
        log_loss,
    )

    fix_random_seed(0)
    nlp = make_nlp()
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=8)
    texts = [text for text, _ in TRAIN_DATA]
    gold = [eg.reference for eg in examples]
    result = fit_temperature(nlp, gold)
    assert result["n_entities"] > 0 and result["temperature"] in GRID
    assert result["log_loss"]["after"] <= result["log_loss"]["before"]
    before = [(list(d.ents), d.spans["rnn_ents"].attrs["scores"]) for d in nlp.pipe(texts)]
    db = DocBin(docs=gold)
    db.to_disk(tmp_path / "dev.spacy")
    nlp.to_disk(tmp_path / "model")
    saved = calibrate_model(tmp_path / "model", tmp_path / "dev.spacy")
    assert saved["temperature"] == result["temperature"]
    import spacy

    loaded = spacy.load(tmp_path / "model")
    assert loaded.get_pipe("rnn_tagger").temperature == result["temperature"]
    after = [(list(d.ents), d.spans["rnn_ents"].attrs["scores"]) for d in loaded.pipe(texts)]
    # Same entities (a temperature never moves the best path), other confidences.
    assert [[(e.start, e.end, e.label_) for e in ents] for ents, _ in before] == \
        [[(e.start, e.end, e.label_) for e in ents] for ents, _ in after]
    if result["temperature"] != 1.0:
        assert [s for _, s in before] != [s for _, s in after]
    assert log_loss(numpy.array([0.9, 0.2]), numpy.array([True, False])) == pytest.approx(
        -(numpy.log(0.9) + numpy.log(0.8)) / 2)


def test_calibration_needs_a_confidence_pipe():
    from spacy_rnn.lab.temperature import fit_temperature

    nlp = make_nlp(confidence=False)
    with pytest.raises(ValueError, match="RNN066"):
        fit_temperature(nlp, [])


def test_calibrate_cli_if_any_leaves_a_pipeline_without_confidences_alone(tmp_path):
    """The project's train step calibrates whatever it trained: --if-any lets a
    pipeline without confidences through; without it that is an error (RNN066)."""
    import subprocess
    import sys

    nlp = make_nlp(confidence=False)
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=2)
    nlp.to_disk(tmp_path / "model")
    DocBin(docs=[eg.reference for eg in examples]).to_disk(tmp_path / "dev.spacy")
    cmd = [sys.executable, "-m", "spacy_rnn", "calibrate", str(tmp_path / "model"),
           str(tmp_path / "dev.spacy"), "--output", str(tmp_path / "cal.json")]
    lenient = subprocess.run(cmd + ["--if-any"], capture_output=True, text=True)
    assert lenient.returncode == 0 and "nothing to calibrate" in lenient.stdout
    assert json.loads((tmp_path / "cal.json").read_text()) == {"temperature": None}
    strict = subprocess.run(cmd, capture_output=True, text=True)
    assert strict.returncode != 0 and "RNN066" in strict.stderr
