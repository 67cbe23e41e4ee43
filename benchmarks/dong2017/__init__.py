"""Dong et al. (ICCV 2017 / TPAMI 2019), "Class rectification hard mining" (CRL).

:mod:`~benchmarks.dong2017.attributes`
    the ``attributes`` profile (multi-label yeast, the attribute table);
:mod:`~benchmarks.dong2017.crl_ablation`
    the ``crl_ablation`` profile;
:mod:`~benchmarks.dong2017.multilabel_balance`
    the ``crl_multilabel`` profile: CRL's multi-label settings (issue 19);
:mod:`~benchmarks.dong2017.mining_cost`
    the ``crl_mining_cost`` profile: the cost of CRL's instance-level mining.
"""
