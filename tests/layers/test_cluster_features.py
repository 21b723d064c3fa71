"""Brown-cluster features: prefixes, table files, and a table saved with the model."""
import json

import numpy
import pytest
from spacy.strings import get_string_id
from thinc.api import fix_random_seed

from spacy_rnn.layers.cluster_features import (
    FOUND,
    NO_CLUSTER,
    cluster_keys,
    read_cluster_table,
)

from ..corpus import make_examples, make_nlp, predict_in_fresh_process, train

# Brown paths (bit strings), as wcluster writes them: bits, word, count.
BROWN = "0110\tHarry\t10\n0111\tRon\t7\n10\tLondon\t5\n1101100\tspell\t3\n"
MODEL = {"embed": {"@architectures": "spacy_rnn.TokenEmbed.v1", "cluster_width": 8,
                   "cluster_prefixes": [2, 4, 8]}}


def test_prefixes_are_the_low_bits_of_spacys_little_endian_paths():
    """spaCy stores a path little-endian (int(bits[::-1], 2)), so & 15 is the 4-bit prefix."""
    keys = numpy.array([get_string_id("Harry"), get_string_id("london")], dtype="uint64")
    order = numpy.argsort(keys)
    clusters = numpy.array([int("0110"[::-1], 2), int("10"[::-1], 2)], dtype="uint64")
    hashes = [get_string_id(w) for w in ("Harry", "LONDON", "nobody")]
    lower = [get_string_id(w) for w in ("harry", "london", "nobody")]
    out = cluster_keys(numpy.array(hashes, dtype="uint64"), numpy.array(lower, dtype="uint64"),
                       keys[order], clusters[order], [2, 4])
    # "Harry" 0110: 2-bit prefix "01" -> little-endian 0b10; 4 bits: 0b0110.
    assert out[0].tolist() == [int("01"[::-1], 2) | int(FOUND), int("0110"[::-1], 2) | int(FOUND)]
    # "LONDON" misses in its own case and is found lowercased.
    assert out[1].tolist() == [int("10"[::-1], 2) | int(FOUND)] * 2
    assert out[2].tolist() == [int(NO_CLUSTER)] * 2


def test_brown_and_json_files_give_the_same_table(tmp_path):
    brown = tmp_path / "paths.txt"
    brown.write_text(BROWN, encoding="utf8")
    as_json = tmp_path / "clusters.json"
    as_json.write_text(json.dumps({w: int(b[::-1], 2) for b, w, _ in
                                   (line.split("\t") for line in BROWN.splitlines())}))
    for got, want in zip(read_cluster_table(str(brown), "en"), read_cluster_table(str(as_json), "en")):
        assert got.tolist() == want.tolist()


@pytest.mark.parametrize("text,line", [("0110\tHarry\n", 1), ("10\tLondon\t5\n01x\tRon\t3\n", 2),
                                       ("", 0)])
def test_bad_cluster_files_are_named_with_their_line(tmp_path, text, line):
    path = tmp_path / "paths.txt"
    path.write_text(text, encoding="utf8")
    with pytest.raises(ValueError, match=rf"RNN081.*paths.txt \(line {line}\)"):
        read_cluster_table(str(path), "en")


def test_a_model_with_clusters_needs_a_table():
    nlp = make_nlp(model=MODEL)
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match="RNN082"):
        nlp.initialize(lambda: examples)


def test_cluster_table_is_saved_with_the_model(tmp_path):
    """The file is gone and spacy-lookups-data cannot be imported: the reloaded
    pipeline still predicts exactly as before, because the table is in the model."""
    brown = tmp_path / "paths.txt"
    brown.write_text(BROWN, encoding="utf8")
    fix_random_seed(0)
    nlp = make_nlp(model=MODEL)
    examples = make_examples(nlp)
    nlp.config["initialize"]["components"]["rnn_tagger"] = {"clusters": str(brown)}
    train(nlp, examples, n_iter=15)
    texts = ["Harry met Ron in London", "LONDON is big", "A new spell"]
    expected = [[(e.start, e.end, e.label_) for e in d.ents] for d in nlp.pipe(texts)]
    scores = nlp.get_pipe("rnn_tagger").model.predict([nlp.make_doc(t) for t in texts])
    nlp.to_disk(tmp_path / "model")
    numpy.save(tmp_path / "scores.npy", numpy.concatenate(scores))
    brown.unlink()
    blocked = "sys.modules['spacy_lookups_data'] = None  # not installed"
    assert predict_in_fresh_process(tmp_path / "model", texts, tmp_path / "scores.npy",
                                    preamble=blocked) == expected


def test_spacy_lookups_data_table_when_installed():
    pytest.importorskip("spacy_lookups_data")
    keys, clusters = read_cluster_table("spacy-lookups-data", "en")
    assert len(keys) > 900_000
    table = dict(zip(keys.tolist(), clusters.tolist()))
    # Names share clusters: "Peter" and "John" are one Brown cluster in spaCy's table.
    assert table[get_string_id("Peter")] == table[get_string_id("John")]
