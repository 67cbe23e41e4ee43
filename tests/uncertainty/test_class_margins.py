import math

import pytest
import torch

from skimbalance.uncertainty.class_margins import (
    class_uncertainty,
    uncertainty_margins,
    uncertainty_scale,
)


def test_class_uncertainty_matches_loop():
    g = torch.Generator().manual_seed(0)
    u = torch.rand(40, generator=g)
    y = torch.randint(0, 5, (40,), generator=g)
    got = class_uncertainty(u, y, 6)
    for c in range(6):
        members = [float(u[i]) for i in range(40) if int(y[i]) == c]
        if members:
            assert float(got[c]) == pytest.approx(sum(members) / len(members))
        else:
            assert math.isnan(float(got[c]))


def test_class_uncertainty_per_task():
    g = torch.Generator().manual_seed(1)
    u = torch.rand(30, 3, generator=g)
    y = torch.randint(0, 2, (30, 3), generator=g)
    got = class_uncertainty(u, y, 2)
    assert got.shape == (3, 2)
    for t in range(3):
        assert torch.allclose(got[t], class_uncertainty(u[:, t], y[:, t], 2))


def test_margins_grow_with_uncertainty_and_respect_the_cap():
    u = torch.linspace(0.0, 1.0, 50)
    for cap in (1, 2, 3, 5):
        m = uncertainty_margins(u, max_margin=cap)
        assert bool((m[1:] >= m[:-1]).all())  # monotone
        assert int(m.min()) >= 1 and int(m.max()) == cap
        assert int(m[-1]) == cap and int(m[0]) == 1


def test_margins_follow_the_paper_rule_on_the_documented_scale():
    ubar = torch.tensor([0.05, 0.2, 0.34, 0.3, 0.5, 1.0])
    u = uncertainty_scale(ubar, max_margin=3)
    assert torch.allclose(u, 6.0 * ubar.double() / 1.0)
    expected = [max(1, min(3, math.floor(0.5 * float(v)))) for v in u]
    assert uncertainty_margins(ubar).tolist() == expected == [1, 1, 1, 1, 1, 3]
    # exact ratios k / M give margin k
    assert uncertainty_margins(torch.tensor([1 / 3, 2 / 3, 1.0])).tolist() == [1, 2, 3]


def test_margins_are_scale_free():
    g = torch.Generator().manual_seed(2)
    u = torch.rand(8, generator=g)
    assert torch.equal(uncertainty_margins(u), uncertainty_margins(u * 123.0))


def test_edge_cases():
    assert uncertainty_margins(torch.zeros(4)).tolist() == [1, 1, 1, 1]
    # equal uncertainty everywhere: the paper's fixed-margin setting
    assert uncertainty_margins(torch.full((3,), 0.2)).tolist() == [3, 3, 3]
    # an empty class (nan) is the most uncertain
    assert uncertainty_margins(torch.tensor([0.1, float("nan"), 0.05])).tolist() == [
        3,
        3,
        1,
    ]
    # per task: each task's most uncertain class gets the cap
    per_task = uncertainty_margins(torch.tensor([[0.1, 0.3], [0.01, 0.001]]))
    assert per_task.tolist() == [[1, 3], [3, 1]]
    with pytest.raises(ValueError, match="max_margin"):
        uncertainty_margins(torch.ones(2), max_margin=0)
    with pytest.raises(ValueError, match="non-negative"):
        uncertainty_margins(torch.tensor([-0.1, 0.2]))
    with pytest.raises(ValueError, match="same shape"):
        class_uncertainty(torch.ones(3), torch.zeros(4, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="targets"):
        class_uncertainty(torch.ones(2), torch.tensor([0, 5]), 2)


def test_rarer_uncertain_class_gets_larger_margin_end_to_end():
    # per-sample uncertainties: the rare class (2 samples) is the most uncertain
    u = torch.tensor([0.01] * 20 + [0.02] * 10 + [0.2, 0.25])
    y = torch.tensor([0] * 20 + [1] * 10 + [2] * 2)
    margins = uncertainty_margins(class_uncertainty(u, y, 3))
    assert margins.tolist() == [1, 1, 3]


def _loop_margins(u, max_margin, margin_map):
    """The maps of the module docstring, one class at a time in plain Python."""
    top = max(u)
    out = []
    for value in u:
        if value == 0:
            out.append(1)
        elif margin_map == "linear":
            out.append(math.floor(1 + (max_margin - 1) * value / top + 0.5))
        else:  # rank: ties share the higher rank
            rank = sum(1 for other in u if other <= value) - 1
            frac = rank / (len(u) - 1) if len(u) > 1 else 1.0
            out.append(math.floor(1 + (max_margin - 1) * frac + 0.5))
    return out


@pytest.mark.parametrize("margin_map", ["linear", "rank"])
@pytest.mark.parametrize("max_margin", [1, 2, 3, 4])
def test_smoother_maps_match_loop(margin_map, max_margin):
    g = torch.Generator().manual_seed(max_margin)
    for _ in range(20):
        u = torch.rand(7, generator=g, dtype=torch.float64).tolist()
        got = uncertainty_margins(torch.tensor(u), max_margin, margin_map).tolist()
        assert got == _loop_margins(u, max_margin, margin_map)


@pytest.mark.parametrize("margin_map", ["ratio", "linear", "rank"])
def test_every_map_is_monotone_capped_and_gives_the_top_class_max(margin_map):
    u = torch.tensor([0.01, 0.02, 0.05, 0.06, 0.2, 0.3, 0.9, 1.0])
    m = uncertainty_margins(u, 3, margin_map)
    assert torch.all(m[1:] >= m[:-1])
    assert int(m.min()) >= 1 and int(m.max()) == 3 and int(m[-1]) == 3


def test_smoother_maps_give_more_classes_a_margin_than_ratio():
    # Issue 19 item 12: "ratio" gives m >= 2 only within 2/3 of the top.
    u = torch.tensor([0.05, 0.06, 0.07, 0.08, 0.1, 0.3, 0.4, 0.5, 0.6, 1.0])
    ratio = uncertainty_margins(u, 3, "ratio")
    assert int((ratio > 1).sum()) == 1
    assert int((uncertainty_margins(u, 3, "linear") > 1).sum()) == 5
    assert int((uncertainty_margins(u, 3, "rank") > 1).sum()) == 7


@pytest.mark.parametrize("margin_map", ["linear", "rank"])
def test_smoother_maps_edge_cases(margin_map):
    # no uncertainty: margin 1; equal uncertainties: every class M (as "ratio")
    assert uncertainty_margins(torch.zeros(4), 3, margin_map).tolist() == [1] * 4
    assert uncertainty_margins(torch.full((4,), 0.2), 3, margin_map).tolist() == [3] * 4
    # one class; a class without samples (NaN) counts as the most uncertain
    assert uncertainty_margins(torch.tensor([0.4]), 3, margin_map).tolist() == [3]
    m = uncertainty_margins(torch.tensor([0.1, float("nan"), 0.05]), 3, margin_map)
    assert int(m[1]) == 3
    # per task (T, C): the map works within each task
    per_task = uncertainty_margins(
        torch.tensor([[0.1, 0.4], [0.5, 0.0]]), 3, margin_map
    )
    assert per_task.tolist() == [[2 if margin_map == "linear" else 1, 3], [3, 1]]
    with pytest.raises(ValueError, match="margin_map"):
        uncertainty_margins(torch.ones(3), 3, "log")
    with pytest.raises(ValueError, match="non-negative"):
        uncertainty_margins(torch.tensor([-1.0, 1.0]), 3, margin_map)
