"""ADBench LSTM objective (Srajer, Kukelova and Fitzgibbon 2018; microsoft/ADBench), in four styles.

l layers of a diagonal LSTM over b = 14 bits per character; per layer `main_params` holds a
weight row and a bias row of length 4b (forget, input, output gates, change). The loss is the
mean of -ygold * (ypred - log(sum(exp(ypred)) + 2)) over the c - 1 predictions (the `+ 2` is
ADBench's own definition). Gradients w.r.t. main_params and extra_params.
"""
from __future__ import annotations

import numpy as np


def lstm_user(main_params, extra_params, state, sequence):
    """The objective as loops, the way one writes it for a loop compiler."""
    n_layers = main_params.shape[0] // 2
    b = sequence.shape[1]
    s = state.copy()
    total = 0.0
    for t in range(sequence.shape[0] - 1):
        x = sequence[t] * extra_params[0]
        for j in range(n_layers):
            w = main_params[2 * j]
            bias = main_params[2 * j + 1]
            hidden = s[2 * j]
            cell = s[2 * j + 1]
            forget = 1.0 / (1.0 + np.exp(-(x * w[:b] + bias[:b])))
            ingate = 1.0 / (1.0 + np.exp(-(hidden * w[b:2 * b] + bias[b:2 * b])))
            outgate = 1.0 / (1.0 + np.exp(-(x * w[2 * b:3 * b] + bias[2 * b:3 * b])))
            change = np.tanh(hidden * w[3 * b:] + bias[3 * b:])
            cell = cell * forget + ingate * change
            hidden = outgate * np.tanh(cell)
            s[2 * j] = hidden
            s[2 * j + 1] = cell
            x = hidden
        ypred = x * extra_params[1] + extra_params[2]
        lse = np.log(np.sum(np.exp(ypred)) + 2.0)
        total += np.sum(sequence[t + 1] * (ypred - lse))
    return -total / ((sequence.shape[0] - 1) * b)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _forward(main_params, extra_params, state, sequence, keep: bool):
    n_layers = main_params.shape[0] // 2
    b = sequence.shape[1]
    h = [state[2 * j].copy() for j in range(n_layers)]
    c = [state[2 * j + 1].copy() for j in range(n_layers)]
    total = 0.0
    tape = []
    for t in range(sequence.shape[0] - 1):
        x = sequence[t] * extra_params[0]
        saved = []
        for j in range(n_layers):
            w, bias = main_params[2 * j], main_params[2 * j + 1]
            f = _sigmoid(x * w[:b] + bias[:b])
            i = _sigmoid(h[j] * w[b:2 * b] + bias[b:2 * b])
            o = _sigmoid(x * w[2 * b:3 * b] + bias[2 * b:3 * b])
            g = np.tanh(h[j] * w[3 * b:] + bias[3 * b:])
            cn = c[j] * f + i * g
            tc = np.tanh(cn)
            if keep:
                saved.append((x, h[j], c[j], f, i, o, g, tc))
            h[j], c[j] = o * tc, cn
            x = h[j]
        ypred = x * extra_params[1] + extra_params[2]
        ex = np.exp(ypred)
        se = np.sum(ex) + 2.0
        total += float(np.sum(sequence[t + 1] * (ypred - np.log(se))))
        if keep:
            tape.append((saved, x, ex / se))
    return -total / ((sequence.shape[0] - 1) * b), tape


def lstm_value(main_params, extra_params, state, sequence):
    return _forward(main_params, extra_params, state, sequence, keep=False)[0]


def lstm_value_and_grad(main_params, extra_params, state, sequence):
    """Hand-written backpropagation through time."""
    value, tape = _forward(main_params, extra_params, state, sequence, keep=True)
    n_layers = main_params.shape[0] // 2
    b = sequence.shape[1]
    g_main = np.zeros_like(main_params)
    g_extra = np.zeros_like(extra_params)
    g_h = [np.zeros(b) for _ in range(n_layers)]
    g_c = [np.zeros(b) for _ in range(n_layers)]
    scale = -1.0 / ((sequence.shape[0] - 1) * b)
    for t in range(len(tape) - 1, -1, -1):
        saved, top, p = tape[t]
        ygold = sequence[t + 1]
        g_y = scale * (ygold - np.sum(ygold) * p)
        g_extra[1] += g_y * top
        g_extra[2] += g_y
        g_x = g_y * extra_params[1]
        for j in range(n_layers - 1, -1, -1):
            x, hp, cp, f, i, o, g, tc = saved[j]
            w = main_params[2 * j]
            g_hn = g_x + g_h[j]
            g_cn = g_c[j] + g_hn * o * (1.0 - tc * tc)
            z_f = g_cn * cp * f * (1.0 - f)
            z_i = g_cn * g * i * (1.0 - i)
            z_o = g_hn * tc * o * (1.0 - o)
            z_g = g_cn * i * (1.0 - g * g)
            g_main[2 * j] += np.concatenate((z_f * x, z_i * hp, z_o * x, z_g * hp))
            g_main[2 * j + 1] += np.concatenate((z_f, z_i, z_o, z_g))
            g_c[j] = g_cn * f
            g_h[j] = z_i * w[b:2 * b] + z_g * w[3 * b:]
            g_x = z_f * w[:b] + z_o * w[2 * b:3 * b]
        g_extra[0] += g_x * sequence[t]
    return value, (g_main, g_extra)


