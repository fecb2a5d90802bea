"""Spec section 9: symgrad.utils.data (datasets, samplers, collation, DataLoader)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symgrad

data = symgrad.utils.data
DataLoader, TensorDataset = data.DataLoader, data.TensorDataset


def make_ds(n=100):
    x = symgrad.arange(n * 3, dtype=symgrad.float32).view(n, 3)
    return TensorDataset(x, symgrad.arange(n))


def labels(loader):
    return [b[1].tolist() for b in loader]


# ---------------------------------------------------------------------------- datasets
def test_tensor_dataset():
    ds = make_ds(10)
    assert len(ds) == 10
    x, y = ds[4]
    assert x.tolist() == [12.0, 13.0, 14.0] and y.item() == 4 and y.dtype is symgrad.int64
    with pytest.raises(AssertionError, match="^Size mismatch between tensors$"):
        TensorDataset(symgrad.ones(3), symgrad.ones(4))


def test_subset_concat_random_split():
    ds = make_ds(10)
    sub = data.Subset(ds, [7, 2])
    assert len(sub) == 2 and sub[0][1].item() == 7
    cat = data.ConcatDataset([sub, ds])
    assert len(cat) == 12 and cat[1][1].item() == 2 and cat[2][1].item() == 0 and cat[-1][1].item() == 9
    assert len(sub + ds) == 12
    symgrad.manual_seed(0)
    a, b = data.random_split(ds, [7, 3])
    assert len(a) == 7 and len(b) == 3 and sorted(a.indices + b.indices) == list(range(10))
    symgrad.manual_seed(0)
    assert data.random_split(ds, [0.7, 0.3])[0].indices == a.indices
    with pytest.raises(ValueError, match="^Sum of input lengths does not equal the length of the input dataset!$"):
        data.random_split(ds, [5, 6])


# ---------------------------------------------------------------------------- batching
def test_lengths_order_and_partial_last_batch():
    loader = DataLoader(make_ds(100), batch_size=64)
    assert len(loader) == 2
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [64, 36]
    assert sum(labels(loader), []) == list(range(100))
    assert batches[0][0].shape == (64, 3) and batches[0][0].dtype is symgrad.float32
    assert isinstance(batches[0], list)  # tuples collate to lists, as in PyTorch
    dl = DataLoader(make_ds(100), batch_size=64, drop_last=True)
    assert len(dl) == 1 and [len(b[1]) for b in dl] == [64]
    assert len(DataLoader(make_ds(100))) == 100 and len(DataLoader(make_ds(128), batch_size=64)) == 2
    assert len(DataLoader(make_ds(10), batch_size=3, drop_last=True)) == 3


def test_next_iter_gives_first_batch_and_seed3_shapes():
    images = symgrad.randn(100, 1, 28, 28)
    targets = symgrad.randint(0, 10, (100,))
    loader = DataLoader(TensorDataset(images, targets), batch_size=64, shuffle=True)
    x, y = next(iter(loader))
    assert x.shape == (64, 1, 28, 28) and x.dtype is symgrad.float32
    assert y.shape == (64,) and y.dtype is symgrad.int64
    first = next(iter(DataLoader(make_ds(10), batch_size=4)))
    assert first[1].tolist() == [0, 1, 2, 3]


def test_shuffle_new_permutation_each_epoch_and_reproducible():
    loader = DataLoader(make_ds(100), batch_size=64, shuffle=True)
    symgrad.manual_seed(0)
    e1, e2 = labels(loader), labels(loader)
    assert sorted(sum(e1, [])) == list(range(100)) and sorted(sum(e2, [])) == list(range(100))
    assert e1 != e2 and sum(e1, []) != list(range(100))
    assert [len(b) for b in e1] == [64, 36]
    symgrad.manual_seed(0)
    assert labels(loader) == e1 and labels(loader) == e2
    g = symgrad.Generator(5)
    own = DataLoader(make_ds(20), batch_size=20, shuffle=True, generator=g)
    first = labels(own)
    g.manual_seed(5)
    assert labels(own) == first


def test_shuffle_matches_torch(torch_or_skip):
    torch = torch_or_skip
    x = np.arange(300, dtype=np.float32).reshape(100, 3)
    for seed in (0, 7):
        torch.manual_seed(seed)
        symgrad.manual_seed(seed)
        theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.arange(100)),
                                             batch_size=64, shuffle=True)
        ours = DataLoader(TensorDataset(symgrad.tensor(x), symgrad.arange(100)), batch_size=64, shuffle=True)
        for _ in range(3):
            assert labels(ours) == labels(theirs)
        plain_t = torch.utils.data.DataLoader(torch.arange(5), batch_size=2)
        plain_s = DataLoader(symgrad.arange(5), batch_size=2)
        assert [b.tolist() for b in plain_s] == [b.tolist() for b in plain_t]
        # Even unshuffled iteration consumes the same draws, so later numbers agree.
        assert torch.rand(3).tolist() == symgrad.rand(3).tolist()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), bs=st.integers(1, 12), drop_last=st.booleans(), shuffle=st.booleans(),
       seed=st.integers(0, 2**31))
def test_batches_partition_the_dataset(n, bs, drop_last, shuffle, seed):
    symgrad.manual_seed(seed)
    loader = DataLoader(make_ds(n), batch_size=bs, shuffle=shuffle, drop_last=drop_last)
    got = labels(loader)
    assert len(got) == len(loader) == (n // bs if drop_last else -(-n // bs))
    assert all(len(b) == bs for b in got[:-1]) and (not got or 0 < len(got[-1]) <= bs)
    flat = sum(got, [])
    assert len(set(flat)) == len(flat) and (sorted(flat) == list(range(n)) or drop_last)
    if not shuffle:
        assert flat == list(range(len(flat)))


def test_tensor_dataset_batches_equal_per_row_collation():
    x = symgrad.randn(10, 2, 3)
    ds = TensorDataset(x, symgrad.arange(10))
    idx = [7, 0, 3]
    fast = next(iter(DataLoader(ds, batch_sampler=[idx])))
    slow = data.default_collate([ds[i] for i in idx])
    assert isinstance(fast, list) and len(fast) == 2
    for a, b in zip(fast, slow):
        assert a.dtype is b.dtype and a.shape == b.shape and a.tolist() == b.tolist()
    w = symgrad.randn(4, 2, requires_grad=True)  # a graph is recorded as PyTorch records it
    xb, = next(iter(DataLoader(TensorDataset(w), batch_size=2)))
    assert type(xb.grad_fn).__name__ == "StackBackward0"
    with pytest.raises(IndexError, match="^index 10 is out of bounds for dimension 0 with size 10$"):
        next(iter(DataLoader(ds, batch_sampler=[[10]])))


# ---------------------------------------------------------------------------- collation
def test_default_collate_kinds():
    collate = data.default_collate
    ints = collate([1, 2, 3])
    assert ints.dtype is symgrad.int64 and ints.tolist() == [1, 2, 3]
    floats = collate([1.0, 2.5])
    assert floats.dtype is symgrad.float64 and floats.tolist() == [1.0, 2.5]
    assert collate([True, False]).dtype is symgrad.bool
    out = collate([(1, 2.0, {"a": symgrad.ones(2), "s": "x"}), (3, 4.0, {"a": symgrad.zeros(2), "s": "y"})])
    assert isinstance(out, list) and out[0].tolist() == [1, 3] and out[1].dtype is symgrad.float64
    assert out[2]["a"].tolist() == [[1.0, 1.0], [0.0, 0.0]] and out[2]["s"] == ["x", "y"]
    lists = collate([[1, 2], [3, 4]])
    assert isinstance(lists, list) and [t.tolist() for t in lists] == [[1, 3], [2, 4]]
    Point = namedtuple("Point", "x y")
    p = collate([Point(1, 2.0), Point(3, 4.0)])
    assert type(p) is Point and p.x.tolist() == [1, 3]
    arr = collate([np.ones(2, dtype=np.float32), np.zeros(2, dtype=np.float32)])
    assert arr.shape == (2, 2) and arr.dtype is symgrad.float32
    assert collate([np.float64(1.5), np.float64(2)]).dtype is symgrad.float64
    with pytest.raises(RuntimeError, match="^each element in list of batch should be of equal size$"):
        collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        collate([symgrad.ones(2), symgrad.ones(3)])
    with pytest.raises(TypeError, match="^default_collate: batch must contain tensors, numpy arrays, numbers, "
                                        "dicts or lists; found <class 'object'>$"):
        collate([object()])


def test_collate_matches_torch(torch_or_skip):
    torch = torch_or_skip
    batch = [(1, 2.0, {"a": 3, "b": [4.0, 5]}), (6, 7.0, {"a": 8, "b": [9.0, 10]})]

    def norm(v):
        if hasattr(v, "tolist") and hasattr(v, "dtype"):
            return ("tensor", str(v.dtype).split(".")[-1], v.tolist())
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return (type(v).__name__, [norm(x) for x in v])
        return v

    assert norm(data.default_collate(batch)) == norm(torch.utils.data.default_collate(batch))


class Squares(data.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": float(i), "y": i * i}


class Stream(data.IterableDataset):
    def __iter__(self):
        return iter(range(7))


def test_dict_dataset_custom_collate_and_options():
    batches = list(DataLoader(Squares(), batch_size=2))
    assert [b["y"].tolist() for b in batches] == [[0, 1], [4, 9], [16]]
    assert batches[0]["x"].dtype is symgrad.float64
    assert list(DataLoader(Squares(), batch_size=2, collate_fn=len)) == [2, 2, 1]
    unbatched = list(DataLoader(Squares(), batch_size=None))
    assert unbatched[2] == {"x": 2.0, "y": 4}
    bs = data.BatchSampler(data.SequentialSampler(range(5)), batch_size=2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    assert [b["y"].tolist() for b in DataLoader(Squares(), batch_sampler=[[4, 0]])] == [[16, 0]]
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    sub = list(DataLoader(Squares(), sampler=data.SubsetRandomSampler([1, 3]), batch_size=5))
    assert sorted(sub[0]["y"].tolist()) == [1, 9]
    assert len(DataLoader(Squares(), batch_size=2, num_workers=2)) == 3  # runs in-process


def test_loader_argument_errors():
    with pytest.raises(ValueError, match="^sampler option is mutually exclusive with shuffle$"):
        DataLoader(Squares(), shuffle=True, sampler=data.SequentialSampler(Squares()))
    with pytest.raises(ValueError, match="^batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                         "sampler, and drop_last$"):
        DataLoader(Squares(), batch_size=2, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="^batch_size should be a positive integer value, but got batch_size=0$"):
        DataLoader(Squares(), batch_size=0)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)


def test_training_loop_through_loader():
    symgrad.manual_seed(0)
    w_true = np.array([[2.0], [-1.0], [0.5]], dtype=np.float32)
    x = symgrad.randn(96, 3)
    y = symgrad.tensor(x.numpy() @ w_true)
    model = symgrad.nn.Linear(3, 1)
    opt = symgrad.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = symgrad.nn.MSELoss()
    for _ in range(30):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True):
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    np.testing.assert_allclose(model.weight.detach().numpy(), w_true.T, atol=1e-3)
