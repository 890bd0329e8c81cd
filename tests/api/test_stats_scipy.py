#!/usr/bin/python3
"""Every statistic behind experiment readouts (api/domain/ll_stats.c),
checked against an independent implementation: SciPy (Debian's
python3-scipy) for the normal, t, chi-square, incomplete gamma and beta
functions, and the textbook formulas (Welch, two-proportion, Holm,
Benjamini-Hochberg, sample size, power, mSPRT) written here in Python on
top of SciPy's distributions.

The C side runs through ll_statsdrv (one command per line). Data sets are
generated from a fixed seed and include the edge cases readouts meet: zero
conversions, one arm empty, unequal variances, tiny (n = 2) and huge
(n = 1e9) samples, and many variants (15 p-values, 16 arms).

Tolerance: relative 1e-9 (with an absolute floor of 1e-12 for values
near zero) everywhere, except where documented below (and in README
"Experiments"):
  - Welch p-values, t CDFs and t quantiles with df > 1e6: relative 1e-7
    (the incomplete beta's continued fraction loses digits at the
    transition x ~ a / (a + b) when a = df / 2 is huge; measured at most
    9e-8 up to df = 2e9, and below 1e-10 for df <= 1e6).
  - Welch interval ends: relative 1e-9 of the half-width (an end near 0
    is a difference of two close numbers).
  - t quantiles are compared with SciPy's refined at 40 digits by mpmath
    (SciPy's own is ~1e-9 off in the far tail at df = 1).
  - p-values below 1e-250: relative 1e-6 (exp underflow region).
Run: ll_statsdrv path as argv[1]. Exit status 0 when every check passes;
prints a summary line "scipy comparison: N checks, max rel err E".
"""
import math
import random
import subprocess
import sys

import mpmath
import numpy as np
from scipy import special, stats

mpmath.mp.dps = 40


def t_ppf(p, df):
    """SciPy's t quantile, refined by Newton steps on mpmath's regularized
    incomplete beta at 40 digits: scipy.stats.t.ppf itself is off by ~1e-9
    relative in the far tail at df = 1 (where the exact answer is
    cot(pi (1 - p))), which is not the precision this test asks for."""
    t = mpmath.mpf(float(stats.t.ppf(p, df)))
    nu = mpmath.mpf(df)
    for _ in range(3):
        x = nu / (nu + t * t)
        tail = mpmath.betainc(nu / 2, mpmath.mpf(1) / 2, 0, x, regularized=True)
        cdf = 1 - tail / 2 if t > 0 else tail / 2
        pdf = mpmath.gamma((nu + 1) / 2) / (mpmath.sqrt(nu * mpmath.pi) * mpmath.gamma(nu / 2)) * \
            (1 + t * t / nu) ** (-(nu + 1) / 2)
        t = t - (cdf - mpmath.mpf(p)) / pdf
    return float(t)

DRV = sys.argv[1]
checks = 0
worst = 0.0
failures = []


def run(lines):
    p = subprocess.run([DRV], input="\n".join(lines) + "\n", capture_output=True, text=True,
                       check=True)
    return p.stdout.splitlines()


def near(what, got, ref, rel=1e-9, absf=1e-12):
    global checks, worst
    checks += 1
    if isinstance(ref, float) and math.isnan(ref):
        if not math.isnan(got):
            failures.append(f"{what}: got {got!r}, expected nan")
        return
    err = abs(got - ref)
    tol = rel * max(abs(ref), abs(got)) + absf
    if abs(ref) > absf:
        worst = max(worst, err / abs(ref))
    if not err <= tol:
        failures.append(f"{what}: got {got!r}, expected {ref!r} (rel err {err / max(abs(ref), 1e-300):.3g})")


rng = random.Random(20261130)
cases = []  # (line, checker)


def case(line, fn):
    cases.append((line, fn))


# ---- distributions ----
for z in [-38.0, -20.0, -8.5, -3.0, -1.0, -1e-8, 0.0, 0.3, 1.959963984540054, 5.0, 8.0]:
    case(f"norm_cdf {z!r}", lambda o, z=z: near(f"norm_cdf {z}", float(o[0]), float(stats.norm.cdf(z))))
for p in [1e-300, 1e-100, 1e-20, 1e-9, 0.001, 0.025, 0.2, 0.5 - 1e-9, 0.5, 0.7, 0.8, 0.975, 0.999,
          1 - 1e-12]:
    ref = float(stats.norm.ppf(p))
    case(f"norm_q {p!r}", lambda o, p=p, ref=ref: near(f"norm_q {p}", float(o[0]), ref, 1e-9, 1e-12))
