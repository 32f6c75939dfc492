"""The innovation curve's GNB/NB2 null draws as the recentred province (pairs) bootstrap, by
batched warm-started Newton (`regrowth.models.gnb_draws.fit_weighted`): cost of 999 draws per
model, the cost and accuracy of capping the Newton steps, and converged draws against full
refits, in one run.

Not a test, and not wired into the curve. Run from the project root after `make panel`:

    .venv/bin/python benchmarks/bench_count_null_newton.py [--workers 2] [--draws 999]
        [--capped-every 8] [--pairs 120] [--every 1]

For every GNB and NB2 model of the innovation curve (its inference of record, province
clusters; ``--every k`` takes every k-th model) on `processes` x ``--workers``:

* the model's fit (the curve's own; timed, not part of the null's cost);
* the province draws of the growth curve's null (`curve.null.null_counts`: the curve seed,
  province counts c_dg over all provinces, one matrix shared by every specification), as
  frequency weights on the model's rows (a province outside the model's sample is dropped, so
  a draw has sum_g c_dg clusters of the model's provinces);
* `fit_weighted(model, theta_hat, W)` from the model's estimate (converged / boundary / refit
  statuses) and each draw's recentred estimate b*_j - b^_j with its cluster-robust Wald t
  (sandwich H*^-1 (sum_g c_dg S*_g S*_g') H*^-1 at theta*, each copy of a province a
  cluster, factor G*/(G*-1), G* = sum_g c_dg);
* on every ``--capped-every``-th model, the same with ``maxiter`` = 2, 3, 4 (the iterate
  after that many steps, whatever its status), compared with the converged draws by
  `count_null.agreement` (pairs: 10 random converged draws per model);
* on ``--pairs`` random (model, draw) pairs, the full refit of the stacked rows
  (GeneralizedNegativeBinomial.fit), cold (its default start, as a refit of the bootstrap
  sample would start) and warm (from theta_hat, as the batch starts).

``--curve-check`` adds, on the same models, the score null curve of
`regrowth.curve.count_null` (each model's restricted fit, ``score_parts``, and its 999 one-step
draws, ``score_draws``, with the curve's Webb weights drawn once for all models,
``null_weights`` with seed (curve seed, "null|score")), and compares the two null curves built
from the same observed curve (these models' estimates and province-clustered p-values of
record): for each focal role the Monte Carlo p-values of the median estimate and of the share
of p < 0.05, pairs bootstrap (converged refits) against score bootstrap, by the rule
`count_null.CURVE_AGREEMENT`, fixed before the first run: |p_score - p_pairs| <= max(0.02,
2 x the Monte Carlo SE of the difference) and the same side of 0.05 and of 0.10, for both
statistics. Poisson models are not in the check (no batched refits: a warm Newton refit per
draw, about 5 ms x 999 draws x 160 models, would take longer than the whole GNB/NB2 check).
Use ``--every 4 --capped-every 0 --pairs 0`` for the check alone.

Prints the times (CPU seconds, the workers' process time on one BLAS thread, summed over
models, per model, per worker; and the run's wall time), the statuses, the
agreement of capped with converged draws, max |batch - refit| of the focal coefficient, and
the load average. Writes benchmarks/results/bench_count_null_newton.json. Poisson models
(640 of the 1,760) have no batched weighted fitter and are not measured.

``--profile N`` instead profiles `fit_weighted` (999 draws, warm start) on N GNB/NB2 models
(a seeded random choice) in one process: milliseconds per call on all draws (derivatives,
eigen-decompositions, rank checks) and the whole fit, each against the code it replaced
(full (n, B) arrays with row-by-row lnG/psi/psi1 sums, the einsum rank check) in the same
run, with the results compared byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from regrowth import curve  # noqa: E402
from regrowth import panel as panel_mod  # noqa: E402
from regrowth.curve import count_null as cn  # noqa: E402
from regrowth.curve.enumeration import spec_seed  # noqa: E402
from regrowth.curve.fitting import _fit_one, _term_row, batches  # noqa: E402
from regrowth.curve.null import _mc_p, _with_sample, null_counts  # noqa: E402
from regrowth.models.gnb_draws import STATUS, _arrays, fit_weighted, weighted_derivs  # noqa: E402
from regrowth.threads import one_blas_thread  # noqa: E402

CAPS = (2, 3, 4)


def recentred_t(model, P, W, Wg, inv, js, b0):
    """Recentred estimates P[:, js] - b0 and their cluster-robust Wald t at each row of P:
    (B, len(js)) each. ``Wg`` (B, G) province counts, ``inv`` (n,) each row's province."""
    X, Z, off, y = _arrays(model)
    kx = X.shape[1]
    _, _, H = weighted_derivs(model, P, W, 2)
    with np.errstate(all="ignore"):
        eta = X @ P[:, :kx].T + off[:, None]
        t = Z @ P[:, kx:].T
        mu, r, amu = np.exp(eta), np.exp(-t), np.exp(eta + t)
        _, dpsi, _ = model._gamma(r, 1)
        s_eta = (y[:, None] - mu) / (1.0 + amu)
        s_t = r * (np.log1p(amu) - dpsi) + s_eta
    S = np.concatenate([X[:, None, :] * s_eta[:, :, None], Z[:, None, :] * s_t[:, :, None]],
                       axis=2)                                   # (n, B, k) row scores
    Sg = np.zeros((Wg.shape[1],) + S.shape[1:])
    np.add.at(Sg, inv, S)                                        # (G, B, k) province scores
    M = np.einsum("bg,gbi,gbj->bij", Wg, Sg, Sg)
    Gs = Wg.sum(axis=1)
    bad = ~np.all(np.isfinite(H), axis=(1, 2))
    H[bad] = -np.eye(H.shape[1])
    with np.errstate(all="ignore"):
        Hi = np.linalg.pinv(H)
        V = np.einsum("bij,bjk,bkl->bil", Hi, M, Hi) * (Gs / (Gs - 1.0))[:, None, None]
        se = np.sqrt(V[:, js, js])
    se[bad] = np.nan
    est = P[:, js] - b0
    return est, est / se


