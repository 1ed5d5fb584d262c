"""Scoring kernels against lifetimes (and pandas for RFM), side by side.

    .venv/bin/python bench/bench_scoring.py [--sizes 10000 100000 1000000] [--repeat 3] [--no-lifetimes]

Data: customers simulated from BG/NBD + Gamma-Gamma (scoring.simulate) over a
78-week window with CDNOW's parameters (--profile cdnow, about 2 purchases per
customer) or the demo store's (--profile dense, about 10), times rounded to whole days
(as a store's data is), shuffled. The chain is the same on both sides:
summary (daily periods, time in days) -> BG/NBD fit -> Gamma-Gamma fit (repeat
customers) -> P(alive) and expected purchases in 90 days -> 12-month CLV
(30 days a month, 1% monthly discount). Figures are medians of --repeat runs
after one warm-up call (Numba compilation is reported on its own, from a cold
cache in a fresh process). Also printed: NumPy's single-pass read bandwidth,
the floor for scanning purchases. Writes bench/results/scoring.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numba
import numpy as np

import scoring
from scoring import BgNbdParams, GammaGammaParams

# Purchase processes (alpha in days): CDNOW's estimates (about 2 purchases per
# customer in the window) and the demo store's (about 10).
PROFILES = {
    "cdnow": BgNbdParams(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426),
    "dense": BgNbdParams(r=1.2, alpha=4.0 * 7, a=0.5, b=6.0),
}
SPEND = GammaGammaParams(p=6.25, q=3.74, v=15.44)
WINDOW_DAYS = 546.0


def make_data(n: int, seed: int = 1, profile: str = "cdnow"):
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.0, WINDOW_DAYS, n)
    sim = scoring.simulate(T, PROFILES[profile], SPEND, rng)
    start = WINDOW_DAYS - T  # first purchase day on the store's calendar
    day = np.floor(start[sim.customer] + sim.time)
    order = rng.permutation(day.size)
    return sim.customer[order], day[order] + 0.5, np.round(sim.amount[order], 2), n


def median_time(fn, repeat: int) -> tuple[float, object]:
    fn()  # warm-up: compiled, caches hot
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def ours_chain(customer, day, amount, n):
    layout = scoring.group_purchases(customer, day, amount, end=WINDOW_DAYS, n_customers=n)
    s = scoring.rfm_summary(layout, period=1.0, unit=1.0)
    bg = scoring.fit_bgnbd(s.frequency, s.recency, s.T)
    gg = scoring.fit_gamma_gamma(s.frequency, s.monetary)
    alive = scoring.probability_alive(bg, s.frequency, s.recency, s.T)
    expected = scoring.expected_purchases(bg, 90.0, s.frequency, s.recency, s.T)
    clv = scoring.customer_lifetime_value(bg, gg, s.frequency, s.recency, s.T, s.monetary, 12, 0.01, 1.0, 30.0)
    return bg, gg, alive, expected, clv


def lifetimes_chain(frame):
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = summary_data_from_transaction_data(frame, "id", "date", "amount",
                                               observation_period_end=pd.Timestamp("2020-01-01")
                                               + pd.Timedelta(days=WINDOW_DAYS), freq="D")
        bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
        repeat = s[s["frequency"] > 0]
        gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
        alive = bg.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
        expected = bg.conditional_expected_number_of_purchases_up_to_time(90, s["frequency"], s["recency"], s["T"])
        clv = gg.customer_lifetime_value(bg, s["frequency"], s["recency"], s["T"], s["monetary_value"], time=12,
                                         discount_rate=0.01, freq="D")
    return bg, gg, alive, expected, clv


def pandas_rfm(frame):
    """The usual pandas RFM: groupby aggregates, then quintile scores."""
    import pandas as pd

    g = frame.groupby("id").agg(last=("date", "max"), count=("date", "size"), spend=("amount", "sum"))
    days = (pd.Timestamp("2021-07-01") - g["last"]).dt.days
    r = pd.qcut(days.rank(method="first"), 5, labels=[5, 4, 3, 2, 1])
    f = pd.qcut(g["count"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    m = pd.qcut(g["spend"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    return r, f, m


def ours_rfm(customer, day, amount, n):
    layout = scoring.group_purchases(customer, day, amount, end=WINDOW_DAYS, n_customers=n)
    s = scoring.rfm_summary(layout)
    return scoring.rfm_scores(WINDOW_DAYS - s.last_purchase, s.frequency + 1, s.total_spend)


def bandwidth_gbs(repeat: int) -> float:
    data = np.ones(2**27)  # 1 GiB
    seconds, _ = median_time(data.sum, repeat)
    return data.nbytes / seconds / 1e9


def summary_throughput(n: int, repeat: int, threads: int) -> float:
    customer, day, amount, n = make_data(n, seed=3, profile="dense")
    layout = scoring.group_purchases(customer, day, amount, end=WINDOW_DAYS, n_customers=n)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        seconds, _ = median_time(lambda: scoring.rfm_summary(layout), repeat)
    finally:
        numba.set_num_threads(previous)
    return layout.n_purchases / seconds


def compile_seconds() -> float:
    """First call of the whole chain in a fresh process with an empty Numba cache."""
    code = ("import time; t=time.perf_counter(); import bench.bench_scoring as b; "
            "b.ours_chain(*b.make_data(2000)); print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent.parent)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="cdnow",
                        help="purchase process: cdnow (~2 purchases per customer, default) or dense (~10)")
    parser.add_argument("--no-lifetimes", action="store_true", help="skip the lifetimes and pandas side")
    args = parser.parse_args()
    try:
        import lifetimes  # noqa: F401
        import pandas as pd
        reference = not args.no_lifetimes
    except ImportError:
        reference = False

    results = {"profile": args.profile, "threads": numba.get_num_threads(), "compile_seconds": compile_seconds(),
               "bandwidth_gb_s": bandwidth_gbs(args.repeat), "rows": []}
    one = summary_throughput(1_000_000, args.repeat, 1)
    many = summary_throughput(1_000_000, args.repeat, numba.get_num_threads())
    results["summary_purchases_per_s"] = {"1 thread": one, f"{numba.get_num_threads()} threads": many}

    for n in args.sizes:
        customer, day, amount, n = make_data(n, profile=args.profile)
        row = {"customers": n, "purchases": int(day.size)}
        row["ours_chain_s"], (bg, gg, _, _, clv) = median_time(lambda: ours_chain(customer, day, amount, n),
                                                              args.repeat)
        row["ours_bgnbd_fit_s"], _ = median_time(lambda: scoring.fit_bgnbd(*_summary(customer, day, amount, n)),
                                                 args.repeat)
        s = scoring.rfm_summary(scoring.group_purchases(customer, day, amount, WINDOW_DAYS, n))
        row["ours_gg_fit_s"], _ = median_time(lambda: scoring.fit_gamma_gamma(s.frequency, s.monetary), args.repeat)
        row["ours_rfm_s"], _ = median_time(lambda: ours_rfm(customer, day, amount, n), args.repeat)
        if reference:
            frame = pd.DataFrame({"id": customer, "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(day, "D"),
                                  "amount": amount})
            lifetimes_repeat = 1 if n >= 1_000_000 else args.repeat
            row["lifetimes_chain_s"], theirs = median_time(lambda: lifetimes_chain(frame), lifetimes_repeat)
            row["pandas_rfm_s"], _ = median_time(lambda: pandas_rfm(frame), args.repeat)
            their_clv = theirs[4].sort_index().to_numpy()
            seen = np.unique(customer)
            row["clv_max_rel_diff"] = float(np.max(np.abs(clv[seen] - their_clv) / np.maximum(their_clv, 1e-12)))
            row["params_max_rel_diff"] = float(np.max(np.abs(
                np.array(bg.params + gg.params)
                / np.concatenate([theirs[0].params_[["r", "alpha", "a", "b"]], theirs[1].params_[["p", "q", "v"]]])
                - 1)))
        results["rows"].append(row)
        print(f"done {n:,}", file=sys.stderr)

    _print(results)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "scoring.json").write_text(json.dumps(results, indent=2))


def _summary(customer, day, amount, n):
    s = scoring.rfm_summary(scoring.group_purchases(customer, day, amount, WINDOW_DAYS, n))
    return s.frequency, s.recency, s.T


def _print(results: dict) -> None:
    print(f"\nNumba threads: {results['threads']}; first-call compile of the chain (cold cache): "
          f"{results['compile_seconds']:.1f} s")
    bandwidth = results["bandwidth_gb_s"]
    print(f"NumPy single-pass read bandwidth: {bandwidth:.1f} GB/s "
          f"(floor for 24 bytes per purchase: {24 / bandwidth:.2f} ns, {bandwidth / 24 * 1e3:,.0f} M purchases/s)")
    for label, rate in results["summary_purchases_per_s"].items():
        print(f"RFM summary kernel (10^6 customers, ~10 purchases each), {label}: {rate / 1e6:,.0f} M purchases/s "
              f"({1e9 / rate:.2f} ns per purchase)")
    print(f"\nChain on the '{results['profile']}' purchase process (times in s, median of runs; lifetimes once at 10^6)")
    header = (f"\n{'customers':>10} {'purchases':>10} | {'chain':>7} {'bgnbd':>7} {'gg':>7} {'rfm':>7} | "
              f"{'lifetimes':>9} {'ratio':>6} {'pandas rfm':>10} {'ratio':>6} | {'max rel diff (params, clv)':>26}")
    print(header)
    print("-" * len(header))
    for r in results["rows"]:
        line = (f"{r['customers']:>10,} {r['purchases']:>10,} | {r['ours_chain_s']:>6.3f}s {r['ours_bgnbd_fit_s']:>6.3f}s "
                f"{r['ours_gg_fit_s']:>6.3f}s {r['ours_rfm_s']:>6.3f}s |")
        if "lifetimes_chain_s" in r:
            line += (f" {r['lifetimes_chain_s']:>8.2f}s {r['lifetimes_chain_s'] / r['ours_chain_s']:>5.0f}x "
                     f"{r['pandas_rfm_s']:>9.3f}s {r['pandas_rfm_s'] / r['ours_rfm_s']:>5.0f}x | "
                     f"{r['params_max_rel_diff']:>12.1e} {r['clv_max_rel_diff']:>12.1e}")
        print(line)


if __name__ == "__main__":
    main()
