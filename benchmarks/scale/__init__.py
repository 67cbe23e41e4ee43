"""The scale profile: time and memory of every estimator from 10⁴ to 10⁶ rows.

``python -m benchmarks scale`` (:mod:`benchmarks.scale.profile`) fits each
estimator for one epoch on synthetic power-law data of growing size, as a
float32 NumPy array and as a :class:`numpy.memmap`, each measurement in a
fresh process (:mod:`benchmarks.scale.child`), and writes the table, the
records and a log-log plot under ``docs/results/scale/``. It measures time and
memory, not accuracy.
"""