def _refit(model, W_row, start):
    """Full refit of the stacked rows (row i taken W_row[i] times)."""
    X, Z, off, y = _arrays(model)
    rows = np.repeat(np.arange(y.size), W_row.astype(int))
    m = type(model)(y[rows], X[rows], Z[rows], offset=off[rows])
    r = m.fit(start_params=start)
    return np.asarray(r.params, dtype=float), bool(r.converged), bool(
        r.mle_retvals.get("boundary", False))


def _task(data, counts, regions, plan: dict, specs: list) -> list[dict]:
    col = {r: i for i, r in enumerate(regions)}
    out = []
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        for s in specs:
            row = {"model": s.model_id, "estimator": s.estimator, "ok": False}
            try:
                keys = data.index.get_level_values("region")
                t0 = time.process_time()
                fitted, clusters = _fit_one(_with_sample(s),
                                            data[~keys.isin(s.sample["exclude"])])
                row["t_fit"] = time.process_time() - t0
                res = fitted.result
                model = res.model
                names = list(res.params.index)
                terms = [t for _, t in s.focal_terms]
                js = [names.index(t) for t in terms]
                p0 = np.asarray(res.params, dtype=float)
                obs = [_term_row(fitted, t) for t in terms]
                row["obs_est"] = [o["estimate"] for o in obs]
                row["obs_p"] = [float(2 * stats.norm.sf(abs(o["estimate"] / o["std_error"])))
                                for o in obs]
                row["obs_p_record"] = [o["p_value"] for o in obs]   # the curve's cluster p
                if plan.get("score") is not None:
                    Ws, slabels = plan["score"]
                    scol = {lab: i for i, lab in enumerate(slabels)}
                    t0 = time.process_time()
                    se_, sp_, st_ = [], [], []
                    for t in terms:
                        parts = cn.score_parts(res, t, clusters)
                        e_, p_ = cn.score_draws(parts, Ws[:, [scol[lab] for lab in parts.labels]],
                                                "cluster")
                        st_.append([float(parts.a.sum()), float(parts.stat)])
                        se_.append(e_.tolist())
                        sp_.append(p_.tolist())
                    row["t_score"] = time.process_time() - t0
                    row["score_est"], row["score_p"], row["score_obs"] = se_, sp_, st_
                labs, inv = np.unique(np.asarray(clusters).astype(str), return_inverse=True)
                Wg = counts[:, [col[lab] for lab in labs]].astype(float)
                W = Wg[:, inv]
                t0 = time.process_time()
                P, st, it = fit_weighted(model, p0, W)
                row["t_newton"] = time.process_time() - t0
                t0 = time.process_time()
                est, tt = recentred_t(model, P, W, Wg, inv, js, p0[js])
                row["t_se"] = time.process_time() - t0
                row["status"] = np.bincount(st, minlength=len(STATUS)).tolist()
                row["iters"] = [float(it.mean()), int(it.max())]
                usable = st < 2
                row["null_est"] = np.where(usable[:, None], est, np.nan).T.tolist()
                row["null_p"] = np.where(usable[:, None], 2 * stats.norm.sf(np.abs(tt)),
                                         np.nan).T.tolist()
                if s.model_id in plan["capped"]:
                    rng = np.random.default_rng(plan["capped"][s.model_id])
                    conv = np.flatnonzero((st == 0) & np.all(np.isfinite(tt), axis=1))
                    pick = rng.choice(conv, min(10, conv.size), replace=False)
                    row["capped"] = {}
                    for cap in CAPS:
                        t0 = time.process_time()
                        Pc, _, _ = fit_weighted(model, p0, W, maxiter=cap)
                        ec, tc = recentred_t(model, Pc, W, Wg, inv, js, p0[js])
                        sd = float(np.nanstd(ec[:, 0]))
                        row["capped"][cap] = {
                            "seconds": time.process_time() - t0,
                            "pairs": [{"onestep": float(ec[d, 0]), "refit": float(est[d, 0]),
                                       "p_onestep": float(2 * stats.norm.sf(abs(tc[d, 0]))),
                                       "p_refit": float(2 * stats.norm.sf(abs(tt[d, 0]))),
                                       "sd": sd} for d in pick]}
                if s.model_id in plan["pairs"]:
                    d = plan["pairs"][s.model_id]
                    j = js[0]
                    t0 = time.process_time()
                    cold = _refit(model, W[d], None)
                    row["t_refit"] = time.process_time() - t0
                    warm = _refit(model, W[d], p0)
                    row["pair"] = {"draw": d, "status": STATUS[st[d]], "batch": float(P[d, j]),
                                   "cold": cold[0][j], "cold_converged": cold[1],
                                   "cold_boundary": cold[2], "warm": warm[0][j],
                                   "warm_converged": warm[1], "warm_boundary": warm[2],
                                   "max_abs_warm": float(np.max(np.abs(warm[0] - P[d])))}
                row["ok"] = True
            except Exception as exc:  # noqa: BLE001 - counted and printed
                row["error"] = f"{type(exc).__name__}: {exc}"[:200]
            out.append(row)
    return out