def lstm_torch(T, main_params, extra_params, state, sequence):
    """As in ADBench's PyTorch module: one `cat` and one multiply-add for the four gates."""
    n_layers = main_params.shape[0] // 2
    b = sequence.shape[1]
    hidden = [state[2 * j] for j in range(n_layers)]
    cell = [state[2 * j + 1] for j in range(n_layers)]
    total = 0.0
    for t in range(sequence.shape[0] - 1):
        x = sequence[t] * extra_params[0]
        for j in range(n_layers):
            gates = T.cat((x, hidden[j], x, hidden[j])) * main_params[2 * j] + main_params[2 * j + 1]
            cell[j] = cell[j] * T.sigmoid(gates[:b]) + T.sigmoid(gates[b:2 * b]) * T.tanh(gates[3 * b:])
            hidden[j] = T.sigmoid(gates[2 * b:3 * b]) * T.tanh(cell[j])
            x = hidden[j]
        ypred = x * extra_params[1] + extra_params[2]
        total = total + T.sum(sequence[t + 1] * (ypred - T.log(T.sum(T.exp(ypred)) + 2.0)))
    return -total / ((sequence.shape[0] - 1) * b)


def lstm_array(np, special, main_params, extra_params, state, sequence):
    """The same, NumPy style (HIPS autograd)."""
    n_layers = main_params.shape[0] // 2
    b = sequence.shape[1]
    hidden = [state[2 * j] for j in range(n_layers)]
    cell = [state[2 * j + 1] for j in range(n_layers)]
    total = 0.0
    for t in range(sequence.shape[0] - 1):
        x = sequence[t] * extra_params[0]
        for j in range(n_layers):
            gates = np.concatenate((x, hidden[j], x, hidden[j])) * main_params[2 * j] + main_params[2 * j + 1]
            sig = 1.0 / (1.0 + np.exp(-gates[:3 * b]))
            cell[j] = cell[j] * sig[:b] + sig[b:2 * b] * np.tanh(gates[3 * b:])
            hidden[j] = sig[2 * b:] * np.tanh(cell[j])
            x = hidden[j]
        ypred = x * extra_params[1] + extra_params[2]
        total = total + np.sum(sequence[t + 1] * (ypred - np.log(np.sum(np.exp(ypred)) + 2.0)))
    return -total / ((sequence.shape[0] - 1) * b)


def lstm_jax(jnp, lax, special, main_params, extra_params, state, sequence):
    """JAX idiom: `lax.scan` over the characters, the layers unrolled inside the step."""
    n_layers = main_params.shape[0] // 2
    b = sequence.shape[1]

    def step(carry, xy):
        hs, cs, total = carry
        x = xy[0] * extra_params[0]
        new_h, new_c = [], []
        for j in range(n_layers):
            gates = jnp.concatenate((x, hs[j], x, hs[j])) * main_params[2 * j] + main_params[2 * j + 1]
            sig = lax.logistic(gates[:3 * b])
            c = cs[j] * sig[:b] + sig[b:2 * b] * jnp.tanh(gates[3 * b:])
            x = sig[2 * b:] * jnp.tanh(c)
            new_h.append(x)
            new_c.append(c)
        ypred = x * extra_params[1] + extra_params[2]
        total = total + jnp.sum(xy[1] * (ypred - jnp.log(jnp.sum(jnp.exp(ypred)) + 2.0)))
        return (jnp.stack(new_h), jnp.stack(new_c), total), None

    init = (state[0::2], state[1::2], jnp.zeros((), sequence.dtype))
    (_, _, total), _ = lax.scan(step, init, jnp.stack((sequence[:-1], sequence[1:]), axis=1))
    return -total / ((sequence.shape[0] - 1) * b)
