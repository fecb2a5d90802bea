"""Loop programs for tests/compiler/test_loop_memory.py: which array temporaries of a loop
body may reuse the previous iteration's storage (`loop_lifetimes.iteration_local`), and the
arena that holds the ones that may not."""
from __future__ import annotations

import numpy as np


def local_temps(x, n):
    """Every kernel result but h dies within its iteration."""
    h = x * 0.5
    for i in range(n):
        a = np.exp(-h * h)
        b = np.tanh(a + x)
        h = 0.5 * h + b * a
    return np.sum(h * h)


def view_carried(x, n):
    """h is a reversed view of t: t's storage must outlive its iteration."""
    h = x * 1.0
    for i in range(n):
        t = np.tanh(h * 0.9 + 0.1 * x)
        h = t[::-1]
    return np.sum(h * x)


def branch_carried(x, n):
    """One branch yields a fresh kernel result, the other a view of one."""
    h = x * 1.0
    for i in range(n):
        t = np.sin(h) + x
        if i % 2 == 0:
            h = t * 0.7
        else:
            h = t[::-1]
    return np.sum(h * h)


def rows_in_place(x, n):
    """A local array written row by row (in place), read by later iterations."""
    out = np.zeros((n, x.shape[0]))
    h = x * 1.0
    for i in range(n):
        g = np.exp(-h * h)
        out[i] = g * x
        h = h + out[i]
    return np.sum(out * out) + np.sum(h)


def nested_state(params, state, seq):
    """The LSTM pattern: an inner loop that reads and writes rows of a local copy of the
    state, whose results leave the outer iteration."""
    s = state.copy()
    total = 0.0
    for t in range(seq.shape[0]):
        x = seq[t] * params[0]
        for j in range(s.shape[0] // 2):
            w = params[j + 1]
            hidden = s[2 * j]
            cell = s[2 * j + 1]
            gate = 1.0 / (1.0 + np.exp(-(x * w + hidden)))
            cell = cell * gate + np.tanh(hidden * w)
            hidden = gate * np.tanh(cell)
            s[2 * j] = hidden
            s[2 * j + 1] = cell
            x = hidden
        total += np.sum(x * seq[t]) - np.log(np.sum(np.exp(x)) + 1.0)
    return total


def while_carried(x, limit):
    """A while loop carrying an array; temporaries of its test and body."""
    h = x * 1.0
    k = 0
    while np.sum(h * h) < limit and k < 50:
        g = np.cos(h) * 0.3
        h = h + g * g + 0.1
        k += 1
    return np.sum(h)


def big_carried(x, n):
    """Carried values larger than the arena's first chunk (64 KiB)."""
    h = x * 1.0
    for i in range(n):
        h = np.tanh(h * 0.5 + x)
    return np.sum(h * x)


def nested_accumulate(W, x, n):
    """GMM's shape: an outer loop over points, an inner loop over rows of W. The adjoint's
    inner loop adds into W's gradient; it must take the outer accumulator over, not copy it
    per outer iteration (a copy each, kept until return: memory grew with n)."""
    s = 0.0
    for i in range(n):
        for k in range(W.shape[0]):
            s += np.sum(np.tanh(W[k] * x[i % x.shape[0]]))
    return s


def nested_setitem(v, m):
    """An array built by writes in a loop nest: the inner loop's carried array is the outer
    one's, so each (i, j) would otherwise copy it."""
    A = np.zeros((m, v.shape[0]))
    for i in range(m):
        for j in range(v.shape[0]):
            A[i, j] = v[j] * (i + 1)
    return np.sum(A * A)
