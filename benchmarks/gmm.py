"""ADBench GMM objective (Srajer, Kukelova and Fitzgibbon 2018; microsoft/ADBench), in four styles.

    f = -n d/2 log(2 pi) + sum_i logsumexp_k(alpha_k + sum(q_k) - |Q_k (x_i - mu_k)|^2 / 2)
        - n logsumexp(alpha) + sum_k (gamma^2/2 (|exp(q_k)|^2 + |l_k|^2) - m sum(q_k)) - K C(d, gamma, m)

with Q_k = diag(exp(q_k)) + L_k, q_k = icf[k, :d], and L_k strictly lower triangular, filled
column by column from l_k = icf[k, d:]. Gradients w.r.t. alphas, means and icf.
"""
from __future__ import annotations

import math

import numpy as np
from .npmath import logsumexp


def log_gamma_distrib(a: float, p: int) -> float:
    """log of the multivariate gamma function Gamma_p(a)."""
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out += math.lgamma(a + 0.5 * (1 - j))
    return out


def wishart_constant(d: int, gamma: float, m: int) -> float:
    """The parameter-free part of the log Wishart prior, per component."""
    n = d + m + 1
    return n * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_distrib(0.5 * n, d)


def gmm_user(alphas, means, icf, x, wishart_gamma, wishart_m):
    """The objective as loops, the way one writes it for a loop compiler."""
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    Ls = np.zeros((K, d, d))
    for k in range(K):
        idx = d
        for col in range(d):
            for row in range(col + 1, d):
                Ls[k, row, col] = icf[k, idx]
                idx += 1
    main_term = np.zeros(K)
    slse = 0.0
    for i in range(n):
        for k in range(K):
            xc = x[i] - means[k]
            Qxc = np.exp(icf[k, :d]) * xc + Ls[k] @ xc
            main_term[k] = alphas[k] + np.sum(icf[k, :d]) - 0.5 * np.sum(Qxc * Qxc)
        mx = np.max(main_term)
        slse += mx + np.log(np.sum(np.exp(main_term - mx)))
    amax = np.max(alphas)
    lse_alphas = amax + np.log(np.sum(np.exp(alphas - amax)))
    prior = 0.0
    for k in range(K):
        q = icf[k, :d]
        prior += (0.5 * wishart_gamma * wishart_gamma * (np.sum(np.exp(2.0 * q)) + np.sum(icf[k, d:] ** 2))
                  - wishart_m * np.sum(q))
    nw = d + wishart_m + 1
    lgd = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        lgd += math.lgamma(0.5 * nw + 0.5 * (1 - j))
    C = nw * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - lgd
    return -n * d * 0.5 * math.log(2.0 * math.pi) + slse - n * lse_alphas + prior - K * C


def tril_index(d: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the strictly lower triangle in ADBench's column-major order."""
    rows = [r for c in range(d) for r in range(c + 1, d)]
    cols = [c for c in range(d) for r in range(c + 1, d)]
    return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)


def tril_selector(d: int) -> np.ndarray:
    """0/1 matrix S with (l @ S).reshape(d, d) = L: builds L without scatter, in every engine."""
    rows, cols = tril_index(d)
    S = np.zeros((len(rows), d * d))
    S[np.arange(len(rows)), rows * d + cols] = 1.0
    return S


def _forward(alphas, means, icf, x, wishart_gamma, wishart_m):
    n, d = x.shape
    K = alphas.shape[0]
    rows, cols = tril_index(d)
    Q = np.zeros((K, d, d))
    Q[:, rows, cols] = icf[:, d:]
    Q[:, np.arange(d), np.arange(d)] = np.exp(icf[:, :d])
    xc = x[None, :, :] - means[:, None, :]                       # (K, n, d)
    y = xc @ Q.transpose(0, 2, 1)                                # y[k, i] = Q_k xc[k, i]
    beta = (alphas + icf[:, :d].sum(axis=1))[:, None] - 0.5 * np.sum(y * y, axis=2)   # (K, n)
    lse = logsumexp(beta, axis=0)
    qd = np.exp(icf[:, :d])
    prior = (np.sum(0.5 * wishart_gamma ** 2 * (np.sum(qd ** 2, axis=1) + np.sum(icf[:, d:] ** 2, axis=1))
                    - wishart_m * icf[:, :d].sum(axis=1)) - K * wishart_constant(d, wishart_gamma, wishart_m))
    value = (-n * d * 0.5 * math.log(2.0 * math.pi) + lse.sum() - n * logsumexp(alphas) + prior)
    return float(value), (Q, xc, y, beta, lse, rows, cols)


