"""The model's stages, one Thinc layer per file: token features (vocab_embed,
hash_features, char_cnn, bigram_features, cluster_features, lexicon_features,
with_features), their combination (token_embed), the recurrent encoder
(rnn_encoder), document context (sentence_context, document_memory), the CRF's
learned transition scores (crf_transitions) and the tagger network that joins
them (birnn_tagger). Registered builders: see
`spacy_rnn.architectures`."""
