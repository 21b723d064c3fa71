"""spacy_rnn.Documents.v1: gold tokens and sentence starts, whole documents, cut at
whole sentences only."""
import pytest
import spacy
from spacy.util import registry

from .corpus import write_documents


@pytest.fixture
def nlp():
    return spacy.blank("en")


def test_documents_reader_keeps_tokens_and_sentences(tmp_path, nlp):
    write_documents(tmp_path / "train.docs.spacy", nlp)
    reader = registry.readers.get("spacy_rnn.Documents.v1")(tmp_path / "train.docs.spacy")
    examples = list(reader(nlp))
    assert [[t.text for t in eg.predicted] for eg in examples] == [
        [t.text for t in eg.reference] for eg in examples]
    assert [eg.predicted.text for eg in examples] == [eg.reference.text for eg in examples]
    first = examples[0]
    assert [t.is_sent_start for t in first.predicted] == [True, False, False, True,
                                                         False, False, False]
    assert not first.predicted.ents  # nothing of the gold leaks into the input
    assert [(e.text, e.label_) for e in first.reference.ents] == [
        ("EU", "ORG"), ("Peter Blackburn", "PER")]
    assert not examples[1].predicted.has_annotation("SENT_START")


def test_documents_reader_limit_max_length_and_errors(tmp_path, nlp):
    path = tmp_path / "train.docs.spacy"
    write_documents(path, nlp)
    make = registry.readers.get("spacy_rnn.Documents.v1")
    assert len(list(make(path, limit=1)(nlp))) == 1
    # Cut at whole sentences: 3 + 4 tokens, none lost, entities kept.
    parts = [eg.reference for eg in make(path, max_length=4)(nlp)]
    assert [doc.text.strip() for doc in parts] == ["EU rejects .", "Peter Blackburn said .",
                                                   "Japan wins"]
    assert [e.text for doc in parts for e in doc.ents] == ["EU", "Peter Blackburn", "Japan"]
    with pytest.raises(ValueError, match="RNN095.*gold_preproc"):
        make(path, gold_preproc=False)
    with pytest.raises(ValueError, match="RNN095.*no path"):
        make(None)