def gmm_value(alphas, means, icf, x, wishart_gamma, wishart_m, **_):
    return _forward(alphas, means, icf, x, wishart_gamma, wishart_m)[0]


def gmm_value_and_grad(alphas, means, icf, x, wishart_gamma, wishart_m, **_):
    """Hand-written reverse mode of `_forward`."""
    value, (Q, xc, y, beta, lse, rows, cols) = _forward(alphas, means, icf, x, wishart_gamma, wishart_m)
    n, d = x.shape
    w = np.exp(beta - lse[None, :])                              # responsibilities (K, n)
    g_alphas = w.sum(axis=1) - n * np.exp(alphas - logsumexp(alphas))
    gy = -w[:, :, None] * y                                      # d f / d y
    gQ = gy.transpose(0, 2, 1) @ xc                              # (K, d, d)
    g_means = -np.einsum("kj,kji->ki", gy.sum(axis=1), Q)        # -(sum_i gy) Q_k
    qd = np.exp(icf[:, :d])
    g_icf = np.empty_like(icf)
    g_icf[:, :d] = (w.sum(axis=1)[:, None] + gQ[:, np.arange(d), np.arange(d)] * qd
                    + wishart_gamma ** 2 * qd * qd - wishart_m)
    g_icf[:, d:] = gQ[:, rows, cols] + wishart_gamma ** 2 * icf[:, d:]
    return value, (g_alphas, g_means, g_icf)


def gmm_torch(T, alphas, means, icf, x, wishart_gamma, wishart_m, tril_sel, **_):
    """Vectorised as in ADBench's PyTorch module; L is built with a selector matmul."""
    n, d = x.shape
    K = alphas.shape[0]
    q = icf[:, :d]
    L = (icf[:, d:] @ tril_sel).reshape(K, d, d)
    xc = x.unsqueeze(0) - means.unsqueeze(1)                     # (K, n, d)
    y = T.exp(q).unsqueeze(1) * xc + xc @ L.transpose(1, 2)
    beta = (alphas + q.sum(1)).unsqueeze(1) - 0.5 * (y * y).sum(2)
    prior = T.sum(0.5 * wishart_gamma ** 2 * ((T.exp(q) ** 2).sum(1) + (icf[:, d:] ** 2).sum(1))
                  - wishart_m * q.sum(1))
    return (T.logsumexp(beta, dim=0).sum() - n * T.logsumexp(alphas, dim=0) + prior
            + (-n * d * 0.5 * math.log(2.0 * math.pi) - K * wishart_constant(d, wishart_gamma, wishart_m)))


def gmm_array(np, special, alphas, means, icf, x, wishart_gamma, wishart_m, tril_sel, **_):
    """The same, in NumPy style (HIPS autograd, JAX)."""
    n, d = x.shape
    K = alphas.shape[0]
    q = icf[:, :d]
    L = np.reshape(np.dot(icf[:, d:], tril_sel), (K, d, d))
    xc = x[None, :, :] - means[:, None, :]
    y = np.exp(q)[:, None, :] * xc + np.matmul(xc, np.transpose(L, (0, 2, 1)))
    beta = (alphas + np.sum(q, axis=1))[:, None] - 0.5 * np.sum(y * y, axis=2)
    prior = np.sum(0.5 * wishart_gamma ** 2 * (np.sum(np.exp(2.0 * q), axis=1) + np.sum(icf[:, d:] ** 2, axis=1))
                   - wishart_m * np.sum(q, axis=1))
    return (np.sum(special.logsumexp(beta, axis=0)) - n * special.logsumexp(alphas) + prior
            + (-n * d * 0.5 * math.log(2.0 * math.pi) - K * wishart_constant(d, wishart_gamma, wishart_m)))
