"""Where the polynomial coefficients of src/kernels/activation.ts come from. Run once, by hand
(numpy and mpmath; nothing in the build or CI runs it):

    /usr/bin/python3 scripts/fit-activation-polys.py

Least squares on Chebyshev nodes, weighted for relative error, in float64:
    ERF_SMALL   erf(z) = z * P(z^2)                          for |z| < 1
    ERFC_TAIL   erfc(a) = exp(-a^2) * tau * Q(tau),          tau = 1 / (1 + a/2), a >= 1
                (smooth in tau up to a = infinity, where tau = 0)
    TANH_SMALL  tanh(x) = x + x^3 * R(x^2)                   for |x| < 0.625
and prints each with its largest error on a dense grid against mpmath.
"""

import math

import mpmath
import numpy as np

mpmath.mp.dps = 40


def nodes(a: float, b: float, n: int) -> np.ndarray:
    k = np.arange(n)
    return (a + b) / 2 + (b - a) / 2 * np.cos((2 * k + 1) * np.pi / (2 * n))


def fit(t: np.ndarray, y: np.ndarray, degree: int, weight: np.ndarray) -> np.ndarray:
    a = np.stack([t**j for j in range(degree + 1)], 1) * weight[:, None]
    c, *_ = np.linalg.lstsq(a, y * weight, rcond=None)
    return c


def horner(c: np.ndarray, t: float) -> float:
    return float(np.polyval(c[::-1], t))


z = nodes(1e-6, 1.0, 600)
erf_small = fit(z * z, np.array([float(mpmath.erf(v)) for v in z]) / z, 6, np.ones_like(z))

a = (1 / nodes(1 / 14, 2 / 3, 800) - 1) * 2
tau = 1 / (1 + a / 2)
h = np.array([float(mpmath.erfc(v) * mpmath.exp(v * v)) for v in a]) / tau
erfc_tail = fit(tau, h, 8, 1 / h)

x = nodes(1e-4, 0.625, 600)
tanh_small = fit(x * x, (np.tanh(x) / x - 1) / (x * x), 5, x**3 / np.tanh(x))


def erf(v: float) -> float:
    if abs(v) < 1:
        return v * horner(erf_small, v * v)
    t = 1 / (1 + abs(v) / 2)
    return math.copysign(1 - math.exp(-v * v) * t * horner(erfc_tail, t), v)


def tanh(v: float) -> float:
    return v + v**3 * horner(tanh_small, v * v)


grid = np.linspace(-6, 6, 12001)
print("ERF_SMALL ", erf_small.tolist())
print("ERFC_TAIL ", erfc_tail.tolist())
print("TANH_SMALL", tanh_small.tolist())
print("erf  max |error| on [-6, 6]:      ", max(abs(erf(v) - float(mpmath.erf(v))) for v in grid))
print("tanh max |error| on [0, 0.625]:   ", max(abs(tanh(v) - float(mpmath.tanh(v))) for v in np.linspace(0, 0.625, 6001)))
