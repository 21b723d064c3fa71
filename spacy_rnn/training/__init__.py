"""What spacy train uses besides the component: the training logger (logger), the
gradient-flow diagnostics it can record (diagnostics), and the one walk over every
trainable tensor (parameters)."""
