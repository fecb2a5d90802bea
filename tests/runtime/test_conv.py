"""Conv2d, MaxPool2d, AdaptiveAvgPool2d, BatchNorm: forward and gradients against central
differences (float64, every option combination) and against PyTorch where installed."""
import itertools

import numpy as np
import pytest

import symgrad as torch
import symgrad.nn.functional as F
from conftest import central_diff
from symgrad import nn

rng = np.random.default_rng(0)


def _fd_check(fn, arrays, rtol=1e-5, atol=1e-6):
    """Gradients of sum(fn(*inputs) * w) against central differences, for every input."""
    inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    w = np.random.default_rng(1).uniform(-1, 1, tuple(out.shape))
    (out * torch.tensor(w)).sum().backward()
    for k, (a, t) in enumerate(zip(arrays, inputs)):
        def f(xk, k=k):
            ts = [torch.tensor(xk if i == k else b, dtype=torch.float64) for i, b in enumerate(arrays)]
            return float((fn(*ts) * torch.tensor(w)).sum().item())
        np.testing.assert_allclose(t.grad.numpy(), central_diff(f, a), rtol=rtol, atol=atol,
                                   err_msg=f"input {k}")


def _vs_torch(ours_fn, theirs_fn, arrays, atol=1e-10):
    """Forward value and every input gradient of `ours_fn` equal PyTorch's (float64)."""
    real = pytest.importorskip("torch")
    ours = [torch.tensor(a, requires_grad=True) for a in arrays]
    theirs = [real.tensor(a, requires_grad=True) for a in arrays]
    yo, yt = ours_fn(*ours), theirs_fn(*theirs)
    assert tuple(yo.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), atol=atol)
    g = rng.standard_normal(tuple(yt.shape))
    (yo * torch.tensor(g)).sum().backward()
    (yt * real.tensor(g)).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), atol=atol)


# ---------------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------------
CONV_CASES = list(itertools.product([1, 2, (2, 1)], [0, 1, (1, 2)], [1, 2], [1, 2], [True, False]))


