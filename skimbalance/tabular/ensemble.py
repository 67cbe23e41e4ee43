"""TabM-mini: k MLPs sharing their weights, told apart by an input scaling."""

import torch
from torch import nn


class MiniEnsembleMLP(nn.Module):
    """TabM-mini's parameter-efficient ensemble of ``n_members`` MLPs.

    Every member sees the input times its own scaling vector ``r_m`` (the
    only weights it does not share), then the same ``Linear → ReLU →
    Dropout`` blocks [1]_. The members run in one batched pass: an input
    ``(B, d_in)`` becomes ``(B, n_members, d_in)``, and the output is
    ``(B, n_members, width)``, one representation per member. The scalings
    are initialised to random signs (±1), the same sign over each chunk of
    ``chunk`` consecutive inputs (one feature's embedding), as
    ``tabm.MLPBackboneMiniEnsemble(affine_scaling_init="random-signs",
    affine_scaling_init_chunks=...)``, against which it is tested (same
    weights, same outputs).

    Parameters
    ----------
    d_in : int
        Size of the input.
    hidden_layer_sizes : tuple of int
        Width of each block (at least one).
    dropout : float
        Dropout probability after each block (masks drawn per member).
    n_members : int
        Number of members ``k``.
    chunk : int, default=1
        Inputs that share one random sign at initialisation (``d_in`` must
        be a multiple of it).

    References
    ----------
    .. [1] Y. Gorishniy, A. Kotelnikov and A. Babenko, "TabM: Advancing
       Tabular Deep Learning with Parameter-Efficient Ensembling", ICLR 2025.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.tabular import MiniEnsembleMLP
    >>> m = MiniEnsembleMLP(6, (16, 8), dropout=0.1, n_members=4)
    >>> m(torch.zeros(5, 6)).shape
    torch.Size([5, 4, 8])
    """

    def __init__(self, d_in, hidden_layer_sizes, dropout, n_members, chunk=1):
        super().__init__()
        if not hidden_layer_sizes:
            raise ValueError("hidden_layer_sizes must hold at least one width.")
        if d_in % chunk:
            raise ValueError(f"d_in={d_in} is not a multiple of chunk={chunk}.")
        self.scaling = nn.Parameter(torch.empty(n_members, d_in))
        with torch.no_grad():
            signs = torch.empty(n_members, d_in // chunk, 1).bernoulli_(0.5)
            self.scaling.copy_(
                (2 * signs - 1).expand(-1, -1, chunk).reshape(n_members, d_in)
            )
        layers = []
        width = d_in
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.blocks = nn.Sequential(*layers)
        self.n_members = int(n_members)
        self.out_features = width

    def forward(self, x):
        """Member representations ``(B, n_members, width)`` of inputs ``(B, d_in)``."""
        return self.blocks(x.unsqueeze(1) * self.scaling)
