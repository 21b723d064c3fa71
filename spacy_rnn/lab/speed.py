"""Inference speed, measured the fair way: same texts, same process, alternating runs.

Every pipeline is timed on the same texts, round-robin, several rounds, and the
median is reported, so a background hiccup hits all systems alike. Ratios are
against pipelines measured in the same run (the tokenizer-only pipeline is the
practical limit; spaCy's own `ner` is the baseline to beat), never against a
number from another day or machine.
"""
import os
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import spacy
import torch
from spacy.language import Language
from spacy.tokens import DocBin

from ..errors import Errors

BLANK = "blank"


def load_texts(path: Union[str, Path], limit: int = 0) -> List[str]:
    """Raw texts of a DocBin (e.g. a test split), optionally the first `limit`."""
    nlp = spacy.blank("xx")
    docs = DocBin().from_disk(path).get_docs(nlp.vocab)
    texts = [doc.text for doc in docs]
    return texts[:limit] if limit else texts


def time_pipeline(nlp: Language, texts: Sequence[str], batch_size: int) -> float:
    """Seconds to run `nlp.pipe` over `texts` (the docs are consumed, not kept)."""
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    return time.perf_counter() - start


def benchmark_inference(
    pipelines: Dict[str, Language],
    texts: Sequence[str],
    *,
    rounds: int = 5,
    batch_size: int = 256,
    baseline: Optional[str] = None,
) -> Dict:
    """Median words/second per pipeline over alternating rounds, with ratios.

    pipelines (Dict[str, Language]): name -> pipeline; BLANK ("blank") is added
        if absent, as the tokenizer-only reference.
    texts (Sequence[str]): the texts, identical for every pipeline.
    rounds (int): timed rounds per pipeline (after one untimed warm-up each).
    baseline (Optional[str]): name of the pipeline to compare against (spaCy ner).
    RETURNS (Dict): {"words": n, "pipelines": {name: {"words_per_second",
        "seconds_median", "seconds_runs", "vs_blank", "vs_baseline"}}, "machine": ...}.
    """
    pipelines = dict(pipelines)
    if BLANK not in pipelines:
        lang = next(iter(pipelines.values())).lang if pipelines else "en"
        pipelines = {BLANK: spacy.blank(lang), **pipelines}
    n_words = sum(len(doc) for doc in pipelines[BLANK].pipe(texts))
    for nlp in pipelines.values():  # warm-up: lazy init, allocator, caches
        time_pipeline(nlp, texts[: max(1, len(texts) // 10)], batch_size)
    runs: Dict[str, List[float]] = {name: [] for name in pipelines}
    for _ in range(rounds):
        for name, nlp in pipelines.items():
            runs[name].append(time_pipeline(nlp, texts, batch_size))
    speed = {name: n_words / statistics.median(r) for name, r in runs.items()}
    results = {}
    for name, seconds in runs.items():
        results[name] = {
            "words_per_second": speed[name],
            "seconds_median": statistics.median(seconds),
            "seconds_runs": seconds,
            "vs_blank": speed[name] / speed[BLANK],
            "vs_baseline": speed[name] / speed[baseline] if baseline in speed else None,
        }
    return {
        "words": n_words,
        "texts": len(texts),
        "rounds": rounds,
        "batch_size": batch_size,
        "baseline": baseline,
        "pipelines": results,
        "machine": machine_info(),
        "peak_rss_mb": peak_rss_mb(),
    }


def scaling(
    nlp: Language, lengths: Sequence[int] = (10, 100, 1000, 10000), total_tokens: int = 20000
) -> Dict[int, float]:
    """Microseconds per token for docs of each length (same total tokens per length).

    A recurrent tagger should cost the same per token at every length: a rising
    curve means something quadratic (or per-doc overhead at the short end).
    """
    words = ["Peter", "Blackburn", "visited", "Brussels", "on", "Monday", "."]
    out = {}
    for length in lengths:
        n_docs = max(1, total_tokens // length)
        text = " ".join(words[i % len(words)] for i in range(length))
        docs = [nlp.make_doc(text) for _ in range(n_docs)]
        start = time.perf_counter()
        for _ in nlp.pipe(docs, batch_size=max(1, 4096 // length)):
            pass
        seconds = time.perf_counter() - start
        out[length] = 1e6 * seconds / (n_docs * len(docs[0]))
    return out


def batch_scaling(
    nlp: Language, texts: Sequence[str], batch_sizes: Sequence[int] = (1, 10, 100, 1000)
) -> Dict[int, float]:
    """Microseconds per token at each `nlp.pipe` batch size, on the same texts.

    Batching lets the recurrent encoder work on many sequences per time step; a
    cost that does not fall from batch size 1 to 100 means per-doc overhead
    dominates, one that rises at the top means padding or memory waste.
    """
    n_tokens = sum(len(doc) for doc in nlp.tokenizer.pipe(texts))
    time_pipeline(nlp, texts[: max(1, len(texts) // 10)], max(batch_sizes))  # warm-up
    return {size: 1e6 * time_pipeline(nlp, texts, size) / n_tokens for size in batch_sizes}


def machine_info() -> Dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def training_speed(log_rows: Sequence[Dict], threshold: float = 90.0,
                   score: str = "ents_f") -> Dict:
    """Training throughput and time to a dev score, from a training log.

    The log is the one `spacy_rnn.TrainingLogger.v1` writes (one line per
    evaluation, with spaCy's `seconds` and `words` seen). Its seconds are wall
    time since training started, dev evaluations included: that is what a user
    waits for, and it charges a slow evaluator to its system.

    log_rows (Sequence[Dict]): the log's lines, in order.
    threshold (float): the dev score to reach, on the log's 0-100 scale.
    score (str): the dev score's name in the log's "scores".
    RETURNS (Dict): words_per_second (words seen / seconds at the last line),
        seconds_to_threshold and step_to_threshold (None if never reached),
        best_score with its step and seconds, and the number of evaluations.
    """
    rows = [row for row in log_rows if row.get("seconds") is not None]
    if not rows:
        raise ValueError(Errors.RNN047.format(what="training log"))
    last = rows[-1]
    reached = next((row for row in rows if row["scores"].get(score, 0.0) >= threshold), None)
    best = max(rows, key=lambda row: row["scores"].get(score, 0.0))
    return {
        "threshold": threshold,
        "score": score,
        "words_per_second": last["words"] / last["seconds"] if last["seconds"] else None,
        "seconds_to_threshold": reached["seconds"] if reached else None,
        "step_to_threshold": reached["step"] if reached else None,
        "best_score": best["scores"].get(score, 0.0),
        "best_step": best["step"],
        "best_seconds": best["seconds"],
        "last_step": last["step"],
        "evaluations": len(rows),
    }


def training_speed_markdown(runs: Dict[str, Dict]) -> str:
    """One row per training run: words/s, time to the dev threshold, best dev, peak RSS."""
    lines = ["| run | train words/s | time to dev F1 ≥ {t:g} | best dev F1 (step) | "
             "peak RSS | hardware |".format(t=next(iter(runs.values()))["threshold"]
                                             if runs else 90),
             "|---|---:|---:|---:|---:|---|"]
    for name, r in runs.items():
        reach = (f"{r['seconds_to_threshold'] / 60:.1f} min (step {r['step_to_threshold']:,})"
                 if r["seconds_to_threshold"] is not None else "not reached")
        rss = f"{r['peak_rss_mb']:,.0f} MiB" if r.get("peak_rss_mb") else "–"
        wps = f"{r['words_per_second']:,.0f}" if r["words_per_second"] else "–"
        lines.append(f"| {name} | {wps} | {reach} | {r['best_score']:.2f} ({r['best_step']:,}) "
                     f"| {rss} | {r.get('hardware') or '–'} |")
    return "\n".join(lines) + "\n"


def speed_markdown(result: Dict) -> str:
    """The inference table: words/s and ratios against blank and the baseline."""
    m = result["machine"]
    lines = [
        f"{result['words']:,} words ({result['texts']} texts), median of {result['rounds']} "
        f"alternating rounds, batch size {result['batch_size']}; {m['cpus']} CPUs, "
        f"torch threads: {m['torch_threads']}, GPU: {m['cuda'] or 'none'}.",
        "",
        "| pipeline | words/s | × blank | × baseline |",
        "|---|---:|---:|---:|",
    ]
    for name, r in result["pipelines"].items():
        vs_base = f"{r['vs_baseline']:.2f}" if r["vs_baseline"] is not None else "–"
        lines.append(f"| {name} | {r['words_per_second']:,.0f} | {r['vs_blank']:.3f} | {vs_base} |")
    return "\n".join(lines) + "\n"
