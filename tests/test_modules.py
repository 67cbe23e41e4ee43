"""The shared torch modules against per-task loops over plain nn.Linear."""

import torch
from torch import nn

from skimbalance.modules import MLPBackbone, MultiTaskNet, TaskLinear, infer_output_dim


def test_task_linear_matches_one_linear_per_task():
    torch.manual_seed(0)
    layer = TaskLinear(3, 5, 4)
    x = torch.randn(7, 5)
    out = layer(x)
    for t in range(3):
        ref = nn.Linear(5, 4)
        with torch.no_grad():
            ref.weight.copy_(layer.weight[t].T)
            ref.bias.copy_(layer.bias[t])
        torch.testing.assert_close(out[:, t], ref(x))
    x3 = torch.randn(7, 3, 5)
    out3 = layer(x3)
    for t in range(3):
        torch.testing.assert_close(
            out3[:, t], x3[:, t] @ layer.weight[t] + layer.bias[t]
        )


def test_multitask_net_shapes_and_reshape():
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten())
    width = infer_output_dim(backbone, (1, 5, 5))
    assert width == 2 * 3 * 3
    net = MultiTaskNet(
        backbone, width, n_tasks=4, n_classes=2, embedding_dim=6, input_shape=(1, 5, 5)
    )
    logits, embedding = net(torch.randn(3, 25))
    assert logits.shape == (3, 4, 2) and embedding.shape == (3, 4, 6)


def test_mlp_backbone_identity_without_hidden_layers():
    backbone = MLPBackbone(4, (), dropout=0.5)
    x = torch.randn(2, 4)
    assert backbone.out_features == 4
    torch.testing.assert_close(backbone(x), x)


def test_infer_output_dim_restores_training_mode():
    backbone = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    backbone.train()
    infer_output_dim(backbone, (3,))
    assert backbone.training
