"""Corpus annotation at scale: one API, three engines, identical output.

`annotate(model, input, output, engine=...)` tags every text of a corpus and
writes one row per text (id, text, entities as character spans and labels),
in input order, whatever the engine and the number of workers:

- "local": spaCy's `nlp.pipe`, optionally with `n_process` workers;
- "hf": `datasets.Dataset.map(num_proc=N)`, batched;
- "ray": Ray Data `map_batches` with a pool of actors, each of which loads the
  pipeline once from its path (`nlp` is never pickled), pins its torch
  threads, and uses a GPU when given one.

Known traps this module handles: forked workers after torch has run in the
parent can hang unless torch runs one thread per worker (the package pins
forked children, see pipeline.py; actors pin themselves); on a small machine
Ray actors need fractional CPUs or the read stage starves; and a small input
must be repartitioned so that every worker gets blocks.
"""
import json
import os
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from .errors import Errors

ENGINES = ("local", "hf", "ray")
ROW = "_row"
ENTS_JSON = "_ents"
WORKER = "_worker"
Entity = Tuple[int, int, str]


# --- input and output ------------------------------------------------------------


def read_corpus(path: Union[str, Path], text_column: str = "text", id_column: str = "id"):
    """A `datasets.Dataset` with columns id and text, from parquet/JSONL files or a saved dataset.

    path: a `.parquet`, `.jsonl` or `.json` file, a folder of such files, or a
        folder written by `Dataset.save_to_disk`. Rows without an id column get
        their row number as id.
    """
    import datasets

    path = Path(path)
    if not path.exists():
        raise ValueError(Errors.RNN050.format(path=path, problem="does not exist"))
    if path.is_dir() and (path / "dataset_info.json").exists():
        dataset = datasets.load_from_disk(str(path))
    else:
        files = sorted(p for p in (path.iterdir() if path.is_dir() else [path])
                       if p.suffix in (".parquet", ".jsonl", ".json"))
        if not files:
            raise ValueError(Errors.RNN050.format(
                path=path, problem="has no .parquet, .jsonl or .json file"))
        kinds = {"parquet" if p.suffix == ".parquet" else "json" for p in files}
        if len(kinds) > 1:
            raise ValueError(Errors.RNN050.format(
                path=path, problem="mixes parquet and JSON files"))
        dataset = datasets.load_dataset(kinds.pop(), data_files=[str(p) for p in files],
                                        split="train")
    if isinstance(dataset, datasets.DatasetDict):
        raise ValueError(Errors.RNN050.format(
            path=path, problem=f"holds several splits ({list(dataset)}); pass one"))
    if text_column not in dataset.column_names:
        raise ValueError(Errors.RNN050.format(
            path=path, problem=f"has no {text_column!r} column "
                               f"(columns: {dataset.column_names})"))
    if id_column not in dataset.column_names:
        dataset = dataset.add_column(id_column, list(range(len(dataset))))
    dataset = dataset.select_columns([id_column, text_column])
    if id_column != "id" or text_column != "text":
        dataset = dataset.rename_columns({id_column: "id", text_column: "text"})
    return dataset


