"""Speed of CLMLEClassifier: training per epoch vs. cross-entropy, k-NC vs. kNN.

1. Training: CLMLE and the cross-entropy baseline train the same network (default
   (512, 512) MLP) on the same imbalanced synthetic data for the same number of
   epochs. CLMLE runs its default schedule (cross-entropy warm-up, clustering
   rounds with the whole training set embedded and clustered, cluster-based
   batches, and the final clustering after training), all of it counted in its
   time. Reported: seconds per epoch of each (median over repeats of the whole
   fit divided by its epochs), their ratio, and the share of the clustering.
2. Prediction: the k-nearest-cluster rule (Eq. 10, ``N`` nearest centroids)
   against instance-wise kNN (``k`` nearest training points, majority vote) on the
   same synthetic unit-norm embeddings, both searched by the same exact chunked
   top-k, at growing training-set sizes (10^4, 10^5, 10^6 points; clusters of
   ``cluster_size`` points, so ``n / cluster_size`` centroids).

Run ``python -m benchmarks.speed.clmle`` (``--help`` for options). Results go to
``benchmarks/results/speed_clmle_{train,predict}.csv`` and
``benchmarks/results/speed_clmle.md``.
"""

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from skimbalance import CLMLEClassifier, CrossEntropyClassifier
from skimbalance.neighbors.k_nearest_cluster import KNearestClusterRule, chunked_top_k

from ..harness.files import atomic_open
from .common import imbalanced_data, time_fit


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--warmup-epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--train-sizes",
        type=int,
        nargs="+",
        default=[10_000, 100_000, 1_000_000],
        help="training-set sizes of the prediction benchmark",
    )
    parser.add_argument("--n-queries", type=int, default=2000)
    parser.add_argument("--cluster-sizes", type=int, nargs="+", default=[16, 200])
    parser.add_argument("--n-neighbors", type=int, default=20)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent.parent / "results"),
        help="output folder (default: benchmarks/results)",
    )
    return parser.parse_args(argv)


def train_benchmark(args):
    X, y = imbalanced_data(
        args.n_samples, args.n_features, args.n_classes, n_clusters_per_class=2
    )
    shared = dict(
        max_epochs=args.max_epochs,
        device=args.device,
        n_threads=args.threads,
        random_state=0,
    )
    # A throw-away fit pays the one-off imports (torch._dynamo etc.).
    CrossEntropyClassifier(**{**shared, "max_epochs": 1}).fit(X[:256], y[:256])
    ce_times, clmle_times, cluster_times, final_times = [], [], [], []
    for _ in range(args.repeats):
        ce_times.append(time_fit(CrossEntropyClassifier(**shared), X, y))
        clf = CLMLEClassifier(warmup_epochs=args.warmup_epochs, **shared)
        clmle_times.append(time_fit(clf, X, y))
        cluster_times.append(
            sum(row.get("clustering_time", 0.0) for row in clf.net_.history)
        )
        final_times.append(clmle_times[-1] - sum(clf.net_.history[:, "dur"]))
    ce_epoch = statistics.median(ce_times) / args.max_epochs
    clmle_epoch = statistics.median(clmle_times) / args.max_epochs
    rows = [
        ("CE s/epoch", ce_epoch),
        ("CLMLE s/epoch (clustering and final clustering included)", clmle_epoch),
        ("ratio CLMLE / CE", clmle_epoch / ce_epoch),
        ("CLMLE clustering rounds, s per fit", statistics.median(cluster_times)),
        (
            "CLMLE after training (final clustering, index), s",
            statistics.median(final_times),
        ),
    ]
    setting = (
        f"{args.n_samples} samples x {args.n_features} features, {args.n_classes} "
        f"classes (half at 10 %), {args.max_epochs} epochs ({args.warmup_epochs} "
        f"warm-up), default (512, 512) MLP and CLMLE defaults, median of "
        f"{args.repeats} fits"
    )
    return rows, setting


def synthetic_embeddings(n, dim, n_classes, seed):
    gen = torch.Generator().manual_seed(seed)
    centers = F.normalize(torch.randn(n_classes * 8, dim, generator=gen), dim=1)
    which = torch.randint(0, centers.shape[0], (n,), generator=gen)
    emb = F.normalize(centers[which] + 0.3 * torch.randn(n, dim, generator=gen), dim=1)
    return emb, which % n_classes


