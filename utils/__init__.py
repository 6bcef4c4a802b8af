"""LECR curriculum recommendation suite: the logic behind the notebooks.

Modules (each does one job):

- ``paths``   : where the data and the working folder are.
- ``data``    : load and validate a competition folder (``LECRData``).
- ``tree``    : the topic tree (ancestors, breadcrumb, root, children).
- ``text``    : the topic and content texts the models read.
- ``metrics`` : mean F2 (Kaggle's metric), recall@K, precision.
- ``demo``    : a deterministic demo dataset in the Kaggle layout.
- ``eda``     : the summaries the EDA notebook draws; ``plots``: the notebooks' figures.
- ``folds``   : the cross-validation split every stage shares.
- ``retriever``: bi-encoder training (sampler, hard negatives, boost rounds, recall).
- ``search``  : embeddings and chunked same-language top-K search.
- ``candidates``: TF-IDF and dense candidates, their fusion, stage-1-only F2.
- ``postprocess``: thresholds tuned for mean F2, at least one item per topic.
- ``profiling``: wall time and peak memory per stage.
- ``run``     : runs the notebooks in order (the main job).
"""

__version__ = "0.1.0"