def write_output(rows: Sequence[Dict], path: Union[str, Path],
                 nlp: Optional[Language] = None) -> Path:
    """Parquet (id, text, ents: list of {start, end, label}) or, for `.spacy`, a DocBin.

    nlp: the tagging pipeline, whose tokenizer makes the DocBin's docs (so the
        entity character spans fall on token boundaries).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".spacy":
        maker = nlp if nlp is not None else spacy.blank("xx")
        docbin = DocBin(store_user_data=True)
        for row in rows:
            doc = maker.make_doc(row["text"])
            doc.ents = [doc.char_span(s, e, label=label, alignment_mode="expand")
                        for s, e, label in _ent_tuples(row)]
            doc.user_data["id"] = row["id"]
            docbin.add(doc)
        docbin.to_disk(path)
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "id": [row["id"] for row in rows],
        "text": [row["text"] for row in rows],
        "ents": [[{"start": s, "end": e, "label": label} for s, e, label in _ent_tuples(row)]
                 for row in rows],
    })
    pq.write_table(table, path)
    return path


def _ent_tuples(row: Dict) -> List[Entity]:
    return [tuple(ent) for ent in row["ents"]]  # type: ignore[misc]


def doc_entities(doc: Doc) -> List[Entity]:
    return [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]


# --- the engines -------------------------------------------------------------------


def annotate(
    model: Union[str, Path],
    input_path: Union[str, Path],
    output_path: Optional[Union[str, Path]] = None,
    *,
    engine: str = "local",
    workers: int = 1,
    gpus_per_worker: float = 0.0,
    cpus_per_worker: float = 1.0,
    batch_size: int = 256,
    text_column: str = "text",
    id_column: str = "id",
) -> Dict:
    """Tag a corpus; return the rows (in input order) and what the run cost.

    RETURNS (Dict): {"rows": [{"id", "text", "ents": [(start, end, label)]}],
        "seconds", "docs_per_second", "workers_used"} (workers_used: how many
        distinct worker processes tagged at least one batch).
    """
    if engine not in ENGINES:
        raise ValueError(Errors.RNN001.format(
            setting="engine", value=engine, expected="one of " + ", ".join(ENGINES)))
    for setting, value in (("workers", workers), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(Errors.RNN001.format(
                setting=setting, value=value, expected="an integer >= 1"))
    model_path = Path(model)
    if not model_path.exists():
        raise ValueError(Errors.RNN050.format(path=model_path, problem="does not exist"))
    dataset = read_corpus(input_path, text_column, id_column)
    start = time.perf_counter()
    if engine == "local":
        rows, used = _annotate_local(model_path, dataset, workers, batch_size)
    elif engine == "hf":
        rows, used = _annotate_hf(model_path, dataset, workers, batch_size)
    else:
        rows, used = _annotate_ray(model_path, dataset, workers, batch_size,
                                   gpus_per_worker, cpus_per_worker)
    seconds = time.perf_counter() - start
    if output_path is not None:
        nlp = spacy.load(model_path) if str(output_path).endswith(".spacy") else None
        write_output(rows, output_path, nlp)
    return {"rows": rows, "seconds": seconds, "workers_used": used,
            "docs_per_second": len(rows) / seconds if seconds else 0.0}


def _annotate_local(model_path: Path, dataset, workers: int, batch_size: int
                    ) -> Tuple[List[Dict], int]:
    nlp = spacy.load(model_path)
    texts = dataset["text"]
    docs = nlp.pipe(texts, batch_size=batch_size, n_process=workers)
    rows = [{"id": i, "text": t, "ents": doc_entities(doc)}
            for i, t, doc in zip(dataset["id"], texts, docs)]
    return rows, workers


_LOADED: Dict[str, Language] = {}


def _load_once(model_path: str) -> Language:
    """One pipeline per worker process, loaded from its path on first use."""
    if model_path not in _LOADED:
        _LOADED[model_path] = spacy.load(model_path)
    return _LOADED[model_path]


def _hf_batch(batch: Dict[str, List], model_path: str, batch_size: int) -> Dict[str, List]:
    nlp = _load_once(model_path)
    docs = nlp.pipe(batch["text"], batch_size=batch_size)
    return {ENTS_JSON: [json.dumps(doc_entities(doc)) for doc in docs],
            WORKER: [os.getpid()] * len(batch["text"])}


def _annotate_hf(model_path: Path, dataset, workers: int, batch_size: int
                 ) -> Tuple[List[Dict], int]:
    # Never a cache: datasets fingerprints the function and its arguments, not
    # the model's weights, and even with load_from_cache_file=False it reuses a
    # result cached under another num_proc. A model retrained at the same path
    # would silently get the old model's entities (seen here: a 2-worker run
    # returned a 1-worker run's cached rows).
    # The per-process model cache must not outlive one call either (forked
    # workers inherit it): the weights at that path may have changed.
    _LOADED.clear()
    tagged = dataset.map(
        _hf_batch, batched=True, batch_size=batch_size,
        num_proc=workers if workers > 1 else None,
        fn_kwargs={"model_path": str(model_path.resolve()), "batch_size": batch_size},
        load_from_cache_file=False, keep_in_memory=True,
        new_fingerprint=uuid.uuid4().hex, desc="annotate")
    rows = [{"id": i, "text": t, "ents": [tuple(e) for e in json.loads(ents)]}
            for i, t, ents in zip(tagged["id"], tagged["text"], tagged[ENTS_JSON])]
    return rows, len(set(tagged[WORKER]))


class RayAnnotator:
    """A Ray Data actor: loads the pipeline once, by path, and tags batches."""

    def __init__(self, model_path: str, threads: int = 1, use_gpu: bool = False) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        if use_gpu:
            spacy.require_gpu()
        self.nlp = spacy.load(model_path)
        self.pid = os.getpid()

    def __call__(self, batch: Dict) -> Dict:
        texts = [str(t) for t in batch["text"]]
        docs = self.nlp.pipe(texts, batch_size=len(texts) or 1)
        batch[ENTS_JSON] = [json.dumps(doc_entities(doc)) for doc in docs]
        batch[WORKER] = [self.pid] * len(texts)
        return batch


def _annotate_ray(model_path: Path, dataset, workers: int, batch_size: int,
                  gpus_per_worker: float, cpus_per_worker: float) -> Tuple[List[Dict], int]:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ImportError(Errors.RNN051) from None
    if not ray.is_initialized():
        # A local cluster; to use a real one, call ray.init(address=...) first.
        ray.init(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    dataset = dataset.add_column(ROW, list(range(len(dataset))))
    # The Arrow table directly: ray.data.from_huggingface imports hub clients
    # (aiohttp) that an offline cluster need not have.
    ds = ray.data.from_arrow(dataset.with_format("arrow")[:])
    # Enough blocks for every actor to get work, however small the input.
    ds = ds.repartition(max(4, 2 * workers))
    tagged = ds.map_batches(
        RayAnnotator,
        fn_constructor_kwargs={"model_path": str(model_path.resolve()),
                               "threads": max(1, int(cpus_per_worker)),
                               "use_gpu": gpus_per_worker > 0},
        batch_size=batch_size,
        concurrency=workers,
        num_cpus=cpus_per_worker,
        num_gpus=gpus_per_worker,
        batch_format="numpy",
    )
    out = sorted(tagged.take_all(), key=lambda r: int(r[ROW]))
    rows = [{"id": _plain(r["id"]), "text": str(r["text"]),
             "ents": [tuple(e) for e in json.loads(r[ENTS_JSON])]} for r in out]
    return rows, len({int(r[WORKER]) for r in out})


def _plain(value):
    """numpy scalars (from Ray's numpy batches) back to Python values."""
    return value.item() if hasattr(value, "item") else value

