"""Tests for spacy_rnn.lab.corpora: registry, raw-file validation, loading and preprocessing.

Most tests run on a tiny synthetic mirror written to tmp_path in the layout of
the real one; the tests on the real mirror (../shared/ner-data) skip without it.
"""
import dataclasses
import json
import re
import socket
from pathlib import Path
from typing import Dict

import datasets
import pytest
import srsly
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_rnn.lab.corpora import (
    DATASETS,
    download,
    get_dataset,
    load_raw,
    preprocess,
    validate_raw_file,
)
from spacy_rnn.tags import (
    REPAIR_BMES_NO_B,
    REPAIR_BMES_UNCLOSED,
    TagRepairs,
    normalize_to_iob2,
)

from ..conftest import require_ner_data

CONLL_TRAIN = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
lamb NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

the DT B-NP O
stray JJ I-NP I-ORG
lamb NN I-NP O
"""
CONLL_DEV = "BRUSSELS NNP B-NP B-LOC\n1996-08-22 CD I-NP O\n"
CONLL_TEST = "-DOCSTART- -X- -X- O\n\nJapan NNP B-NP B-LOC\nwins VBZ B-VP O\n"

# Files of the synthetic mirror: dataset folder -> file name -> content.
MIRROR: Dict[str, Dict[str, str]] = {
    "conll2003": {"train.txt": CONLL_TRAIN, "valid.txt": CONLL_DEV, "test.txt": CONLL_TEST},
    "wikiann-en": {
        "train": "en:R.H.\tB-ORG\nen:Saunders\tI-ORG\nen:(\tO\n\nen:Paris\tB-LOC\n",
        "dev": "en:Bob\tB-PER\nen:Dylan\tI-PER\n",
        "test": "en:en:x\tO\n",
    },
    "weibo": {
        # Positions can take two digits ("e12"), and a digit character keeps its
        # own digit ("310" is "3" at position 10).
        "weiboNER_2nd_conll.train": (
            "科0\tO\n技1\tO\n王0\tB-PER.NAM\n小1\tI-PER.NAM\n\ne12\tO\n310\tO\n"
        ),
        "weiboNER_2nd_conll.dev": "我0\tO\n\ufffd\ufffd0\tO\n",
        "weiboNER_2nd_conll.test": "北0\tB-GPE.NAM\n京1\tI-GPE.NAM\n",
    },
    "resume": {
        "train.char.bmes": (
            "高 B-NAME\n勇 E-NAME\n： O\n男 S-RACE\n\n中 B-ORG\n国 M-ORG\n银 M-ORG\n行 E-ORG\n"
        ),
        "dev.char.bmes": "张 S-NAME\n",
        "test.char.bmes": "李 B-NAME\n四 E-NAME\n",
    },
    "msra": {
        "train.bio": "".join(f"{c}\tO\n我\tO\n\n" for c in "一二三四五"),
        "test.bio": "北\tB-LOC\n京\tI-LOC\n",
    },
}


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch) -> Path:
    """A tiny mirror, with a private `datasets` cache so runs do not share state."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    root = tmp_path / "mirror"
    for folder, files in MIRROR.items():
        (root / folder).mkdir(parents=True)
        for name, text in files.items():
            (root / folder / name).write_text(text, encoding="utf8")
    return root


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf8")
    return path


def test_registry_complete():
    assert list(DATASETS) == [
        "conll2003", "wnut17", "wikiann-en", "conll2002-es", "conll2002-nl",
        "msra", "weibo", "resume",
    ]
    for name, spec in DATASETS.items():
        assert spec.name == name
        assert spec.lang in ("en", "es", "nl", "zh")
        assert spec.char_level == (spec.lang == "zh")
        assert spec.hub_id and spec.folder and spec.person_label
        assert spec.scheme in ("iob1", "iob2", "bmes")
        assert spec.column_names[0] == "tokens" and spec.tag_column in spec.column_names
        splits = {"train", "test"} if name == "msra" else {"train", "dev", "test"}
        assert set(spec.files) == splits
    assert get_dataset("wikiann-en").token_prefix == "en:"
    assert get_dataset("weibo").strip_char_digit
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_dataset("conll2003").lang = "de"  # type: ignore[misc]


