"""A trained pipeline as a pip-installable package, through `spacy package`.

spaCy's own command does the work (package layout, setup.py, sdist); this
fills the meta it packages: the name and version asked for, the test scores
of the project's evaluate step as `performance`, the recipe that trained it,
and `spacy-rnn` among the requirements, so `pip install` of the archive
brings the component and `spacy.load("<lang>_<name>")` finds its factory
through the entry points, with no import in the user's code.
"""
from pathlib import Path
from typing import Dict, Optional, Union

import srsly
from spacy.cli.package import package as spacy_package

from .. import __version__
from ..errors import Errors

REQUIREMENT = f"spacy-rnn>={__version__}"


def package_meta(
    model_dir: Path, name: str, version: str, metrics: Optional[Dict] = None,
) -> Dict:
    """The pipeline's meta.json with name, version, scores, recipe and requirements.

    metrics (Optional[Dict]): the evaluate step's metrics JSON (seqeval strict
        IOB2 on the test split): its overall and per-type scores become
        `performance`, and its dataset/config/seed the `spacy_rnn` recipe entry.
    """
    meta_path = model_dir / "meta.json"
    if not meta_path.is_file():
        raise ValueError(Errors.RNN064.format(path=model_dir))
    meta = srsly.read_json(meta_path)
    meta.update({"name": name, "version": version})
    requirements = [r for r in meta.get("requirements", []) if not r.startswith("spacy-rnn")]
    meta["requirements"] = requirements + [REQUIREMENT]
    if metrics is not None:
        overall = metrics["overall"]
        meta["performance"] = {
            "ents_p": overall["precision"], "ents_r": overall["recall"],
            "ents_f": overall["f1"],
            "ents_per_type": {label: {"p": s["precision"], "r": s["recall"], "f": s["f1"]}
                              for label, s in metrics.get("per_type", {}).items()},
        }
        meta["spacy_rnn"] = {
            "scores": "seqeval strict IOB2, test split",
            **{k: metrics.get(k) for k in ("dataset", "config", "seed", "n_docs")},
        }
        meta["description"] = (
            f"rnn_tagger ({metrics.get('config')}) trained on {metrics.get('dataset')}, "
            f"seed {metrics.get('seed')}: test F1 {100 * overall['f1']:.2f} "
            "(seqeval strict IOB2).")
    return meta


def package_pipeline(
    model_dir: Union[str, Path], output_dir: Union[str, Path], *, name: str, version: str,
    metrics_path: Optional[Union[str, Path]] = None,
) -> Path:
    """Build an installable sdist of a trained pipeline.

    model_dir: the trained pipeline (e.g. training/.../model-best).
    output_dir: where spaCy writes the package folder and its dist/.
    name, version: the package name (spaCy prefixes the language: "en_<name>")
        and version.
    metrics_path: the evaluate step's metrics JSON, for the meta's scores.
    RETURNS (Path): the .tar.gz to `pip install`.
    """
    model_dir, output_dir = Path(model_dir), Path(output_dir)
    metrics = srsly.read_json(metrics_path) if metrics_path is not None else None
    meta = package_meta(model_dir, name, version, metrics)
    output_dir.mkdir(parents=True, exist_ok=True)
    meta_path = output_dir / f"meta-{name}-{version}.json"
    srsly.write_json(meta_path, meta)
    spacy_package(model_dir, output_dir, meta_path=meta_path, name=name, version=version,
                  create_sdist=True, force=True, silent=True)
    package_name = name if name.startswith(meta["lang"] + "_") else f"{meta['lang']}_{name}"
    archive = output_dir / f"{package_name}-{version}" / "dist" / f"{package_name}-{version}.tar.gz"
    if not archive.is_file():
        raise ValueError(Errors.RNN065.format(path=archive))
    return archive
