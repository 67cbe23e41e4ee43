"""The run cache and the runner under corruption, transient failures and
interruptions (issue 17, item 8)."""

import json
import signal
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier

from benchmarks.harness import runner
from benchmarks.harness.cache import RunCache, is_transient_error, read_json_lines

from .test_runner import tiny_profile

#: The runs of ``tiny_profile(rows=("CE",))``: 1 holdout + 2 suites x 3 folds.
N_RUNS = 1 + 3 + 3


def quiet(*args):
    pass


class Scripted(ClassifierMixin, BaseEstimator):
    """A classifier whose fit does what ``action`` says (then fits a dummy)."""

    def __init__(self, action=None):
        self.action = action

    def fit(self, X, y):
        if self.action is not None:
            self.action()
        self.model_ = DummyClassifier(strategy="prior").fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def scripted_rows(monkeypatch, actions):
    """Make the runner fit :class:`Scripted` models; the n-th fit runs
    ``actions.get(n)``. Returns the list of fits made."""
    fits = []

    def make(name, seed, **net):
        fits.append(name)
        return Scripted(actions.get(len(fits)))

    monkeypatch.setattr(runner, "make_row", make)
    return fits


def run(tmp_path, **kwargs):
    return runner.run_profile(
        tiny_profile(rows=("CE",)),
        out=tmp_path,
        progress=False,
        figures=False,
        echo=quiet,
        **kwargs,
    )


def test_undecodable_lines_are_skipped_and_reported(tmp_path, monkeypatch):
    fits = scripted_rows(monkeypatch, {})
    run(tmp_path)
    assert len(fits) == N_RUNS
    path = tmp_path / "runs.jsonl"
    lines = path.read_bytes().splitlines()
    # A stray byte that is not UTF-8 in line 2, a line that is not JSON in line 4.
    lines[1] = lines[1][:30] + b"\xff\xfe" + lines[1][30:]
    lines[3] = b"not json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    fits.clear()
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable line\(s\).*line 2, 4"):
        second = run(tmp_path)
    assert len(fits) == 2  # only the two unreadable runs are computed again
    assert len(second["records"]) == N_RUNS


def test_read_json_lines_keeps_the_good_lines(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"a": 1}\n\xc3(\n[1, 2]\n\n{"a": 2}\n{"a": 3')
    with pytest.warns(UserWarning, match=r"skipped 3 unreadable"):
        assert read_json_lines(path) == [{"a": 1}, {"a": 2}]
    assert read_json_lines(tmp_path / "missing.jsonl") == []


@pytest.mark.parametrize(
    "error",
    [
        MemoryError("std::bad_alloc"),
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:116] can't allocate memory"),
        RuntimeError("CUDA error: an illegal memory access was encountered"),
    ],
    ids=["MemoryError", "cuda-oom", "cpu-alloc", "cuda-error"],
)
def test_transient_failures_are_reported_but_not_cached(tmp_path, monkeypatch, error):
    def fail():
        raise error

    fits = scripted_rows(monkeypatch, {1: fail})
    first = run(tmp_path)
    failed = [r for r in first["records"] if r["error"]]
    assert len(failed) == 1 and type(error).__name__ in failed[0]["error"]
    cached = read_json_lines(tmp_path / "runs.jsonl")
    assert len(cached) == N_RUNS - 1 and not any(r["error"] for r in cached)
    # The next invocation tries the failed run again (and it succeeds).
    fits = scripted_rows(monkeypatch, {})
    second = run(tmp_path)
    assert len(fits) == 1
    assert not any(r["error"] for r in second["records"])


def test_a_method_failure_stays_cached(tmp_path, monkeypatch):
    def fail():
        raise ValueError("Expected n_neighbors <= n_samples")

    fits = scripted_rows(monkeypatch, {1: fail})
    run(tmp_path)
    fits = scripted_rows(monkeypatch, {})
    second = run(tmp_path)
    assert fits == []  # a failure of the method is a result: not run again
    assert sum(bool(r["error"]) for r in second["records"]) == 1


def test_transient_records_of_an_older_cache_are_run_again(tmp_path, monkeypatch):
    fits = scripted_rows(monkeypatch, {})
    run(tmp_path)
    path = tmp_path / "runs.jsonl"
    records = read_json_lines(path)
    records[0]["error"] = "OutOfMemoryError: CUDA out of memory."
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    fits.clear()
    run(tmp_path)
    assert len(fits) == 1


def test_is_transient_error():
    assert is_transient_error(KeyboardInterrupt())
    assert is_transient_error(torch.cuda.OutOfMemoryError("x"))
    assert is_transient_error("MemoryError: ")
    assert not is_transient_error(ValueError("NaN in X"))
    assert not is_transient_error("FloatingPointError: the training loss is NaN")
    assert not is_transient_error("")


def test_an_interrupted_invocation_is_in_the_provenance_line(tmp_path, monkeypatch):
    def interrupt():
        raise KeyboardInterrupt

    fits = scripted_rows(monkeypatch, {4: interrupt})
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path)
    assert len(read_json_lines(tmp_path / "runs.jsonl")) == 3
    (entry,) = read_json_lines(tmp_path / "invocations.jsonl")
    assert entry["runs_computed"] == 3 and entry["interrupted"] == "KeyboardInterrupt"
    fits = scripted_rows(monkeypatch, {})
    run(tmp_path)
    assert len(fits) == N_RUNS - 3
    first, second = read_json_lines(tmp_path / "invocations.jsonl")
    assert first["interrupted"] == "KeyboardInterrupt"
    assert "interrupted" not in second and second["runs_computed"] == N_RUNS - 3
    summary = (tmp_path / "summary.md").read_text()
    assert "3 runs, wall" in summary and "interrupted (KeyboardInterrupt)" in summary
    assert f"{N_RUNS - 3} runs, wall" in summary


