"""The options of the uncertainty-margin estimator on the digits Table 5 protocol (issue 19).

Each row is :class:`~skimbalance.UncertaintyMarginClassifier` (or the
cross-entropy network) on the quick profile's network (512-512, dropout 0.5,
30 epochs, batch 64, Adam 1e-3, a standard scaler in front) and the
benchmarks' curriculum (10 softmax, 10 class-margin, 10 sample-level
epochs), trained on digits under Khan et al.'s Table 5 protocol
(:func:`benchmarks.harness.data.protocols.load_digits_table5`: classes 5-9
keep 10 % of their training samples, balanced test half). Printed per row:
test accuracy and the mean recall of the reduced classes (mean ± sd over the
seeds), the paired per-seed difference to CE, training accuracy, the mean
margin of the reduced and of the other classes, and the Spearman correlation
of the margins with the class counts (negative: larger margins on rarer
classes).

Run ``python -m benchmarks.khan2019.um_options [--seeds 5] [--rows "a;b"]``;
about 3 s a fit on one core.
"""

import argparse
import time

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, recall_score

from skimbalance import UncertaintyMarginClassifier

from ..harness.data.protocols import load_digits_table5
from ..harness.methods import make_row

NET = dict(
    hidden_layer_sizes=(512, 512),
    dropout=0.5,
    max_epochs=30,
    batch_size=64,
    lr=1e-3,
    n_threads=1,
)
RARE = (5, 6, 7, 8, 9)


def _um(**options):
    def factory(seed):
        from imblearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        third = NET["max_epochs"] // 3
        settings = dict(warmup_epochs=third, sample_level_epochs=third)
        settings.update(options)
        return make_pipeline(
            StandardScaler(),
            UncertaintyMarginClassifier(random_state=seed, **NET, **settings),
        )

    return factory


_W = NET["max_epochs"] // 3
#: name -> factory(seed).
ROWS = {
    "CE": lambda seed: make_row("CE", seed, **NET),
    "CE balanced": lambda seed: make_row("CE (cost-sensitive)", seed, **NET),
    "UM default": _um(),
    "UM no sample term": _um(sample_level_epochs=0),
    "UM margin_map=linear": _um(margin_map="linear"),
    "UM margin_map=rank": _um(margin_map="rank"),
    "UM softmax_weight=0": _um(softmax_weight=0.0),
    "UM anneal 100->0": _um(softmax_weight_start=100.0, softmax_weight=0.0),
    "UM anneal 100->1": _um(softmax_weight_start=100.0, softmax_weight=1.0),
    "UM sample_covariance=full": _um(sample_covariance="full"),
    "UM balanced": _um(class_weight="balanced"),
    "UM balanced, frozen": _um(class_weight="balanced", freeze_margins=True),
    "UM balanced from warmup": _um(
        class_weight="balanced", class_weight_start_epoch=_W
    ),
    "UM balanced from warmup, frozen": _um(
        class_weight="balanced", class_weight_start_epoch=_W, freeze_margins=True
    ),
    "UM balanced from warmup, frozen, linear": _um(
        class_weight="balanced",
        class_weight_start_epoch=_W,
        freeze_margins=True,
        margin_map="linear",
    ),
    "UM balanced from warmup, frozen, anneal 100->1": _um(
        class_weight="balanced",
        class_weight_start_epoch=_W,
        freeze_margins=True,
        softmax_weight_start=100.0,
    ),
}


def _estimator(model):
    return model[-1] if hasattr(model, "steps") else model


def run(rows, seeds):
    """Fit every row on every seed; returns ``{row: [dict per seed]}``."""
    out = {row: [] for row in rows}
    for seed in seeds:
        X_train, y_train, X_test, y_test = load_digits_table5(seed)
        counts = np.bincount(y_train)
        for row in rows:
            start = time.perf_counter()
            model = ROWS[row](seed).fit(X_train, y_train)
            pred = model.predict(X_test)
            rec = recall_score(y_test, pred, average=None)
            result = {
                "acc": accuracy_score(y_test, pred),
                "rare": float(np.mean(rec[list(RARE)])),
                "train": accuracy_score(y_train, model.predict(X_train)),
                "seconds": time.perf_counter() - start,
            }
            est = _estimator(model)
            if hasattr(est, "class_margins_"):
                m = np.asarray(est.class_margins_, dtype=float)
                rare = np.isin(np.arange(len(m)), RARE)
                result["m_rare"] = m[rare].mean()
                result["m_major"] = m[~rare].mean()
                result["rho"] = (
                    spearmanr(m, counts).statistic if m.std() > 0 else np.nan
                )
                result["margins"] = m.astype(int).tolist()
                probs = [
                    h["misclassification_probability"]
                    for h in est.net_.history
                    if "misclassification_probability" in h
                ]
                if probs:
                    result["F"] = float(np.mean(probs))
            out[row].append(result)
            print(f"seed {seed} {row}: {result}", flush=True)
    return out


def _ms(values, scale=100.0):
    v = scale * np.asarray(values, dtype=float)
    return f"{np.nanmean(v):.1f} ± {np.nanstd(v, ddof=1) if len(v) > 1 else 0:.1f}"


def report(results):
    """A markdown table of ``results`` (output of :func:`run`)."""
    base = results.get("CE")
    balanced = results.get("CE balanced")
    lines = [
        "| row | accuracy | Δ vs CE | Δ vs CE balanced | rare recall | Δ rare vs CE "
        "| train acc | m rare / others | ρ(m, count) | mean F |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row, res in results.items():
        acc = [r["acc"] for r in res]
        rare = [r["rare"] for r in res]
        d = d_rare = "—"
        if base is not None and row != "CE":
            d = _ms(np.subtract(acc, [r["acc"] for r in base]))
            d_rare = _ms(np.subtract(rare, [r["rare"] for r in base]))
        d_bal = "—"
        if balanced is not None and row != "CE balanced":
            d_bal = _ms(np.subtract(acc, [r["acc"] for r in balanced]))
        f_mean = "—"
        if "F" in res[0]:
            f_mean = f"{np.mean([r['F'] for r in res]):.4f}"
        margins = rho = "—"
        if "m_rare" in res[0]:
            margins = (
                f"{np.mean([r['m_rare'] for r in res]):.2f} / "
                f"{np.mean([r['m_major'] for r in res]):.2f}"
            )
            rho = f"{np.nanmean([r['rho'] for r in res]):+.2f}"
        lines.append(
            f"| {row} | {_ms(acc)} | {d} | {d_bal} | {_ms(rare)} | {d_rare} | "
            f"{_ms([r['train'] for r in res])} | {margins} | {rho} | {f_mean} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--rows", default=";".join(ROWS), help="row names, separated by ;"
    )
    args = parser.parse_args(argv)
    rows = [r.strip() for r in args.rows.split(";")]
    if "CE" not in rows:
        rows.insert(0, "CE")
    results = run(rows, range(args.seeds))
    print(f"\nDigits, Table 5 protocol, seeds 0-{args.seeds - 1}:\n")
    print(report(results))


if __name__ == "__main__":
    main()
