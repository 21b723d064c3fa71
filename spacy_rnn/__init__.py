"""spacy-rnn: a bidirectional RNN/LSTM/GRU sequence labeller for spaCy.

Importing the package registers the `rnn_tagger` factory and the
`spacy_rnn.*` architectures; installing it registers them through entry points,
so `spacy.load` needs no import at all.
"""
from .architectures import build_birnn_tagger, build_token_embed  # noqa: F401
from .pipeline import RNNTagger, make_rnn_tagger, make_tagger_scorer  # noqa: F401
from .readers import create_documents_reader  # noqa: F401
from .training.logger import make_training_logger  # noqa: F401

__version__ = "0.3.1"
