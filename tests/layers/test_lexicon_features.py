"""Lexicon features: matching, lexicon dropout, list files, lists saved with the model."""
import numpy
import pytest
from spacy.lang.en import English
from thinc.api import fix_random_seed

from spacy_rnn.layers.lexicon_features import (
    NONE,
    B,
    I,
    L,
    LexiconFeatures,
    U,
    batch_codes,
    read_lexicons,
    set_lexicons,
)

from ..corpus import make_examples, make_nlp, predict_in_fresh_process, train

MODEL = {"embed": {"@architectures": "spacy_rnn.TokenEmbed.v1", "lexicon_width": 8}}
FIRST = "Harry\nRon\nHermione\nLuna\n"
SURNAMES = "Potter\nWeasley\nGranger\nLovegood\n"


def codes(texts, lexicons, case="lower", dropout=0.0, is_train=False):
    """Per doc, per token, the tuple of codes (one per list, lists sorted by name)."""
    nlp = English()
    model = LexiconFeatures(4, dropout=dropout, case=case)
    set_lexicons(model, lexicons)
    docs = [nlp.make_doc(t) for t in texts]
    out = batch_codes(model, docs, is_train)
    starts = numpy.cumsum([0] + [len(d) for d in docs])
    return [[tuple(row) for row in out[a:b].tolist()] for a, b in zip(starts[:-1], starts[1:])]


def test_biluo_codes_by_hand():
    got = codes(["Harry Potter met Ron in New York City ."],
                {"first": ["Harry", "Ron"], "place": ["New York City", "Potter"]})
    assert got == [[(U, NONE), (NONE, U), (NONE, NONE), (U, NONE), (NONE, NONE),
                    (NONE, B), (NONE, I), (NONE, L), (NONE, NONE)]]


def test_longest_match_wins_and_ties_go_to_the_leftmost():
    lexicon = {"x": ["new york", "new york city", "york city hall", "york", "city"]}
    # "new york city" (3) and "york city hall" (3) overlap: same length, the leftmost
    # wins; "hall" is then free, but no phrase is "hall".
    assert codes(["new york city hall"], lexicon) == [[(B,), (I,), (L,), (NONE,)]]
    # Longer beats shorter whatever the order: "york city hall" over "new york".
    assert codes(["new york city hall"], {"x": ["new york", "york city hall"]}) == [
        [(NONE,), (B,), (I,), (L,)]]
    # Overlapping two-token matches in a row: a b | c d, not b c.
    assert codes(["a b c d"], {"x": ["a b", "b c", "c d"]}) == [[(B,), (L,), (B,), (L,)]]


def test_lists_are_independent_and_matches_stay_in_their_doc():
    lexicon = {"first": ["Mary"], "full": ["Mary Ann"]}
    assert codes(["Mary Ann"], lexicon) == [[(U, B), (NONE, L)]]
    # Across a doc boundary, no match: each doc keeps its own tokens.
    assert codes(["Mary", "Ann"], lexicon) == [[(U, NONE)], [(NONE, NONE)]]


@pytest.mark.parametrize("case,expected", [
    # "Rose" the name, "rose" the flower, "ROSE" in a headline, "McRose", "mcrose".
    ("exact", [U, NONE, NONE, U, NONE]),
    ("lower", [U, U, U, U, U]),
    ("title", [U, NONE, U, U, NONE]),
])
def test_case_modes(case, expected):
    got = codes(["Rose rose ROSE McRose mcrose"], {"name": ["Rose", "McRose"]}, case=case)
    assert [c[0] for c in got[0]] == expected


def test_title_mode_needs_every_token_of_the_match_capitalized():
    assert codes(["Van Morrison", "van Morrison"], {"x": ["van morrison"]}, case="title") == [
        [(B,), (L,)], [(NONE,), (NONE,)]]


def test_lexicon_dropout_only_in_training():
    texts = [" ".join(["Harry Potter"] * 50)]
    lexicon = {"full": ["Harry Potter"]}
    full = codes(texts, lexicon)
    # Inference: never hidden, whatever the setting.
    assert codes(texts, lexicon, dropout=0.5) == full
    fix_random_seed(0)
    first = codes(texts, lexicon, dropout=0.5, is_train=True)
    fix_random_seed(0)
    assert codes(texts, lexicon, dropout=0.5, is_train=True) == first  # seeded
    kept = [c for c in first[0] if c != (NONE,)]
    assert 0 < len(kept) < len(full[0])
    # Whole matches are hidden: every B still has its L.
    pairs = list(zip(first[0][::2], first[0][1::2]))
    assert set(pairs) <= {((B,), (L,)), ((NONE,), (NONE,))}


def test_embedding_is_the_sum_of_one_row_per_list_and_code():
    nlp = English()
    model = LexiconFeatures(3)
    set_lexicons(model, {"a": ["Harry"], "b": ["Harry", "Harry Potter"]})
    docs = [nlp.make_doc("Harry Potter said")]
    model.initialize(X=docs)
    E = model.get_param("E")
    assert E.shape == (8, 3)  # 2 lists x (B, I, L, U)
    Y, backprop = model(docs, is_train=False)
    # Harry: a-U (row 3) + b-B (row 4); Potter: b-L (row 6); said: nothing.
    numpy.testing.assert_allclose(Y.data, [E[3] + E[4], E[6], numpy.zeros(3)], rtol=1e-6)
    backprop(Y)
    assert numpy.abs(model.get_grad("E")[[0, 1, 2, 5, 7]]).sum() == 0


