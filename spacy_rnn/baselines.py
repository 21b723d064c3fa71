"""spaCy's own `ner`, configured as `spacy init config -p ner` would, as the baseline.

The baseline must be spaCy's default, not a config tuned here, or the comparison
says nothing. The one variant added is "efficiency-vectors": the efficiency
config with `include_static_vectors = true`, so that a tagger trained with
pretrained vectors is compared with spaCy's ner given the *same* vectors. The
accuracy config already uses them, but on a CPU it trains far slower (a width
256, depth 8 tok2vec).
"""
from spacy.cli.init_config import init_config
from thinc.api import Config

from .errors import Errors

VARIANTS = ("efficiency", "accuracy", "efficiency-vectors")


def spacy_ner_config(variant: str, lang: str = "en") -> Config:
    """The config `spacy init config -p ner -o <optimize>` writes, plus the variant.

    variant (str): "efficiency", "accuracy" or "efficiency-vectors".
    lang (str): the pipeline language (the training command overrides it per dataset).
    RETURNS (Config): the filled-in training config.
    """
    if variant not in VARIANTS:
        raise ValueError(Errors.RNN001.format(setting="baseline", value=variant,
                                              expected=" / ".join(VARIANTS)))
    optimize, _, extra = variant.partition("-")
    config = init_config(lang=lang, pipeline=["ner"], optimize=optimize, silent=True)
    if extra == "vectors":
        config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] = True
    return config
