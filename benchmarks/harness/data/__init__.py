"""The engine's shared data layer.

:mod:`~benchmarks.harness.data.features`
    EfficientNet-Lite0 features of image data sets, computed once and cached
    on disk.
:mod:`~benchmarks.harness.data.protocols`
    Khan et al.'s Table 5 protocol (:func:`load_digits_table5`,
    :class:`FeatureTable5`), power-law class sizes on the same features
    (:class:`PowerLawFeatures`) and the features themselves
    (:func:`image_features`), shared by the paper wings; the same two
    protocols on the 28 × 28 pixels (:class:`ImageTable5`,
    :class:`PowerLawImages`, :func:`image_pixels`) for the end-to-end
    variants.
"""
