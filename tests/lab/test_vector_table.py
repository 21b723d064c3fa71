"""What a static vectors table gives each entity type: row sharing and coverage."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.vectors import Vectors

from spacy_rnn.lab.cli import main
from spacy_rnn.lab.vector_table import (
    coverage_by_type,
    has_row,
    read_table,
    summary_markdown,
    table_summary,
    words_per_row,
)


@pytest.fixture
def pipeline(tmp_path):
    """Rows: 0 = Costa/COSTA/america (3 keys, 2 words), 1 = Paris (its own), 2 = the."""
    nlp = spacy.blank("en")
    vectors = nlp.vocab.vectors
    vectors.resize((3, 4))
    for word, row in [("Costa", 0), ("COSTA", 0), ("america", 0), ("Paris", 1), ("the", 2)]:
        vectors.add(nlp.vocab.strings.add(word), row=row)
    vectors.data[:] = numpy.arange(12, dtype="f").reshape((3, 4))
    nlp.to_disk(tmp_path / "pipe")
    return tmp_path / "pipe"


@pytest.fixture
def corpus(tmp_path):
    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words="the Costa Smith visited Paris".split(),
                ents=["O", "B-PER", "I-PER", "O", "B-LOC"])]
    DocBin(docs=docs).to_disk(tmp_path / "test.spacy")
    return tmp_path / "test.spacy"


def test_rows_count_case_variants_as_one_word(pipeline):
    table = read_table(pipeline)
    assert sorted(words_per_row(table).items()) == [(0, 2), (1, 1), (2, 1)]
    assert table_summary(table) == {"keys": 5, "rows": 3, "rows_one_word": 2,
                                    "rows_2_to_9_words": 1, "rows_10_plus_words": 0}


def test_coverage_by_type(pipeline, corpus):
    docs = DocBin().from_disk(corpus).get_docs(spacy.blank("en").vocab)
    coverage = coverage_by_type(read_table(pipeline), docs)
    assert list(coverage) == ["LOC", "PER", "O"]
    # "Smith" has no row; "Costa" shares its row with "america".
    assert coverage["PER"] == {"tokens": 2, "no_vector": 0.5, "median_words_per_row": 2}
    assert coverage["LOC"] == {"tokens": 1, "no_vector": 0.0, "median_words_per_row": 1}
    assert coverage["O"]["no_vector"] == 0.5  # "visited"
    assert "| PER | 2 | 50.0% | 2 |" in summary_markdown(table_summary(read_table(pipeline)), coverage)


def test_cli_vector_table(pipeline, corpus, tmp_path, capsys):
    assert main(["vector-table", str(pipeline), str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "5 keys on 3 rows; rows holding one word (case folded): 2" in out
    assert "| PER | 2 | 50.0% | 2 |" in out
    assert main(["vector-table", str(pipeline), str(tmp_path / "missing.spacy")]) == 1
    assert "RNN040" in capsys.readouterr().err
    DocBin().to_disk(tmp_path / "empty.spacy")
    assert main(["vector-table", str(pipeline), str(tmp_path / "empty.spacy")]) == 1
    assert "RNN041" in capsys.readouterr().err
    blank = tmp_path / "blank"
    spacy.blank("en").to_disk(blank)
    assert main(["vector-table", str(blank)]) == 1
    err = capsys.readouterr().err
    assert "RNN054" in err and "has no static vectors" in err


def test_read_table_names_what_is_wrong(tmp_path):
    floret = spacy.blank("en")
    floret.vocab.vectors = Vectors(strings=floret.vocab.strings, mode="floret",
                                   data=numpy.zeros((10, 4), dtype="f"), hash_count=1,
                                   minn=2, maxn=3)
    floret.to_disk(tmp_path / "floret")
    with pytest.raises(ValueError, match="RNN054.*floret.*give every token a vector"):
        read_table(tmp_path / "floret")
    with pytest.raises(ValueError, match="RNN054.*nowhere.*has no folder"):
        read_table(tmp_path / "nowhere")


def test_read_table_names_a_corrupt_file(pipeline):
    (pipeline / "vocab" / "key2row").write_bytes(b"not msgpack")
    with pytest.raises(ValueError, match=r"RNN054.*cannot be read \(\w+"):
        read_table(pipeline)


def test_has_row_follows_the_tables_key_attribute():
    nlp = spacy.blank("en")
    doc = nlp("Costa")
    by_orth = Vectors(strings=nlp.vocab.strings, shape=(1, 4))
    by_orth.add("costa", row=0)
    by_lower = Vectors(strings=nlp.vocab.strings, shape=(1, 4), attr="LOWER")
    by_lower.add("costa", row=0)
    assert not has_row(by_orth, doc[0]) and has_row(by_lower, doc[0])


def test_coverage_maps_labels_and_reports_no_row_as_na(pipeline, tmp_path):
    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words=["Smith", "spoke"], ents=["B-person", "O"])]
    coverage = coverage_by_type(read_table(pipeline), docs, label_of=str.upper)
    assert coverage["PERSON"] == {"tokens": 1, "no_vector": 1.0, "median_words_per_row": None}
    assert "| PERSON | 1 | 100.0% | n/a |" in summary_markdown(table_summary(read_table(pipeline)), coverage)
