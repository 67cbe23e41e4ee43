"""Huang et al. (TPAMI 2019), "Deep imbalanced learning for face recognition and
attribute prediction" (CLMLE).

:mod:`~benchmarks.huang2019.table8`
    the ``table8`` profile (and its ``--backbone cnn`` variant);
:mod:`~benchmarks.huang2019.clmle_ablation`
    the ``clmle_ablation`` profile;
:mod:`~benchmarks.huang2019.clmle_settings`
    ``python -m benchmarks.huang2019.clmle_settings``: CLMLE's settings under
    Table 5's protocol.
"""
