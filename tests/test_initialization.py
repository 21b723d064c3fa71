"""What initialize installs (the one-hot vocabulary, clusters, name lists) and the
settings it checks before the first update."""
import pytest
from spacy.lang.en import English
from spacy.training import Example

from spacy_rnn.initialization import (
    check_settings,
    install_clusters,
    install_lexicons,
    install_vocabulary,
    nodes_named,
    read_vocab,
)

TEXTS = ["the cat saw the dog", "the dog ran"]


def _tagger(**embed):
    nlp = English()
    tagger = nlp.add_pipe("rnn_tagger", config={"model": {"embed": {"vocab_size": 3, **embed}}})
    tagger.add_label("PER")
    return nlp, tagger


def test_vocabulary_counted_from_the_docs_or_read_from_a_file(tmp_path):
    nlp, tagger = _tagger()
    install_vocabulary(tagger.model, None, lambda: (nlp.make_doc(t) for t in TEXTS))
    (layer,) = nodes_named(tagger.model, "vocab_embed")
    assert layer.attrs["words"] == ["the", "dog", "cat"]  # by frequency, cut at vocab_size
    path = tmp_path / "vocab.txt"
    path.write_text("zebra\n\nyak\n", encoding="utf8")
    install_vocabulary(tagger.model, path, lambda: iter(()))
    assert layer.attrs["words"] == ["zebra", "yak"]  # blank lines are not words
    assert read_vocab(["a", "b"]) == ["a", "b"]


def test_an_unreadable_vocabulary_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"RNN014.*missing\.txt"):
        read_vocab(tmp_path / "missing.txt")


def test_tables_a_model_needs_but_was_not_given_are_named():
    _, tagger = _tagger(cluster_width=8)
    with pytest.raises(ValueError, match="RNN082"):
        install_clusters(tagger.model, None, "en")
    _, tagger = _tagger(lexicon_width=8)
    with pytest.raises(ValueError, match="RNN090"):
        install_lexicons(tagger.model, None)
    _, plain = _tagger()
    install_clusters(plain.model, None, "en")  # no cluster features: nothing to do
    install_lexicons(plain.model, None)


def test_settings_that_cannot_work_are_named_before_the_first_update():
    nlp, tagger = _tagger(include_static_vectors=True)
    with pytest.raises(ValueError, match="RNN005"):
        check_settings(tagger.model, nlp.vocab, 1, 5, "ents", "rnn_tagger", nlp)
    nlp = English()
    tagger = nlp.add_pipe("rnn_tagger", config={"model": {"nO": 7}})
    with pytest.raises(ValueError, match=r"RNN001.*'nO'.*5, the number of tags 1 label"):
        check_settings(tagger.model, nlp.vocab, 1, 5, "ents", "rnn_tagger", nlp)
    # Through the component: initialize runs the same check.
    tagger.add_label("PER")
    example = Example.from_dict(nlp.make_doc("Ann"), {"entities": [(0, 3, "PER")]})
    with pytest.raises(ValueError, match="RNN001.*'nO'"):
        nlp.initialize(lambda: [example])
