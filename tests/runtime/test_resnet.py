"""resnet18: torchvision's names, shapes and behaviour; one SGD step; weight files."""
import json
import struct
import time

import numpy as np
import pytest

import symgrad as torch
from symgrad import nn
from symgrad.models import load_safetensors, resnet18, save_safetensors

# torchvision.models.resnet18().named_parameters(), names and shapes, in order.
TORCHVISION_PARAMS = [
    ("conv1.weight", (64, 3, 7, 7)), ("bn1.weight", (64,)), ("bn1.bias", (64,)),
    ("layer1.0.conv1.weight", (64, 64, 3, 3)), ("layer1.0.bn1.weight", (64,)), ("layer1.0.bn1.bias", (64,)),
    ("layer1.0.conv2.weight", (64, 64, 3, 3)), ("layer1.0.bn2.weight", (64,)), ("layer1.0.bn2.bias", (64,)),
    ("layer1.1.conv1.weight", (64, 64, 3, 3)), ("layer1.1.bn1.weight", (64,)), ("layer1.1.bn1.bias", (64,)),
    ("layer1.1.conv2.weight", (64, 64, 3, 3)), ("layer1.1.bn2.weight", (64,)), ("layer1.1.bn2.bias", (64,)),
    ("layer2.0.conv1.weight", (128, 64, 3, 3)), ("layer2.0.bn1.weight", (128,)), ("layer2.0.bn1.bias", (128,)),
    ("layer2.0.conv2.weight", (128, 128, 3, 3)), ("layer2.0.bn2.weight", (128,)), ("layer2.0.bn2.bias", (128,)),
    ("layer2.0.downsample.0.weight", (128, 64, 1, 1)), ("layer2.0.downsample.1.weight", (128,)),
    ("layer2.0.downsample.1.bias", (128,)), ("layer2.1.conv1.weight", (128, 128, 3, 3)),
    ("layer2.1.bn1.weight", (128,)), ("layer2.1.bn1.bias", (128,)), ("layer2.1.conv2.weight", (128, 128, 3, 3)),
    ("layer2.1.bn2.weight", (128,)), ("layer2.1.bn2.bias", (128,)), ("layer3.0.conv1.weight", (256, 128, 3, 3)),
    ("layer3.0.bn1.weight", (256,)), ("layer3.0.bn1.bias", (256,)), ("layer3.0.conv2.weight", (256, 256, 3, 3)),
    ("layer3.0.bn2.weight", (256,)), ("layer3.0.bn2.bias", (256,)),
    ("layer3.0.downsample.0.weight", (256, 128, 1, 1)), ("layer3.0.downsample.1.weight", (256,)),
    ("layer3.0.downsample.1.bias", (256,)), ("layer3.1.conv1.weight", (256, 256, 3, 3)),
    ("layer3.1.bn1.weight", (256,)), ("layer3.1.bn1.bias", (256,)), ("layer3.1.conv2.weight", (256, 256, 3, 3)),
    ("layer3.1.bn2.weight", (256,)), ("layer3.1.bn2.bias", (256,)), ("layer4.0.conv1.weight", (512, 256, 3, 3)),
    ("layer4.0.bn1.weight", (512,)), ("layer4.0.bn1.bias", (512,)), ("layer4.0.conv2.weight", (512, 512, 3, 3)),
    ("layer4.0.bn2.weight", (512,)), ("layer4.0.bn2.bias", (512,)),
    ("layer4.0.downsample.0.weight", (512, 256, 1, 1)), ("layer4.0.downsample.1.weight", (512,)),
    ("layer4.0.downsample.1.bias", (512,)), ("layer4.1.conv1.weight", (512, 512, 3, 3)),
    ("layer4.1.bn1.weight", (512,)), ("layer4.1.bn1.bias", (512,)), ("layer4.1.conv2.weight", (512, 512, 3, 3)),
    ("layer4.1.bn2.weight", (512,)), ("layer4.1.bn2.bias", (512,)), ("fc.weight", (1000, 512)), ("fc.bias", (1000,)),
]


