"""spaCy's own `ner`, configured as `spacy init config -p ner` would, as the baseline.

The baseline must be spaCy's default, not a config tuned here, or the comparison
says nothing. The one variant added is "efficiency-vectors": the efficiency
config with `include_static_vectors = true`, so that a tagger trained with
pretrained vectors is compared with spaCy's ner given the *same* vectors. The
accuracy config already uses them, but on a CPU it trains far slower (a width
256, depth 8 tok2vec). And "efficiency-t2v": the efficiency config with its tok2vec
sourced from the vectors' pipeline (en_core_web_md's, the same 96-wide network)
and fine-tuned, what a spaCy user does to start from a pretrained tok2vec, to
compare with a tagger that reads that tok2vec's output (lstm-vectors-unk-t2v).
"""
from spacy.cli.init_config import init_config
from thinc.api import Config

from ..errors import Errors

# The output width of the en_core_web_sm/md/lg tok2vec that "efficiency-t2v" sources.
T2V_WIDTH = 96
VARIANTS = ("efficiency", "accuracy", "efficiency-vectors", "efficiency-t2v")


def spacy_ner_config(variant: str, lang: str = "en") -> Config:
    """The config `spacy init config -p ner -o <optimize>` writes, plus the variant.

    variant (str): "efficiency", "accuracy", "efficiency-vectors" or "efficiency-t2v".
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
    elif extra == "t2v":
        # The whole component from the vectors' pipeline: its network reads the
        # same static vectors, and its weights are the starting point.
        config["components"]["tok2vec"] = {"source": "${paths.vectors}"}
        # The listener's width pointed into the replaced block; 96 is the tok2vec
        # width of en_core_web_sm/md/lg. spaCy does not check it before the first
        # update, which fails on a mismatch ("Shape mismatch for blis.gemm").
        config["components"]["ner"]["model"]["tok2vec"]["width"] = T2V_WIDTH
    return config
