"""Tests for spacy_rnn.lab.evaluate: seqeval scoring, end-to-end evaluation, outputs."""
import json

import numpy
import pytest
import spacy
from seqeval.metrics import f1_score
from spacy.tokens import Doc, DocBin

from spacy_rnn.lab.evaluate import (
    PERSON_LABELS,
    as_the_model_reads,
    by_sentence,
    docs_to_iob,
    evaluate_model,
    metrics_markdown,
    normalize_label,
    reads_documents,
    seqeval_report,
    write_metrics,
)

from ..corpus import doc_with_sentences, make_nlp, write_documents

# Gold data for the end-to-end test: (words, IOB2 tags). Persons are "PER" in
# the gold and "PERSON" in the predictions, locations "LOC" vs "GPE".
GOLD = [
    ("Alice works at Acme in Paris .".split(),
     ["B-PER", "O", "O", "B-ORG", "O", "B-LOC", "O"]),
    ("Bob Smith met Carol .".split(),
     ["B-PER", "I-PER", "O", "B-PER", "O"]),
    # Gold tokenization that spaCy's tokenizer would not produce ("hired,").
    ("Acme Corp hired, Alice".split(),
     ["B-ORG", "I-ORG", "O", "B-PER"]),
]
PATTERNS = [
    {"label": "PERSON", "pattern": "Alice"},
    {"label": "PERSON", "pattern": [{"LOWER": "bob"}, {"LOWER": "smith"}]},
    {"label": "ORG", "pattern": "Acme"},
    {"label": "GPE", "pattern": "Paris"},
]


