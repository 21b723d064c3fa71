"""From tag scores to tags and back: the training losses (losses), the CRF
likelihood (crf, forward_backward), constrained Viterbi (viterbi), what
`predict` returns (predictions) and exact entity confidences (confidence, on the
host forward-backward of forward_backward_numpy)."""