def _timed(fn, repeats=3):
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def _reference_derivs(model, P, W, order=2):
    """weighted_derivs as on main before the drawn-cells and grouped sums: the full (n, B)
    arrays, lnG/psi/psi1 differences row by row."""
    from regrowth.models import gnb_draws

    X, Z, off, y = _arrays(model)
    kx = X.shape[1]
    return gnb_draws._derivs_full(model, X, Z, y, P, np.ascontiguousarray(W.T),
                                  X @ P[:, :kx].T + off[:, None], Z @ P[:, kx:].T, order)


def _reference_rank(mat, W):
    """_full_rank as on main before: the Gram matrices by a three-operand einsum."""
    from regrowth.models.gnb_draws import GRAM_TOL

    gram = np.einsum("ni,nj,bn->bij", mat, mat, W)
    scale = np.sqrt(np.einsum("bii->bi", gram))
    ok = np.all(scale > 0, axis=1)
    scale[~ok] = 1.0
    w = np.linalg.eigvalsh(gram / scale[:, :, None] / scale[:, None, :])
    k = mat.shape[1]
    return ok & (w[:, 0] > GRAM_TOL * k * w[:, -1]) if k > 1 else ok


def profile(ms, data, counts, regions, n_models: int) -> None:
    """``--profile``: see the module docstring."""
    from regrowth.models import gnb_draws

    col = {r: i for i, r in enumerate(regions)}
    keys = data.index.get_level_values("region")
    print(f"{'model':52s} {'n':>4s} {'k':>3s} {'U':>3s} {'steps':>5s} {'derivs':>7s} "
          f"{'(ref)':>6s} {'eigh':>5s} {'rank':>5s} {'(ref)':>5s} {'fit':>6s} {'(ref)':>6s} "
          f"same")
    tot = np.zeros(2)
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        pick = np.random.default_rng(20261205).choice(len(ms), n_models, replace=False)
        for s in [ms[i] for i in sorted(pick)]:
            fitted, clusters = _fit_one(_with_sample(s), data[~keys.isin(s.sample["exclude"])])
            model = fitted.result.model
            p0 = np.asarray(fitted.result.params, dtype=float)
            labs, inv = np.unique(np.asarray(clusters).astype(str), return_inverse=True)
            W = counts[:, [col[lab] for lab in labs]].astype(float)[:, inv]
            P = np.tile(p0, (W.shape[0], 1))
            X, Z, _, _ = _arrays(model)
            t_d, (_, _, H) = _timed(lambda: weighted_derivs(model, P, W, 2))
            t_dr, _ = _timed(lambda: _reference_derivs(model, P, W, 2))
            t_e, _ = _timed(lambda: np.linalg.eigh(-H))
            t_r, _ = _timed(lambda: gnb_draws._full_rank(X, W))
            t_rr, _ = _timed(lambda: _reference_rank(X, W))
            t_fit, a = _timed(lambda: fit_weighted(model, p0, W), 1)
            saved = gnb_draws.weighted_derivs, gnb_draws._full_rank
            gnb_draws.weighted_derivs, gnb_draws._full_rank = _reference_derivs, _reference_rank
            try:
                t_ref, b = _timed(lambda: fit_weighted(model, p0, W), 1)
            finally:
                gnb_draws.weighted_derivs, gnb_draws._full_rank = saved
            tot += (t_fit, t_ref)
            same = all(x.tobytes() == y.tobytes() for x, y in zip(a, b))
            U = len(np.unique(Z, axis=0))
            print(f"{s.model_id[:52]:52s} {X.shape[0]:4d} {p0.size:3d} {U:3d} "
                  f"{a[2].mean():5.2f} {1e3 * t_d:7.1f} {1e3 * t_dr:6.1f} {1e3 * t_e:5.1f} "
                  f"{1e3 * t_r:5.1f} {1e3 * t_rr:5.1f} {t_fit:6.3f} {t_ref:6.3f} {same}")
    print(f"fit_weighted, all profiled models: {tot[0]:.2f} s, the reference {tot[1]:.2f} s "
          f"(ratio {tot[1] / tot[0]:.2f}); load average {os.getloadavg()[0]:.2f}")
    print("ms per call on all draws at the estimate: derivs = weighted_derivs(order 2), eigh = "
          "the scaled Hessians' eigen-decompositions, rank = one design's rank check; fit = "
          "fit_weighted to convergence (s); (ref) = main's code before this change, same run; "
          "U = distinct dispersion rows; steps = mean Newton steps per draw")


