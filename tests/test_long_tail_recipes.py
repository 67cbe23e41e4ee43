"""The long-tail building blocks plug into the library's skorch training net.

The estimators build a ``TrainingNet``; these tests show each building block
working through it, as the estimators will wire them: the class-balanced
sampler as ``train_batch_sampler``, SAM as the optimizer, the VS loss as the
criterion, MaxNorm after every step, cRT on the fitted net's embeddings.
"""

from types import SimpleNamespace

import numpy as np
import torch
from guide_code import guide_code_blocks
from skorch.callbacks import Callback

from skimbalance._net import TrainingNet
from skimbalance.heads.decoupling import project_max_norm_, retrain_linear_head
from skimbalance.losses.vector_scaling import VSLoss
from skimbalance.optim.sam import SAM
from skimbalance.samplers.class_balanced import ClassBalancedBatchSampler

COUNTS = (300, 30, 6)


class Net(torch.nn.Module):
    """Embedding, then a linear head; logits (B, 1, C) as the criteria expect."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh())
        self.head = torch.nn.Linear(8, 3)

    def forward(self, data, **batch):
        embedding = self.body(data)
        return self.head(embedding).unsqueeze(1), embedding


class RecordBatches(Callback):
    def initialize(self):
        self.targets = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.targets.append(torch.as_tensor(batch[1]).reshape(-1))


class MaxNormAfterStep(Callback):
    def __init__(self, radius):
        self.radius = radius

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            project_max_norm_(net.module_.head.weight, self.radius)


def data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), COUNTS)
    means = np.array([[0.0, 2.0], [1.7, -1.0], [-1.7, -1.0]])
    X = (means[y] + rng.normal(size=(y.size, 2))).astype(np.float32)
    return X, y


def test_the_building_blocks_train_through_the_training_net():
    X, y = data()
    sampler = ClassBalancedBatchSampler(
        y, 32, sampling="progressive", n_epochs=4, min_per_class=2, generator=0
    )
    record = RecordBatches()
    torch.manual_seed(0)
    net = TrainingNet(
        module=Net(),
        criterion=VSLoss(gamma=0.2, tau=1.0, class_counts=[list(COUNTS)]),
        optimizer=SAM,
        optimizer__rho=0.05,
        optimizer__momentum=0.9,
        lr=0.05,
        max_epochs=4,
        batch_size=32,
        train_split=None,
        callbacks=[("record", record), ("max_norm", MaxNormAfterStep(1.5))],
        train_batch_sampler=sampler,
        verbose=0,
    )
    net.fit({"data": X}, y[:, None])
    # One iteration of the sampler per epoch: progressive reached T.
    assert sampler.epoch == 4
    assert len(record.targets) == 4 * len(sampler)
    assert all(t.numel() == 32 for t in record.targets)
    # The last epoch is close to class-balanced, the first instance-balanced.
    n = len(sampler)
    per_epoch = [torch.cat(record.targets[i * n : (i + 1) * n]) for i in range(4)]
    first, last = (torch.bincount(per_epoch[i], minlength=3) for i in (0, 3))
    assert first[0] > last[0] and first[2] < last[2]
    assert isinstance(net.optimizer_, SAM)
    assert (net.module_.head.weight.norm(dim=1) <= 1.5 + 1e-6).all()
    losses = net.history[:, "train_loss"]
    assert np.isfinite(losses).all()
    # cRT on the fitted net's frozen embeddings: a new head, same interface.
    with torch.no_grad():
        embedding = net.module_.body(torch.as_tensor(X))
    head = retrain_linear_head(embedding, torch.as_tensor(y), epochs=5, generator=0)
    assert head.in_features == 8 and head.out_features == 3


def test_the_user_guide_examples_run_and_say_what_they_show(capsys):
    blocks = guide_code_blocks("long_tail_recipes.rst")
    assert len(blocks) == 9
    namespace = {}
    for block in blocks:
        exec(compile(block, "long_tail_recipes.rst", "exec"), namespace)
    capsys.readouterr()
    ns = SimpleNamespace(**namespace)
    counts = torch.bincount(ns.drawn).double()
    ratio = counts / counts[2]
    assert abs(ratio[0] - 10.0) < 0.5 and abs(ratio[1] - 10**0.5) < 0.2
    y = ns.y
    for batch in ns.crl_batches:
        assert len(set(np.asarray(batch)[np.asarray(y)[batch] == 2])) >= 2
    assert ns.lws.scales[2] > ns.lws.scales[0]  # larger for the rare class
    assert (ns.head.weight.norm(dim=1) <= 1.0 + 1e-6).all()
    assert np.abs(ns.prior - [0.2, 0.3, 0.5]).max() < 0.05
    assert ns.proba_test.shape == (3000, 3)
    assert ns.tau_logits.shape == (666, 3)
    assert np.abs(ns.estimated - [0.2, 0.3, 0.5]).max() < 0.1
    assert ns.y_pred.shape == (3000,)
    assert bool(ns.norms.max() <= 1.0 + 1e-6)  # the estimator's MaxNorm
