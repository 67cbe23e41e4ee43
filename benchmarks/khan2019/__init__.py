"""Khan et al. (CVPR 2019), "Striking the right balance with uncertainty".

:mod:`~benchmarks.khan2019.table5`
    the Table 5 experiments of the ``quick`` and ``full`` profiles;
:mod:`~benchmarks.khan2019.margin_ablation`
    the ``margin_stages`` (Table 6) and ``margin_types`` (Table 7) profiles;
:mod:`~benchmarks.khan2019.um_options`
    the ``um_options`` profile: the uncertainty margin's options (issue 19).
"""
