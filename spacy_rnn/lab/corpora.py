"""Benchmark NER data sets: registry, raw loading (hub or local mirror) and conversion.

Two steps, so that what the model trains on can be inspected and reproduced:
`download` writes each split as JSONL of tokens and tag strings exactly as the
source has them (from the Hugging Face hub, or from a local mirror of the raw
files, both through `datasets`), and `preprocess` turns that into IOB2-normalised
spaCy DocBins plus the one-hot vocabulary, the label list and statistics.

`datasets` (and its `huggingface_hub`) is imported by the functions that use it: it
is optional (the [project] extra) and slow to import, and the CLI imports this module.
"""
import codecs
import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NoReturn, Optional, Tuple

import spacy
import srsly
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from wasabi import msg

from ..errors import Errors
from ..layers.vocab_embed import rank_words
from ..tags import TagRepairs, normalize_to_iob2

if TYPE_CHECKING:
    import datasets

SPLITS = ("train", "dev", "test")
# Share of train (taken off its end, so the split is deterministic) that becomes
# dev for sets that publish no dev split (MSRA).
DEV_FRACTION = 0.05
# The CoNLL document-boundary marker.
DOCSTART = "-DOCSTART-"
_TAG_PATTERNS = {
    "iob1": re.compile(r"O|[BI]-\S+"),
    "iob2": re.compile(r"O|[BI]-\S+"),
    "bmes": re.compile(r"O|[BMES]-\S+"),
}
# Weibo: a character followed by its position in its word, which can take more
# than one digit ("e12"). Non-greedy, so a digit character keeps its own digit
# ("310" is "3" at position 10).
_CHAR_DIGIT = re.compile(r"(.+?)(\d+)")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a benchmark lives (hub and local mirror) and how to read it.

    `column_names` are the columns of the local files as `datasets`' conll builder
    should name them; the first one is always "tokens". `delimiter` None means any
    whitespace. `files` maps split -> file name inside `folder` of the mirror.
    """

    name: str
    lang: str
    hub_id: str
    hub_config: Optional[str]
    hub_revision: Optional[str]
    folder: str
    files: Mapping[str, str] = field(hash=False)
    column_names: Tuple[str, ...]
    tag_column: str
    delimiter: Optional[str]
    scheme: str
    person_label: str
    token_prefix: str = ""
    strip_char_digit: bool = False
    char_level: bool = False
    hub_tag_column: str = "ner_tags"


_PARQUET = "refs/convert/parquet"  # the hub's parquet export of a script-based repo
DATASETS: Dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            "conll2003", "en", "lhoestq/conll2003", None, None, "conll2003",
            {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"},
            ("tokens", "pos", "chunk", "tags"), "tags", None, "iob2", "PER",
        ),
        DatasetSpec(
            "wnut17", "en", "leondz/wnut_17", None, _PARQUET, "wnut17",
            {"train": "train.conll", "dev": "dev.conll", "test": "test.conll"},
            ("tokens", "tags"), "tags", "\t", "iob2", "person",
        ),
        DatasetSpec(
            "wikiann-en", "en", "unimelb-nlp/wikiann", "en", None, "wikiann-en",
            {"train": "train", "dev": "dev", "test": "test"},
            ("tokens", "tags"), "tags", "\t", "iob2", "PER", token_prefix="en:",
        ),
        *[
            DatasetSpec(
                f"conll2002-{lang}", lang, "eriktks/conll2002", lang, _PARQUET,
                "conll2002",
                {s: f"{prefix}.{ext}" for s, ext in zip(SPLITS, ("train", "testa", "testb"))},
                ("tokens", "pos", "tags"), "tags", None, "iob2", "PER",
            )
            for lang, prefix in (("es", "esp"), ("nl", "ned"))
        ],
        # The hub ids of the three Chinese sets are unverified here (no hub access
        # when this was written): the former canonical `msra_ner` / `weibo_ner`
        # scripts' parquet exports, and a community copy of Resume.
        DatasetSpec(
            "msra", "zh", "levow/msra_ner", None, _PARQUET, "msra",
            {"train": "train.bio", "test": "test.bio"},
            ("tokens", "tags"), "tags", "\t", "iob2", "PER", char_level=True,
        ),
        DatasetSpec(
            "weibo", "zh", "hltcoe/weibo_ner", None, _PARQUET, "weibo",
            {s: f"weiboNER_2nd_conll.{s}" for s in SPLITS},
            ("tokens", "tags"), "tags", "\t", "iob2", "PER.NAM",
            strip_char_digit=True, char_level=True,
        ),
        DatasetSpec(
            "resume", "zh", "ttxy/resume_ner", None, None, "resume",
            {s: f"{s}.char.bmes" for s in SPLITS},
            ("tokens", "tags"), "tags", None, "bmes", "NAME", char_level=True,
        ),
    ]
}


def get_dataset(name: str) -> DatasetSpec:
    """Look up a dataset in the registry.

    name (str): A key of `DATASETS`, e.g. "conll2003".
    RETURNS (DatasetSpec): Its spec.
    """
    if name not in DATASETS:
        raise ValueError(Errors.RNN021.format(name=name, known=", ".join(DATASETS)))
    return DATASETS[name]


def validate_raw_file(path: Path, spec: DatasetSpec) -> None:
    """Check a raw mirror file in one streaming pass before `datasets` reads it.

    The conll builder silently pads or truncates lines with the wrong number of
    columns, decodes nothing it cannot, ends a line at every carriage return and
    keeps whatever a token carries (a mid-file byte-order mark, edge spaces in a
    tab-separated file), so a damaged file would otherwise turn into quietly
    wrong data. Every problem is an error naming the file and line: nothing is
    repaired here, as the reader reads the file itself.

    path (Path): The file.
    spec (DatasetSpec): The dataset it belongs to.
    """
    path = Path(path)
    if not path.is_file():
        split = next((s for s, f in spec.files.items() if f == path.name), "?")
        raise ValueError(Errors.RNN022.format(split=split, name=spec.name, path=path))
    n_cols = len(spec.column_names)
    tag_idx = spec.column_names.index(spec.tag_column)
    delimiter = spec.delimiter
    is_tag = _TAG_PATTERNS[spec.scheme].fullmatch
    # Hot loop (MSRA train has 2.2M lines): only cheap checks run on every line;
    # a tag's shape is checked once, the spec-specific token shape only if needed.
    check_shape = bool(spec.token_prefix or spec.strip_char_digit)
    seen_tags = set()
    n_sents, in_sent, i = 0, False, 0
    with path.open("rb") as file_:
        for i, raw in enumerate(file_, start=1):
            if i == 1 and raw.startswith(codecs.BOM_UTF8):
                # Read as utf-8-sig below, as here: files saved on Windows often
                # start with one, and kept it would glue to the first token.
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                line = raw.decode("utf8")
            except UnicodeDecodeError as err:
                byte = f"{raw[err.start]:#04x}"
                _bad_line(path, i, f"not valid UTF-8 (byte {byte} at offset {err.start})")
            # Exactly one line end, "\n" or "\r\n", as the reader's universal
            # newlines take it: "\r\r\n" is two line ends to it (see _check_chars).
            line = line[:-1] if line.endswith("\n") else line
            line = line[:-1] if line.endswith("\r") else line
            if not line or line.isspace():
                in_sent = False
                continue
            if line.startswith("-DOCSTART-"):
                continue
            if "\r" in line or "\ufeff" in line:
                _check_chars(path, i, line)
            parts = line.split(delimiter)
            if len(parts) != n_cols:
                sep = "tabs" if delimiter == "\t" else "whitespace"
                cols = ", ".join(spec.column_names)
                _bad_line(path, i, f"expected {n_cols} columns ({cols}) separated by {sep}, "
                                   f"found {len(parts)}: {line[:80]!r}")
            tag = parts[tag_idx]
            if tag not in seen_tags:
                if not is_tag(tag):
                    bmes = spec.scheme == "bmes"
                    forms = "O, B-X, M-X, E-X or S-X" if bmes else "O, B-X or I-X"
                    _bad_line(path, i, f"tag {tag!r} is not of the form {forms}")
                seen_tags.add(tag)
            token = parts[0]
            if check_shape or not token or token[0].isspace() or token[-1].isspace():
                _check_token(path, i, token, spec)
            if not in_sent:
                n_sents, in_sent = n_sents + 1, True
    if n_sents == 0:
        _bad_line(path, max(i, 1), "the file holds no sentences (it is empty, or only "
                                   "blank and -DOCSTART- lines)")


def _check_chars(path: Path, line: int, text: str) -> NoReturn:
    """Reject the characters the conll reader would silently misread.

    A carriage return ends a line for the reader (text mode, universal
    newlines), so one left before "\r\n" (a CRLF file converted to CRLF once
    more) or inside the line would split the sentence there, cutting an entity
    in two. A byte-order mark is only skipped at the very start of a file
    (`utf-8-sig`); anywhere else (files concatenated) it would stay glued to a
    token ("\ufeffRome"). Rejected rather than repaired: the reader reads the
    file itself, so a repair would have to rewrite the file first.

    path (Path): The file.
    line (int): The line number (1-based).
    text (str): The line without its line end.
    """
    if text.endswith("\r"):
        _bad_line(path, line, "the line ends in more than one carriage return (\\r\\r\\n, "
                              "e.g. a CRLF file converted to CRLF again): the reader would "
                              "take it as two line ends and split the sentence here. "
                              "Convert the file to \\n or \\r\\n line ends")
    if "\r" in text:
        _bad_line(path, line, "carriage return inside the line (the reader splits there)")
    col = text.index("\ufeff") + 1
    _bad_line(path, line, f"byte-order mark (U+FEFF) at column {col}, not at the start of "
                          "the file (were files concatenated?): it would stay in the token")


def _check_token(path: Path, line: int, token: str, spec: DatasetSpec) -> None:
    """Check a token's shape; called only for tokens the hot loop finds suspect.

    Whitespace at a token's edge can only come from a tab-separated file (a
    whitespace-separated one splits it off). Rejected rather than stripped: the
    published files have none, so it means the file was edited or exported by a
    tool that padded its columns, and whether anything else moved is unknown.
    """
    if not token or token.isspace():
        _bad_line(path, line, "empty token")
    if token != token.strip():
        _bad_line(path, line, f"token {token!r} has leading or trailing whitespace, which "
                              "the reader would keep in the token (a padded column?)")
    prefix = spec.token_prefix
    if prefix and not (token.startswith(prefix) and len(token) > len(prefix)):
        _bad_line(path, line, f"token {token!r} does not start with {prefix!r}")
    if spec.strip_char_digit and not _CHAR_DIGIT.fullmatch(token):
        _bad_line(path, line, f"token {token!r} is not a character and its position digits")


def _bad_line(path: Path, line: int, problem: str) -> NoReturn:
    raise ValueError(Errors.RNN020.format(path=path, line=line, problem=problem))


def load_raw(name: str, data_dir: Optional[Path] = None) -> "datasets.DatasetDict":
    """Load a benchmark's train/dev/test splits with tokens and tags as in the source.

    Sets without a dev split (MSRA) get one carved off the end of train: its last
    `DEV_FRACTION` (5%) of sentences, so the split is the same on every run.

    name (str): A key of `DATASETS`.
    data_dir (Optional[Path]): A local mirror (folders as in `DatasetSpec.folder`).
        None downloads from the Hugging Face hub.
    RETURNS (datasets.DatasetDict): Splits "train", "dev", "test", each with the
        columns `tokens` (List[str]) and `tags` (List[str], e.g. "B-PER").
    """
    import datasets

    spec = get_dataset(name)
    raw = _load_hub(spec) if data_dir is None else _load_local(spec, Path(data_dir))
    if spec.token_prefix or spec.strip_char_digit:
        clean = partial(_clean_tokens, prefix=spec.token_prefix, digits=spec.strip_char_digit)
        raw = raw.map(clean, batched=True, desc="Cleaning tokens")
    if "dev" not in raw:
        train = raw["train"]
        n_dev = max(1, round(len(train) * DEV_FRACTION))
        if len(train) <= n_dev:
            raise ValueError(Errors.RNN024.format(name=name, n=len(train)))
        raw["dev"] = train.select(range(len(train) - n_dev, len(train)))
        raw["train"] = train.select(range(len(train) - n_dev))
    return datasets.DatasetDict({split: raw[split] for split in SPLITS})


def _load_local(spec: DatasetSpec, data_dir: Path) -> "datasets.DatasetDict":
    import datasets

    paths = {split: data_dir / spec.folder / fname for split, fname in spec.files.items()}
    for path in paths.values():
        validate_raw_file(path, spec)
    # The packaged "conll" builder reads local files without any hub request
    # (tests guard this), so no offline switch is needed on this path.
    raw = datasets.load_dataset(
        "conll",
        data_files={split: str(path) for split, path in paths.items()},
        column_names=list(spec.column_names),
        delimiter=spec.delimiter,
        # Kept, to mark documents: see `_mark_documents`.
        skip_docstart=False,
        encoding="utf-8-sig",
        cache_dir=_cache_dir(),
    )
    raw = raw.select_columns(["tokens", spec.tag_column])
    raw = raw.rename_column(spec.tag_column, "tags") if spec.tag_column != "tags" else raw
    return datasets.DatasetDict({split: _mark_documents(ds) for split, ds in raw.items()})


def _mark_documents(split: "datasets.Dataset") -> "datasets.Dataset":
    """Turn `-DOCSTART-` marker lines into a `doc` column (0, 1, ...) per sentence.

    Why: document context (a name's earlier full mention) needs to know which
    sentences belong together. CoNLL-2003 puts the marker on a line of its own
    (a one-token "sentence"); CoNLL-2002 Dutch glues it to the first sentence of
    the document. Both become a doc index and the marker token goes. A split
    without markers is returned unchanged: it stays sentence-level.
    """
    import datasets

    tokens, tags = split["tokens"], split["tags"]
    if not any(toks and toks[0] == DOCSTART for toks in tokens):
        return split
    rows: Dict[str, List[Any]] = {"tokens": [], "tags": [], "doc": []}
    # Sentences before the first marker, if any, form a document of their own.
    doc = -1 if tokens[0][:1] == [DOCSTART] else 0
    for toks, tgs in zip(tokens, tags):
        if toks and toks[0] == DOCSTART:
            doc += 1
            toks, tgs = toks[1:], tgs[1:]
            if not toks:
                continue
        rows["tokens"].append(toks)
        rows["tags"].append(tgs)
        rows["doc"].append(doc)
    return datasets.Dataset.from_dict(rows)


def _load_hub(spec: DatasetSpec) -> "datasets.DatasetDict":
    import datasets
    from huggingface_hub import HfApi

    try:
        if not datasets.config.HF_HUB_OFFLINE:
            # Fails in milliseconds without a network, where load_dataset would
            # retry for half a minute before giving up.
            HfApi().dataset_info(spec.hub_id, revision=spec.hub_revision, timeout=10)
        raw = datasets.load_dataset(spec.hub_id, spec.hub_config, revision=spec.hub_revision)
    except Exception as err:  # network, auth, missing repo: all mean "use a mirror"
        reason = f"{type(err).__name__}: {err}"
        err_msg = Errors.RNN023.format(name=spec.name, hub_id=spec.hub_id, reason=reason)
        raise ValueError(err_msg) from err
    if "validation" in raw:
        raw["dev"] = raw.pop("validation")
    tag_column, columns = spec.hub_tag_column, raw["train"].column_names
    for column in ("tokens", tag_column):
        if column not in columns:
            info = {"name": spec.name, "hub_id": spec.hub_id, "columns": columns}
            raise ValueError(Errors.RNN025.format(column=column, **info))
    raw = raw.select_columns(["tokens", tag_column])
    # ClassLabel ints -> the tag strings the source files have.
    names = getattr(getattr(raw["train"].features[tag_column], "feature", None), "names", None)
    if names is not None:
        to_str = partial(_label_names, column=tag_column, names=names)
        return raw.map(to_str, batched=True, remove_columns=[tag_column])
    return raw.rename_column(tag_column, "tags") if tag_column != "tags" else raw


def _label_names(batch: Dict[str, List], column: str, names: List[str]) -> Dict[str, List]:
    return {"tags": [[names[i] for i in seq] for seq in batch[column]]}


def _clean_tokens(batch: Dict[str, List], prefix: str, digits: bool) -> Dict[str, List]:
    def clean(token: str) -> str:
        if prefix and token.startswith(prefix):
            token = token[len(prefix):]
        if digits:
            match = _CHAR_DIGIT.fullmatch(token)
            token = match.group(1) if match else token
        return token

    return {"tokens": [[clean(token) for token in tokens] for tokens in batch["tokens"]]}


def _cache_dir() -> Optional[str]:
    """The `datasets` cache (None), or a temporary one where the default cannot be
    written (a read-only home): for local files the cache is only a speed-up."""
    import datasets

    default = Path(datasets.config.HF_DATASETS_CACHE)
    try:
        default.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    if os.access(default, os.W_OK):
        return None
    return str(Path(tempfile.gettempdir()) / "spacy_rnn-datasets-cache")


def download(dataset: str, output_dir: Path, data_dir: Optional[Path] = None) -> Path:
    """Write a benchmark's splits as JSONL ({"tokens": [...], "tags": [...]} per line,
    plus "doc": the document index where the source marks documents).

    dataset (str): A key of `DATASETS`.
    output_dir (Path): Receives train/dev/test.jsonl and source.json (provenance).
    data_dir (Optional[Path]): A local mirror; None downloads from the hub.
    RETURNS (Path): `output_dir`.
    """
    spec = get_dataset(dataset)
    raw = load_raw(dataset, data_dir)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        with (output_dir / f"{split}.jsonl").open("w", encoding="utf8") as file_:
            for batch in raw[split].iter(batch_size=1000):
                docs = batch.get("doc", [None] * len(batch["tokens"]))
                for tokens, tags, doc in zip(batch["tokens"], batch["tags"], docs):
                    record = {"tokens": tokens, "tags": tags}
                    if doc is not None:
                        record["doc"] = doc
                    file_.write(json.dumps(record, ensure_ascii=False) + "\n")
    source: Dict[str, Any] = {"dataset": dataset}
    if data_dir is None:
        source.update(source="hub", hub_id=spec.hub_id, hub_config=spec.hub_config,
                      hub_revision=spec.hub_revision)
    else:
        source["source"] = "local"
        folder = Path(data_dir).resolve() / spec.folder
        source["files"] = {split: str(folder / fname) for split, fname in spec.files.items()}
    if "dev" not in spec.files:
        source["dev"] = f"carved off the end of train (its last {DEV_FRACTION:.0%})"
    source["sentences"] = {split: len(raw[split]) for split in SPLITS}
    srsly.write_json(output_dir / "source.json", source)
    return output_dir


def preprocess(
    dataset: str,
    raw_dir: Path,
    output_dir: Path,
    *,
    vocab_size: int = 20000,
    train_limit: int = 0,
) -> Dict[str, Any]:
    """Convert `download`'s JSONL into DocBins, vocabulary, labels and statistics.

    Tags are normalised to IOB2 (stray IOB2 I- tags and malformed BMES entities
    repaired and counted, see `tags.normalize_to_iob2`), empty sentences
    dropped (counted). Writes {train,dev,test}.spacy (one Doc per sentence),
    {train,dev,test}.docs.spacy (one Doc per document, sentence starts set; a
    set without document marks gets one Doc per sentence), vocab.txt (the
    top `vocab_size` train `token.norm_` values, most frequent first, ties
    alphabetical; UNK implicit), labels.json and stats.json, and prints a table.

    dataset (str): A key of `DATASETS`.
    raw_dir (Path): The folder `download` wrote.
    output_dir (Path): Where the outputs go.
    vocab_size (int): Size of the one-hot vocabulary.
    train_limit (int): Keep only the first N train sentences; 0 keeps all.
    RETURNS (Dict[str, Any]): The statistics written to stats.json.
    """
    spec = get_dataset(dataset)
    for setting, value in (("vocab_size", vocab_size), ("train_limit", train_limit)):
        if not isinstance(value, int) or value < 0:
            err_msg = Errors.RNN001.format(setting=setting, value=value, expected="an int >= 0")
            raise ValueError(err_msg)
    nlp = spacy.blank(spec.lang)
    docs: Dict[str, List[Doc]] = {}
    doc_ids: Dict[str, List[Optional[int]]] = {}
    stats: Dict[str, Any] = {"dataset": dataset, "train_limit": train_limit, "splits": {}}
    for split in SPLITS:
        path = Path(raw_dir) / f"{split}.jsonl"
        if not path.is_file():
            raise ValueError(Errors.RNN022.format(split=split, name=dataset, path=path))
        limit = train_limit if split == "train" else 0
        docs[split], doc_ids[split], stats["splits"][split] = _read_docs(
            path, spec, nlp.vocab, limit)
    documents = {split: _join_documents(docs[split], doc_ids[split], spec.char_level)
                 for split in SPLITS}
    for split in SPLITS:
        stats["splits"][split]["documents"] = len(documents[split])
    vocab = _build_vocab(docs["train"], vocab_size)
    labels = sorted({ent.label_ for doc in docs["train"] for ent in doc.ents})
    known = set(vocab)
    for split in ("dev", "test"):
        norms = [token.norm_ for doc in docs[split] for token in doc]
        oov = sum(norm not in known for norm in norms)
        stats["splits"][split]["oov_rate"] = oov / len(norms) if norms else 0.0
    stats.update(vocab_size=len(vocab), labels=labels)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        DocBin(docs=docs[split]).to_disk(output_dir / f"{split}.spacy")
        DocBin(docs=documents[split]).to_disk(output_dir / f"{split}.docs.spacy")
    vocab_text = "".join(f"{norm}\n" for norm in vocab)
    (output_dir / "vocab.txt").write_text(vocab_text, encoding="utf8")
    srsly.write_json(output_dir / "labels.json", labels)
    srsly.write_json(output_dir / "stats.json", stats)
    _print_stats(stats)
    return stats


def _read_docs(
    path: Path, spec: DatasetSpec, vocab: Vocab, limit: int
) -> Tuple[List[Doc], List[Optional[int]], Dict[str, Any]]:
    """Read one JSONL split into Docs with IOB2 entities, each sentence's document
    index (None where the source marks none), and the split's statistics."""
    repairs = TagRepairs()
    docs: List[Doc] = []
    doc_ids: List[Optional[int]] = []
    n_empty = 0
    with path.open(encoding="utf8") as file_:
        for i, line in enumerate(file_, start=1):
            if limit and len(docs) >= limit:
                break
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                tokens, tags, doc_id = record["tokens"], record["tags"], record.get("doc")
                if not isinstance(tokens, list) or not isinstance(tags, list):
                    raise TypeError("not lists")
                if len(tokens) != len(tags):
                    raise ValueError("lists of different lengths")
            except (ValueError, KeyError, TypeError) as err:
                _bad_line(path, i, f"expected equally long 'tokens' and 'tags' lists ({err})")
            if doc_id is not None and (type(doc_id) is not int or doc_id < 0):
                # A wrong index would join unrelated sentences into one document.
                _bad_line(path, i, f"'doc' is {doc_id!r}, not an int >= 0")
            _check_record(path, i, tokens, tags)
            try:
                iob = normalize_to_iob2(tags, scheme=spec.scheme, repairs=repairs)
            except ValueError as err:
                _bad_line(path, i, str(err))
            if not tokens:
                n_empty += 1
                continue
            # Chinese sets are characters of unsegmented text: no spaces between them.
            spaces = [not spec.char_level] * (len(tokens) - 1) + [False]
            docs.append(Doc(vocab, words=tokens, spaces=spaces, ents=iob))
            doc_ids.append(doc_id)
    if not docs:
        raise ValueError(Errors.RNN026.format(split=path.stem, path=path, limit=limit))
    entities = Counter(ent.label_ for doc in docs for ent in doc.ents)
    stats = {
        "sentences": len(docs),
        "tokens": sum(len(doc) for doc in docs),
        "entities": dict(sorted(entities.items())),
        "repairs": dict(repairs.counts),
        "empty_dropped": n_empty,
    }
    return docs, doc_ids, stats


