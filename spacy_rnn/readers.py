"""The `spacy_rnn.Documents.v1` corpus reader: whole documents, sentence starts kept.

Why a reader of its own: spaCy's `spacy.Corpus.v1` either splits each document
into its sentences (gold_preproc = true) or re-tokenizes its text and forgets
where the sentences were (false). Document context (layers/sentence_context.py) needs
both the corpus's own tokens and the sentence boundaries on the doc the model
reads, which is what the CoNLL setting gives a system too (sentences and
documents marked, entities scored on the given tokens).
"""
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.training.corpus import walk_corpus
from spacy.util import registry

from .errors import Errors


@registry.readers("spacy_rnn.Documents.v1")
def create_documents_reader(
    path: Optional[Union[str, Path]],
    limit: int = 0,
    max_length: int = 0,
    gold_preproc: bool = True,
    augmenter: Optional[Callable[[Language, Example], Iterable[Example]]] = None,
) -> Callable[[Language], Iterator[Example]]:
    """Read a DocBin of documents (the project's {split}.docs.spacy) as Examples
    whose predicted doc has the gold tokens and the gold sentence starts.

    path (Union[str, Path]): A .spacy file or a folder of them.
    limit (int): Read at most this many documents (0 = all).
    max_length (int): Cut a longer document into runs of whole sentences of at
        most this many tokens (a longer sentence stays whole); 0 = no limit.
    gold_preproc (bool): Must be true: documents are read on the corpus's own
        tokens. Accepted so that `--corpora.train.@readers spacy_rnn.Documents.v1`
        can replace spacy.Corpus.v1 on the command line.
    augmenter (Optional[Callable]): As in spacy.Corpus.v1.
    RETURNS (Callable[[Language], Iterator[Example]]): The reader.
    """
    if path is None:
        raise ValueError(Errors.RNN095.format(problem="no path (set [paths] train / dev)"))
    if not gold_preproc:
        raise ValueError(Errors.RNN095.format(
            problem="gold_preproc = false: documents are read on the corpus's own tokens"))
    for setting, value in (("limit", limit), ("max_length", max_length)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(Errors.RNN001.format(setting=setting, value=value,
                                                  expected="an int >= 0"))

    def read(nlp: Language) -> Iterator[Example]:
        n = 0
        for file_path in walk_corpus(path, ".spacy"):
            for reference in DocBin().from_disk(file_path).get_docs(nlp.vocab):
                if limit and n >= limit:
                    return
                n += 1
                for part in split_long(reference, max_length):
                    example = Example(with_sentences(nlp, part), part)
                    if augmenter is None:
                        yield example
                    else:
                        yield from augmenter(nlp, example)

    return read


def with_sentences(nlp: Language, reference: Doc) -> Doc:
    """An unannotated doc on the reference's tokens, its sentence starts copied."""
    words = [token.text for token in reference]
    spaces = [bool(token.whitespace_) for token in reference]
    sent_starts = None
    if reference.has_annotation("SENT_START"):
        sent_starts = [bool(token.is_sent_start) for token in reference]
    return Doc(nlp.vocab, words=words, spaces=spaces, sent_starts=sent_starts)


def split_long(doc: Doc, max_length: int) -> Iterator[Doc]:
    """The doc, or runs of its whole sentences of at most max_length tokens."""
    if not max_length or len(doc) <= max_length or not doc.has_annotation("SENT_START"):
        yield doc
        return
    start = 0
    for sent in doc.sents:
        if sent.end - start > max_length and sent.start > start:
            yield doc[start:sent.start].as_doc()
            start = sent.start
    yield doc[start:].as_doc()
