"""Bigram features: each token paired with its neighbours, hashed."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc
from thinc.api import fix_random_seed

from ..corpus import make_examples, make_nlp, train


def test_bigram_keys_pair_each_token_with_its_neighbours():
    from spacy_rnn.layers.bigram_features import doc_bigram_keys

    vocab = spacy.blank("zh").vocab  # a language's vocab sets NORM; a bare Vocab() does not
    a = doc_bigram_keys(Doc(vocab, words=["北", "京", "市"]))
    b = doc_bigram_keys(Doc(vocab, words=["在", "北", "京"]))
    assert a.shape == (3, 2) and a.dtype == numpy.uint64
    # A token's right bigram is its right neighbour's left bigram.
    assert a[0, 1] == a[1, 0] and a[1, 1] == a[2, 0]
    # The same pair gives the same key in another doc and position ("北京").
    assert a[0, 1] == b[1, 1] == b[2, 0]
    # Order matters, and the doc edges pair with markers, not with each other.
    assert doc_bigram_keys(Doc(vocab, words=["京", "北"]))[0, 1] != a[0, 1]
    assert len({a[0, 0], a[2, 1], b[0, 0]}) == 3
    assert a[0, 0] == doc_bigram_keys(Doc(vocab, words=["北"]))[0, 0]
    assert doc_bigram_keys(Doc(vocab, words=[])).shape == (0, 2)


def test_bigram_features_see_the_neighbours():
    from spacy_rnn.layers.bigram_features import BigramFeatures

    layer = BigramFeatures(4, 100)
    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words=["a", "b", "c"]), Doc(vocab, words=["x", "b", "c"]), Doc(vocab, words=[])]
    layer.initialize(X=docs)
    out, _ = layer(docs, is_train=False)
    assert out.data.shape == (6, 8) and list(out.lengths) == [3, 3, 0]
    # "b" after "a" and after "x": same right bigram, different left bigram.
    assert numpy.array_equal(out.data[1, 4:], out.data[4, 4:])
    assert not numpy.array_equal(out.data[1, :4], out.data[4, :4])
    assert numpy.array_equal(out.data[2], out.data[5])


@pytest.mark.parametrize("setting,value", [("bigram_width", 0), ("bigram_rows", -5)])
def test_bad_bigram_settings_are_named(setting, value):
    with pytest.raises(ValueError, match=setting):
        make_nlp(model={"embed": {"@architectures": "spacy_rnn.TokenEmbed.v1",
                                  "bigram_width": 8, setting: value}})


def test_token_embed_bigrams_train_and_round_trip(tmp_path):
    fix_random_seed(0)
    nlp = make_nlp(model={"embed": {"@architectures": "spacy_rnn.TokenEmbed.v1",
                                    "bigram_width": 8, "bigram_rows": 500}})
    train(nlp, make_examples(nlp))
    assert any(n.name == "bigram_keys" for n in nlp.get_pipe("rnn_tagger").model.walk())
    text = "Harry Potter and Hermione Granger invented a new spell"
    assert [(e.text, e.label_) for e in nlp(text).ents] == [
        ("Harry Potter", "PER"), ("Hermione Granger", "PER")]
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    for text in (text, "Teddy bears met Ron Weasley"):
        assert [(e.text, e.label_) for e in loaded(text).ents] == [
            (e.text, e.label_) for e in nlp(text).ents]
