"""Dong et al. (ICCV 2017 / TPAMI 2019), "Class rectification hard mining" (CRL).

:mod:`~benchmarks.dong2017.attributes`
    the ``attributes`` profile (multi-label yeast, the attribute table);
:mod:`~benchmarks.dong2017.crl_ablation`
    the ``crl_ablation`` profile.
"""
