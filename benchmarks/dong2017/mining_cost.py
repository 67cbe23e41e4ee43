"""Cost of CRL's instance-level mining: the full Gram matrix against the anchors' rows.

Instance-level hard mining (Dong et al., Eq. 6-7) needs, for each minority
anchor, its distances to the samples of its batch. Computing the whole ``(T, B,
B)`` matrix of pairwise distances and keeping the anchors' rows costs ``T * B^2
* D``; :func:`skimbalance.losses.crl.anchor_feature_distances` multiplies only
the anchors (at most half of each attribute's batch, Eq. 3) with the batch,
``T * A * B * D``. This script times, per training step shape (``B`` samples,
``T`` binary attributes with positive rates spread from 2 % to 50 % as
CelebA's, ``D = 64``), on one CPU thread:

* ``mining (full)``: :func:`~skimbalance.losses.crl.pairwise_feature_distances`
  then :func:`~skimbalance.miners.hard_mining.instance_level_hard_samples`;
* ``mining (anchor rows)``: ``anchor_feature_distances`` then the same mining
  with ``anchor_rows=True`` (what :func:`class_rectification_loss` now does);
* ``CRL step``: the whole CRL term, forward and backward, for the relative and
  the distribution forms;
* ``CE step``: the cross-entropy of the same logits, forward and backward, for
  scale.

With ``--fit``, it also trains :class:`~skimbalance.CRLClassifier` (I+R and
I+D) and :class:`~skimbalance.CrossEntropyClassifier` on synthetic data of
``T`` binary labels (2,000 samples, 64 features, the (512, 512) MLP, batch 128,
4 epochs, interleaved) and prints the median epoch time of each CRL row over
CE's (epochs 2-4); run it under an older checkout to compare.

Both mining paths return identical hard samples (checked here and in
``tests/losses/test_crl.py``). Median of ``--repeats`` timings of 20 calls.

Usage::

    python -m benchmarks.dong2017.mining_cost
"""

import argparse
import time

import torch


def batch(n_samples, n_tasks, dim=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    rates = torch.linspace(0.02, 0.5, n_tasks) if n_tasks > 1 else torch.tensor([0.1])
    y = (torch.rand(n_samples, n_tasks, generator=g) < rates).long()
    logits = torch.randn(n_samples, n_tasks, 2, generator=g, requires_grad=True)
    emb = torch.randn(n_samples, n_tasks, dim, generator=g, requires_grad=True)
    return logits, emb, y


def timed(fn, calls=20, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - tic) / calls)
    return sorted(times)[len(times) // 2]


def measure(n_samples, n_tasks, repeats=5):
    # imported here: --fit also runs against older checkouts without them
    from skimbalance.losses.crl import (
        anchor_feature_distances,
        class_rectification_loss,
        pairwise_feature_distances,
    )
    from skimbalance.losses.cross_entropy import weighted_cross_entropy
    from skimbalance.miners.hard_mining import (
        instance_level_hard_samples,
        minority_anchors,
    )
    from skimbalance.miners.minority import minority_classes

    logits, emb, y = batch(n_samples, n_tasks)
    feats = emb.detach().transpose(0, 1)
    targets = y.transpose(0, 1)
    predictions = logits.detach().argmax(-1).transpose(0, 1)
    minority = minority_classes(targets, 2)

    def full():
        d = pairwise_feature_distances(feats, squared=True)
        return instance_level_hard_samples(d, targets, predictions, minority, 5)

    def rows():
        anchors = minority_anchors(targets, minority)
        d = anchor_feature_distances(feats, anchors)
        return instance_level_hard_samples(
            d, targets, predictions, minority, 5, anchor_rows=True
        )

    same = all(torch.equal(a, b) for a, b in zip(full(), rows(), strict=True))

    def crl(form):
        def step():
            value, _ = class_rectification_loss(logits, emb, y, loss=form)
            value.backward()

        return step

    def ce():
        weighted_cross_entropy(logits, y).backward()

    return {
        "B": n_samples,
        "T": n_tasks,
        "anchors": int(minority_anchors(targets, minority).numel()),
        "identical": same,
        "mining_full_ms": 1e3 * timed(full, repeats=repeats),
        "mining_rows_ms": 1e3 * timed(rows, repeats=repeats),
        "crl_relative_ms": 1e3 * timed(crl("relative"), repeats=repeats),
        "crl_distribution_ms": 1e3 * timed(crl("distribution"), repeats=repeats),
        "ce_ms": 1e3 * timed(ce, repeats=repeats),
    }


def epoch_ratios(n_tasks, rounds=2, epochs=4, seed=0):
    """Median epoch time of CRL(I+R) and CRL(I+D) over CE's, on ``n_tasks`` labels."""
    import numpy as np

    from skimbalance import CRLClassifier, CrossEntropyClassifier

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2000, 64)).astype(np.float32)
    rates = np.linspace(0.02, 0.5, n_tasks) if n_tasks > 1 else np.array([0.1])
    W = rng.normal(size=(64, n_tasks))
    scores = X @ W + rng.normal(size=(2000, n_tasks))
    cuts = [np.quantile(scores[:, j], 1 - rates[j]) for j in range(n_tasks)]
    Y = (scores > np.array(cuts)).astype(np.int64)
    y = Y if n_tasks > 1 else Y[:, 0]
    net = dict(max_epochs=epochs, batch_size=128, device="cpu", n_threads=1)
    rows = {
        "CE": lambda: CrossEntropyClassifier(random_state=seed, **net),
        "CRL(I+R)": lambda: CRLClassifier(random_state=seed, **net),
        "CRL(I+D)": lambda: CRLClassifier(
            crl_loss="distribution", random_state=seed, **net
        ),
    }
    times = {name: [] for name in rows}
    for _ in range(rounds):
        for name, make in rows.items():
            clf = make().fit(X, y)
            times[name] += list(clf.net_.history[1:, "dur"])
    medians = {name: float(np.median(t)) for name, t in times.items()}
    return {name: medians[name] / medians["CE"] for name in rows} | {
        "CE_s": medians["CE"]
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fit", action="store_true", help="time whole fits too")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.fit:
        print("| T | CE epoch (s) | CRL(I+R) / CE | CRL(I+D) / CE |")
        print("|---|---|---|---|")
        for n_tasks in (1, 40):
            r = epoch_ratios(n_tasks)
            print(
                f"| {n_tasks} | {r['CE_s']:.2f} | {r['CRL(I+R)']:.2f} "
                f"| {r['CRL(I+D)']:.2f} |"
            )
        return
    print(
        "| B | T | anchors | identical | mining full (ms) | mining anchor rows (ms) "
        "| CRL(I+R) fwd+bwd (ms) | CRL(I+D) fwd+bwd (ms) | CE fwd+bwd (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n_samples, n_tasks in ((128, 1), (128, 14), (128, 40), (256, 40)):
        r = measure(n_samples, n_tasks, args.repeats)
        print(
            f"| {r['B']} | {r['T']} | {r['anchors']} | {r['identical']} "
            f"| {r['mining_full_ms']:.2f} | {r['mining_rows_ms']:.2f} "
            f"| {r['crl_relative_ms']:.2f} | {r['crl_distribution_ms']:.2f} "
            f"| {r['ce_ms']:.3f} |"
        )


if __name__ == "__main__":
    main()