def _torchvision_state_keys():
    """state_dict order: each BatchNorm's buffers follow its weight and bias."""
    keys = []
    for name, _ in TORCHVISION_PARAMS:
        keys.append(name)
        if name.endswith(".bias") and name != "fc.bias":
            stem = name[:-len("bias")]
            keys += [stem + "running_mean", stem + "running_var", stem + "num_batches_tracked"]
    return keys


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return resnet18()


def test_parameter_names_and_shapes_match_torchvision(model):
    assert [(n, tuple(p.shape)) for n, p in model.named_parameters()] == TORCHVISION_PARAMS
    assert list(model.state_dict()) == _torchvision_state_keys()
    assert len(model.state_dict()) == 122
    assert sum(p.numel() for p in model.parameters()) == 11_689_512


def test_block_repr_matches_torchvision(model):
    assert repr(model.layer2[0]) == """BasicBlock(
  (conv1): Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
  (bn1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
  (relu): ReLU(inplace=True)
  (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
  (bn2): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
  (downsample): Sequential(
    (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)
    (1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
  )
)"""
    assert repr(model.avgpool) == "AdaptiveAvgPool2d(output_size=(1, 1))"
    assert repr(model.fc) == "Linear(in_features=512, out_features=1000, bias=True)"


def test_initialisation_follows_torchvision(model):
    w = model.layer3[0].conv1.weight.detach().numpy()
    # kaiming_normal_(mode="fan_out", nonlinearity="relu"): std = sqrt(2 / (out * kh * kw))
    assert abs(w.std() - np.sqrt(2.0 / (256 * 9))) < 0.05 * np.sqrt(2.0 / (256 * 9))
    np.testing.assert_array_equal(model.layer1[0].bn2.weight.detach().numpy(), 1.0)
    np.testing.assert_array_equal(model.layer1[0].bn2.bias.detach().numpy(), 0.0)
    assert np.abs(model.fc.weight.detach().numpy()).max() <= 1 / np.sqrt(512)


def test_output_shape_and_num_classes():
    net = resnet18(num_classes=10)
    y = net(torch.rand(2, 3, 32, 32))
    assert y.shape == torch.Size([2, 10]) and type(y.grad_fn).__name__ == "AddmmBackward0"
    net.eval()
    with torch.no_grad():
        assert net(torch.rand(1, 3, 64, 64)).shape == torch.Size([1, 10])


def test_seed001_step_is_quick():
    start = time.perf_counter()
    torch.manual_seed(0)
    net = resnet18()
    data, labels = torch.rand(1, 3, 64, 64), torch.rand(1, 1000)
    prediction = net(data)
    loss = (prediction - labels).sum()
    loss.backward()
    optim = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)
    before = net.conv1.weight.detach().clone()
    grad = net.conv1.weight.grad.detach().clone()
    optim.step()
    assert time.perf_counter() - start < 10.0
    assert prediction.shape == torch.Size([1, 1000])
    assert all(p.grad is not None for p in net.parameters())
    np.testing.assert_allclose(net.conv1.weight.detach().numpy(), (before - 1e-2 * grad).numpy(), atol=1e-6)
    assert net.bn1.num_batches_tracked.item() == 1
    optim.step()  # same gradient again: the momentum buffer makes it lr * 1.9 * g
    np.testing.assert_allclose(net.conv1.weight.detach().numpy(), (before - 1e-2 * 2.9 * grad).numpy(), atol=1e-5)


