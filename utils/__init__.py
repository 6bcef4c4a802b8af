"""LECR curriculum recommendation suite: the logic behind the notebooks.

Grouped by the pipeline's parts (each module does one job):

- ``data/``     : load and check a competition folder, its tree, texts and folds; the demo data.
- ``retrieval/``: stage 1, the bi-encoder, search, the content cache and the fused candidates.
- ``selection/``: stage 2 (cross-encoder, feature ranker), the rules and their honest choice.
- ``kaggle/``   : packaging for an offline kernel, the library versions.

At the top, what every part shares and the entry points:

- ``paths``   : where the data and the working folder are.
- ``models``  : loading the encoders; their precision (float16 on a GPU, int8 on a CPU).
- ``int8cache``: int8 exports kept on disk, keyed by the weights.
- ``trainer`` : the Trainer set-up and loss history both stages' training share.
- ``metrics`` : mean F2 (Kaggle's metric), recall@K, precision.
- ``predict`` : the submission path as one call (recall, stage 2, selection, checks).
- ``submission``: build and check ``submission.csv``; ``score``: score it as Kaggle does.
- ``review``  : the review page, each topic's recommendations as a curator checks them.
- ``run``     : runs the notebooks in order (the main job).
- ``logs``, ``profiling``, ``plots``: what the notebooks print, time and memory per stage, figures.
"""

__version__ = "0.1.0"