def test_get_dataset_unknown():
    with pytest.raises(ValueError, match=r"RNN021.*'conll2004'.*conll2003"):
        get_dataset("conll2004")


def test_validate_good_file_passes(mirror):
    for spec in DATASETS.values():
        if spec.folder in MIRROR:
            for fname in spec.files.values():
                validate_raw_file(mirror / spec.folder / fname, spec)


@pytest.mark.parametrize(
    "name,text,line,problem",
    [
        ("conll2003", "EU NNP B-NP B-ORG\nrejects VBZ O\n", 2, "expected 4 columns"),
        ("conll2003", "EU NNP B-NP B-ORG\n\nx NN O O O\n", 3, "found 5"),
        ("wnut17", "a\tO\nb c O\n", 2, "separated by tabs, found 1"),
        ("conll2003", "EU NNP B-NP X-PER\n", 1, "'X-PER' is not of the form O, B-X or I-X"),
        ("conll2003", "a b c O\nEU NNP B-NP PER\n", 2, "'PER' is not of the form O, B-X or I-X"),
        ("conll2003", "EU NNP B-NP B-\n", 1, "'B-' is not"),
        ("conll2003", "EU NNP B-NP S-PER\n", 1, "'S-PER' is not of the form O, B-X or I-X"),
        ("resume", "高 B-NAME\n勇 I-NAME\n", 2, "'I-NAME' is not of the form O, B-X, M-X"),
        ("wikiann-en", "en:a\tO\nb\tO\n", 2, "does not start with 'en:'"),
        ("weibo", "科0\tO\n技\tO\n", 2, "is not a character and its position digits"),
        ("wnut17", "a\tO\n\tO\n", 2, "empty token"),
        # Issue 23: "\r\r\n" is two line ends to the reader (a blank line: the
        # sentence, and its entity, cut in two); a BOM in mid-file (files
        # concatenated) and edge spaces in a tab-separated file stay in the token.
        ("wnut17", "New\tB-location\r\r\nYork\tI-location\r\r\n", 1,
         "ends in more than one carriage return"),
        ("conll2003", "EU NNP B-NP B-ORG\r\r\n", 1, "more than one carriage return"),
        ("conll2003", "EU NNP B-NP B-ORG\n\n\ufeffRome NNP B-NP B-LOC\n", 3,
         "byte-order mark (U+FEFF) at column 1"),
        ("wnut17", "\ufeff\ufeffRome\tB-location\n", 1, "byte-order mark"),
        ("wnut17", "Rome\tB-location\nrocks \tO\n", 2,
         "token 'rocks ' has leading or trailing whitespace"),
        ("wnut17", " Rome\tB-location\n", 1, "token ' Rome' has leading or trailing"),
        ("weibo", "科0\tO\n技1 \tO\n", 2, "token '技1 ' has leading or trailing"),
        ("conll2003", "", 1, "no sentences"),
        ("conll2003", "-DOCSTART- -X- -X- O\n\n\n", 3, "no sentences"),
    ],
)
def test_validate_bad_file(tmp_path, name, text, line, problem):
    path = write(tmp_path / "bad.txt", text)
    with pytest.raises(ValueError) as excinfo:
        validate_raw_file(path, get_dataset(name))
    assert f"RNN020] {path}, line {line}:" in str(excinfo.value)
    assert problem in str(excinfo.value)