def _join_documents(sentences: List[Doc], doc_ids: List[Optional[int]], char_level: bool
                    ) -> List[Doc]:
    """One Doc per document: its sentences in order, each sentence start marked.

    Consecutive sentences with the same document index are joined; a sentence
    without one (a set that marks no documents) stays a Doc of its own. Tokens,
    entities and sentence boundaries are kept exactly: nothing is split or merged
    but the sentences themselves.
    """
    groups: List[List[Doc]] = []
    previous: Optional[int] = None
    for sent, doc_id in zip(sentences, doc_ids):
        if doc_id is None or doc_id != previous or not groups:
            groups.append([])
        groups[-1].append(sent)
        previous = doc_id
    documents = []
    for group in groups:
        words, spaces, sent_starts, ents = [], [], [], []
        for sent in group:
            words.extend(token.text for token in sent)
            spaces.extend(bool(token.whitespace_) for token in sent)
            # Sentences in running text are separated by a space (not in Chinese).
            spaces[-1] = not char_level
            sent_starts.extend([True] + [False] * (len(sent) - 1))
            ents.extend(token.ent_iob_ + ("-" + token.ent_type_ if token.ent_type_ else "")
                        for token in sent)
        spaces[-1] = False
        vocab = group[0].vocab
        documents.append(Doc(vocab, words=words, spaces=spaces, sent_starts=sent_starts,
                             ents=ents))
    return documents


