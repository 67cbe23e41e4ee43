"""Published numbers printed beside ours, always labelled as the paper's.

Khan et al., "Striking the Right Balance with Uncertainty", CVPR 2019,
Table 5: imbalanced CIFAR-10 (10 % of the training samples of half the classes
kept), VGG16 ImageNet features, each baseline feeding a 2-layer network;
mean ± std over classes, in %.

Reading of the table: the paper's header lists the columns as Accuracy,
Precision, F1, Recall, G-Mean, IBA, but the column printed third equals the
accuracy in every row (34.3 against 34.2, then 63.5, 76.3, 76.4, 75.7, 76.7,
67.8, 80.6 exactly). On CIFAR-10's balanced test set the mean recall over
classes *is* the accuracy, and the mean F1 is not, so that column is recall
and the fourth (lower in seven rows of eight) is F1; we print them so. The
paper gives accuracy without a spread.
"""

#: Our row names of the paper's rows (a tuple: the first one an experiment runs;
#: "This Paper" is the uncertainty-margin method, found by its class).
KHAN2019_ROW_NAMES = {
    "Cost-sen SVM": ("Cost-sensitive SVM", "Cost-sensitive linear SVM"),
    "NearMiss": "NearMiss + CE",
    "SMOTE NN": "SMOTE + CE",
    "ADASYN NN": "ADASYN + CE",
    "Under-samp. Clustering": "ClusterCentroids + CE",
    "Neighborhood Cleaning": "NCR + CE",
    "Instance Hardness": "IHT + CE",
    "This Paper": "UncertaintyMarginClassifier",
}

# (accuracy, (precision, std), (f1, std), (recall, std), (g_mean, std), (iba, std))
_KHAN2019_TABLE5 = {
    "Cost-sen SVM": (34.2, (60.9, 33.6), (30.5, 23.0), (34.3, 32.4), (69.7, 29.4), (55.5, 30.6)),
    "NearMiss": (63.5, (66.1, 14.9), (62.8, 14.2), (63.5, 19.7), (79.2, 9.5), (61.8, 14.8)),
    "SMOTE NN": (76.3, (80.5, 12.6), (75.0, 12.3), (76.3, 22.1), (88.3, 6.4), (77.1, 11.9)),
    "ADASYN NN": (76.4, (80.4, 12.2), (75.2, 10.6), (76.4, 21.1), (88.2, 6.0), (76.9, 11.4)),
    "Under-samp. Clustering": (75.7, (78.3, 12.2), (75.9, 6.9), (75.7, 10.3), (87.0, 6.8), (74.8, 12.2)),
    "Neighborhood Cleaning": (76.7, (79.2, 10.4), (75.9, 8.6), (76.7, 18.6), (85.7, 10.2), (73.2, 18.1)),
    "Instance Hardness": (67.8, (76.3, 19.8), (67.6, 10.8), (67.8, 18.7), (79.9, 11.1), (63.4, 17.4)),
    "This Paper": (80.6, (80.8, 6.1), (80.4, 6.3), (80.6, 9.3), (88.7, 5.2), (77.6, 9.6)),
}  # fmt: skip

PAPERS = {
    "khan2019_table5": {
        "label": "Khan et al. 2019, Table 5 (imbalanced CIFAR-10, VGG16 features)",
        "rows": KHAN2019_ROW_NAMES,
        "table": _KHAN2019_TABLE5,
    }
}


def paper_rows(key, rows=(), classes=None):
    """``{our row name: (paper row name, numbers)}`` of a paper's table.

    Parameters
    ----------
    key : str
        The paper's table, a key of :data:`PAPERS`.
    rows : sequence of str
        The rows an experiment runs: where the paper's row may be one of
        several of ours, the first of them in ``rows`` is taken.
    classes : dict or None
        ``{estimator class name: row name}``, for a paper row named by class.
    """
    paper = PAPERS[key]
    classes = classes or {}
    out = {}
    for name, numbers in paper["table"].items():
        candidates = paper["rows"][name]
        if isinstance(candidates, str):
            candidates = (candidates,)
        candidates = [classes.get(c, c) for c in candidates]
        chosen = next((c for c in candidates if c in rows), candidates[0])
        out[chosen] = (name, numbers)
    return out