def _conv_arrays(groups, bias, batch=2):
    arrays = [rng.standard_normal((batch, 4, 5, 6)), rng.standard_normal((4, 4 // groups, 3, 2))]
    return arrays + [rng.standard_normal(4)] if bias else arrays


@pytest.mark.parametrize("stride, padding, dilation, groups, bias", CONV_CASES)
def test_conv2d_fd(stride, padding, dilation, groups, bias):
    _fd_check(lambda *a: F.conv2d(*a[:2], a[2] if bias else None, stride, padding, dilation, groups),
              _conv_arrays(groups, bias))


@pytest.mark.parametrize("stride, padding, dilation, groups, bias", CONV_CASES)
def test_conv2d_vs_torch(stride, padding, dilation, groups, bias):
    real = pytest.importorskip("torch")
    _vs_torch(lambda *a: F.conv2d(*a[:2], a[2] if bias else None, stride, padding, dilation, groups),
              lambda *a: real.nn.functional.conv2d(*a[:2], a[2] if bias else None, stride, padding, dilation, groups),
              _conv_arrays(groups, bias))


@pytest.mark.parametrize("kernel, padding", [(3, "same"), ((2, 4), "same"), (3, "valid"), (1, 0), (7, 3)])
def test_conv2d_padding_strings_and_kernels(kernel, padding):
    real = pytest.importorskip("torch")
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    arrays = [rng.standard_normal((2, 3, 8, 9)), rng.standard_normal((5, 3) + k)]
    _vs_torch(lambda x, w: F.conv2d(x, w, padding=padding),
              lambda x, w: real.nn.functional.conv2d(x, w, padding=padding), arrays)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_modes(mode):
    real = pytest.importorskip("torch")
    torch.manual_seed(0)
    ours = nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode).double()
    theirs = real.nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode).double()
    with real.no_grad():
        theirs.weight.copy_(real.tensor(ours.weight.detach().numpy()))
        theirs.bias.copy_(real.tensor(ours.bias.detach().numpy()))
    x = rng.standard_normal((2, 3, 5, 6))
    _vs_torch(lambda a: ours(a), lambda a: theirs(a), [x])
    _fd_check(lambda a: ours(a), [x])


def test_conv2d_unbatched_and_no_grad_inputs():
    real = pytest.importorskip("torch")
    arrays = [rng.standard_normal((4, 5, 6)), rng.standard_normal((2, 4, 3, 3))]
    _vs_torch(lambda x, w: F.conv2d(x, w, stride=2, padding=1),
              lambda x, w: real.nn.functional.conv2d(x, w, stride=2, padding=1), arrays)
    # Only the weight requires grad: the input gradient is never computed.
    x = torch.tensor(arrays[0])
    w = torch.tensor(arrays[1], requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert w.grad is not None and x.grad is None


def test_conv2d_double_backward_vs_torch():
    real = pytest.importorskip("torch")
    arrays = [rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((6, 2, 3, 3))]
    grads = []
    for lib, fn in ((torch, F.conv2d), (real, real.nn.functional.conv2d)):
        x, w = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = fn(x, w, None, (2, 1), 1, 1, 2)
        gx, gw = lib.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        assert type(gx.grad_fn).__name__ == "ConvolutionBackwardBackward0"
        ((gx ** 2).sum() + (gw ** 3).sum()).backward()
        grads.append((x.grad.detach().numpy(), w.grad.detach().numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_conv2d_float32_matches_torch():
    real = pytest.importorskip("torch")
    x = rng.standard_normal((3, 8, 12, 12)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    ours = F.conv2d(torch.tensor(x), torch.tensor(w), padding=1)
    theirs = real.nn.functional.conv2d(real.tensor(x), real.tensor(w), padding=1)
    assert ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-4)


def test_conv2d_module_init_repr_and_grad_fn():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3)
    bound = 1 / np.sqrt(3 * 9)
    assert conv.weight.shape == torch.Size([8, 3, 3, 3]) and conv.bias.shape == torch.Size([8])
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound
    y = conv(torch.rand(1, 3, 5, 5))
    assert type(y.grad_fn).__name__ == "ConvolutionBackward0" and y.shape == torch.Size([1, 8, 3, 3])
    assert repr(nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)) == \
        "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)"
    assert repr(nn.Conv2d(3, 6, 3, groups=3, dilation=2)) == \
        "Conv2d(3, 6, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), groups=3)"
    assert repr(nn.Conv2d(3, 6, (1, 3), padding="same")) == \
        "Conv2d(3, 6, kernel_size=(1, 3), stride=(1, 1), padding=same)"
    assert repr(nn.Conv2d(3, 6, 3, padding_mode="reflect")) == \
        "Conv2d(3, 6, kernel_size=(3, 3), stride=(1, 1), padding_mode=reflect)"


def test_conv2d_init_matches_torch_stream():
    real = pytest.importorskip("torch")
    torch.manual_seed(0)
    real.manual_seed(0)
    ours, theirs = nn.Conv2d(3, 8, 3, groups=1), real.nn.Conv2d(3, 8, 3)
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    np.testing.assert_array_equal(ours.bias.detach().numpy(), theirs.bias.detach().numpy())


CONV_ERRORS = [
    (lambda x: F.conv2d(x.double(), torch.randn(4, 3, 3, 3)), RuntimeError, "expected scalar type Double but found Float"),
    (lambda x: F.conv2d(x, torch.randn(4, 2, 3, 3)), RuntimeError,
     "Given groups=1, weight of size [4, 2, 3, 3], expected input[2, 3, 5, 5] to have 2 channels, but got 3 "
     "channels instead"),
    (lambda x: F.conv2d(x[0, 0], torch.randn(4, 3, 3, 3)), RuntimeError,
     "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [5, 5]"),
    (lambda x: F.conv2d(x, torch.randn(4, 3, 3, 3), padding=-1), RuntimeError, "negative padding is not supported"),
    (lambda x: F.conv2d(x, torch.randn(4, 3, 3, 3), stride=0), RuntimeError, "non-positive stride is not supported"),
    (lambda x: F.conv2d(x, torch.randn(4, 3, 3, 3), dilation=0), RuntimeError, "non-positive dilation is not supported"),
    (lambda x: F.conv2d(x, torch.randn(4, 3, 6, 6)), RuntimeError,
     "Calculated padded input size per channel: (5 x 5). Kernel size: (6 x 6). Kernel size can't be greater than "
     "actual input size"),
    (lambda x: F.conv2d(x, torch.randn(4, 3, 3, 3), torch.randn(3)), RuntimeError,
     "Given weight of size [4, 3, 3, 3], expected bias to be 1-dimensional with 4 elements, but got bias of size [3] "
     "instead"),
    (lambda x: F.conv2d(x, torch.randn(4, 3, 3, 3), padding="foo"), RuntimeError, "Invalid padding string: 'foo'"),
    (lambda x: F.conv2d(x, torch.randn(4, 3, 2, 2), padding="same", stride=2), RuntimeError,
     "padding='same' is not supported for strided convolutions"),
    (lambda x: nn.Conv2d(3, 4, 3, groups=2), ValueError, "in_channels must be divisible by groups"),
    (lambda x: nn.Conv2d(4, 3, 3, groups=2), ValueError, "out_channels must be divisible by groups"),
    (lambda x: F.max_pool2d(x, 3, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"),
    (lambda x: F.max_pool2d(x[:, :, :1, :1], 3), RuntimeError,
     "Given input size: (3x1x1). Calculated output size: (3x0x0). Output size is too small"),
    (lambda x: F.max_pool2d(x[0, 0], 2), RuntimeError, "non-empty 3D or 4D (batch mode) tensor expected for input"),
    (lambda x: F.adaptive_avg_pool2d(x[0, 0], 2), RuntimeError,
     "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [5, 5]"),
    (lambda x: F.adaptive_avg_pool2d(x, (2,)), RuntimeError, "adaptive_avg_pool2d: output_size must be 2"),
    (lambda x: nn.BatchNorm2d(3)(torch.randn(1, 3, 1, 1)), ValueError,
     "Expected more than 1 value per channel when training, got input size symgrad.Size([1, 3, 1, 1])"),
    (lambda x: nn.BatchNorm2d(3)(torch.randn(1, 3)), ValueError, "expected 4D input (got 2D input)"),
    (lambda x: nn.BatchNorm1d(3)(x), ValueError, "expected 2D or 3D input (got 4D input)"),
    (lambda x: F.batch_norm(x, None, None, training=False), RuntimeError,
     "running_mean must be defined in evaluation mode"),
]


@pytest.mark.parametrize("call, exc, message", CONV_ERRORS)
def test_errors_match_pytorch(call, exc, message):
    with pytest.raises(exc) as info:
        call(torch.randn(2, 3, 5, 5))
    assert str(info.value) == message


# ---------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------
POOL_CASES = [c for c in itertools.product([2, 3, (2, 3)], [None, 1, 2], [0, 1], [1, 2], [False, True])
              if c[2] <= (c[3] * (min(c[0] if isinstance(c[0], tuple) else (c[0],)) - 1) + 1) // 2]


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", POOL_CASES)
def test_max_pool2d_fd(kernel, stride, padding, dilation, ceil_mode):
    _fd_check(lambda x: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode),
              [rng.standard_normal((2, 2, 7, 6))])


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", POOL_CASES)
def test_max_pool2d_vs_torch(kernel, stride, padding, dilation, ceil_mode):
    real = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 9, 8))
    _vs_torch(lambda a: F.max_pool2d(a, kernel, stride, padding, dilation, ceil_mode),
              lambda a: real.nn.functional.max_pool2d(a, kernel, stride, padding, dilation, ceil_mode), [x])
    _, ours = F.max_pool2d(torch.tensor(x), kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    _, theirs = real.nn.functional.max_pool2d(real.tensor(x), kernel, stride, padding, dilation, ceil_mode,
                                              return_indices=True)
    assert ours.dtype == torch.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_max_pool2d_ties_nan_and_double_backward_vs_torch():
    real = pytest.importorskip("torch")
    x = np.round(rng.standard_normal((2, 2, 6, 6)))  # many ties: the first maximum wins
    x[0, 0, 1, 1] = np.nan
    _vs_torch(lambda a: F.max_pool2d(a, 3, 1, 1), lambda a: real.nn.functional.max_pool2d(a, 3, 1, 1), [x])
    y = rng.standard_normal((2, 2, 6, 6))
    grads = []
    for lib, fn in ((torch, F.max_pool2d), (real, real.nn.functional.max_pool2d)):
        a = lib.tensor(y, requires_grad=True)
        (g,) = lib.autograd.grad((fn(a, 2, 1) ** 2).sum(), a, create_graph=True)
        assert type(g.grad_fn).__name__ == "MaxPool2DWithIndicesBackwardBackward0"
        (g ** 2).sum().backward()
        grads.append(a.grad.detach().numpy())
    np.testing.assert_allclose(*grads, atol=1e-10)


def test_max_pool2d_module():
    pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    assert repr(pool) == "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"
    assert repr(nn.MaxPool2d((2, 3), ceil_mode=True)) == \
        "MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=True)"
    y = pool(torch.rand(1, 4, 32, 32, requires_grad=True))
    assert y.shape == torch.Size([1, 4, 16, 16])
    assert type(y.grad_fn).__name__ == "MaxPool2DWithIndicesBackward0"
    out, idx = nn.MaxPool2d(2, return_indices=True)(torch.rand(4, 6, 6))
    assert out.shape == idx.shape == torch.Size([4, 3, 3])


ADAPTIVE_SIZES = [(1, 1), (2, 3), (3, 2), (4, 4), (5, 7), (None, 2), 3, (6, 9)]


@pytest.mark.parametrize("size", ADAPTIVE_SIZES)
def test_adaptive_avg_pool2d_fd(size):
    _fd_check(lambda x: F.adaptive_avg_pool2d(x, size), [rng.standard_normal((2, 2, 5, 7))])


@pytest.mark.parametrize("size", ADAPTIVE_SIZES)
def test_adaptive_avg_pool2d_vs_torch(size):
    real = pytest.importorskip("torch")
    _vs_torch(lambda a: F.adaptive_avg_pool2d(a, size), lambda a: real.nn.functional.adaptive_avg_pool2d(a, size),
              [rng.standard_normal((2, 3, 5, 7))])
    _vs_torch(lambda a: F.adaptive_avg_pool2d(a, size), lambda a: real.nn.functional.adaptive_avg_pool2d(a, size),
              [rng.standard_normal((3, 10, 14))])


def test_adaptive_avg_pool2d_module_and_double_backward():
    pool = nn.AdaptiveAvgPool2d((1, 1))
    assert repr(pool) == "AdaptiveAvgPool2d(output_size=(1, 1))"
    assert repr(nn.AdaptiveAvgPool2d((None, 2))) == "AdaptiveAvgPool2d(output_size=(None, 2))"
    x = torch.rand(2, 3, 4, 4, requires_grad=True)
    y = pool(x)
    assert y.shape == torch.Size([2, 3, 1, 1]) and type(y.grad_fn).__name__ == "AdaptiveAvgPool2DBackward0"
    (g,) = torch.autograd.grad((F.adaptive_avg_pool2d(x, (3, 3)) ** 2).sum(), x, create_graph=True)
    assert type(g.grad_fn).__name__ == "AdaptiveAvgPool2DBackwardBackward0"

    def grad_of(a):
        a = a if a.requires_grad else a.detach().requires_grad_()  # finite differences pass plain tensors
        return torch.autograd.grad((F.adaptive_avg_pool2d(a, (3, 2)) ** 2).sum(), a, create_graph=True)[0]
    _fd_check(grad_of, [rng.standard_normal((1, 2, 5, 4))])


def test_flatten_and_residual_add():
    x = torch.rand(2, 3, 4, 5, requires_grad=True)
    y = torch.flatten(x, 1)
    assert y.shape == torch.Size([2, 60]) and type(y.grad_fn).__name__ == "ViewBackward0"
    out = x * 2
    out += x  # the residual addition of BasicBlock: in place on a non-leaf
    assert type(out.grad_fn).__name__ == "AddBackward0"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0)


# ---------------------------------------------------------------------------------
# batch norm
# ---------------------------------------------------------------------------------
BN_SHAPES = [(4, 3, 3, 2), (5, 3), (4, 3, 4)]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_fd(shape, affine):
    arrays = [rng.standard_normal(shape) * 2 + 1]
    if affine:
        arrays += [rng.uniform(0.5, 2, 3), rng.standard_normal(3)]
    _fd_check(lambda x, *wb: F.batch_norm(x, None, None, *wb, training=True, eps=1e-3), arrays)


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_eval_fd(shape):
    rm, rv = torch.tensor(rng.standard_normal(3)), torch.tensor(rng.uniform(0.5, 2, 3))
    arrays = [rng.standard_normal(shape), rng.uniform(0.5, 2, 3), rng.standard_normal(3)]
    _fd_check(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), arrays)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_vs_torch(training, shape):
    real = pytest.importorskip("torch")
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    ours_rm, ours_rv, their_rm, their_rv = torch.tensor(rm), torch.tensor(rv), real.tensor(rm), real.tensor(rv)
    arrays = [rng.standard_normal(shape) * 2 + 1, rng.standard_normal(3), rng.standard_normal(3)]
    _vs_torch(lambda x, w, b: F.batch_norm(x, ours_rm, ours_rv, w, b, training, 0.3, 1e-3),
              lambda x, w, b: real.nn.functional.batch_norm(x, their_rm, their_rv, w, b, training, 0.3, 1e-3),
              arrays)
    np.testing.assert_allclose(ours_rm.numpy(), their_rm.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours_rv.numpy(), their_rv.numpy(), atol=1e-12)


@pytest.mark.parametrize("momentum, track, affine", [(0.1, True, True), (None, True, True), (0.5, False, False)])
def test_batch_norm2d_module_vs_torch(momentum, track, affine):
    real = pytest.importorskip("torch")
    ours = nn.BatchNorm2d(3, momentum=momentum, track_running_stats=track, affine=affine)
    theirs = real.nn.BatchNorm2d(3, momentum=momentum, track_running_stats=track, affine=affine)
    for step in range(3):
        x = (rng.standard_normal((4, 3, 5, 5)) * (step + 1) + step).astype(np.float32)
        np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), theirs(real.tensor(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), theirs(real.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_batch_norm2d_buffers_state_dict_and_repr():
    bn = nn.BatchNorm2d(64)
    assert repr(bn) == "BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(nn.BatchNorm2d(3, affine=False, track_running_stats=False, momentum=None)) == \
        "BatchNorm2d(3, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=False)"
    sd = bn.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert sd["num_batches_tracked"].dtype == torch.int64 and sd["num_batches_tracked"].item() == 0
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(bn.weight.detach().numpy(), 1.0)
    np.testing.assert_array_equal(bn.bias.detach().numpy(), 0.0)
    x = torch.rand(4, 64, 3, 3, requires_grad=True)
    y = bn(x)
    assert type(y.grad_fn).__name__ == "NativeBatchNormBackward0"
    assert bn.num_batches_tracked.item() == 1
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.detach().numpy().mean(axis=(0, 2, 3)), rtol=1e-5)
    y.sum().backward()  # the running buffers changed in place: backward still runs
    fresh = nn.BatchNorm2d(64)
    assert repr(fresh.load_state_dict(bn.state_dict())) == "<All keys matched successfully>"
    np.testing.assert_array_equal(fresh.running_var.numpy(), bn.running_var.numpy())
    # eval mode: running statistics, and they stay put
    before = bn.running_mean.numpy().copy()
    bn.eval()
    bn(torch.rand(4, 64, 3, 3))
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)
    assert bn.double().running_mean.dtype == torch.float64


def test_dropout_in_networks():
    torch.manual_seed(0)
    x = torch.ones(1000, requires_grad=True)
    y = nn.Dropout(0.25)(x)
    assert type(y.grad_fn).__name__ == "MulBackward0"
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    assert 0.65 < kept.mean() < 0.85
    drop = nn.Dropout(0.25).eval()
    assert drop(x) is x
