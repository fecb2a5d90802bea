"""IDX round trips, MNIST from local files (never the network), transforms, DataLoader."""
import gzip

import numpy as np
import pytest

import symgrad as torch
from symgrad.data import MNIST, read_idx, transforms, write_idx

rng = np.random.default_rng(0)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    a = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    raw = gzip.open(path).read() if suffix else path.read_bytes()
    assert raw[:4] == bytes([0, 0, {np.uint8: 8, np.int8: 9, np.int16: 11, np.int32: 12, np.float32: 13,
                                    np.float64: 14}[dtype], 3])
    assert raw[4:8] == (3).to_bytes(4, "big")


def test_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"\x00\x01")
    with pytest.raises(ValueError, match="header says shape"):
        read_idx(tmp_path / "short")


def _write_mnist(directory, n_train=70, n_test=30, gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    sfx = ".gz" if gz else ""
    data = {}
    for train, n in ((True, n_train), (False, n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        stem = "train" if train else "t10k"
        write_idx(directory / f"{stem}-images-idx3-ubyte{sfx}", images)
        write_idx(directory / f"{stem}-labels-idx1-ubyte{sfx}", labels)
        data[train] = (images, labels)
    return data


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_mnist_reads_both_splits(tmp_path, gz, layout):
    where = tmp_path if layout == "flat" else tmp_path / "MNIST" / "raw"
    data = _write_mnist(where, gz=gz)
    for train in (True, False):
        ds = MNIST(str(tmp_path), train=train)
        images, labels = data[train]
        assert len(ds) == len(labels)
        img, label = ds[3]
        assert isinstance(label, int) and label == labels[3]
        assert img.dtype == np.uint8 and img.shape == (28, 28)
        np.testing.assert_array_equal(img, images[3])
        assert ds.targets.dtype == torch.int64 and ds.data.shape == torch.Size([len(labels), 28, 28])


def test_mnist_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        MNIST(str(tmp_path), train=False, download=True)
    msg = str(info.value)
    assert "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte" in msg
    assert str(tmp_path) in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "never downloads" in msg and "train-labels-idx1-ubyte[.gz]" in msg


def test_mnist_transform_and_dataloader(tmp_path):
    _write_mnist(tmp_path, n_train=100)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    ds = MNIST(str(tmp_path), train=True, transform=tf)
    img, _ = ds[0]
    assert img.shape == torch.Size([1, 28, 28]) and img.dtype == torch.float32
    np.testing.assert_allclose(img.numpy()[0], ds.data.numpy()[0].astype(np.float32) / 255 * 2 - 1, atol=1e-6)
    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)
    assert len(loader) == 2
    images, labels = next(iter(loader))
    assert images.shape == torch.Size([64, 1, 28, 28]) and images.dtype == torch.float32
    assert labels.shape == torch.Size([64]) and labels.dtype == torch.int64
    sizes = [len(lb) for _, lb in loader]
    assert sizes == [64, 36]
    assert repr(ds).startswith("Dataset MNIST\n    Number of datapoints: 100\n    Root location: ")
    assert repr(ds).endswith("    Split: Train\n    StandardTransform\nTransform: Compose(\n"
                             "               ToTensor()\n               Normalize(mean=(0.5,), std=(0.5,))\n"
                             "           )")


def test_to_tensor_semantics():
    hw = rng.integers(0, 256, (4, 5), dtype=np.uint8)
    t = transforms.ToTensor()(hw)
    assert t.shape == torch.Size([1, 4, 5]) and t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy()[0], hw / np.float32(255))
    hwc = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    t = transforms.ToTensor()(hwc)
    assert t.shape == torch.Size([3, 4, 5])
    np.testing.assert_array_equal(t.numpy()[2], hwc[:, :, 2].astype(np.float32) / np.float32(255))
    f = rng.standard_normal((4, 5, 2))
    t = transforms.ToTensor()(f)  # not uint8: no scaling, dtype kept (torchvision's rule)
    assert t.dtype == torch.float64
    np.testing.assert_array_equal(t.numpy(), f.transpose(2, 0, 1))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        transforms.ToTensor()([1, 2])
    assert repr(transforms.ToTensor()) == "ToTensor()"


def test_normalize_semantics():
    x = torch.rand(3, 4, 4)
    y = transforms.Normalize((0.1, 0.2, 0.3), (0.5, 1.0, 2.0))(x)
    expected = (x.numpy() - np.array([0.1, 0.2, 0.3], np.float32)[:, None, None]) \
        / np.array([0.5, 1.0, 2.0], np.float32)[:, None, None]
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
    batch = torch.rand(2, 1, 3, 3)  # (..., C, H, W): a batch works too
    np.testing.assert_allclose(transforms.Normalize((0.5,), (0.5,))(batch).numpy(), batch.numpy() * 2 - 1, atol=1e-6)
    z = transforms.Normalize((0.5,), (0.5,), inplace=True)
    w = torch.ones(1, 2, 2)
    assert z(w) is w and w.numpy().max() == 1.0
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        transforms.Normalize((0.5,), (0.5,))(torch.ones(1, 2, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        transforms.Normalize((0.5,), (0.0,))(torch.ones(1, 2, 2))
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size \(..., C, H, W\)"):
        transforms.Normalize((0.5,), (0.5,))(torch.ones(2, 2))
    assert repr(transforms.Normalize((0.5,), (0.5,))) == "Normalize(mean=(0.5,), std=(0.5,))"
