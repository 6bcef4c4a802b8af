"""Stage 1: recall candidates for each topic.

- ``retriever`` : bi-encoder training (sampler, hard negatives, rounds, recall).
- ``search``    : embeddings and chunked same-language top-K search.
- ``embcache``  : content embeddings saved with the retriever; only new texts are embedded.
- ``candidates``: TF-IDF and dense candidates, their fusion, the channel's known links,
  stage-1-only F2.
"""
