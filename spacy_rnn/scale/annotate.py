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
forked children, see pipeline.py; actors pin themselves). Ray actors that ask
for more than the cluster has wait forever without a word, so the request is
checked against `ray.cluster_resources()` first (`fit_worker_resources`): by
default each actor gets one CPU, or an even share of the CPUs when there are
fewer CPUs than workers, and an explicit request that cannot fit fails at once.
The blocks are cut in the driver, never by a Ray Data repartition: that stage
needs a CPU of its own, and with the actors holding every CPU (2 x 1 CPU on 2
CPUs) it never ran, and nothing was tagged. Long runs print their progress
(rows done / total) to stderr every PROGRESS_SECONDS.

`datasets`, `pyarrow` and `ray` are optional (the [project] and [ray] extras) and slow
to import: each is imported by the function that uses it, so importing this module (the
CLI does, and so does distributed.py) needs none of them.
"""
import json
import math
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import spacy
import torch
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from ..errors import Errors

ENGINES = ("local", "hf", "ray")
ROW = "_row"
ENTS_JSON = "_ents"
WORKER = "_worker"
Entity = Tuple[int, int, str]
# How often a run prints "rows done / total" to stderr (and once at the end).
PROGRESS_SECONDS = 15.0
# Ray takes fractional resources in steps of 1e-4: shares are rounded down to it.
RAY_RESOURCE_UNIT = 1e-4


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
    cpus_per_worker: Optional[float] = None,
    batch_size: int = 256,
    text_column: str = "text",
    id_column: str = "id",
) -> Dict:
    """Tag a corpus; return the rows (in input order) and what the run cost.

    gpus_per_worker (float): Ray engine: GPUs per actor (0: CPU only).
    cpus_per_worker (Optional[float]): Ray engine: CPUs per actor; None fits
        the request to the cluster (see `fit_worker_resources`). A request
        the cluster cannot hold raises a ValueError instead of waiting.
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
    rows = []
    with Progress(len(texts), "local") as progress:
        for i, t, doc in zip(dataset["id"], texts, docs):
            rows.append({"id": i, "text": t, "ents": doc_entities(doc)})
            progress.add(1)
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
                  gpus_per_worker: float, cpus_per_worker: Optional[float]
                  ) -> Tuple[List[Dict], int]:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ImportError(Errors.RNN051) from None
    if not ray.is_initialized():
        # A local cluster; to use a real one, call ray.init(address=...) first.
        ray.init(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    cluster = ray.cluster_resources()
    cpus = fit_worker_resources(cluster, workers, cpus_per_worker, gpus_per_worker)
    free = ray.available_resources()
    waiting = (f"waiting for {workers} Ray actors of {cpus:g} CPU(s)"
               + (f" + {gpus_per_worker:g} GPU(s)" if gpus_per_worker else "")
               + f" each; free at the start: {free.get('CPU', 0.0):g} of "
                 f"{cluster.get('CPU', 0.0):g} CPUs")
    dataset = dataset.add_column(ROW, list(range(len(dataset))))
    # The Arrow table directly: ray.data.from_huggingface imports hub clients
    # (aiohttp) that an offline cluster need not have. The blocks are cut here,
    # not by ds.repartition: see the module docstring.
    ds = ray.data.from_arrow(_blocks(dataset.with_format("arrow")[:], workers, batch_size))
    tagged = ds.map_batches(
        RayAnnotator,
        fn_constructor_kwargs={"model_path": str(model_path.resolve()),
                               "threads": max(1, int(cpus)),
                               "use_gpu": gpus_per_worker > 0},
        batch_size=batch_size,
        concurrency=workers,
        num_cpus=cpus,
        num_gpus=gpus_per_worker,
        batch_format="numpy",
    )
    out: List[Dict] = []
    with Progress(len(dataset), "ray", waiting=waiting) as progress:
        for block in tagged.iter_batches(batch_size=None, batch_format="pyarrow"):
            out.extend(block.to_pylist())
            progress.add(block.num_rows)
    out.sort(key=lambda r: r[ROW])
    rows = [{"id": r["id"], "text": r["text"],
             "ents": [tuple(e) for e in json.loads(r[ENTS_JSON])]} for r in out]
    return rows, len({r[WORKER] for r in out})


def _blocks(table, workers: int, batch_size: int) -> List:
    """The table cut into blocks: at least 2 per worker (so that every actor
    gets work, however small the input) and at most 8 batches each (so that
    progress and load balance stay fine-grained on a large input)."""
    n = table.num_rows
    if n == 0:
        return [table]
    size = max(1, min(math.ceil(n / max(4, 2 * workers)), 8 * batch_size))
    return [table.slice(start, size) for start in range(0, n, size)]


# --- resources and progress ----------------------------------------------------------


def fit_worker_resources(
    cluster: Dict[str, float],
    workers: int,
    cpus_per_worker: Optional[float] = None,
    gpus_per_worker: float = 0.0,
    *,
    reserved_cpus: float = 0.0,
    cpu_flag: str = "--cpus-per-worker",
    gpu_flag: str = "--gpus-per-worker",
) -> float:
    """The CPUs each of `workers` Ray workers asks for, checked against the cluster.

    Ray never rejects a request that the cluster cannot hold: the workers stay
    pending and the run waits forever without a word. So a request is checked
    here, before anything is submitted.

    cluster (Dict[str, float]): what the cluster has, as `ray.cluster_resources()`
        gives it ("CPU", "GPU").
    workers (int): how many workers (actors) must run at once.
    cpus_per_worker (Optional[float]): the CPUs asked for per worker; None: 1,
        or an even share of the CPUs when the cluster has fewer than `workers`
        (rounded down to Ray's unit of 1e-4).
    gpus_per_worker (float): the GPUs asked for per worker.
    reserved_cpus (float): CPUs something else of the same job holds, e.g. a
        Ray Train V1 coordinator.
    cpu_flag (str): the CLI flag that sets `cpus_per_worker`, for the message.
    gpu_flag (str): the CLI flag that asks for GPUs, for the message.
    RETURNS (float): the CPUs per worker to ask for.
    """
    if cpus_per_worker is not None and not cpus_per_worker > 0:
        raise ValueError(Errors.RNN001.format(
            setting="cpus_per_worker", value=cpus_per_worker, expected="a number > 0 or None"))
    if not gpus_per_worker >= 0:
        raise ValueError(Errors.RNN001.format(
            setting="gpus_per_worker", value=gpus_per_worker, expected="a number >= 0"))
    cluster_gpus = float(cluster.get("GPU", 0.0))
    if gpus_per_worker and workers * gpus_per_worker > cluster_gpus + 1e-9:
        raise ValueError(Errors.RNN057.format(
            workers=workers, per_worker=f"{gpus_per_worker:g}",
            total=f"{workers * gpus_per_worker:g}", cluster=f"{cluster_gpus:g}", flag=gpu_flag))
    cluster_cpus = float(cluster.get("CPU", 0.0))
    unit = RAY_RESOURCE_UNIT
    fit = math.floor((cluster_cpus - reserved_cpus) / workers / unit + 1e-6) * unit
    if cpus_per_worker is None:
        if fit >= 1.0:
            return 1.0
        if fit >= unit:
            return round(fit, 4)
        cpus_per_worker = unit  # not even the smallest share fits: say so below
    if workers * cpus_per_worker + reserved_cpus > cluster_cpus + 1e-9:
        raise ValueError(Errors.RNN056.format(
            workers=workers, per_worker=f"{cpus_per_worker:g}",
            reserved=(f" + {reserved_cpus:g} for the Ray Train coordinator"
                      if reserved_cpus else ""),
            total=f"{workers * cpus_per_worker + reserved_cpus:g}",
            cluster=f"{cluster_cpus:g}", fit=f"{max(fit, 0.0):g}", flag=cpu_flag))
    return float(cpus_per_worker)


class Progress:
    """Rows done / total, printed to stderr every `every` seconds and at the end.

    A background thread prints, so that a run stalled before its first row
    says so (with `waiting`: what it waits for) instead of staying silent.
    """

    def __init__(self, total: int, engine: str, *, every: Optional[float] = None,
                 waiting: str = "") -> None:
        self.total = total
        self.engine = engine
        self.every = PROGRESS_SECONDS if every is None else every
        self.waiting = waiting
        self.done = 0
        self.start = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="annotate-progress",
                                        daemon=True)

    def __enter__(self) -> "Progress":
        self.start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        self._thread.join()
        if exc_type is None:
            self._print()

    def add(self, n: int) -> None:
        self.done += n

    def line(self) -> str:
        seconds = time.perf_counter() - self.start
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        text = (f"annotate ({self.engine}): {self.done}/{self.total} rows{share} "
                f"in {seconds:.0f} s, {self.done / seconds if seconds else 0.0:.0f} rows/s")
        if self.done == 0 and self.waiting:
            text += f"; {self.waiting}"
        return text

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._print()

    def _print(self) -> None:
        print(self.line(), file=sys.stderr, flush=True)
