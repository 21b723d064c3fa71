"""From tag scores to tags and back: the CRF likelihood (crf, forward_backward),
constrained Viterbi, and exact entity confidences (confidence)."""