def test_load_raw_reads_crlf_files(mirror, no_network):
    """One "\r\n" per line (files saved on Windows) reads as "\n" does."""
    expected = load_raw("wikiann-en", mirror)
    for name in ("train", "dev", "test"):
        path = mirror / "wikiann-en" / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    raw = load_raw("wikiann-en", mirror)
    for split in ("train", "dev", "test"):
        assert raw[split].to_list() == expected[split].to_list()


def test_validate_not_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("a b c O\n\nJos\u00e9 NNP B-NP B-PER\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.txt, line 3: not valid UTF-8 \(byte 0xe9"):
        validate_raw_file(path, get_dataset("conll2003"))


def test_validate_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"RNN022.*'dev'.*'conll2003'.*valid.txt"):
        validate_raw_file(tmp_path / "valid.txt", get_dataset("conll2003"))


def test_load_raw_conll2003(mirror, no_network):
    raw = load_raw("conll2003", mirror)
    assert list(raw) == ["train", "dev", "test"]
    # -DOCSTART- lines are gone, each sentence knows its document; tags are the
    # source's strings. The dev file marks no documents: no doc column.
    assert raw["train"].column_names == ["tokens", "tags", "doc"]
    assert raw["dev"].column_names == ["tokens", "tags"]
    assert [len(raw[s]) for s in raw] == [3, 1, 1]
    assert raw["train"]["doc"] == [0, 0, 1] and raw["test"]["doc"] == [0]
    assert raw["train"][1] == {"tokens": ["Peter", "Blackburn"], "tags": ["B-PER", "I-PER"],
                               "doc": 0}
    assert raw["train"][2]["tags"] == ["O", "I-ORG", "O"]
    assert raw["dev"][0]["tokens"] == ["BRUSSELS", "1996-08-22"]


