"""What entity confidences cost at inference: one trained model, confidence on and off.

    OMP_NUM_THREADS=1 python scripts/bench_confidence.py \
        training/conll2003-lstm-vectors-unk-s0/model-best corpus/conll2003/test.spacy

Both copies run on the same raw test texts, alternating, through
`spacy_rnn.lab.speed.benchmark_inference` (median of 5 rounds after a warm-up,
batch size 256); prints words/s of each and the ratio.
"""
import json
import sys

import spacy
import torch

from spacy_rnn.lab.speed import benchmark_inference, load_texts


def main(model: str, test: str, threads: int = 1) -> None:
    torch.set_num_threads(threads)
    off = {"components": {"rnn_tagger": {"confidence": False}}}
    pipelines = {"confidence-on": spacy.load(model),
                 "confidence-off": spacy.load(model, config=off)}
    assert pipelines["confidence-on"].get_pipe("rnn_tagger").confidence
    assert not pipelines["confidence-off"].get_pipe("rnn_tagger").confidence
    result = benchmark_inference(pipelines, load_texts(test), rounds=5,
                                 baseline="confidence-off")
    rows = {name: round(r["words_per_second"]) for name, r in result["pipelines"].items()}
    ratio = rows["confidence-on"] / rows["confidence-off"]
    print(json.dumps({"words": result["words"], "words_per_second": rows,
                      "on_over_off": round(ratio, 3), "threads": threads}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))
