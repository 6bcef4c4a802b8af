"""Stage 2 and the selection: re-score the candidates, then choose each topic's set.

- ``cross_encoder`` : the cross-encoder, its training topics and pairs, saving and loading.
- ``feature_ranker``: the gradient-boosted ranker over recall's ranks, scores and kinds.
- ``stage2``        : notebook 05's models trained and scored, and the honest choice among them.
- ``postprocess``   : the selection rules (thresholds, top-k, a count by supply), never a topic empty.
- ``tuning``        : rules and models chosen on validation topics, with honest (cross-fitted) F2.
- ``newchannel``    : a curriculum the suite never saw: supply, the pool of unlinked items, the regime.
"""