def test_load_raw_marks_documents_glued_to_a_sentence(tmp_path, no_network, monkeypatch):
    """CoNLL-2002 Dutch puts -DOCSTART- on the first line of a document's first
    sentence: the marker goes, the sentence stays, the documents are counted;
    sentences before the first marker are a document of their own."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    folder = tmp_path / "mirror" / "conll2002"
    folder.mkdir(parents=True)
    write(folder / "ned.train", "Jan N B-PER\n\n-DOCSTART- -DOCSTART- O\nDe Art O\n"
                                "tekst N O\n\nPiet N B-PER\n\n-DOCSTART- -DOCSTART- O\n"
                                "Ouders N O\n")
    write(folder / "ned.testa", "Gent N B-LOC\n")
    write(folder / "ned.testb", "-DOCSTART- -DOCSTART- O\n\nAnna N B-PER\n")
    raw = load_raw("conll2002-nl", tmp_path / "mirror")
    assert raw["train"]["tokens"] == [["Jan"], ["De", "tekst"], ["Piet"], ["Ouders"]]
    assert raw["train"]["tags"] == [["B-PER"], ["O", "O"], ["B-PER"], ["O"]]
    assert raw["train"]["doc"] == [0, 1, 1, 2]
    assert raw["test"].to_list() == [{"tokens": ["Anna"], "tags": ["B-PER"], "doc": 0}]


def test_load_raw_reads_past_a_byte_order_mark(mirror, no_network):
    """Files saved on Windows often start with a UTF-8 BOM; kept, it made -DOCSTART-
    an extra one-token sentence, or stuck to the first token ("\ufeffEU")."""
    expected = load_raw("conll2003", mirror)
    for name in ("train.txt", "test.txt"):
        path = mirror / "conll2003" / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    weibo = mirror / "weibo" / "weiboNER_2nd_conll.train"
    weibo.write_bytes(b"\xef\xbb\xbf" + weibo.read_bytes())
    raw = load_raw("conll2003", mirror)
    for split in ("train", "test"):
        assert raw[split].to_list() == expected[split].to_list()
    assert load_raw("weibo", mirror)["train"][0]["tokens"] == ["科", "技", "王", "小"]


def test_load_raw_strips_prefix_and_digits(mirror):
    wikiann = load_raw("wikiann-en", mirror)
    assert wikiann["train"][0]["tokens"] == ["R.H.", "Saunders", "("]
    assert wikiann["test"][0]["tokens"] == ["en:x"]  # only one prefix is stripped
    weibo = load_raw("weibo", mirror)
    assert weibo["train"]["tokens"] == [["科", "技", "王", "小"], ["e", "3"]]
    assert weibo["train"][0]["tags"] == ["O", "O", "B-PER.NAM", "I-PER.NAM"]
    assert weibo["dev"][0]["tokens"] == ["我", "\ufffd\ufffd"]


def test_load_raw_bmes_and_carved_dev(mirror):
    resume = load_raw("resume", mirror)
    assert resume["train"][0]["tags"] == ["B-NAME", "E-NAME", "O", "S-RACE"]
    msra = load_raw("msra", mirror)
    assert [len(msra[s]) for s in ("train", "dev", "test")] == [4, 1, 1]
    assert msra["dev"][0]["tokens"] == ["五", "我"]  # the end of train
    assert [t[0] for t in msra["train"]["tokens"]] == ["一", "二", "三", "四"]


def test_load_raw_validates_before_loading(mirror, monkeypatch):
    write(mirror / "conll2003" / "test.txt", "Japan NNP B-LOC\n")
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("loaded anyway"))
    with pytest.raises(ValueError, match=r"test.txt, line 1: expected 4 columns"):
        load_raw("conll2003", mirror)
    (mirror / "conll2003" / "valid.txt").unlink()
    with pytest.raises(ValueError, match=r"RNN022.*'dev'"):
        load_raw("conll2003", mirror)


def test_load_raw_hub_maps_class_labels(monkeypatch):
    names = ["O", "B-PER", "I-PER"]
    features = datasets.Features({
        "id": datasets.Value("string"),
        "tokens": datasets.List(datasets.Value("string")),
        "ner_tags": datasets.List(datasets.ClassLabel(names=names)),
    })
    split = {"id": ["0"], "tokens": [["Peter", "Blackburn", "said"]], "ner_tags": [[1, 2, 0]]}
    hub = datasets.DatasetDict({
        s: datasets.Dataset.from_dict(split, features=features)
        for s in ("train", "validation", "test")
    })
    calls = []
    monkeypatch.setattr("huggingface_hub.HfApi.dataset_info", lambda self, *a, **k: None)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **kw: calls.append((a, kw)) or hub)
    raw = load_raw("wnut17")
    assert calls == [(("leondz/wnut_17", None), {"revision": "refs/convert/parquet"})]
    assert list(raw) == ["train", "dev", "test"]
    assert raw["dev"][0]["tokens"] == ["Peter", "Blackburn", "said"]
    assert raw["dev"][0]["tags"] == ["B-PER", "I-PER", "O"]


def test_load_raw_hub_offline_fails_fast(monkeypatch):
    def unreachable(self, *args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr("huggingface_hub.HfApi.dataset_info", unreachable)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("retried the hub"))
    with pytest.raises(ValueError, match=r"RNN023.*'conll2003'.*lhoestq/conll2003.*--data-dir"):
        load_raw("conll2003")


def test_download_writes_jsonl_and_source(mirror, tmp_path):
    out = download("weibo", tmp_path / "raw", data_dir=mirror)
    assert out == tmp_path / "raw"
    lines = (out / "train.jsonl").read_text(encoding="utf8").splitlines()
    assert json.loads(lines[1]) == {"tokens": ["e", "3"], "tags": ["O", "O"]}
    assert "科" in lines[0]  # readable UTF-8, not \\u escapes
    source = srsly.read_json(out / "source.json")
    assert source["source"] == "local" and source["dataset"] == "weibo"
    assert source["files"]["dev"] == str((mirror / "weibo" / "weiboNER_2nd_conll.dev").resolve())
    assert source["sentences"] == {"train": 2, "dev": 1, "test": 1}
    msra = srsly.read_json(download("msra", tmp_path / "msra", data_dir=mirror) / "source.json")
    assert "carved" in msra["dev"] and msra["sentences"]["dev"] == 1


def read_docs(path: Path):
    return list(DocBin().from_disk(path).get_docs(Vocab()))


def test_preprocess_conll2003(mirror, tmp_path, capsys):
    raw_dir = download("conll2003", tmp_path / "raw", data_dir=mirror)
    stats = preprocess("conll2003", raw_dir, tmp_path / "corpus")
    train = read_docs(tmp_path / "corpus" / "train.spacy")
    assert [(e.text, e.label_) for e in train[1].ents] == [("Peter Blackburn", "PER")]
    assert train[1].text == "Peter Blackburn"
    # The stray I-ORG after O became a one-token ORG entity, and was counted.
    assert [(e.text, e.label_) for e in train[2].ents] == [("stray", "ORG")]
    assert stats["splits"]["train"]["repairs"] == {"stray I- converted to B-": 1}
    assert stats["splits"]["train"]["entities"] == {"MISC": 1, "ORG": 2, "PER": 1}
    assert stats["splits"]["dev"]["repairs"] == {}
    assert srsly.read_json(tmp_path / "corpus" / "labels.json") == ["MISC", "ORG", "PER"]
    assert srsly.read_json(tmp_path / "corpus" / "stats.json") == stats
    # Most frequent first ("lamb" twice), then ties in alphabetical order.
    vocab = (tmp_path / "corpus" / "vocab.txt").read_text(encoding="utf8").splitlines()
    assert vocab == ["lamb", ".", "blackburn", "eu", "german", "peter", "rejects", "stray", "the"]
    assert stats["splits"]["test"]["oov_rate"] == 1.0
    assert "stray I- converted to B-" in capsys.readouterr().out
    # One Doc per document beside: the sentences joined, starts marked, nothing lost.
    documents = read_docs(tmp_path / "corpus" / "train.docs.spacy")
    assert [doc.text for doc in documents] == [
        "EU rejects German lamb . Peter Blackburn", "the stray lamb"]
    assert [[s.text for s in doc.sents] for doc in documents][0] == [
        "EU rejects German lamb .", "Peter Blackburn"]
    assert [(e.text, e.label_) for doc in documents for e in doc.ents] == [
        (e.text, e.label_) for doc in train for e in doc.ents]
    assert {s: stats["splits"][s]["documents"] for s in ("train", "dev", "test")} == {
        "train": 2, "dev": 1, "test": 1}
    # The dev file marks no documents: one Doc per sentence, as in dev.spacy.
    dev = read_docs(tmp_path / "corpus" / "dev.docs.spacy")
    assert [doc.text for doc in dev] == ["BRUSSELS 1996-08-22"]


def test_preprocess_zh_limit_and_vocab_size(mirror, tmp_path):
    raw_dir = download("resume", tmp_path / "raw", data_dir=mirror)
    stats = preprocess("resume", raw_dir, tmp_path / "corpus", vocab_size=3, train_limit=1)
    train = read_docs(tmp_path / "corpus" / "train.spacy")
    assert len(train) == 1 and stats["splits"]["train"]["sentences"] == 1
    assert train[0].text == "高勇：男"  # Chinese: no spaces between characters
    assert [(e.text, e.label_) for e in train[0].ents] == [("高勇", "NAME"), ("男", "RACE")]
    assert srsly.read_json(tmp_path / "corpus" / "labels.json") == ["NAME", "RACE"]
    # Norms, not texts: spaCy normalises the full-width colon; then ties by code point.
    vocab = (tmp_path / "corpus" / "vocab.txt").read_text(encoding="utf8").splitlines()
    assert vocab == [":", "勇", "男"]
    assert len(read_docs(tmp_path / "corpus" / "dev.spacy")) == 1


def test_preprocess_drops_empty_and_rejects_bad_jsonl(tmp_path):
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    srsly.write_jsonl(raw_dir / "train.jsonl", [
        {"tokens": [], "tags": []},
        {"tokens": ["Ann", "left"], "tags": ["B-PER", "O"]},
    ])
    srsly.write_jsonl(raw_dir / "dev.jsonl", [{"tokens": ["Bo"], "tags": ["I-PER"]}])
    srsly.write_jsonl(raw_dir / "test.jsonl", [{"tokens": ["x", "y"], "tags": ["O"]}])
    with pytest.raises(ValueError, match=r"test.jsonl, line 1: expected equally long"):
        preprocess("conll2003", raw_dir, tmp_path / "corpus")
    srsly.write_jsonl(raw_dir / "test.jsonl", [{"tokens": ["x"], "tags": ["X-PER"]}])
    with pytest.raises(ValueError, match=r"test.jsonl, line 1: .*'X-PER'"):
        preprocess("conll2003", raw_dir, tmp_path / "corpus")
    # Spelled out: spaCy would read an int token as a string ID (5 -> "IS_PUNCT"),
    # fail on an empty one without a line number, and store "O-PER" as plain O.
    for record, problem in [
        ({"tokens": [5, "y"], "tags": ["B-PER", "O"]}, "token 1 is 5: expected a non-empty string"),
        ({"tokens": ["x", ""], "tags": ["O", "O"]}, "token 2 is '': expected a non-empty string"),
        ({"tokens": ["x"], "tags": [None]}, "tag 1 is None: expected a string"),
        ({"tokens": ["x"], "tags": ["O-PER"]}, "Malformed tag 'O-PER'"),
        # A document index must be one: a string would join unrelated sentences.
        ({"tokens": ["x"], "tags": ["O"], "doc": "3"}, "'doc' is '3', not an int >= 0"),
        ({"tokens": ["x"], "tags": ["O"], "doc": -1}, "'doc' is -1, not an int >= 0"),
    ]:
        srsly.write_jsonl(raw_dir / "test.jsonl", [record])
        with pytest.raises(ValueError, match=rf"test.jsonl, line 1: {re.escape(problem)}"):
            preprocess("conll2003", raw_dir, tmp_path / "corpus")
    srsly.write_jsonl(raw_dir / "test.jsonl", [{"tokens": ["x"], "tags": ["O"]}])
    stats = preprocess("conll2003", raw_dir, tmp_path / "corpus")
    assert stats["splits"]["train"]["empty_dropped"] == 1
    assert stats["splits"]["train"]["sentences"] == 1
    assert stats["splits"]["dev"]["repairs"] == {"stray I- converted to B-": 1}
    with pytest.raises(ValueError, match="RNN001.*train_limit"):
        preprocess("conll2003", raw_dir, tmp_path / "corpus", train_limit=-1)


def test_preprocess_counts_bmes_repairs(tmp_path, capsys):
    """Resume's shape of damage: an ORG entity cut by a sentence break, so one
    sentence ends in B- M- (no E-) and the next starts with M- E- (no B-). Each
    half stays an entity, and both repairs are counted and printed."""
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    srsly.write_jsonl(raw_dir / "train.jsonl", [
        {"tokens": list("在中国银"), "tags": ["O", "B-ORG", "M-ORG", "M-ORG"]},
        {"tokens": list("行工作"), "tags": ["M-ORG", "E-ORG", "O"]},
    ])
    for split in ("dev", "test"):
        srsly.write_jsonl(raw_dir / f"{split}.jsonl", [{"tokens": ["张"], "tags": ["S-NAME"]}])
    stats = preprocess("resume", raw_dir, tmp_path / "corpus")
    assert stats["splits"]["train"]["repairs"] == {REPAIR_BMES_UNCLOSED: 1, REPAIR_BMES_NO_B: 1}
    assert stats["splits"]["dev"]["repairs"] == {}
    train = read_docs(tmp_path / "corpus" / "train.spacy")
    assert [[(e.text, e.label_) for e in doc.ents] for doc in train] == [
        [("中国银", "ORG")], [("行工", "ORG")]]
    out = capsys.readouterr().out
    assert f"train: 1 x {REPAIR_BMES_UNCLOSED}" in out
    assert f"train: 1 x {REPAIR_BMES_NO_B}" in out


# Sentences (train, dev, test) and test entities of the person type, from the
# mirror's README. MSRA's dev is carved off train (5%, rounded).
README_COUNTS = {
    "conll2003": ((14041, 3250, 3453), 1617),
    "wnut17": ((3394, 1009, 1287), 429),
    "wikiann-en": ((20000, 10000, 10000), 4556),
    "conll2002-es": ((8323, 1915, 1517), 735),
    "conll2002-nl": ((15806, 2895, 5195), 1098),
    "msra": ((50658 - 2533, 2533, 3442), 1973),
    "weibo": ((1350, 270, 270), 113),
    "resume": ((3821, 463, 477), 112),
}


def test_real_mirror_counts():
    root = require_ner_data()
    repairs = {}
    for name, (sentences, n_person) in README_COUNTS.items():
        spec = get_dataset(name)
        raw = load_raw(name, root)
        assert tuple(len(raw[split]) for split in ("train", "dev", "test")) == sentences, name
        counter = TagRepairs()
        iob = [normalize_to_iob2(t, spec.scheme, repairs=counter) for t in raw["test"]["tags"]]
        n_found = sum(tag == f"B-{spec.person_label}" for tags in iob for tag in tags)
        assert n_found == n_person, name
        repairs[name] = counter.counts.get("stray I- converted to B-", 0)
    # The README's one stray I- (after O) in the Spanish test split; a handful
    # in Weibo's test split, none in the others.
    assert repairs == {**dict.fromkeys(README_COUNTS, 0), "conll2002-es": 1, "weibo": 4}


def test_real_conll2003_preprocess(tmp_path):
    root = require_ner_data()
    raw_dir = download("conll2003", tmp_path / "raw", data_dir=root)
    stats = preprocess("conll2003", raw_dir, tmp_path / "corpus")
    test = stats["splits"]["test"]
    assert test["entities"] == {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617}
    assert (test["sentences"], test["tokens"]) == (3453, 46435)
    assert stats["splits"]["train"]["tokens"] == 203621
    assert len(read_docs(tmp_path / "corpus" / "test.spacy")) == 3453
    assert len((tmp_path / "corpus" / "vocab.txt").read_text(encoding="utf8").splitlines()) == 20000


def test_real_resume_preprocess_repairs_bmes(tmp_path, capsys):
    """Resume's train split has two entities cut by a sentence break (sentences
    1835/1836 and 1892/1893, counting from 0): each end is repaired, counted and
    printed; dev and test need no repair."""
    root = require_ner_data()
    raw_dir = download("resume", tmp_path / "raw", data_dir=root)
    stats = preprocess("resume", raw_dir, tmp_path / "corpus")
    splits = stats["splits"]
    assert splits["train"]["repairs"] == {REPAIR_BMES_UNCLOSED: 2, REPAIR_BMES_NO_B: 2}
    assert splits["dev"]["repairs"] == splits["test"]["repairs"] == {}
    assert [splits[s]["sentences"] for s in ("train", "dev", "test")] == [3821, 463, 477]
    train = read_docs(tmp_path / "corpus" / "train.spacy")
    for first in (1835, 1892):
        ends, starts = train[first].ents[-1], train[first + 1].ents[0]
        assert (ends.label_, ends.end) == ("ORG", len(train[first]))
        assert (starts.label_, starts.start) == ("ORG", 0)
    assert f"train: 2 x {REPAIR_BMES_UNCLOSED}" in capsys.readouterr().out
