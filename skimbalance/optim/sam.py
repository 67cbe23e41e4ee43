"""Sharpness-aware minimization (Foret et al., ICLR 2021) around any torch optimizer.

SAM minimises the largest loss in a ball of radius ``rho`` around the weights,
``max_{||e|| <= rho} L(w + e)``, by a first-order step: the worst perturbation
is approximated by ``e = rho * g / ||g||`` with ``g = grad L(w)`` (the norm of
all parameters together), and the base optimizer steps from ``w`` with the
gradient taken at ``w + e``::

    g   = grad L(w)
    e   = rho * g / ||g||_2          (0 when g = 0)
    g_e = grad L(w + e)
    w   = base_step(w, g_e)

Every step costs two forward and backward passes. The second pass runs in
training mode too: batch-norm running statistics are updated twice and
dropout draws new masks (as in Foret et al.'s code).
"""

import math
import numbers

import torch

__all__ = ["SAM"]


class SAM(torch.optim.Optimizer):
    """Sharpness-aware minimization wrapping a base optimizer.

    Use it as any optimizer whose ``step`` takes a closure (the closure is
    called twice: at ``w``, then at ``w + e``), or call :meth:`first_step`
    and :meth:`second_step` around your own second backward pass. skorch's
    :meth:`~skorch.net.NeuralNet.train_step` passes a closure to ``step``, so
    ``NeuralNet(..., optimizer=SAM, optimizer__base_optimizer=torch.optim.SGD,
    optimizer__rho=0.05, optimizer__momentum=0.9)`` trains with SAM.

    The parameter groups are the base optimizer's (a learning-rate scheduler
    acting on this optimizer acts on the base one), and ``state_dict`` /
    ``load_state_dict`` are the base optimizer's: SAM itself keeps no state
    between steps.

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters to optimise, or parameter groups (a group may set its own
        ``rho``).
    base_optimizer : type, default=torch.optim.SGD
        A :class:`torch.optim.Optimizer` class, built on the same parameter
        groups with ``**kwargs``.
    rho : float, default=0.05
        Radius of the neighbourhood, ``>= 0`` (Foret et al. use 0.05; 0 is the
        base optimizer).
    **kwargs
        Arguments of the base optimizer (``lr``, ``momentum``,
        ``weight_decay`` ...).

    References
    ----------
    .. [1] P. Foret, A. Kleiner, H. Mobahi and B. Neyshabur,
       "Sharpness-Aware Minimization for Efficiently Improving
       Generalization", ICLR 2021, Eq. 2 and Algorithm 1.

    Examples
    --------
    On ``L(w) = w ** 2 / 2`` from ``w = 1`` (``g = 1``, so ``e = rho``), one
    plain-SGD step with learning rate 0.1 uses the gradient at ``1 + rho``:

    >>> import torch
    >>> from skimbalance.optim.sam import SAM
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = SAM([w], torch.optim.SGD, rho=0.5, lr=0.1)
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = (w ** 2).sum() / 2
    ...     loss.backward()
    ...     return loss
    >>> opt.step(closure).item()  # the loss at w
    0.5
    >>> w.detach()  # 1 - 0.1 * (1 + 0.5)
    tensor([0.8500])
    """

    def __init__(self, params, base_optimizer=torch.optim.SGD, rho=0.05, **kwargs):
        if (
            isinstance(rho, bool)
            or not isinstance(rho, numbers.Real)
            or not (math.isfinite(rho) and rho >= 0)
        ):
            raise ValueError(f"rho must be a finite number >= 0, got {rho!r}.")
        if not (
            isinstance(base_optimizer, type)
            and issubclass(base_optimizer, torch.optim.Optimizer)
        ):
            raise TypeError(
                "base_optimizer must be a torch.optim.Optimizer class (e.g. "
                f"torch.optim.SGD), got {base_optimizer!r}."
            )
        if issubclass(base_optimizer, SAM):
            raise TypeError("base_optimizer cannot be SAM itself.")
        super().__init__(params, dict(rho=rho, **kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups
        self.defaults.update(self.base_optimizer.defaults)

    @torch.no_grad()
    def first_step(self, zero_grad=True):
        """Move the weights to ``w + e``, ``e = rho * g / ||g||`` (the current gradients).

        Parameters
        ----------
        zero_grad : bool, default=True
            Zero the gradients afterwards, ready for the pass at ``w + e``.
        """
        grads = [
            p.grad
            for group in self.param_groups
            for p in group["params"]
            if p.grad is not None
        ]
        norm = 0.0
        if grads:
            # The norm of all gradients together, in float64 on one device.
            device = grads[0].device
            norm = float(
                torch.linalg.vector_norm(
                    torch.stack(
                        [torch.linalg.vector_norm(g.double()).to(device) for g in grads]
                    )
                )
            )
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.state[p]["sam_w"] = p.detach().clone()
                if norm > 0 and group["rho"] > 0:
                    p.add_(p.grad, alpha=group["rho"] / norm)
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def restore(self):
        """Move the weights back to ``w`` after :meth:`first_step`, without a step.

        What :meth:`second_step` does first; call it alone to give up a step
        whose second pass failed. A no-op when there is nothing to restore.
        """
        for group in self.param_groups:
            for p in group["params"]:
                saved = self.state[p].pop("sam_w", None)
                if saved is not None:
                    p.copy_(saved)

    @torch.no_grad()
    def second_step(self, zero_grad=False):
        """Restore ``w`` and step the base optimizer with the gradients at ``w + e``.

        Parameters
        ----------
        zero_grad : bool, default=False
            Zero the gradients after the step.
        """
        self.restore()
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def step(self, closure=None):
        """One SAM step: ``closure`` at ``w``, at ``w + e``, then the base step.

        Parameters
        ----------
        closure : callable
            Zeroes the gradients (or not: SAM zeroes them before the second
            call), computes the loss, calls ``backward`` and returns the loss.

        Returns
        -------
        loss : Tensor
            The loss at ``w`` (the first call's).
        """
        if closure is None:
            raise RuntimeError(
                "SAM.step needs a closure that computes the loss and its "
                "gradients (it is evaluated at w and at w + e); without one, "
                "call first_step(), recompute the gradients, then second_step()."
            )
        closure = torch.enable_grad()(closure)
        loss = closure()
        self.first_step(zero_grad=True)
        closure()
        self.second_step()
        return loss

    def state_dict(self):
        """The base optimizer's state (SAM keeps none between steps)."""
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict):
        """Load the base optimizer's state.

        Parameters
        ----------
        state_dict : dict
            As returned by :meth:`state_dict`.
        """
        self.base_optimizer.load_state_dict(state_dict)
        self.param_groups = self.base_optimizer.param_groups