def _null_ps(est, pv, obs_med, obs_sig):
    """Monte Carlo p-values (median, share p < 0.05) of a null curve: ``est``/``pv``
    (models, draws) with NaN for unusable draws; and the draws' mean null share."""
    meds = np.nanmedian(est, axis=0)
    sig = np.nanmean(pv < 0.05, axis=0)
    ok_m, ok_s = np.isfinite(meds), np.isfinite(sig)
    return (_mc_p(np.abs(meds[ok_m]) >= abs(obs_med)), _mc_p(sig[ok_s] >= obs_sig),
            int(ok_m.sum()), int(ok_s.sum()), float(np.mean(sig[ok_s])), float(np.median(meds)))


def curve_check(ok: list[dict], c, draws: int, cpu: dict) -> dict:
    """``--curve-check``: the score null curve against the pairs bootstrap on the same
    models, by `count_null.CURVE_AGREEMENT` (module docstring); printed and returned."""
    out = {"rule": {**cn.CURVE_AGREEMENT, "levels": list(cn.CURVE_AGREEMENT["levels"])},
           "models": len(ok), "roles": {}}
    print(f"  curve-level check on {len(ok)} GNB/NB2 models (rule count_null.CURVE_AGREEMENT "
          f"{cn.CURVE_AGREEMENT}); score parts + draws {cpu['t_score']:.1f} CPU s "
          f"({1e3 * cpu['t_score'] / max(1, len(ok)):.0f} ms per model)")
    passed = True
    for k, role in enumerate(c.focal):
        obs_e = np.array([r["obs_est"][k] for r in ok], dtype=float)
        obs_p = np.array([r["obs_p_record"][k] for r in ok], dtype=float)
        obs_med, obs_sig = float(np.median(obs_e)), float(np.mean(obs_p < 0.05))
        pair = _null_ps(np.array([r["null_est"][k] for r in ok], dtype=float),
                        np.array([r["null_p"][k] for r in ok], dtype=float), obs_med, obs_sig)
        score = _null_ps(np.array([r["score_est"][k] for r in ok], dtype=float),
                         np.array([r["score_p"][k] for r in ok], dtype=float), obs_med, obs_sig)
        row = {"observed_median": obs_med, "observed_share_p05": obs_sig}
        for i, stat in enumerate(("median", "share_p05")):
            a = cn.curve_agreement(score[i], pair[i], score[2 + i], pair[2 + i])
            row[stat] = {"p_score": score[i], "p_pairs": pair[i], "draws_score": score[2 + i],
                         "draws_pairs": pair[2 + i], **a}
            passed &= a["passes"]
            print(f"    {role} {stat}: p score {score[i]:.3f} ({score[2 + i]} draws), pairs "
                  f"{pair[i]:.3f} ({pair[2 + i]} draws); |diff| {a['diff']:.3f} (allowed "
                  f"{a['tol']:.3f}), same side of 0.05 / 0.10: {a['same_side']}; "
                  f"passes {a['passes']}")
        row["null_mean_share_p05"] = {"score": score[4], "pairs": pair[4]}
        print(f"    {role}: observed median {obs_med:.4g}, share p<0.05 {obs_sig:.3f}; null "
              f"mean share p<0.05 score {score[4]:.3f}, pairs {pair[4]:.3f}")
        # informative, not the rule: the score null against the observed curve measured by
        # the same function of the data as its draws (the one-step estimate and t at w = 1,
        # boottest's statistic, normal p), as boottest compares t with its t*
        o1 = np.array([r["score_obs"][k] for r in ok], dtype=float)
        med1 = float(np.median(o1[:, 0]))
        sig1 = float(np.mean(2 * stats.norm.sf(np.abs(o1[:, 1])) < 0.05))
        same = _null_ps(np.array([r["score_est"][k] for r in ok], dtype=float),
                        np.array([r["score_p"][k] for r in ok], dtype=float), med1, sig1)
        row["score_same_statistic"] = {"observed_median_onestep": med1,
                                       "observed_share_p05_onestep": sig1,
                                       "p_median": same[0], "p_share_p05": same[1]}
        print(f"    informative: observed one-step median {med1:.4g}, share p<0.05 by the "
              f"one-step t {sig1:.3f}; score null p {same[0]:.3f} (median), {same[1]:.3f} "
              f"(share)")
        out["roles"][role] = row
    # the draw-level spread of the two null distributions, per model (informative)
    sd_s = np.array([np.nanstd(r["score_est"][0]) for r in ok])
    sd_p = np.array([np.nanstd(r["null_est"][0]) for r in ok])
    ratio = sd_s / sd_p
    out["sd_ratio_score_over_pairs"] = [float(np.nanmedian(ratio)),
                                        float(np.nanquantile(ratio, 0.1)),
                                        float(np.nanquantile(ratio, 0.9))]
    print(f"    per model null sd of the estimate, score / pairs: median "
          f"{out['sd_ratio_score_over_pairs'][0]:.3f} (10-90%: "
          f"{out['sd_ratio_score_over_pairs'][1]:.3f}-{out['sd_ratio_score_over_pairs'][2]:.3f})")
    out["passes"] = bool(passed)
    print(f"  curve-level check passes: {passed}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--draws", type=int, default=999)
    ap.add_argument("--capped-every", type=int, default=8)
    ap.add_argument("--pairs", type=int, default=120)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--profile", type=int, default=0, metavar="N")
    ap.add_argument("--curve-check", action="store_true",
                    help="the score null curve against the pairs bootstrap (module docstring)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"
                                         / "bench_count_null_newton.json"))
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    panel = panel_mod.load(ROOT / "data" / "processed")
    c = next(x for x in curve.load(ROOT / "specs" / "models.toml", list(panel.columns))
             if x.id == "innovation")
    data = curve.prepare_panel(panel, [c])
    specs, _ = curve.enumerate_specs(c)
    ms = [s for s in specs if s.inference == "cluster" and s.estimator in ("gnb", "nb2")]
    ms = ms[::args.every]
    regions = sorted({str(r) for r in data.index.get_level_values("region")})
    counts = null_counts(c, regions, args.draws)
    if args.profile:
        profile(ms, data, counts, regions, args.profile)
        return 0
    rng = np.random.default_rng(spec_seed(c.seed, "null|newton-check"))
    plan = {"capped": ({ms[i].model_id: int(rng.integers(2**31))
                        for i in range(0, len(ms), args.capped_every)}
                       if args.capped_every > 0 else {}),
            "pairs": {ms[i].model_id: int(rng.integers(args.draws))
                      for i in sorted(rng.choice(len(ms), min(args.pairs, len(ms)),
                                                 replace=False))}}
    if args.curve_check:
        plan["score"] = (cn.null_weights(c.weights, regions, args.draws,
                                         spec_seed(c.seed, "null|score")), regions)
    t0 = time.perf_counter()
    rows = []
    with curve.Executor("processes", args.workers) as ex:
        for o in ex.imap(_task, batches(ms, 8), data, counts, regions, plan):
            rows += o
    wall = time.perf_counter() - t0
    ok = [r for r in rows if r["ok"]]
    cpu = {k: float(sum(r.get(k, 0.0) for r in ok)) for k in ("t_fit", "t_newton", "t_se",
                                                             "t_refit", "t_score")}
    status = np.sum([r["status"] for r in ok], axis=0).tolist()
    report = {"curve": c.id, "models": len(ms), "fitted": len(ok), "draws": args.draws,
              "workers": args.workers, "wall_seconds": wall, "cpu_seconds": cpu,
              "status": dict(zip(STATUS, status)),
              "errors": sorted({r["error"] for r in rows if "error" in r})[:10],
              "load_average_start": load0}
    print(f"innovation GNB/NB2 null by batched Newton: {len(ok)} of {len(ms)} models, "
          f"{args.draws} province draws, processes x{args.workers}; load average "
          f"{load0[0]:.2f} at the start")
    print(f"  wall time of the run (fits, caps and refits included): {wall:.1f} s")
    n = max(1, len(ok))
    print(f"  CPU s summed over models: fits {cpu['t_fit']:.1f} (the curve's own), Newton "
          f"{cpu['t_newton']:.1f} ({1e3 * cpu['t_newton'] / n:.0f} ms per model), sandwich t "
          f"{cpu['t_se']:.1f} ({1e3 * cpu['t_se'] / n:.0f} ms per model); null cost per worker "
          f"{(cpu['t_newton'] + cpu['t_se']) / args.workers:.1f} s")
    for e in ("gnb", "nb2"):
        sub = [r for r in ok if r["estimator"] == e]
        if sub:
            print(f"    {e}: {len(sub)} models, Newton {1e3 * np.mean([r['t_newton'] for r in sub]):.0f}"
                  f" ms per model, mean iterations {np.mean([r['iters'][0] for r in sub]):.2f}")
    tot = sum(status)
    print("  draws: " + ", ".join(f"{k} {v} ({v / max(1, tot):.1%})" for k, v in
                                  zip(STATUS, status)))
    report["capped"] = {}
    conv_t = np.mean([r["t_newton"] + r["t_se"] for r in ok if "capped" in r])
    for cap in CAPS if plan["capped"] else ():
        pairs = [p for r in ok if "capped" in r for p in r["capped"][cap]["pairs"]]
        a = cn.agreement(pairs)
        sec = float(np.mean([r["capped"][cap]["seconds"] for r in ok if "capped" in r]))
        report["capped"][cap] = {**a, "passes": cn.passes(a), "seconds_per_model": sec}
        print(f"  maxiter {cap}: {sec * 1e3:.0f} ms per model with its t (converged: "
              f"{conv_t * 1e3:.0f}); against converged draws, {a['compared']} pairs: corr "
              f"{a['corr']:.3f}, median |diff| {a['median_abs_diff_sd']:.3f} sd, 90th pct "
              f"{a['q90_abs_diff_sd']:.3f} sd, same p<0.05 decision {a['p05_agree']:.1%}; "
              f"passes count_null.AGREEMENT: {cn.passes(a)}")
    prs = [dict(r["pair"], estimator=r["estimator"]) for r in ok if "pair" in r]
    report["pairs"] = prs
    if prs:
        for kind in ("converged", "boundary", "refit"):
            sub = [p for p in prs if p["status"] == kind]
            if not sub:
                continue
            dw = [abs(p["batch"] - p["warm"]) for p in sub if p["warm_converged"]]
            dc = [abs(p["batch"] - p["cold"]) for p in sub if p["cold_converged"]]
            print(f"  {kind} draws checked: {len(sub)}; warm refits converged {len(dw)}, max "
                  f"|batch - warm refit| {max(dw) if dw else float('nan'):.2e}; cold refits "
                  f"converged {len(dc)}, max |batch - cold refit| "
                  f"{max(dc) if dc else float('nan'):.2e}, over 1e-6 in "
                  f"{sum(x > 1e-6 for x in dc)}")
        print(f"  full refit: {1e3 * cpu['t_refit'] / len(prs):.1f} ms per draw (cold); the "
              f"batch {1e3 * cpu['t_newton'] / n / args.draws:.2f} ms per draw")
    # the null p-values of the GNB/NB2 part of the curve, first focal role (informative only)
    est = np.array([r["null_est"][0] for r in ok], dtype=float)
    pv = np.array([r["null_p"][0] for r in ok], dtype=float)
    obs_med = float(np.median([r["obs_est"][0] for r in ok]))
    obs_sig = float(np.mean([r["obs_p"][0] < 0.05 for r in ok]))
    meds = np.nanmedian(est, axis=0)
    sig = np.nanmean(pv < 0.05, axis=0)
    report["null"] = {"obs_median": obs_med, "obs_share_p05": obs_sig,
                      "p_median": _mc_p(np.abs(meds) >= abs(obs_med)),
                      "p_share_p05": _mc_p(sig >= obs_sig),
                      "null_share_p05_mean": float(np.mean(sig))}
    print(f"  GNB/NB2 null (first focal role): observed median {obs_med:.4g}, share p<0.05 "
          f"{obs_sig:.3f}; null mean share {np.mean(sig):.3f}; p = {report['null']['p_median']:.3f}"
          f" (median), {report['null']['p_share_p05']:.3f} (share)")
    if args.curve_check:
        report["curve_check"] = curve_check(ok, c, args.draws, cpu)
    report["load_average_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=float) + "\n", encoding="utf-8")
    print(f"wrote {out}; load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
