"""Config names: a file of configs/ (NAME.cfg), or a named variant of one
(configs/variants.yml: a config plus overrides).

Why variants: the ablations differ from their config in one to four settings; as
full copies they drifted (headers, forgotten settings) and hid what each one
changes. Resolved here, a variant trains exactly as its old file did, and keeps
its name in training/, metrics/ and RESULTS.md.
"""
from pathlib import Path
from typing import Any, Dict, Tuple, Union

import srsly

from ..errors import Errors

VARIANTS_FILE = "variants.yml"


def read_variants(configs_dir: Path) -> Dict[str, Dict[str, Any]]:
    """The variants table of a configs folder ({} when it has none)."""
    path = Path(configs_dir) / VARIANTS_FILE
    return dict(srsly.read_yaml(path) or {}) if path.exists() else {}


def resolve_config(name: Union[str, Path], configs_dir: Path) -> Tuple[Path, Dict[str, Any]]:
    """The config file and overrides behind a config name.

    name (Union[str, Path]): a path to a .cfg file, a file name in `configs_dir`
        without .cfg, or a variant in its variants.yml.
    configs_dir (Path): the folder of configs (the repo's configs/).
    RETURNS (Tuple[Path, Dict[str, Any]]): the file and the variant's overrides
        ({} for a file), to apply before any command-line override.
    """
    path = Path(name)
    if path.suffix == ".cfg":
        if path.is_file():
            return path, {}
        # A path to a config that became a variant (configs/gru.cfg, as commands
        # written before 0.3.0 name it): look the name up in that folder.
        name, configs_dir = path.stem, path.parent
    configs_dir = Path(configs_dir)
    file = configs_dir / f"{name}.cfg"
    if file.is_file():
        return file, {}
    variants = read_variants(configs_dir)
    if str(name) in variants:
        variant = variants[str(name)]
        base, overrides = resolve_config(variant["config"], configs_dir)
        return base, {**overrides, **dict(variant.get("overrides") or {})}
    known = sorted([p.stem for p in configs_dir.glob("*.cfg")] + list(variants))
    raise ValueError(Errors.RNN096.format(name=name, folder=configs_dir, known=", ".join(known)))
