"""Small, fast estimators shared by the tests of saving, loading and export."""

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)

SMALL = dict(hidden_layer_sizes=(16,), embedding_dim=8, batch_size=32, lr=1e-2)
ESTIMATORS = {
    "ce": lambda **kw: CrossEntropyClassifier(**SMALL, max_epochs=3, **kw),
    "crl": lambda **kw: CRLClassifier(**SMALL, max_epochs=3, **kw),
    "clmle": lambda **kw: CLMLEClassifier(
        **SMALL,
        max_epochs=4,
        warmup_epochs=2,
        n_cluster_rounds=1,
        cluster_size=20,
        **kw,
    ),
    "um": lambda **kw: UncertaintyMarginClassifier(
        **{
            **SMALL,
            "max_epochs": 4,
            "warmup_epochs": 1,
            "class_weight_start_epoch": 1,
            "sample_level_epochs": 1,
            "uncertainty_interval": 1,
            "n_mc_samples": 3,
            **kw,
        }
    ),
}