@pytest.fixture
def ruler_nlp():
    """A pipeline whose predictions are fixed by patterns: no training needed."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)
    return nlp


@pytest.fixture
def gold_path(tmp_path, ruler_nlp):
    docs = [Doc(ruler_nlp.vocab, words=words, ents=tags) for words, tags in GOLD]
    path = tmp_path / "test.spacy"
    DocBin(docs=docs).to_disk(path)
    return path


@pytest.mark.parametrize("label", sorted(PERSON_LABELS))
def test_normalize_label_person(label):
    assert normalize_label(label) == "PER"


@pytest.mark.parametrize("label", ["ORG", "LOC", "PERS", "per"])
def test_normalize_label_other(label):
    assert normalize_label(label) == label


def test_docs_to_iob_normalizes_person():
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["Ann", "Lee", "of", "IBM"], ents=["B-NAME", "I-NAME", "O", "B-ORG"])
    assert docs_to_iob([doc]) == [["B-PER", "I-PER", "O", "B-ORG"]]


def test_docs_to_iob_missing_is_outside():
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["Ann", "sings"], ents=["B-PERSON", ""])
    assert docs_to_iob([doc]) == [["B-PER", "O"]]


def test_seqeval_report_strict_differs_from_lenient():
    # An entity that starts with I- after O: the default (CoNLL) mode counts it
    # as a correct PER, strict IOB2 does not count it at all.
    y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    y_pred = [["I-PER", "I-PER", "O", "B-LOC"]]
    assert f1_score(y_true, y_pred) == pytest.approx(1.0)
    report = seqeval_report(y_true, y_pred)
    assert report["per_type"]["PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["per_type"]["LOC"]["f1"] == pytest.approx(1.0)
    assert report["overall"]["precision"] == pytest.approx(1.0)
    assert report["overall"]["recall"] == pytest.approx(0.5)
    assert report["overall"]["f1"] == pytest.approx(2 / 3)


def test_seqeval_report_per_always_present_and_first():
    report = seqeval_report([["B-ORG", "O"], ["O", "B-LOC"]], [["B-ORG", "O"], ["O", "O"]])
    assert list(report["per_type"]) == ["PER", "LOC", "ORG"]
    assert report["per_type"]["PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_seqeval_report_no_entities_at_all():
    report = seqeval_report([["O", "O"]], [["O", "O"]])
    assert report["overall"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert list(report["per_type"]) == ["PER"]


def test_seqeval_report_support_and_types():
    y_true = [["B-PER", "I-PER", "O", "B-PER"], ["B-ORG", "O", "B-PER"]]
    y_pred = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "O", "B-ORG"]]
    report = seqeval_report(y_true, y_pred)
    per, org = report["per_type"]["PER"], report["per_type"]["ORG"]
    assert per["support"] == 3 and org["support"] == 1
    assert per["precision"] == pytest.approx(1.0)
    assert per["recall"] == pytest.approx(1 / 3)
    assert org["precision"] == pytest.approx(0.5)
    assert org["recall"] == pytest.approx(1.0)
    for scores in report["per_type"].values():
        assert all(isinstance(scores[key], float) for key in ("precision", "recall", "f1"))
        assert isinstance(scores["support"], int)


def test_seqeval_report_misaligned():
    with pytest.raises(ValueError, match="RNN043"):
        seqeval_report([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="RNN043"):
        seqeval_report([["O"]], [])


def test_evaluate_model_end_to_end(ruler_nlp, gold_path):
    metrics = evaluate_model(ruler_nlp, gold_path, dataset="toy", config="ruler", seed=1,
                             label_map={"GPE": "LOC"})
    # By hand: PER gold 4 (Alice x2, Bob Smith, Carol), predicted 3, all correct.
    # ORG gold 2 (Acme, Acme Corp), predicted 2 (Acme x2), 1 correct. LOC 1/1/1.
    # Overall: 7 gold, 6 predicted, 5 correct.
    per = metrics["per_type"]["PER"]
    assert per["support"] == 4
    assert per["precision"] == pytest.approx(1.0)
    assert per["recall"] == pytest.approx(0.75)
    assert per["f1"] == pytest.approx(6 / 7)
    assert metrics["per_type"]["ORG"]["f1"] == pytest.approx(0.5)
    assert metrics["per_type"]["LOC"]["f1"] == pytest.approx(1.0)
    assert metrics["overall"]["precision"] == pytest.approx(5 / 6)
    assert metrics["overall"]["recall"] == pytest.approx(5 / 7)
    assert metrics["overall"]["f1"] == pytest.approx(10 / 13)
    assert list(metrics["per_type"]) == ["PER", "LOC", "ORG"]
    assert (metrics["dataset"], metrics["config"], metrics["seed"]) == ("toy", "ruler", 1)
    assert metrics["n_docs"] == 3
    # The gold tokenization is used as is: 7 + 5 + 4 tokens.
    assert metrics["n_words"] == 16
    assert metrics["words_per_second"] > 0


def test_evaluate_model_agrees_with_spacy_scorer(ruler_nlp, gold_path):
    # All sequences are valid IOB2 here, so strict seqeval and spaCy's scorer
    # count exactly the same spans.
    metrics = evaluate_model(ruler_nlp, gold_path, label_map={"GPE": "LOC"})
    spacy_scores = metrics["spacy"]
    assert set(spacy_scores) == {"ents_p", "ents_r", "ents_f", "ents_per_type"}
    assert spacy_scores["ents_p"] == pytest.approx(metrics["overall"]["precision"])
    assert spacy_scores["ents_r"] == pytest.approx(metrics["overall"]["recall"])
    assert spacy_scores["ents_f"] == pytest.approx(metrics["overall"]["f1"])
    for label in ("PER", "ORG", "LOC"):
        theirs, ours = spacy_scores["ents_per_type"][label], metrics["per_type"][label]
        assert theirs["p"] == pytest.approx(ours["precision"])
        assert theirs["r"] == pytest.approx(ours["recall"])
        assert theirs["f"] == pytest.approx(ours["f1"])


def test_evaluate_model_without_label_map(ruler_nlp, gold_path):
    # GPE is not a gold type: the LOC entity is missed and GPE is a false positive.
    metrics = evaluate_model(ruler_nlp, gold_path)
    assert metrics["per_type"]["LOC"]["recall"] == 0.0
    assert metrics["per_type"]["GPE"]["precision"] == 0.0
    assert metrics["per_type"]["GPE"]["support"] == 0
    assert metrics["overall"]["precision"] == pytest.approx(4 / 6)


def test_evaluate_model_label_map_to_outside(ruler_nlp, gold_path):
    # Dropping ORG predictions: 4 predicted (PER x3, LOC), all correct.
    metrics = evaluate_model(ruler_nlp, gold_path, label_map={"GPE": "LOC", "ORG": "O"})
    assert metrics["overall"]["precision"] == pytest.approx(1.0)
    assert metrics["overall"]["recall"] == pytest.approx(4 / 7)
    assert metrics["per_type"]["ORG"]["precision"] == 0.0
    assert metrics["spacy"]["ents_p"] == pytest.approx(1.0)


def test_evaluate_model_person_type_only(ruler_nlp, gold_path):
    # Other types vanish from gold *and* predictions: 3 of 4 gold persons found
    # (Carol is missed), no false positives left once ORG and GPE are out.
    metrics = evaluate_model(ruler_nlp, gold_path, types=["PER"])
    assert list(metrics["per_type"]) == ["PER"]
    per = metrics["per_type"]["PER"]
    assert (per["precision"], per["recall"], per["support"]) == (1.0, 0.75, 4)
    assert metrics["overall"]["f1"] == pytest.approx(6 / 7) == per["f1"]
    assert metrics["spacy"]["ents_f"] == pytest.approx(6 / 7)
    assert metrics["types"] == ["PER"]
    # Unnamed, the pipeline is called after its package (lang_name), as en_core_web_md is.
    assert metrics["config"] == "en_pipeline"


@pytest.mark.parametrize("types", [[], [""]])
def test_evaluate_model_bad_types(ruler_nlp, gold_path, types):
    with pytest.raises(ValueError, match="RNN046"):
        evaluate_model(ruler_nlp, gold_path, types=types)


def test_evaluate_model_from_path(tmp_path, ruler_nlp, gold_path):
    ruler_nlp.to_disk(tmp_path / "model")
    metrics = evaluate_model(tmp_path / "model", gold_path, label_map={"GPE": "LOC"})
    assert metrics["overall"]["f1"] == pytest.approx(10 / 13)


def test_evaluate_model_bad_inputs(tmp_path, ruler_nlp):
    with pytest.raises(ValueError, match="RNN040"):
        evaluate_model(ruler_nlp, tmp_path / "missing.spacy")
    DocBin().to_disk(tmp_path / "empty.spacy")
    with pytest.raises(ValueError, match="RNN041"):
        evaluate_model(ruler_nlp, tmp_path / "empty.spacy")
    DocBin(docs=[Doc(ruler_nlp.vocab, words=["x"])]).to_disk(tmp_path / "one.spacy")
    with pytest.raises(ValueError, match="RNN042"):
        evaluate_model(ruler_nlp, tmp_path / "one.spacy", label_map={"GPE": ""})


def test_metrics_markdown(ruler_nlp, gold_path):
    metrics = evaluate_model(ruler_nlp, gold_path, label_map={"GPE": "LOC"})
    markdown = metrics_markdown(metrics)
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| Type |")
    assert rows[1].startswith("| --- |")
    assert rows[2].startswith("| **overall** | 83.33 | 71.43 | 76.92 | 7 |")
    assert rows[3] == "| PER | 100.00 | 75.00 | 85.71 | 4 |"
    assert "ents_f 76.92" in markdown


def test_metrics_markdown_adds_missing_per():
    metrics = seqeval_report([["B-ORG"]], [["B-ORG"]])
    assert "| PER | 0.00 | 0.00 | 0.00 | 0 |" in metrics_markdown(metrics)


def test_write_metrics(tmp_path, ruler_nlp, gold_path, monkeypatch):
    metrics = evaluate_model(ruler_nlp, gold_path, seed=3)
    json_path, md_path = tmp_path / "out" / "metrics.json", tmp_path / "out" / "md" / "metrics.md"
    write_metrics(metrics, json_path, md_path)
    assert json.loads(json_path.read_text(encoding="utf-8")) == metrics
    assert md_path.read_text(encoding="utf-8") == metrics_markdown(metrics)
    # Written whole or not at all: a failed write leaves the old file, no half file.
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("spacy_rnn.lab.evaluate.os.replace", fail)
    with pytest.raises(OSError):
        write_metrics({**metrics, "seed": 4}, json_path, md_path)
    assert json.loads(json_path.read_text(encoding="utf-8")) == metrics


@pytest.fixture
def train_path(tmp_path, ruler_nlp):
    # Alice is a person here under another name for the type; Acme is a LOC here
    # (so the test's ORG "Acme" is unseen as an ORG); Paris is a LOC as in the test.
    docs = [
        Doc(ruler_nlp.vocab, words="Alice visited Acme".split(), ents=["B-PERSON", "O", "B-LOC"]),
        Doc(ruler_nlp.vocab, words="Paris".split(), ents=["B-LOC"]),
    ]
    path = tmp_path / "train.spacy"
    DocBin(docs=docs).to_disk(path)
    return path


def test_recall_by_novelty(ruler_nlp, gold_path, train_path):
    # By hand: seen = Alice x2 (PER), Paris (LOC), all found. Unseen = Bob Smith
    # (found), Carol (missed), Acme as ORG (found), Acme Corp (missed).
    metrics = evaluate_model(ruler_nlp, gold_path, label_map={"GPE": "LOC"},
                             train_path=train_path)
    novelty = metrics["recall_by_novelty"]
    assert novelty["seen"]["overall"] == {"recall": 1.0, "support": 3}
    assert novelty["unseen"]["overall"] == {"recall": 0.5, "support": 4}
    assert novelty["seen"]["PER"] == {"recall": 1.0, "support": 2}
    assert novelty["unseen"]["PER"] == {"recall": 0.5, "support": 2}
    assert novelty["unseen"]["ORG"] == {"recall": 0.5, "support": 2}
    assert "ORG" not in novelty["seen"]
    markdown = metrics_markdown(metrics)
    assert "| overall | 100.00 | 3 | 50.00 | 4 |" in markdown
    assert "| ORG | n/a | 0 | 50.00 | 2 |" in markdown
    # Restricted to persons, only persons are counted.
    per_only = evaluate_model(ruler_nlp, gold_path, types=["PER"], train_path=train_path)
    assert set(per_only["recall_by_novelty"]["unseen"]) == {"overall", "PER"}
    assert per_only["recall_by_novelty"]["unseen"]["overall"]["support"] == 2


def test_unseen_recall_by_vectors(ruler_nlp, gold_path, train_path):
    # Unseen: Bob Smith (found) and Acme as ORG (found) have vectors for every
    # token; Carol (missed) has none and Acme Corp (missed) lacks "Corp".
    without = evaluate_model(ruler_nlp, gold_path, label_map={"GPE": "LOC"}, train_path=train_path)
    assert "unseen_recall_by_vectors" not in without
    for word in ("Bob", "Smith", "Acme", "Alice"):
        ruler_nlp.vocab.set_vector(word, numpy.ones((4,), dtype="f"))
    metrics = evaluate_model(ruler_nlp, gold_path, label_map={"GPE": "LOC"}, train_path=train_path)
    by_vectors = metrics["unseen_recall_by_vectors"]
    assert by_vectors["in_vectors"]["overall"] == {"recall": 1.0, "support": 2}
    assert by_vectors["not_in_vectors"]["overall"] == {"recall": 0.0, "support": 2}
    assert by_vectors["in_vectors"]["PER"] == {"recall": 1.0, "support": 1}
    assert by_vectors["not_in_vectors"]["ORG"] == {"recall": 0.0, "support": 1}
    # Seen entities (Alice, Paris) are not in either group.
    total = sum(group["overall"]["support"] for group in by_vectors.values())
    assert total == metrics["recall_by_novelty"]["unseen"]["overall"]["support"]
    assert "| overall | 100.00 | 2 | 0.00 | 2 |" in metrics_markdown(metrics)


def test_recall_by_novelty_missing_train_file_is_named(ruler_nlp, gold_path, tmp_path):
    with pytest.raises(ValueError, match="RNN040.*nowhere.spacy"):
        evaluate_model(ruler_nlp, gold_path, train_path=tmp_path / "nowhere.spacy")


def _pipeline_with_vectors(path, words):
    """A saved blank pipeline whose vectors table covers `words` and nothing else."""
    nlp = spacy.blank("en")
    for word in words:
        nlp.vocab.set_vector(word, numpy.ones((4,), dtype="f"))
    nlp.to_disk(path)
    return path


def test_unseen_recall_split_by_another_pipelines_vectors(ruler_nlp, gold_path, train_path, tmp_path):
    # The ruler has no vectors of its own; the split follows the reference table.
    reference = _pipeline_with_vectors(tmp_path / "ref", ["Bob", "Smith", "Acme", "Alice"])
    metrics = evaluate_model(ruler_nlp, gold_path, label_map={"GPE": "LOC"},
                             train_path=train_path, vectors_of=reference)
    by_vectors = metrics["unseen_recall_by_vectors"]
    assert by_vectors["in_vectors"]["overall"] == {"recall": 1.0, "support": 2}
    assert by_vectors["not_in_vectors"]["overall"] == {"recall": 0.0, "support": 2}
    assert metrics["vectors_of"] == str(reference)
    assert f"have a static vector in {reference}:" in metrics_markdown(metrics)
    # A different table moves the same entities between the groups.
    other = _pipeline_with_vectors(tmp_path / "other", ["Carol"])
    moved = evaluate_model(ruler_nlp, gold_path, label_map={"GPE": "LOC"},
                           train_path=train_path, vectors_of=other)["unseen_recall_by_vectors"]
    assert moved["in_vectors"]["overall"] == {"recall": 0.0, "support": 1}
    assert moved["not_in_vectors"]["overall"] == {"recall": 2 / 3, "support": 3}


def test_vectors_of_bad_input_is_named_before_predicting(ruler_nlp, gold_path, train_path, tmp_path):
    def fail(*args, **kwargs):
        raise AssertionError("the test set was predicted before the bad input was found")

    ruler_nlp.pipe = fail
    empty = tmp_path / "blank"
    spacy.blank("en").to_disk(empty)
    with pytest.raises(ValueError, match="RNN054.*blank.*has no static vectors"):
        evaluate_model(ruler_nlp, gold_path, train_path=train_path, vectors_of=empty)
    with pytest.raises(ValueError, match="RNN054.*nowhere.*has no folder"):
        evaluate_model(ruler_nlp, gold_path, train_path=train_path, vectors_of=tmp_path / "nowhere")
    reference = _pipeline_with_vectors(tmp_path / "ref", ["Bob"])
    with pytest.raises(ValueError, match="RNN055.*ref.*--train-path"):
        evaluate_model(ruler_nlp, gold_path, vectors_of=reference)
    with pytest.raises(ValueError, match="RNN040.*missing.spacy"):
        evaluate_model(ruler_nlp, gold_path, train_path=tmp_path / "missing.spacy",
                       vectors_of=reference)


def test_cli_evaluate_vectors_of(ruler_nlp, gold_path, train_path, tmp_path, capsys):
    from spacy_rnn.lab.cli import main

    ruler_nlp.to_disk(tmp_path / "model")
    reference = _pipeline_with_vectors(tmp_path / "ref", ["Bob", "Smith", "Acme", "Alice"])
    out = tmp_path / "m.json"
    args = ["evaluate", str(tmp_path / "model"), str(gold_path), "--output", str(out),
            "--train-path", str(train_path), "--label-map", str(tmp_path / "map.json")]
    (tmp_path / "map.json").write_text(json.dumps({"GPE": "LOC"}))
    assert main(args + ["--vectors-of", str(reference)]) == 0
    saved = json.loads(out.read_text())
    assert saved["unseen_recall_by_vectors"]["in_vectors"]["overall"]["support"] == 2
    assert saved["vectors_of"] == str(reference)
    # A table that cannot be read is named, with no traceback and no file written.
    out.unlink()
    assert main(args + ["--vectors-of", str(tmp_path / "nowhere")]) == 1
    assert "RNN054" in capsys.readouterr().err and not out.exists()


def test_scores_on_documents_are_cut_at_sentences():
    """A predicted entity across a sentence start is scored as two pieces of one
    sentence each, as it would be on the sentence files."""
    nlp = spacy.blank("en")
    doc = doc_with_sentences(nlp, 4, {0, 2})
    true = [["O", "B-PER", "I-PER", "O"]]
    pred = [["O", "B-PER", "I-PER", "O"]]
    cut_true, cut_pred = by_sentence(true, pred, [doc])
    assert cut_true == [["O", "B-PER"], ["I-PER", "O"]]
    assert cut_pred == cut_true
    plain = Doc(nlp.vocab, words=["a", "b"])
    assert by_sentence([["O", "O"]], [["B-X", "O"]], [plain]) == ([["O", "O"]], [["B-X", "O"]])


def test_evaluation_reads_documents_as_the_model_does(tmp_path):
    """A sentence-level model is scored on a document file sentence by sentence
    (as on the sentence file); a model with document context reads the documents."""
    nlp = spacy.blank("en")
    documents = write_documents(tmp_path / "test.docs.spacy", nlp)
    sentence_model = make_nlp()
    doc_model = make_nlp(model={"context_width": 0, "document_memory": True})
    assert not reads_documents(sentence_model) and reads_documents(doc_model)
    assert [d.text.strip() for d in as_the_model_reads(sentence_model, documents)] == [
        "EU rejects .", "Peter Blackburn said .", "Japan wins"]
    assert as_the_model_reads(doc_model, documents) == documents
