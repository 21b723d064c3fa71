"""Registered Thinc architectures of spacy-rnn (see `spacy_rnn.architectures`)."""
from .crf import crf_nll, viterbi_decode_numpy
from .embed import CharCNN, HashFeatures, TokenEmbed, VocabEmbed
from .encoder import RNNEncoder, RNNEncoderLayer
from .tagger import BiRNNTagger

__all__ = [
    "BiRNNTagger",
    "CharCNN",
    "HashFeatures",
    "RNNEncoder",
    "RNNEncoderLayer",
    "TokenEmbed",
    "VocabEmbed",
    "crf_nll",
    "viterbi_decode_numpy",
]
