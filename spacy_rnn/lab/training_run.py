"""One training run of the project's `train` step: spaCy's own `spacy train` on a
config or variant, with the dataset's language set, and a record of what the run
was (wall time, peak memory, hardware, the resolved budget, tokens and sourced
components) beside the model, so the results table can keep unlike runs apart.
"""
import os
import platform
import time
from pathlib import Path
from typing import Any, Dict, List, Union

import srsly
import torch
from spacy.cli._util import parse_config_overrides
from spacy.cli.train import train as spacy_train
from spacy.util import dot_to_object, get_lang_class, load_config

from ..errors import Errors
from .corpora import get_dataset
from .recipes import resolve_config
from .speed import peak_rss_mb

TRAIN_META = "train_meta.json"


def train_and_record(config_name: Union[str, Path], configs_dir: Path, output: Path,
                     dataset: str, overrides: List[str], *, gpu_id: int = -1) -> Dict[str, Any]:
    """Train `config_name` (a .cfg path, or a config or variant name in `configs_dir`)
    into `output`, and write output/train_meta.json.

    overrides (List[str]): `--section.key value` arguments, applied after the
        variant's own overrides and the dataset's language.
    RETURNS (Dict[str, Any]): what train_meta.json holds.
    """
    config_path, variant = resolve_config(config_name, configs_dir)
    resolved = dataset_overrides(config_path, get_dataset(dataset).lang,
                                 {**variant, **parse_config_overrides(overrides)})
    # Before training: an empty source fails here, with the setting named.
    sourced = sourced_components(config_path, resolved)
    start = time.time()
    spacy_train(config_path, output, use_gpu=gpu_id, overrides=resolved)
    meta = {
        "seconds": round(time.time() - start, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "hardware": hardware(gpu_id),
        "config": str(config_path),
        "config_name": str(config_name),
        "overrides": {k: v for k, v in resolved.items() if not isinstance(v, Path)},
        "gold_preproc": trained_on_gold_tokens(config_path, resolved),
        **training_budget(config_path, resolved),
        "sourced_components": sourced,
    }
    srsly.write_json(Path(output) / TRAIN_META, meta)
    return meta


def trained_on_gold_tokens(config_path: Path, overrides: Dict[str, Any]) -> bool:
    """Whether training read the corpus's own tokens (`gold_preproc`), as resolved.

    The benchmarks are scored on their gold tokens. With `gold_preproc = false`
    (spaCy's default) the corpus reader re-tokenizes each sentence with spaCy's
    tokenizer, which on CoNLL-2003 splits "1." and "6-4" in 29% of sentences,
    so a model trained and selected that way is scored on input it never saw.
    The results table keeps runs of the two settings apart, so it is recorded.
    """
    config = load_config(config_path, overrides=overrides, interpolate=True)
    reader = dot_to_object(config, config["training"]["train_corpus"])
    return bool(reader.get("gold_preproc", False))


def training_budget(config_path: Path, overrides: Dict[str, Any]) -> Dict[str, int]:
    """The training limits as resolved: `max_steps` and `max_epochs` (0 = none).

    Runs given different budgets are different experiments (4,000 steps of
    1,000 words are about two epochs of MSRA and 20 of CoNLL-2003), so the
    results table keeps them apart, and it can only do that if the record says
    what the budget was.
    """
    training = load_config(config_path, overrides=overrides, interpolate=True)["training"]
    return {"max_steps": int(training["max_steps"]), "max_epochs": int(training["max_epochs"])}


def sourced_components(config_path: Path, overrides: Dict[str, Any]) -> List[str]:
    """The components copied, weights and all, from another pipeline (`source`).

    A sourced tok2vec brings what its pipeline learned from its own corpus, more
    than its static vectors do, so the results table compares such a run only
    with baselines that sourced the same components. A `source` that resolves
    to nothing (the t2v configs without --paths.vectors) raises RNN053, where
    spaCy would fail later with "Can't find model 'None'".
    """
    components = load_config(config_path, overrides=overrides, interpolate=True)["components"]
    for name, block in components.items():
        if "source" in block and not block["source"]:
            raise ValueError(Errors.RNN053.format(name=name))
    return sorted(name for name, block in components.items() if block.get("source"))


def dataset_overrides(config_path: Path, lang: str, overrides: Dict[str, Any]) -> Dict[str, Any]:
    """Set `nlp.lang` to the dataset's language, and its tokenizer with it.

    The tokenizer matters in training too: spaCy's corpus reader re-tokenizes
    each gold sentence (`gold_preproc = false`) and aligns the labels to the new
    tokens. A config written for English names spaCy's rule-based
    `spacy.Tokenizer.v1`; with `lang = "zh"` that tokenizer splits Chinese only
    at punctuation, so a whole clause becomes one token, the character-level
    entity labels cannot be aligned and are dropped, and a saved model reads raw
    text the same way. So where the config keeps that default
    and the language's own default differs, the language's is used (for
    Chinese: `spacy.zh.ChineseTokenizer`, segmenter "char"). An explicit
    `--nlp.tokenizer` override or a custom tokenizer in the config is kept.
    """
    overrides = dict(overrides)
    overrides.setdefault("nlp.lang", lang)
    if "nlp.tokenizer" not in overrides:
        tokenizer = load_config(config_path, interpolate=False)["nlp"].get("tokenizer", {})
        default = get_lang_class(overrides["nlp.lang"]).default_config["nlp"]["tokenizer"]
        if tokenizer.get("@tokenizers") == "spacy.Tokenizer.v1" and tokenizer != default:
            overrides["nlp.tokenizer"] = dict(default)
    return overrides


def hardware(gpu_id: int) -> str:
    """The device a run trained on, with its torch threads on a CPU: timings from
    different machines or thread counts are not comparable."""
    if gpu_id >= 0 and torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(gpu_id)}"
    threads = torch.get_num_threads()
    return (f"CPU x{os.cpu_count()} ({platform.machine()}), "
            f"{threads} torch thread{'s' if threads != 1 else ''}")
