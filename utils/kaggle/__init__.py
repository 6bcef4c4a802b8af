"""Kaggle: what an offline kernel needs.

- ``package``: dataset folders for ``utils``, the models and the wheels; the training kernel;
  upload (``python -m utils.kaggle.package``).
- ``versions``: the library versions saved with the models, checked (and installed) offline.
"""
