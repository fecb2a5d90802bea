"""Every differentiable registry primitive: runtime gradients vs central differences (float64),
and vs PyTorch where installed. A primitive without a row here fails `test_every_primitive_has_a_row`."""
import numpy as np
import pytest

import symgrad as torch
from symgrad import ops as O, prims
from symgrad.prims import IndexArg

rng = np.random.default_rng(0)


def _pos(*shape):
    return rng.uniform(0.5, 2.0, shape)


def _any(*shape):
    return rng.uniform(-2.0, 2.0, shape)


def _unit(*shape):
    return rng.uniform(-0.9, 0.9, shape)


_CONV = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
_POOL = dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 1), ceil_mode=True)
_POOL_X = np.random.default_rng(1).uniform(-2.0, 2.0, (2, 3, 6, 5))  # own stream: other rows keep their data

# name -> (function of Tensors, list of input arrays)
ROWS = {
    "add": (lambda a, b: a + b, [_any(3, 4), _any(4)]),
    "sub": (lambda a, b: a - b, [_any(3, 1), _any(4)]),
    "mul": (lambda a, b: a * b, [_any(3, 4), _any(3, 4)]),
    "div": (lambda a, b: a / b, [_any(3), _pos(3)]),
    "pow": (lambda a, b: a ** b, [_pos(4), _any(4)]),
    "maximum": (lambda a, b: O.maximum(a, b), [_any(5), _any(5)]),
    "minimum": (lambda a, b: O.minimum(a, b), [_any(5), _any(5)]),
    "floordiv": (lambda a, b: (a // b) + a, [_any(4), _pos(4)]),
    "mod": (lambda a, b: a % b, [_pos(4) * 3, _pos(4)]),
    "where": (lambda a, b: O.where(a > 0, a, b), [_any(6), _any(6)]),
    "neg": (lambda a: -a, [_any(3)]),
    "exp": (lambda a: a.exp(), [_any(3)]),
    "log": (lambda a: a.log(), [_pos(3)]),
    "log1p": (lambda a: a.log1p(), [_pos(3)]),
    "expm1": (lambda a: a.expm1(), [_any(3)]),
    "sin": (lambda a: a.sin(), [_any(3)]),
    "cos": (lambda a: a.cos(), [_any(3)]),
    "tan": (lambda a: a.tan(), [_unit(3)]),
    "tanh": (lambda a: a.tanh(), [_any(3)]),
    "sinh": (lambda a: O.apply("sinh", a), [_any(3)]),
    "cosh": (lambda a: O.apply("cosh", a), [_any(3)]),
    "arcsin": (lambda a: O.apply("arcsin", a), [_unit(3)]),
    "arccos": (lambda a: O.apply("arccos", a), [_unit(3)]),
    "arctan": (lambda a: O.apply("arctan", a), [_any(3)]),
    "sqrt": (lambda a: a.sqrt(), [_pos(3)]),
    "abs": (lambda a: a.abs(), [_any(3)]),
    "sign": (lambda a: a.sign() + a, [_any(3)]),
    "floor": (lambda a: a.floor() + a, [_any(3)]),
    "ceil": (lambda a: a.ceil() + a, [_any(3)]),
    "round": (lambda a: a.round() + a, [_any(3)]),
    "relu": (lambda a: a.relu(), [_any(5)]),
    "sigmoid": (lambda a: a.sigmoid(), [_any(3)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.7), [_any(6)]),
    "cast": (lambda a: O.cast(a * a, "float64"), [_any(3)]),
    "sum": (lambda a: a.sum(1), [_any(3, 4)]),
    "mean": (lambda a: a.mean(0, keepdim=True), [_any(3, 4)]),
    "max": (lambda a: a.max(1)[0] + a.max(), [_any(3, 4)]),
    "min": (lambda a: a.min(0)[0] + a.min(), [_any(3, 4)]),
    "prod": (lambda a: a.prod(1), [_pos(3, 4)]),
    "logsumexp": (lambda a: a.logsumexp(1), [_any(3, 4)]),
    "reshape": (lambda a: a.reshape(4, 3) * torch.arange(3.).double(), [_any(3, 4)]),
    "transpose": (lambda a: a.permute(1, 0) * torch.arange(3.).double(), [_any(3, 4)]),
    "expand_dims": (lambda a: a.unsqueeze(1) * torch.arange(2.).double(), [_any(4)]),
    "squeeze": (lambda a: a.squeeze(1) * torch.arange(4.).double(), [_any(4, 1)]),
    "expand_as": (lambda a: a.expand(3, 4) * torch.arange(4.).double(), [_any(1, 4)]),
    "sum_to": (lambda a: O.sum_to(a, np.zeros((1, 4))) ** 2, [_any(3, 4)]),
    "concatenate": (lambda a, b: torch.cat([a, b * 2]) ** 2, [_any(2), _any(3)]),
    "stack": (lambda a, b: torch.stack([a, b * 2], 1) ** 2, [_any(3), _any(3)]),
    "copy": (lambda a: a.clone() ** 2, [_any(3)]),
    "getitem": (lambda a: a[1:, torch.tensor([0, 2, 2])] ** 2, [_any(3, 4)]),
    "index_add_zeros": (lambda a: O.scatter_add_like(a, np.zeros((3, 4)), (IndexArg(0),),
                                                      torch.tensor([0, 2, 2])) ** 2, [_any(3, 4)]),
    "setitem": (lambda a, b: O.apply("setitem", a, b, index=(slice(0, 2),)) ** 2, [_any(3, 2), _any(2)]),
    "index_add": (lambda a, b: O.apply("index_add", a, b, torch.tensor([0, 2, 2]), index=(IndexArg(0),)) ** 2,
                  [_any(3, 4), _any(3, 4)]),
    "full": (lambda a: O.apply("full", a, 3, 2, dtype="f64") ** 2, [_any()]),
    "matmul": (lambda a, b: a @ b, [_any(3, 4), _any(4, 2)]),
    "addmm": (lambda c, a, b: torch.addmm(c, a, b), [_any(2), _any(3, 4), _any(4, 2)]),
    "log_softmax": (lambda a: a.log_softmax(1), [_any(3, 4)]),
    "softmax": (lambda a: a.softmax(0), [_any(3, 4)]),
    "nll_loss": (lambda a: O.apply("nll_loss", a, torch.tensor([1, 0, 3]), weight=None,
                                   ignore_index=-100, reduction="mean"), [_any(3, 4)]),
    "nll_loss_backward": (lambda g: O.apply("nll_loss_backward", g, np.zeros((3, 4)), torch.tensor([1, 0, 3]),
                                            weight=None, ignore_index=-100, reduction="none"), [_any(3)]),
    "mse_loss": (lambda a, b: O.apply("mse_loss", a, b, reduction="mean"), [_any(3), _any(3)]),
    # convolution, pooling, batch norm (every option combination: tests/runtime/test_conv.py)
    "conv2d": (lambda x, w, b: O.apply("conv2d", x, w, b, **_CONV), [_any(2, 4, 5, 6), _any(4, 2, 3, 2), _any(4)]),
    "conv2d_input_grad": (lambda g, w: O.apply("conv2d_input_grad", g, w, np.zeros((2, 4, 5, 6)), **_CONV),
                          [_any(2, 4, 3, 4), _any(4, 2, 3, 2)]),
    "conv2d_weight_grad": (lambda x, g: O.apply("conv2d_weight_grad", x, g, np.zeros((4, 2, 3, 2)), **_CONV),
                           [_any(2, 4, 5, 6), _any(2, 4, 3, 4)]),
    "max_pool2d": (lambda x: O.apply("max_pool2d", x, **_POOL), [_any(2, 3, 6, 5)]),
    "max_pool2d_backward": (lambda g: O.apply("max_pool2d_backward", g, _POOL_X, **_POOL), [_any(2, 3, 4, 6)]),
    "max_pool2d_gather": (lambda h: O.apply("max_pool2d_gather", h, _POOL_X, **_POOL), [_any(2, 3, 6, 5)]),
    "adaptive_avg_pool2d": (lambda x: O.apply("adaptive_avg_pool2d", x, output_size=(2, 3)), [_any(2, 3, 5, 7)]),
    "adaptive_avg_pool2d_backward": (lambda g: O.apply("adaptive_avg_pool2d_backward", g, np.zeros((2, 3, 5, 7))),
                                     [_any(2, 3, 2, 3)]),
    "batch_norm": (lambda x, w, b: O.apply("batch_norm", x, w, b, None, None, training=True, momentum=0.1, eps=1e-5),
                   [_any(3, 2, 2, 3), _pos(2), _any(2)]),
    # last, so that the rows above keep their random data
    "lgamma": (lambda a: a.lgamma(), [np.concatenate([_pos(3), -_unit(2) * 0.5 - 1.5])]),
    "digamma": (lambda a: a.digamma(), [np.concatenate([_pos(3), -_unit(2) * 0.5 - 1.5])]),
}
MATMUL_SHAPES = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)), ((2, 3, 4), (4, 2)), ((3, 4), (2, 4, 2))]


