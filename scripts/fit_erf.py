#!/usr/bin/env python3
"""Fits erf(x) ~ x*P(x^2)/Q(x^2) on [0, 3.92] (Lawson-weighted linearised least squares, float64), then
measures the error of the float32 Horner evaluation. Prints coefficients in powers of z = x^2; the
(6, 6) row is the one used in Sources/TensorCore/NN/Erf.swift. Run: python3 scripts/fit_erf.py
"""
import numpy as np, math
from numpy.polynomial import polynomial as Pm
C = 3.92
xs = np.linspace(0, C, 60000)
t = np.array([math.erf(v) for v in xs])
S = 16.0
def fit(np_, nq, iters=60):
    w = np.ones_like(xs); best=None
    u = xs*xs/S
    for it in range(iters):
        A = np.column_stack([xs*u**i for i in range(np_)] + [-t*u**j for j in range(1, nq+1)])
        sol, *_ = np.linalg.lstsq(A*w[:,None], t*w, rcond=None)
        p = sol[:np_]; q = np.concatenate([[1], sol[np_:]])
        Q = Pm.polyval(u, q)
        err = xs*Pm.polyval(u, p)/Q - t
        e = np.abs(err).max()
        if best is None or e < best[2]: best=(p,q,e)
        w = w * (np.abs(err)/e+1e-3)**0.5
        w = w / w.max()
        w2 = w/np.abs(Q)
        w = w2/w2.max()
    return best
for np_, nq in [(6,6),(7,6),(7,7)]:
    p,q,e = fit(np_, nq)
    # convert to z = x^2 coefficients
    pz = [c/S**i for i,c in enumerate(p)]; qz=[c/S**i for i,c in enumerate(q)]
    xf = np.linspace(-4.5, 4.5, 400001).astype(np.float32)
    xc = np.clip(xf, -C, C).astype(np.float32)
    z = (xc*xc).astype(np.float32)
    P = np.float32(pz[-1])
    for c in pz[-2::-1]: P = (P*z + np.float32(c)).astype(np.float32)
    Q = np.float32(qz[-1])
    for c in qz[-2::-1]: Q = (Q*z + np.float32(c)).astype(np.float32)
    r = np.clip((xc*P/Q).astype(np.float32), -1, 1)
    true = np.array([math.erf(float(v)) for v in xf])
    print(np_, nq, "fit", e, "float32", np.abs(r-true).max())
    print("  p", [float(np.float32(c)) for c in pz]); print("  q", [float(np.float32(c)) for c in qz])
