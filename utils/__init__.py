"""LECR curriculum recommendation suite: the logic behind the notebooks.

Modules (each does one job):

- ``paths``   : where the data and the working folder are.
- ``data``    : load and validate a competition folder (``LECRData``).
- ``csvfile`` : read a CSV file saved by any tool (UTF-16, tabs, gzip), or say why not.
- ``tree``    : the topic tree (ancestors, breadcrumb, root, children).
- ``text``    : the topic and content texts the models read.
- ``metrics`` : mean F2 (Kaggle's metric), recall@K, precision.
- ``demo``    : a deterministic demo dataset in the Kaggle layout.
- ``eda``     : the summaries the EDA notebook draws; ``plots``: the notebooks' figures.
- ``folds``   : the cross-validation split every stage shares.
- ``models``  : loading the encoders; their precision (float16 on a GPU, int8 on a CPU).
- ``trainer`` : the Trainer set-up and loss history both stages' training share.
- ``retriever``: bi-encoder training (sampler, hard negatives, boost rounds, recall).
- ``search``  : embeddings and chunked same-language top-K search.
- ``embcache``: content embeddings saved with the retriever; only new texts are embedded.
- ``candidates``: TF-IDF, dense, zero-shot and second-degree candidates, their fusion, link counts,
  stage-1-only F2.
- ``reranker``: stage 2's cross-encoder, its training topics and pairs, saving and loading.
- ``ranker``  : stage 2's gradient-boosted feature ranker.
- ``stage2``  : notebook 05's stage-2 models trained and scored, and the honest choice among them.
- ``postprocess``: the selection rules (thresholds, top-k, a count by supply), never a topic empty.
- ``tuning``  : rules and models chosen on validation topics, with honest (cross-fitted) F2.
- ``newchannel``: a curriculum the suite never saw: supply, the pool of unlinked items, the regime.
- ``predict`` : the submission path as one call (recall, stage 2, selection, checks).
- ``submission``: build and check ``submission.csv``; ``score``: score it as Kaggle does.
- ``review``  : the review page, each topic's recommendations as a curator checks them.
- ``package`` : Kaggle dataset folders for ``utils``, the models and the wheels; upload.
- ``versions``: the library versions saved with the models, checked (and installed) offline.
- ``int8cache``: int8 exports kept on disk, keyed by the weights.
- ``logs``    : what the notebooks print (the suite's progress, not the libraries').
- ``profiling``: wall time and peak memory per stage.
- ``run``     : runs the notebooks in order (the main job).
"""

__version__ = "0.1.0"