def test_every_primitive_has_a_row():
    differentiable = {n for n, p in prims.REGISTRY.items() if p.differentiable and p.vjp is not None}
    assert differentiable - set(ROWS) == set()


def _check(fn, arrays, weight_seed=1):
    w_rng = np.random.default_rng(weight_seed)
    inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    w = w_rng.uniform(-1, 1, tuple(out.shape))
    (out * torch.tensor(w)).sum().backward()

    def f_np(k):
        def f(xk):
            ts = [torch.tensor(xk if i == k else a, dtype=torch.float64) for i, a in enumerate(arrays)]
            return float((fn(*ts) * torch.tensor(w)).sum().item())
        return f
    from conftest import central_diff
    for k, (a, t) in enumerate(zip(arrays, inputs)):
        fd = central_diff(f_np(k), a)
        assert t.grad is not None, k
        np.testing.assert_allclose(t.grad.numpy(), fd, rtol=1e-5, atol=1e-6, err_msg=f"input {k}")


@pytest.mark.parametrize("name", sorted(ROWS))
def test_fd(name):
    fn, arrays = ROWS[name]
    _check(fn, arrays)


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul_shapes_fd(sa, sb):
    _check(lambda a, b: a @ b, [_any(*sa), _any(*sb)])


@pytest.mark.parametrize("name", sorted(ROWS))
def test_against_torch(name):
    real = pytest.importorskip("torch")
    fn, arrays = ROWS[name]
    if name in ("floordiv", "sum_to", "index_add_zeros", "setitem", "nll_loss", "mse_loss", "sinh", "cosh",
                "arcsin", "arccos", "arctan", "where", "conv2d", "conv2d_input_grad", "conv2d_weight_grad",
                "max_pool2d", "max_pool2d_backward", "max_pool2d_gather", "adaptive_avg_pool2d",
                "adaptive_avg_pool2d_backward", "batch_norm"):
        pytest.skip("spelled through symgrad.ops only")
    ours = [torch.tensor(a, requires_grad=True) for a in arrays]
    theirs = [real.tensor(a, requires_grad=True) for a in arrays]
    fn(*ours).sum().backward()
    tfn = {"maximum": lambda a, b: real.maximum(a, b), "minimum": lambda a, b: real.minimum(a, b)}.get(name)
    if tfn is None:
        src = fn

        def tfn(*ts):
            return src(*ts)
    try:
        tout = tfn(*theirs)
    except Exception as e:  # an expression written with symgrad-only helpers
        pytest.skip(f"not expressible in torch: {e}")
    tout.sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)