for df in [1, 2, 3, 7.5, 30, 1000, 1e5, 1e7]:
    for t in [-50.0, -4.0, -1.0, 0.0, 0.5, 2.0, 12.0]:
        rel = 1e-7 if df > 1e6 else 1e-9
        case(f"t_cdf {t!r} {df!r}",
             lambda o, t=t, df=df, rel=rel: near(f"t_cdf {t} {df}", float(o[0]), float(stats.t.cdf(t, df)), rel))
    for p in [0.6, 0.975, 0.9995]:
        case(f"t_q {p!r} {df!r}",
             lambda o, p=p, df=df: near(f"t_q {p} {df}", float(o[0]), t_ppf(p, df),
                                        1e-7 if df > 1e6 else 1e-9, 1e-12))
for df in [1, 2, 3, 5, 15, 40, 200]:
    for x in [0.0, 1e-6, 0.5, 1.0, 3.84, 10.0, 33.3, 100.0, 500.0]:
        ref = float(stats.chi2.sf(x, df))
        rel = 1e-6 if 0 < ref < 1e-250 else 1e-9
        case(f"chi2_sf {x!r} {df!r}",
             lambda o, x=x, df=df, ref=ref, rel=rel: near(f"chi2_sf {x} {df}", float(o[0]), ref, rel, 1e-300))
for a in [0.5, 1.0, 2.5, 10.0, 100.0]:
    for x in [0.01, 1.0, 3.0, 11.0, 150.0]:
        case(f"gamma_q {a!r} {x!r}",
             lambda o, a=a, x=x: near(f"gamma_q {a} {x}", float(o[0]), float(special.gammaincc(a, x)), 1e-9, 1e-300))
for a, b, x in [(0.5, 0.5, 0.2), (2, 3, 0.5), (5, 2.5, 0.9), (50, 0.5, 0.99), (0.5, 400, 0.001)]:
    case(f"incbeta {a} {b} {x}",
         lambda o, a=a, b=b, x=x: near(f"incbeta {a} {b} {x}", float(o[0]), float(special.betainc(a, b, x))))


# ---- two-proportion z-test ----
def prop_ref(n1, p1, n2, p2):
    pool = (p1 * n1 + p2 * n2) / (n1 + n2)
    se0 = math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = p2 - p1
    z = d / se0
    p = 2 * stats.norm.sf(abs(z))
    q = stats.norm.ppf(0.975)
    return [d, se, z, p, d - q * se, d + q * se]


prop_cases = [(30100, 0.0112, 29900, 0.0141),  # the demo
              (1000, 0.0, 1000, 0.01),         # zero conversions in the control
              (1000, 0.05, 1000, 0.0),         # zero conversions in the variant
              (2, 0.5, 3, 1 / 3),              # tiny
              (10**9, 0.1, 10**9, 0.10001),    # huge
              (50, 0.1, 5000, 0.3)]            # very unequal arms
for _ in range(40):
    n1, n2 = rng.randint(20, 200000), rng.randint(20, 200000)
    p1 = rng.randint(0, n1) / n1
    p2 = rng.randint(0, n2) / n2
    prop_cases.append((n1, p1, n2, p2))
for n1, p1, n2, p2 in prop_cases:
    def chk(o, n1=n1, p1=p1, n2=n2, p2=p2):
        pool = (p1 * n1 + p2 * n2) / (n1 + n2)
        if pool in (0.0, 1.0):
            near(f"prop refuses no-variance {n1} {p1} {n2} {p2}", float(o[0] == "ERR"), 1.0)
            return
        ref = prop_ref(n1, p1, n2, p2)
        for name, g, r in zip(["diff", "se", "z", "p", "ci_low", "ci_high"], o, ref):
            near(f"prop {name} ({n1} {p1} {n2} {p2})", float(g), r, 1e-9, 1e-12)
    case(f"prop {n1} {p1!r} {n2} {p2!r}", chk)
# one arm empty: refused (the readout then says "no observations of this arm")
case("prop 0 0.1 1000 0.2", lambda o: near("prop refuses an empty arm", float(o[0] == "ERR"), 1.0))


# ---- Welch ----
def welch_ref(m1, s1, n1, m2, s2, n2):
    v1, v2 = s1 * s1 / n1, s2 * s2 / n2
    se = math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    d = m2 - m1
    t = d / se
    p = 2 * stats.t.sf(abs(t), df)
    q = t_ppf(0.975, df)
    return [d, se, t, df, p, d - q * se, d + q * se], df