def _check_record(path: Path, line: int, tokens: List[Any], tags: List[Any]) -> None:
    """Tokens must be non-empty strings and tags strings: spaCy would read an int
    token as a string ID (5 -> "IS_PUNCT") and fail on an empty one with no line."""
    if not all(type(t) is str and t for t in tokens):
        j = next(j for j, t in enumerate(tokens) if not (type(t) is str and t))
        _bad_line(path, line, f"token {j + 1} is {tokens[j]!r}: expected a non-empty string")
    if not all(type(t) is str for t in tags):
        j = next(j for j, t in enumerate(tags) if type(t) is not str)
        _bad_line(path, line, f"tag {j + 1} is {tags[j]!r}: expected a string such as "
                              "'O' or 'B-PER'")


def _build_vocab(docs: List[Doc], size: int) -> List[str]:
    return rank_words(docs, "NORM")[:size]


def _print_stats(stats: Dict[str, Any]) -> None:
    splits = stats["splits"]
    msg.divider(f"Dataset {stats['dataset']}: {stats['vocab_size']} vocabulary entries")
    rows = []
    for split, s in splits.items():
        oov = f"{s['oov_rate']:.1%}" if "oov_rate" in s else "-"
        rows.append((split, s.get("documents", "-"), s["sentences"], s["tokens"],
                     sum(s["entities"].values()), sum(s["repairs"].values()),
                     s["empty_dropped"], oov))
    header = ("split", "documents", "sentences", "tokens", "entities", "repairs",
              "empty dropped", "OOV")
    msg.table(rows, header=header, divider=True, aligns=("l",) + ("r",) * 7)
    labels = sorted({label for s in splits.values() for label in s["entities"]})
    rows = [(label, *(s["entities"].get(label, 0) for s in splits.values())) for label in labels]
    aligns = ("l",) + ("r",) * len(splits)
    msg.table(rows, header=("entity type", *splits), divider=True, aligns=aligns)
    for split, s in splits.items():
        for kind, n in s["repairs"].items():
            msg.warn(f"{split}: {n} x {kind}")
        unseen = sorted(set(s["entities"]) - set(stats["labels"]))
        if unseen:
            msg.warn(f"{split}: entity types not in train: {', '.join(unseen)}")