def test_a_model_with_lexicons_needs_lists():
    nlp = make_nlp(model=MODEL)
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match="RNN090"):
        nlp.initialize(lambda: examples)


@pytest.mark.parametrize("content,line,problem", [
    (None, 0, "does not exist"),
    (b"\n  \n", 0, "has no phrases"),
    (b"Harry\nR\xf3n\n", 2, "is not UTF-8"),
    (b"Harry\nRon\n" + b" ".join([b"w"] * 9) + b"\n", 3, "has a phrase of 9 tokens"),
])
def test_bad_lexicon_files_are_named_with_their_line(tmp_path, content, line, problem):
    path = tmp_path / "names.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"RNN091.*names.txt \(line {line}\): it {problem}"):
        read_lexicons({"first": str(path)})


def test_lexicon_files_are_normalized(tmp_path):
    path = tmp_path / "names.txt"
    path.write_bytes("\ufeffHarry\n\n  Mary   Ann \nHarry\n".encode("utf8"))
    assert read_lexicons({"first": path}) == {"first": ["Harry", "Mary Ann"]}


@pytest.mark.parametrize("value", [{}, ["names.txt"], {"": "names.txt"}, {"first": 3}])
def test_bad_lexicons_setting(value):
    with pytest.raises(ValueError, match="RNN092"):
        read_lexicons(value)


@pytest.mark.parametrize("setting,value", [("lexicon_case", "upper"), ("lexicon_dropout", 1.0),
                                           ("lexicon_width", 0)])
def test_bad_settings(setting, value):
    with pytest.raises(ValueError, match=f"RNN001.*{setting}"):
        make_nlp(model={"embed": {**MODEL["embed"], setting: value}})


def test_reinitializing_with_more_lists_resizes_the_table(tmp_path):
    (tmp_path / "first.txt").write_text(FIRST, encoding="utf8")
    (tmp_path / "last.txt").write_text(SURNAMES, encoding="utf8")
    nlp = make_nlp(model=MODEL)
    examples = make_examples(nlp)
    init = nlp.config["initialize"]["components"]
    init["rnn_tagger"] = {"lexicons": {"first_name": str(tmp_path / "first.txt")}}
    nlp.initialize(lambda: examples)
    node = next(n for n in nlp.get_pipe("rnn_tagger").model.walk() if n.name == "lexicon_embed")
    assert node.get_param("E").shape == (4, 8)
    init["rnn_tagger"] = {"lexicons": {"first_name": str(tmp_path / "first.txt"),
                                       "surname": str(tmp_path / "last.txt")}}
    nlp.initialize(lambda: examples)
    assert node.get_param("E").shape == (8, 8)
    assert node.attrs["names"] == ["first_name", "surname"]


def test_lexicons_are_saved_with_the_model(tmp_path):
    """The list files are gone: the reloaded pipeline (from disk in a fresh process,
    and from bytes into an uninitialized one) still predicts exactly as before."""
    first, last = tmp_path / "first.txt", tmp_path / "last.txt"
    first.write_text(FIRST, encoding="utf8")
    last.write_text(SURNAMES, encoding="utf8")
    fix_random_seed(0)
    nlp = make_nlp(model={"embed": {**MODEL["embed"], "lexicon_dropout": 0.2}})
    examples = make_examples(nlp)
    nlp.config["initialize"]["components"]["rnn_tagger"] = {
        "lexicons": {"first_name": str(first), "surname": str(last)}}
    train(nlp, examples, n_iter=15)
    texts = ["Harry met Ron Lovegood in London", "LUNA GRANGER is here", "A new spell"]
    expected = [[(e.start, e.end, e.label_) for e in d.ents] for d in nlp.pipe(texts)]
    scores = nlp.get_pipe("rnn_tagger").model.predict([nlp.make_doc(t) for t in texts])
    nlp.to_disk(tmp_path / "model")
    nlp_bytes = nlp.to_bytes()
    numpy.save(tmp_path / "scores.npy", numpy.concatenate(scores))
    first.unlink()
    last.unlink()
    fresh = make_nlp(model={"embed": {**MODEL["embed"], "lexicon_dropout": 0.2}})
    fresh.from_bytes(nlp_bytes)
    again = fresh.get_pipe("rnn_tagger").model.predict([fresh.make_doc(t) for t in texts])
    numpy.testing.assert_allclose(numpy.concatenate(again), numpy.concatenate(scores), atol=1e-5)
    assert predict_in_fresh_process(tmp_path / "model", texts,
                                    tmp_path / "scores.npy") == expected


def test_a_folder_of_lists_reads_like_the_dict(tmp_path):
    """`lexicons = ${paths.lexicons}`: every *.txt file of the folder is a list named by its stem."""
    from spacy_rnn.layers.lexicon_features import read_lexicons

    (tmp_path / "first_name.txt").write_text("Harry\nRon\n", encoding="utf8")
    (tmp_path / "surname.txt").write_text("Potter\n", encoding="utf8")
    (tmp_path / "notes.md").write_text("not a list", encoding="utf8")
    assert read_lexicons(str(tmp_path)) == read_lexicons(
        {"first_name": tmp_path / "first_name.txt", "surname": tmp_path / "surname.txt"})
    with pytest.raises(ValueError, match="RNN092.*not a folder"):
        read_lexicons(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="RNN092.*no \\*.txt"):
        read_lexicons(str(tmp_path / "empty"))
