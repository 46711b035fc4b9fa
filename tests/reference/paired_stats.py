"""Reference values for the paired tests in crates/metrics/src/paired.rs.

Usage: python tests/reference/paired_stats.py   (needs numpy, scipy, statsmodels;
       /work/main/.venv-bench has them)

Prints the numbers hard-coded in crates/metrics/tests/paired_stats.rs. Every data set is
written literally here and there. The DeLong test below is an independent numpy
implementation of the fast midrank algorithm (Sun & Xu 2014, as popularised by the
yandexdataschool "fast DeLong" snippet), not a port of the Rust code, which uses sorted
placement values instead of midranks.
"""
import numpy as np
import scipy
import scipy.stats as st
import statsmodels
from statsmodels.stats.contingency_tables import mcnemar

np.set_printoptions(legacy="1.25")  # plain reprs: 0.5, not np.float64(0.5)
print(f"# numpy {np.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__}")

# --- standard normal CDF -------------------------------------------------------------
NORMAL_X = [-30.0, -12.0, -8.0, -5.656854, -5.0, -2.5, -1.959963984540054, -0.6629126,
            -0.3, 0.0, 0.3, 0.6629126, 1.0, 3.0, 5.0, 8.0]
print("\n[normal_cdf]")
for x in NORMAL_X:
    print(f"({x!r}, {st.norm.cdf(x)!r}),")

# --- McNemar ------------------------------------------------------------------------
# Tables [[both correct, only A correct], [only B correct, both wrong]].
TABLES = [
    [[15, 7], [2, 6]],
    [[52, 25], [12, 11]],
    [[40, 3], [3, 4]],
    [[10, 130], [95, 5]],
    [[0, 1000], [900, 0]],
    [[20, 0], [0, 5]],
]
print("\n[mcnemar] (b, c, exact p, corrected chi2, corrected chi2 p)")
for t in TABLES:
    b, c = t[0][1], t[1][0]
    ex = mcnemar(np.array(t), exact=True)
    if b + c > 0:
        ch = mcnemar(np.array(t), exact=False, correction=True)
        chi = (ch.statistic, ch.pvalue)
    else:
        chi = (float("nan"), float("nan"))
    print(f"({b}, {c}, {ex.pvalue!r}, {chi[0]!r}, {chi[1]!r}),")
print("# note: for b == c statsmodels still subtracts the continuity correction,")
print("# (|b-c|-1)^2/(b+c) = 1/(b+c); paired.rs follows R's mcnemar.test (no correction")
print("# when b == c: statistic 0, p 1). The exact p-value is the same in both.")

# --- DeLong paired -----------------------------------------------------------------
LABELS = [1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]
SA = [0.8, 0.2, 0.4, 0.7, 0.5, 0.5, 0.7, 0.5, 0.5, 0.3, 0.3, 0.9, 0.7, 0.2, 0.8, 0.8, 0.5,
      0.6, 0.7, 0.5, 0.2, 0.6, 0.8, 0.9, 0.2, 0.5]
SB = [0.80, 0.36, 0.56, 0.75, 0.82, 0.18, 0.69, 0.52, 0.47, 0.18, 0.71, 0.55, 0.70, 0.62,
      0.42, 0.68, 0.25, 0.61, 0.84, 0.79, 0.16, 0.45, 0.77, 0.91, 0.40, 0.29]


def compute_midrank(x):
    order = np.argsort(x, kind="mergesort")
    z = x[order]
    n = len(x)
    t = np.zeros(n)
    i = 0
    while i < n:
        j = i
        while j < n and z[j] == z[i]:
            j += 1
        t[i:j] = 0.5 * (i + j - 1)
        i = j
    out = np.empty(n)
    out[order] = t + 1
    return out


def fast_delong(preds, labels):
    """preds: k x N scores, labels: N of 0/1. Returns (aucs, covariance matrix)."""
    labels = np.asarray(labels)
    order = np.argsort(-labels, kind="mergesort")  # positives first
    preds = np.asarray(preds, dtype=float)[:, order]
    m = int(labels.sum())
    n = preds.shape[1] - m
    k = preds.shape[0]
    tx, ty, tz = np.empty((k, m)), np.empty((k, n)), np.empty((k, m + n))
    for r in range(k):
        tx[r] = compute_midrank(preds[r, :m])
        ty[r] = compute_midrank(preds[r, m:])
        tz[r] = compute_midrank(preds[r])
    aucs = tz[:, :m].sum(axis=1) / m / n - (m + 1.0) / 2.0 / n
    v_pos = (tz[:, :m] - tx) / n          # per positive: fraction of negatives below
    v_neg = 1.0 - (tz[:, m:] - ty) / m    # per negative: fraction of positives above
    cov = np.cov(v_pos) / m + np.cov(v_neg) / n
    return aucs, cov


