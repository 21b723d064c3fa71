"""The speed harness: structure and ratios (no timing assertions: those flake)."""
import spacy
import srsly
from spacy.tokens import DocBin

from spacy_rnn.benchmark import BLANK, benchmark_inference, scaling, speed_markdown
from spacy_rnn.cli import main

from .corpus import TRAIN_DATA, make_examples, make_nlp, train


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