welch_cases = [(10.0, 1.0, 2, 11.0, 1.0, 2),        # tiny
               (50.0, 5.0, 30, 52.0, 25.0, 40),      # unequal variances
               (50.0, 1e-3, 100, 50.0001, 10.0, 100),  # wildly unequal
               (3.2, 1.1, 10**9, 3.2001, 1.1, 10**9)]  # huge
for _ in range(40):
    welch_cases.append((rng.uniform(-100, 100), rng.uniform(0.1, 50), rng.randint(2, 100000),
                        rng.uniform(-100, 100), rng.uniform(0.1, 50), rng.randint(2, 100000)))
for w in welch_cases:
    def chk(o, w=w):
        ref, df = welch_ref(*w)
        rel = 1e-7 if df > 1e6 else 1e-9
        for name, g, r in zip(["diff", "se", "t", "df", "p", "ci_low", "ci_high"], o, ref):
            rr = rel if name in ("p",) else (1e-9 if name not in ("ci_low", "ci_high") else 1e-9)
            if name in ("ci_low", "ci_high"):
                # relative to the half-width q x se (an end near 0 cancels)
                near(f"welch {name} {w}", float(g), r, rel, rel * 2 * ref[1])
            elif name == "p" and r < 1e-250:
                near(f"welch p {w}", float(g), r, 1e-6, 1e-300)
            else:
                near(f"welch {name} {w}", float(g), r, rr, 1e-12)
    case("welch " + " ".join(repr(float(x)) for x in w), chk)
case("welch 1 1 1 2 1 5", lambda o: near("welch refuses n < 2", float(o[0] == "ERR"), 1.0))

# ---- one-sided shifted tests (guardrails, non-inferiority) ----
for n1, p1, n2, p2, shift in [(337, 0.04, 422, 0.039, 0.004), (5000, 0.05, 5000, 0.06, 0.002),
                              (5000, 0.05, 5000, 0.06, -0.01)]:
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    ref = float(stats.norm.sf((p2 - p1 - shift) / se))
    case(f"os_prop {n1} {p1} {n2} {p2} {shift}",
         lambda o, ref=ref, w=(n1, p1, n2, p2, shift): near(f"os_prop {w}", float(o[0]), ref))
for w in [(50.0, 5.0, 30, 52.0, 25.0, 40, 1.0), (50.0, 5.0, 30, 52.0, 25.0, 40, -3.0),
          (10.0, 2.0, 200, 9.0, 2.5, 300, 0.0)]:
    ref_all, df = welch_ref(*w[:6])
    ref = float(stats.t.sf((ref_all[0] - w[6]) / ref_all[1], df))
    case("os_welch " + " ".join(repr(float(x)) for x in w),
         lambda o, ref=ref, w=w: near(f"os_welch {w}", float(o[0]), ref))


# ---- SRM (Pearson chi-square against the planned allocation) ----
def srm_case(counts, shares):
    obs = np.array(counts, dtype=float)
    exp = obs.sum() * np.array(shares, dtype=float) / sum(shares)
    chi2, p = stats.chisquare(obs, exp)
    line = f"srm {len(counts)} " + " ".join(str(c) for c in counts) + " " + " ".join(repr(float(s)) for s in shares)
    case(line, lambda o, chi2=float(chi2), p=float(p), line=line: (
        near(f"{line} chi2", float(o[0]), chi2), near(f"{line} p", float(o[1]), p, 1e-9, 1e-300)))


srm_case([30100, 29900], [50, 50])
srm_case([5000, 5400], [50, 50])
srm_case([0, 1000], [50, 50])                 # one arm empty: a gross mismatch
srm_case([100, 200, 300], [1, 2, 3])
srm_case([10**9, 10**9 + 50000], [50, 50])    # huge
srm_case([3, 1], [50, 50])                    # tiny
for _ in range(10):
    k = rng.randint(2, 16)                    # many variants
    shares = [rng.uniform(1, 30) for _ in range(k)]
    counts = [rng.randint(0, 100000) for _ in range(k)]
    srm_case(counts, shares)
case("srm 2 100 100 50 0", lambda o: near("srm refuses a zero share", float(o[0] == "ERR"), 1.0))


# ---- Holm and Benjamini-Hochberg, written out here (statsmodels' definitions) ----
def holm(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    adj = [0.0] * m
    run = 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (m - rank) * p[i]))
        adj[i] = run
    return adj