def swallowing_interrupt():
    """What skorch's ``fit`` does with Ctrl-C: training stops, fit returns.

    The SIGINT handler in force (the runner's, while a fit runs) is called
    directly, as the interpreter would on Ctrl-C: deterministic, where a real
    signal reaches the handler late on a loaded machine.
    """
    handler = signal.getsignal(signal.SIGINT)
    try:
        handler(signal.SIGINT, None)
    except KeyboardInterrupt:
        pass


def test_skorch_swallows_keyboard_interrupt():
    # The premise of the next test, on skorch itself.
    from skorch import NeuralNetClassifier
    from skorch.callbacks import Callback

    class Stop(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise KeyboardInterrupt

    net = NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softmax(dim=-1)),
        max_epochs=5,
        callbacks=[Stop()],
        train_split=None,
        verbose=0,
    )
    X = np.random.default_rng(0).normal(size=(20, 2)).astype("float32")
    net.fit(X, np.arange(20) % 2)  # returns normally
    assert len(net.history) == 1


@pytest.fixture
def interactive_sigint():
    """SIGINT as an interactive shell gives it: a process started in the
    background (``nohup``, ``cmd &``) inherits it ignored, and an ignored
    signal interrupts nothing, so the runner then rightly watches for none."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_an_interrupt_swallowed_by_the_fit_is_not_cached(
    tmp_path, monkeypatch, interactive_sigint
):
    scripted_rows(monkeypatch, {2: swallowing_interrupt})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no handler left behind either
        with pytest.raises(KeyboardInterrupt, match="not cached"):
            run(tmp_path)
    assert len(read_json_lines(tmp_path / "runs.jsonl")) == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    (entry,) = read_json_lines(tmp_path / "invocations.jsonl")
    assert entry["interrupted"].startswith("KeyboardInterrupt")


def test_runcache_add_refuses_transient_records(tmp_path):
    cache = RunCache(tmp_path / "runs.jsonl")
    record = dict(profile="p", experiment="e", method="m", seed=0, fold=0, config="c")
    assert not cache.add(record | {"error": "MemoryError: "})
    assert len(cache) == 0 and (tmp_path / "runs.jsonl").read_text() == ""
    assert cache.add(record | {"error": ""})
    assert len(RunCache(tmp_path / "runs.jsonl")) == 1
