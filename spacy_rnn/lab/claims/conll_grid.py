"""The CoNLL-2003 runs behind experiments 1 and 4-6: one training per setting.

Every run is `python -m spacy_rnn train` (spaCy's train) on the project's
corpus with one config from ../configs and a few overrides, with gradient
diagnostics on, followed by the package's seqeval evaluation and the analysis
in `analysis.py`. Runs are subprocesses so two can share the two cores
(one torch thread each), and a run whose outputs exist is skipped, so an
interrupted grid resumes where it stopped.
"""
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from thinc.api import Config

from ..recipes import resolve_config

EMBED = "components.rnn_tagger.model.embed"
MODEL = "components.rnn_tagger.model"
HIGH_LEARN_RATE = 0.05
SGD_LEARN_RATE = 0.01
CLIP_STEPS = 400

# name -> (config or variant in ../configs, overrides, the question it answers)
RUNS: Dict[str, Tuple[str, Dict[str, object], str]] = {
    "lstm": ("lstm", {}, "cells"),
    "gru": ("lstm", {f"{MODEL}.cell": "gru"}, "cells"),
    "rnn": ("lstm", {f"{MODEL}.cell": "rnn"}, "cells"),
    "lstm-forward": ("lstm", {f"{MODEL}.bidirectional": False}, "bidirectional"),
    "onehot-1k": ("onehot", {f"{EMBED}.vocab_size": 1000}, "inputs"),
    "onehot-10k": ("onehot", {}, "inputs"),
    # paths.vocab null: count the vocabulary from all training words.
    "onehot-all": ("onehot", {f"{EMBED}.vocab_size": 1000000, "paths.vocab": None}, "inputs"),
    "hashed": ("lstm", {f"{EMBED}.vocab_size": None, f"{EMBED}.char_width": None}, "inputs"),
    "vectors": ("lstm", {f"{EMBED}.include_static_vectors": True}, "inputs"),
    "clip-off": ("rnn", {"training.optimizer.grad_clip": 0.0,
                         "training.optimizer.learn_rate": HIGH_LEARN_RATE}, "clipping"),
    "clip-5": ("rnn", {"training.optimizer.grad_clip": 5.0,
                       "training.optimizer.learn_rate": HIGH_LEARN_RATE}, "clipping"),
    "clip-1": ("rnn", {"training.optimizer.grad_clip": 1.0,
                       "training.optimizer.learn_rate": HIGH_LEARN_RATE}, "clipping"),
    # Plain SGD, where the seeds' clipping argument comes from (Adam rescales
    # every gradient by its running RMS, which blunts explosions by itself).
    "sgd-clip-off": ("rnn", {"training.optimizer.grad_clip": 0.0,
                             "training.optimizer.learn_rate": SGD_LEARN_RATE}, "clipping"),
    "sgd-clip-5": ("rnn", {"training.optimizer.grad_clip": 5.0,
                           "training.optimizer.learn_rate": SGD_LEARN_RATE}, "clipping"),
}
SGD_RUNS = ("sgd-clip-off", "sgd-clip-5")


def run_command(name: str, corpus: Path, out: Path, configs: Path, *, max_steps: int,
                seed: int, vectors: Optional[str], diagnose_every: int) -> List[str]:
    """The `python -m spacy_rnn train` command line of one run."""
    config, overrides, question = RUNS[name]
    steps = min(max_steps, CLIP_STEPS) if question == "clipping" else max_steps
    settings: Dict[str, object] = {
        "paths.train": str(corpus / "train.spacy"),
        "paths.dev": str(corpus / "dev.spacy"),
        "paths.vocab": str(corpus / "vocab.txt"),
        "paths.log": str(out / "log.jsonl"),
        "paths.grad_log": str(out / "gradients.jsonl"),
        "paths.vectors": vectors if name == "vectors" else None,
        "system.seed": seed,
        "training.max_steps": steps,
        "training.max_epochs": 0,
        "training.eval_frequency": 100 if question == "clipping" else 200,
        "training.patience": 0,
        "training.logger.diagnose_every": diagnose_every,
        **overrides,
    }
    config_path, variant = resolve_config(config, configs)
    settings = {**variant, **settings}
    if name in SGD_RUNS:
        config_path = sgd_config(config_path, out)
    cmd = [sys.executable, "-m", "spacy_rnn", "train", str(config_path),
           "--output", str(out), "--dataset", "conll2003"]
    for key, value in settings.items():
        cmd += [f"--{key}", json.dumps(value) if not isinstance(value, str) else value]
    return cmd


def sgd_config(config_path: Path, out: Path) -> Path:
    """A copy of the config with [training.optimizer] = Thinc's plain SGD.

    (A command-line override cannot swap the optimizer: Adam's beta/eps keys
    would stay behind and SGD.v1 rejects them.)
    """
    config = Config().from_disk(config_path, interpolate=False)
    config["training"]["optimizer"] = {"@optimizers": "SGD.v1", "learn_rate": SGD_LEARN_RATE,
                                       "L2": 0.0, "grad_clip": 5.0, "use_averages": True}
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config-sgd.cfg"
    config.to_disk(path)
    return path


def run_one(name: str, corpus: Path, output_dir: Path, configs: Path, *, max_steps: int,
            seed: int, vectors: Optional[str], diagnose_every: int, threads: int) -> Dict:
    """Train (unless done before) and record how it went in OUTPUT/NAME/run.json."""
    out = output_dir / name
    record_path = out / "run.json"
    if record_path.exists():
        return json.loads(record_path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    cmd = run_command(name, corpus, out, configs, max_steps=max_steps, seed=seed,
                      vectors=vectors, diagnose_every=diagnose_every)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    start = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    record = {"name": name, "question": RUNS[name][2], "returncode": proc.returncode,
              "seconds": round(time.time() - start, 1), "command": cmd[1:],
              "error": _last_error(proc.stderr) if proc.returncode else None}
    (out / "train.log").write_text(proc.stdout + proc.stderr)
    record_path.write_text(json.dumps(record, indent=2))
    return record


def run_grid(names: Sequence[str], corpus: Path, output_dir: Path, configs: Path, *,
             max_steps: int = 1000, seed: int = 0, vectors: Optional[str] = None,
             diagnose_every: int = 25, jobs: int = 1) -> List[Dict]:
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        raise ValueError(f"Unknown experiment run(s) {unknown}; known: {sorted(RUNS)}")
    threads = 1 if jobs > 1 else max(1, os.cpu_count() or 1)

    def one(name: str) -> Dict:
        record = run_one(name, corpus, output_dir, configs, max_steps=max_steps, seed=seed,
                         vectors=vectors, diagnose_every=diagnose_every, threads=threads)
        print(f"{name}: exit {record['returncode']} in {record['seconds']}s"
              + (f" ({record['error']})" if record["error"] else ""), flush=True)
        return record

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, names))


def _last_error(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else "no output"
