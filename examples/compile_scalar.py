"""Compile scalar Python with control flow: value, gradient and every compiler stage.

Run: python examples/compile_scalar.py
"""
import math

from symgrad import compile_grad


@compile_grad
def rosenbrock_chain(a, b, x0):
    """A Rosenbrock-style loop over a scalar recurrence (gradients w.r.t. a, b and x0)."""
    s = 0.0
    x = x0
    for i in range(8):
        y = 0.5 * x + 0.1 * i
        s += b * (y - x ** 2) ** 2 + (a - x) ** 2
        x = y
    return s


@compile_grad(wrt=["x"])
def branchy(x, n):
    """if/elif/else, a data-dependent while loop, break and an early return."""
    if x > 2.0:
        return math.log(x)
    elif x < -2.0:
        y = -x
    else:
        y = x * x + math.sin(x)
    k = 0
    while y < 10.0 and k < n:
        y = y * 1.5 + 0.1
        k += 1
        if y > 8.0:
            break
    return y / (k + 1)


def main() -> None:
    v, g = rosenbrock_chain.value_and_grad(1.0, 100.0, 0.3)
    print(f"rosenbrock_chain(1, 100, 0.3) = {v:.6f}")
    print(f"  gradient (a, b, x0) = {tuple(round(t, 6) for t in g)}")
    for x in (3.0, -3.0, 0.5):
        v, g = branchy.value_and_grad(x, 5)
        print(f"branchy({x}, 5) = {v:.6f}, d/dx = {g:.6f}")
    for stage in ("source", "ssa", "adjoint", "python", "sympy", "llvm", "llvm-opt", "asm"):
        text = rosenbrock_chain.inspect(stage)
        lines = text.splitlines()
        print(f"\n===== rosenbrock_chain: {stage} ({len(lines)} lines) =====")
        print("\n".join(lines[:60]) + ("\n..." if len(lines) > 60 else ""))
    print("\n===== branchy: adjoint =====")
    print(branchy.inspect("adjoint"))
    print("signatures:", rosenbrock_chain.signatures, branchy.signatures)


if __name__ == "__main__":
    main()
