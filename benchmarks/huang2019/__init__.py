"""Huang et al. (TPAMI 2019), "Deep imbalanced learning for face recognition and
attribute prediction" (CLMLE).

:mod:`~benchmarks.huang2019.table8`
    the ``table8`` profile (and its ``--backbone cnn`` variant);
:mod:`~benchmarks.huang2019.clmle_ablation`
    the ``clmle_ablation`` profile;
:mod:`~benchmarks.huang2019.clmle_settings`
    the ``clmle_settings`` profile: CLMLE's settings under Table 5's protocol;
:mod:`~benchmarks.huang2019.clmle_open_choices`
    the ``clmle_open_choices`` profile: CLMLE's open choices (issue 19);
:mod:`~benchmarks.huang2019.clmle_scores`
    the ``clmle_scores`` profile: whether CLMLE's scores rank (issue 16).
"""
