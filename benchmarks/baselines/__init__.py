"""Extra baselines as table rows, for any paper wing to use.

A row library: it imports only the engine, and the paper wings may import it
(the one exception to "no wing imports another").

:mod:`~benchmarks.baselines.triplet`
    Triplet+ (a triplet-loss network with class-balanced sampling);
:mod:`~benchmarks.baselines.triplet_loss`
    its batch-hard triplet loss (pure torch).
"""