def knn_predict(queries, train, labels, k, n_classes, chunk_size=4096):
    """Instance-wise kNN by majority vote, searched with the same top-k as k-NC."""
    _, idx = chunked_top_k(queries, train, k, chunk_size)
    votes = torch.zeros(queries.shape[0], n_classes, device=queries.device)
    votes.scatter_add_(1, labels[idx], torch.ones_like(idx, dtype=votes.dtype))
    return votes.argmax(1)


def _timed(fn, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    tic = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - tic


def predict_benchmark(args):
    rows = []
    device = args.device
    queries, _ = synthetic_embeddings(args.n_queries, args.dim, args.n_classes, 1)
    queries = queries.to(device)
    for n in args.train_sizes:
        train, labels = synthetic_embeddings(n, args.dim, args.n_classes, 0)
        train, labels = train.to(device), labels.to(device)
        knn_time = min(
            _timed(
                lambda train=train, labels=labels: knn_predict(
                    queries, train, labels, args.n_neighbors, args.n_classes
                ),
                device,
            )
            for _ in range(2)
        )
        for size in args.cluster_sizes:
            n_clusters = max(1, n // size)
            gen = torch.Generator().manual_seed(2)
            pick = torch.randperm(n, generator=gen)[:n_clusters].to(device)
            rule = KNearestClusterRule(args.n_neighbors).fit(
                train[pick], labels[pick], n_classes=args.n_classes
            )
            q64 = queries.double()
            knc_time = min(
                _timed(lambda rule=rule, q=q64: rule.predict(q), device)
                for _ in range(3)
            )
            rows.append((n, size, n_clusters, knc_time, knn_time, knn_time / knc_time))
        del train, labels
    return rows


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = (
        f"{platform.machine()}, torch {torch.__version__}, device {args.device}, "
        f"{args.threads} thread(s)"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.device == "cpu" else f"_{args.device.split(':')[0]}"
    md = [f"# CLMLEClassifier speed ({machine})\n"]
    if not args.skip_train:
        train_rows, setting = train_benchmark(args)
        with atomic_open(out / f"speed_clmle_train{suffix}.csv") as fh:
            fh.write("quantity,value\n")
            for name, value in train_rows:
                fh.write(f'"{name}",{value:.6g}\n')
        ratio = train_rows[2][1]
        md += [
            "## Training time per epoch vs. cross-entropy\n",
            f"{setting}.\n",
            "| quantity | value |\n|---|---|",
            *[f"| {name} | {value:.3f} |" for name, value in train_rows],
            f"\nThe ratio {ratio:.2f}x {'meets' if ratio <= 1.5 else 'misses'} "
            "the 1.5x target.\n",
        ]
        for name, value in train_rows:
            print(f"{name:64s} {value:.4f}")
    pred_rows = predict_benchmark(args)
    with atomic_open(out / f"speed_clmle_predict{suffix}.csv") as fh:
        fh.write(
            "n_train,cluster_size,n_clusters,knc_seconds,knn_seconds,knn_over_knc\n"
        )
        for row in pred_rows:
            fh.write(
                ",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row)
            )
            fh.write("\n")
    md += [
        "## Prediction: k-nearest-cluster vs. instance-wise kNN\n",
        f"{args.n_queries} queries, {args.dim}-d unit-norm synthetic embeddings, "
        f"N = k = {args.n_neighbors}, exact chunked top-k for both (best of 2-3 "
        "runs).\n",
        "| training points | cluster size | clusters | k-NC s | kNN s | kNN / k-NC |",
        "|---|---|---|---|---|---|",
        *[
            f"| {n:,} | {size} | {k:,} | {a:.4f} | {b:.4f} | {r:.1f}x |"
            for n, size, k, a, b, r in pred_rows
        ],
        "",
    ]
    for row in pred_rows:
        print(
            "n={:>8} l={:>4} clusters={:>7} knc={:.4f}s knn={:.4f}s ratio={:.1f}".format(
                *row
            )
        )
    with atomic_open(out / f"speed_clmle{suffix}.md") as fh:
        fh.write("\n".join(md))


if __name__ == "__main__":
    main()
