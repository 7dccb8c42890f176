#!/usr/bin/python3
# law-ref.py POINTS HOLD_OUT - the reference fit of L(N) = E + A N^-alpha in
# relative error (SciPy's curve_fit with sigma = L) to all but the HOLD_OUT
# largest sizes, printed as 'E A alpha se_E se_A se_alpha' and one
# 'N predicted' line per held-out point; exits 77 without SciPy.
import sys

try:
    import numpy as np
    from scipy.optimize import curve_fit
except ImportError:
    sys.exit(77)

path, hold = sys.argv[1], int(sys.argv[2])
rows = []
for line in open(path):
    f = line.split()
    try:
        rows.append((float(f[0]), float(f[1])))
    except (ValueError, IndexError):
        continue  # header or comment
rows.sort()
N = np.array([r[0] for r in rows])
L = np.array([r[1] for r in rows])
k = len(N) - hold


def law(n, E, A, alpha):
    return E + A * n ** -alpha


p, cov = curve_fit(law, N[:k], L[:k], p0=(0.5 * L.min(), L.max() * N[0] ** 0.3, 0.3),
                   sigma=L[:k], maxfev=100000)
se = np.sqrt(np.diag(cov))
print(" ".join("%.9g" % v for v in (*p, *se)))
for n in N[k:]:
    print("%.9g %.9g" % (n, law(n, *p)))
