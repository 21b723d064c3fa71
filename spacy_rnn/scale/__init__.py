"""Beyond one process: corpus annotation with nlp.pipe, datasets.map or Ray Data
(annotate), and data-parallel training with Ray Train (distributed). Ray is the
[ray] extra, imported where it is used."""