aucs, cov = fast_delong([SA, SB], LABELS)
contrast = np.array([1.0, -1.0])
var = contrast @ cov @ contrast
se = np.sqrt(var)
z = (aucs[0] - aucs[1]) / se
p = 2 * st.norm.sf(abs(z))
corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
y = np.array(LABELS, dtype=bool)
for name, s in (("A", SA), ("B", SB)):
    s = np.asarray(s)
    u = st.mannwhitneyu(s[y], s[~y], alternative="two-sided").statistic
    print(f"# cross-check AUC {name}: Mann-Whitney U/(m n) = {u / (y.sum() * (~y).sum())!r}")
print("\n[delong_paired]")
print(f"auc_a = {aucs[0]!r}\nauc_b = {aucs[1]!r}\nvar_a = {cov[0, 0]!r}\nvar_b = {cov[1, 1]!r}")
print(f"difference = {aucs[0] - aucs[1]!r}\nstd_error = {se!r}\nz = {z!r}\np = {p!r}")
print(f"covariance = {cov[0, 1]!r}\ncorrelation = {corr!r}")
zc = st.norm.ppf(0.975)
print(f"ci = ({aucs[0] - aucs[1] - zc * se!r}, {aucs[0] - aucs[1] + zc * se!r})")

# Second case: B = A with two scores swapped (highly correlated systems).
SC = list(SA)
SC[2], SC[3] = SC[3], SC[2]
aucs2, cov2 = fast_delong([SA, SC], LABELS)
var2 = contrast @ cov2 @ contrast
z2 = (aucs2[0] - aucs2[1]) / np.sqrt(var2)
print("\n[delong_paired swapped] (scores_b = SA with entries 2 and 3 swapped)")
print(f"auc_b = {aucs2[1]!r}\ndifference = {aucs2[0] - aucs2[1]!r}")
print(f"std_error = {np.sqrt(var2)!r}\nz = {z2!r}\np = {2 * st.norm.sf(abs(z2))!r}")

# --- paired bootstrap vs paired t-test ------------------------------------------------
# The bootstrap cannot be matched draw for draw across RNGs. The Rust test checks known
# answers (identical systems: difference 0, interval [0, 0], p = 1; every patient shifted
# by delta: difference delta, interval [delta, delta], p = 2/(B+1)) and, on the data below,
# loose agreement with the paired t-test: for n = 40 roughly normal differences the
# percentile bootstrap approximates a normal test with the plug-in sd (ddof = 0), whose
# p (printed last) is ~0.012 below the t-test's (t(39) tails, ddof = 1); Monte Carlo
# error with B = 20000 is ~0.002 on p and ~2e-4 on the bounds.
BA = [0.664, 0.755, 0.807, 0.538, 0.742, 0.863, 0.614, 0.646, 0.563, 0.847, 0.809, 0.542,
      0.719, 0.855, 0.712, 0.832, 0.987, 0.813, 0.683, 0.587, 0.713, 0.729, 0.863, 0.826,
      0.704, 0.830, 0.648, 0.681, 0.657, 0.600, 0.706, 0.869, 0.761, 0.881, 0.782, 0.640,
      0.697, 0.856, 0.879, 0.734]
BB = [0.642, 0.654, 0.835, 0.582, 0.760, 0.805, 0.616, 0.569, 0.646, 0.780, 0.747, 0.603,
      0.701, 0.784, 0.698, 0.772, 0.889, 0.789, 0.687, 0.616, 0.671, 0.729, 0.862, 0.821,
      0.661, 0.873, 0.715, 0.793, 0.588, 0.587, 0.621, 0.860, 0.788, 0.847, 0.776, 0.692,
      0.731, 0.758, 0.852, 0.703]
d = np.array(BA) - np.array(BB)
nb = len(d)
t = st.ttest_rel(BA, BB)
tci = t.confidence_interval(0.95)
plug_se = d.std(ddof=0) / np.sqrt(nb)
print("\n[paired_bootstrap vs paired t-test]")
print(f"mean_a = {np.mean(BA)!r}\nmean_b = {np.mean(BB)!r}\ndifference = {d.mean()!r}")
print(f"t = {t.statistic!r}\nt_p = {t.pvalue!r}\nt_ci = ({tci.low!r}, {tci.high!r})")
print(f"# normal approximation with the bootstrap's plug-in sd (ddof=0): "
      f"p = {2 * st.norm.sf(abs(d.mean()) / plug_se)!r}")
zc = st.norm.ppf(0.975)
print(f"# plug-in normal 95% interval: ({d.mean() - zc * plug_se!r}, {d.mean() + zc * plug_se!r})")