def bh(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    adj = [0.0] * m
    run = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        run = min(run, m * p[i] / (rank + 1))
        adj[i] = run
    return adj


ps_sets = [[0.01, 0.04, 0.03, 0.005], [0.5], [0.001] * 5, [1e-12, 0.2, 0.2, 0.9, 0.049]]
for _ in range(10):
    ps_sets.append([rng.random() ** 3 for _ in range(rng.randint(2, 15))])
for ps in ps_sets:
    for name, fn in (("holm", holm), ("bh", bh)):
        line = f"{name} {len(ps)} " + " ".join(repr(p) for p in ps)
        case(line, lambda o, ref=fn(ps), line=line: [near(f"{line} [{i}]", float(g), r)
                                                     for i, (g, r) in enumerate(zip(o, ref))])


# ---- sample size and power ----
def ss_rate(p1, mde, a, pw):
    p2 = p1 * (1 + mde)
    pb = (p1 + p2) / 2
    za, zb = stats.norm.ppf(1 - a / 2), stats.norm.ppf(pw)
    t = za * math.sqrt(2 * pb * (1 - pb)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return max(2, math.ceil(t * t / (p2 - p1) ** 2))


def ss_mean(m, sd, mde, a, pw):
    za, zb = stats.norm.ppf(1 - a / 2), stats.norm.ppf(pw)
    t = (za + zb) * sd / (m * mde)
    return max(2, math.ceil(2 * t * t))


for args in [(0.0112, 0.25, 0.05, 0.8), (0.1, 0.05, 0.05, 0.8), (0.5, 0.01, 0.01, 0.9),
             (0.02, 0.1, 0.1, 0.95), (0.9, 0.1, 0.05, 0.8)]:
    ref = ss_rate(*args)
    case("ss_rate " + " ".join(repr(x) for x in args),
         lambda o, ref=ref, args=args: near(f"ss_rate {args}", float(o[0]), float(ref), 0, 0))
case("ss_rate 0.95 0.1 0.05 0.8", lambda o: near("ss_rate refuses p2 >= 1", float(o[0] == "ERR"), 1.0))
for args in [(100.0, 20.0, 0.05, 0.05, 0.8), (3.5, 7.0, 0.02, 0.01, 0.9), (-50.0, 5.0, 0.1, 0.05, 0.8)]:
    ref = ss_mean(*args)
    case("ss_mean " + " ".join(repr(x) for x in args),
         lambda o, ref=ref, args=args: near(f"ss_mean {args}", float(o[0]), float(ref), 0, 0))
for d, se, a in [(0.0028, 0.00091, 0.05), (1.0, 0.5, 0.01), (0.0, 1.0, 0.05), (-3.0, 1.0, 0.05)]:
    z = stats.norm.ppf(1 - a / 2)
    ref = float(stats.norm.cdf(abs(d) / se - z) + stats.norm.cdf(-abs(d) / se - z))
    case(f"power {d!r} {se!r} {a!r}", lambda o, ref=ref, w=(d, se, a): near(f"power {w}", float(o[0]), ref))

# ---- mSPRT (normal mixture), closed forms ----
for d, v, t2 in [(0.0029, 8.3e-7, 7.84e-6), (0.0, 1.0, 0.5), (2.0, 0.1, 4.0), (-1e-3, 1e-8, 1e-6)]:
    ref = 0.5 * math.log(v / (v + t2)) + t2 * d * d / (2 * v * (v + t2))
    case(f"msprt {d!r} {v!r} {t2!r}", lambda o, ref=ref, w=(d, v, t2): near(f"msprt {w}", float(o[0]), ref, 1e-9, 1e-12))
    w = math.sqrt(v * (v + t2) / t2 * (2 * math.log(1 / 0.05) + math.log((v + t2) / v)))
    case(f"msprt_ci {d!r} {v!r} {t2!r} 0.05",
         lambda o, lo=d - w, hi=d + w, w_=(d, v, t2): (near(f"msprt_ci lo {w_}", float(o[0]), lo),
                                                      near(f"msprt_ci hi {w_}", float(o[1]), hi)))

outs = run([c[0] for c in cases])
if len(outs) != len(cases):
    print(f"driver answered {len(outs)} lines for {len(cases)} commands", file=sys.stderr)
    sys.exit(1)
for (line, fn), o in zip(cases, outs):
    try:
        fn(o.split())
    except (ValueError, IndexError) as e:
        failures.append(f"{line}: unparsable answer {o!r} ({e})")

print(f"scipy comparison: {checks} checks over {len(cases)} commands, max rel err {worst:.3g}, "
      f"{len(failures)} failures (scipy {__import__('scipy').__version__})")
for f in failures[:40]:
    print("FAIL", f)
sys.exit(1 if failures else 0)