def _torch_mirror(real, ours):
    """torch.nn modules (float64) with our model's structure and values (no torchvision needed)."""
    tnn = real.nn

    class Block(tnn.Module):
        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.downsample(x) if self.downsample is not None else x
            return self.relu(out)

    class Net(tnn.Module):
        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(real.flatten(self.avgpool(x), 1))

    def convert(m):
        kind = type(m).__name__
        simple = {"Conv2d": lambda: tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                                               bias=False),
                  "BatchNorm2d": lambda: tnn.BatchNorm2d(m.num_features), "ReLU": lambda: tnn.ReLU(inplace=True),
                  "MaxPool2d": lambda: tnn.MaxPool2d(m.kernel_size, m.stride, m.padding),
                  "AdaptiveAvgPool2d": lambda: tnn.AdaptiveAvgPool2d(m.output_size),
                  "Linear": lambda: tnn.Linear(m.in_features, m.out_features),
                  "Sequential": lambda: tnn.Sequential(*(convert(c) for c in m))}
        if kind in simple:
            return simple[kind]()
        holder = Block() if kind == "BasicBlock" else Net()
        holder.downsample = None
        for name, child in m.named_children():
            setattr(holder, name, convert(child))
        return holder

    theirs = convert(ours).double()
    theirs.load_state_dict({k: real.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    return theirs


def test_forward_backward_and_running_stats_match_pytorch():
    real = pytest.importorskip("torch")
    torch.manual_seed(1)
    ours = resnet18(num_classes=10).double()
    theirs = _torch_mirror(real, ours)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 24))
    yo, yt = ours(torch.tensor(x)), theirs(real.tensor(x))
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-8, atol=1e-8)
    (yo ** 2).sum().backward()
    (yt ** 2).sum().backward()
    named = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        want = named[name].grad.numpy()
        np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-6, atol=1e-9 * np.abs(want).max(), err_msg=name)
    their_state = theirs.state_dict()
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), their_state[name].numpy(), rtol=1e-8, atol=1e-12, err_msg=name)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), theirs(real.tensor(x)).detach().numpy(),
                               rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
def test_weights_file_round_trip(tmp_path, model, fmt):
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    path = tmp_path / f"resnet18.{fmt}"
    if fmt == "npz":
        np.savez(path, **state)
    else:
        save_safetensors(path, state)
    loaded = resnet18(weights=str(path))
    for (k, a), b in zip(loaded.state_dict().items(), state.values()):
        np.testing.assert_array_equal(a.numpy(), b, err_msg=k)
    loaded.eval()
    model.eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    model.train()


def test_weights_errors_name_the_problem(tmp_path, model):
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    path = tmp_path / "w.npz"
    np.savez(path, **state)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc\.weight: copying a param with shape"):
        resnet18(num_classes=10, weights=path)
    del state["layer4.1.bn2.running_var"]
    np.savez(tmp_path / "partial.npz", **state)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "layer4\.1\.bn2\.running_var"'):
        resnet18(weights=tmp_path / "partial.npz")
    # num_batches_tracked may be absent (older checkpoints): the model keeps its own.
    short = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    np.savez(tmp_path / "no_nbt.npz", **{k: v.numpy() for k, v in short.items()})
    resnet18(weights=tmp_path / "no_nbt.npz")
    (tmp_path / "junk.bin").write_bytes(b"\x00" * 16)
    with pytest.raises(ValueError, match="expected a .npz archive or a safetensors file"):
        resnet18(weights=tmp_path / "junk.bin")
    with pytest.raises(FileNotFoundError, match="never downloads"):
        resnet18(weights=tmp_path / "absent.safetensors")
    with pytest.raises(ValueError, match="never downloads weights"):
        resnet18(pretrained=True)


def test_safetensors_reader_dtypes(tmp_path):
    values = {"f16": np.array([1.5, -2.0], dtype=np.float16), "i64": np.arange(6, dtype=np.int64).reshape(2, 3),
              "u8": np.array([[1, 2]], dtype=np.uint8), "f64": np.array(3.25)}
    save_safetensors(tmp_path / "a.safetensors", values, metadata={"format": "pt"})
    back = load_safetensors(tmp_path / "a.safetensors")
    for k, v in values.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k], v)
    # bfloat16, written by hand: the top 16 bits of each float32
    f32 = np.array([1.0, -3.5, 0.15625], dtype=np.float32)
    bf16 = (f32.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps({"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, len(bf16)]}}).encode()
    (tmp_path / "b.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bf16)
    np.testing.assert_array_equal(load_safetensors(tmp_path / "b.safetensors")["w"], f32)
    raw = (tmp_path / "a.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0 and json.loads(raw[8:8 + n])["__metadata__"] == {"format": "pt"}


def test_state_dict_dtypes_and_downsample_placement(model):
    sd = model.state_dict()
    assert sd["conv1.weight"].dtype == torch.float32
    assert sd["bn1.num_batches_tracked"].dtype == torch.int64
    assert isinstance(model.layer1[0].downsample, type(None))
    assert isinstance(model.layer2[0].downsample, nn.Sequential)
