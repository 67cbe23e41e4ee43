"""The training layer: each method's heads, criteria, schedules and batch samplers.

Between :mod:`skimbalance.base` (validation, labels, the skorch net,
prediction) and :mod:`skimbalance.classifiers` (the public estimators and
their parameters) lie the pieces a method's fit is made of: its criterion, its
classifier head, the skorch callbacks of its schedule and its batch samplers,
which share mutable state during a fit. Nothing here is public API of the
estimators; the losses, miners, clustering and samplers these pieces use are
pure PyTorch modules of their own packages.
"""
