"""The data: a competition folder loaded and checked, its topic tree and texts, the folds.

- ``load``   : load and validate a competition folder (``LECRData``).
- ``csvfile``: read a CSV file saved by any tool (UTF-16, tabs, gzip), or say why not.
- ``tree``   : the topic tree (ancestors, breadcrumb, root, children).
- ``text``   : the topic and content texts the models read.
- ``folds``  : the cross-validation split every stage shares.
- ``demo``   : a deterministic demo dataset in the Kaggle layout (``python -m utils.data.demo``).
- ``eda``    : the summaries the EDA notebook draws.
"""
