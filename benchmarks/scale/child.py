"""One measurement of the scale profile, in a process of its own.

``python -m benchmarks.scale.child SPEC`` (``SPEC`` a JSON object: the
estimator, its parameters, the data files and the storage) loads the data,
pays the one-off costs with a throw-away fit on 2048 rows, then times one
``fit`` on all rows and one ``predict`` on at most 10⁵ of them, and prints one
JSON line: the seconds (wall clock, and the fit's CPU seconds, which a busy
machine inflates less; the machine's load average before and after the fit), the resident memory before the data were loaded and
the peak over the whole process (``getrusage(RUSAGE_SELF).ru_maxrss``), and
the sizes of the data and of the model. A process per measurement keeps the
peaks of two measurements apart.
"""

import json
import os
import resource
import sys
import time

import numpy as np

#: Rows of the throw-away fit that pays the imports and the first-call costs.
WARMUP_ROWS = 2048

#: The most rows ``predict`` is timed on (its time is reported per 10⁵ rows).
PREDICT_ROWS = 100_000


def current_rss_bytes():
    """The resident set size of this process now (``/proc/self/statm``), or
    its peak so far where there is no ``/proc``."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes()


def peak_rss_bytes():
    """The peak resident set size of this process so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)


def build(spec):
    """The estimator of ``spec``: ``spec["estimator"]`` with ``spec["params"]``."""
    import skimbalance

    return getattr(skimbalance, spec["estimator"])(**spec["params"])


def model_bytes(estimator):
    """Bytes of the fitted network's parameters, times 4: the weights, their
    gradients and Adam's two moments."""
    module = estimator.net_.module_
    return 4 * sum(p.numel() * p.element_size() for p in module.parameters())


def measure(spec):
    """Run the measurement ``spec`` describes; the record of it (a dict)."""
    import torch

    torch.set_num_threads(int(spec["params"].get("n_threads") or 1))
    y = np.load(spec["y_path"])
    mapped = np.load(spec["X_path"], mmap_mode="r")
    warm = build(spec)
    rows = slice(0, min(WARMUP_ROWS, mapped.shape[0]))
    warm.set_params(max_epochs=1).fit(np.array(mapped[rows]), y[rows])
    del warm
    # The runtime's own memory: before the data are loaded (an array) or
    # read (a memmap).
    baseline = current_rss_bytes()
    if spec["storage"] == "memmap":
        X = mapped
    else:
        X = np.load(spec["X_path"])
        assert X.flags.c_contiguous and X.dtype == np.float32

    estimator = build(spec)
    load_before = os.getloadavg()[0]
    tic, cpu = time.perf_counter(), time.process_time()
    estimator.fit(X, y)
    fit_seconds = time.perf_counter() - tic
    fit_cpu_seconds = time.process_time() - cpu
    load_after = os.getloadavg()[0]
    after_fit = peak_rss_bytes()

    n_predict = min(PREDICT_ROWS, X.shape[0])
    tic = time.perf_counter()
    estimator.predict(X[:n_predict])
    predict_seconds = time.perf_counter() - tic

    n = int(X.shape[0])
    epochs = len(estimator.net_.history)
    return {
        "fit_seconds": fit_seconds,
        "fit_cpu_seconds": fit_cpu_seconds,
        "epochs": epochs,
        "fit_seconds_per_sample": fit_seconds / (n * epochs),
        "epoch_seconds": fit_seconds / epochs,
        "predict_rows": n_predict,
        "predict_seconds": predict_seconds,
        "predict_seconds_per_1e5": predict_seconds * 1e5 / n_predict,
        "baseline_rss_bytes": baseline,
        "fit_peak_rss_bytes": after_fit,
        "peak_rss_bytes": peak_rss_bytes(),
        "data_bytes": int(X.nbytes),
        "model_bytes": model_bytes(estimator),
        "load_average": [load_before, load_after],
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    record = measure(json.loads(argv[0]))
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
