"""Whole microscope frames through the product's full-frame path: are the walls found and measured?

Why: users hand the product camera frames (16-bit, 1344×1066, several bubble domains, noise above
the contrast, dust, an instrument banner), not crops of one wall. This benchmark draws such
frames with a generator written independently of the product's (``independent_frames.py``),
writes them as 16-bit PNGs (growing-bubble sequences as multi-page 16-bit TIFFs), runs
``predict_paths(paths, RoughnessPyfunc(classical=True), all_pages=True, workers=0)`` on them and
matches the per-wall rows (``wall``, ``kind``, ``length_px``, ``x``, ``y``) to the true walls by
centroid distance (≤ max(15 px, 0.15 × mean radius) for a bubble, ≤ max(15 px, 0.1 × visible
length) for an open wall; greedy, nearest pairs first). It reports

- detection: every closed domain with a reference perimeter ≥ 600 px found as a ``closed`` wall
  (rate, Wilson 95 % interval); rows matching no true wall (false walls) and rows whose centroid
  lies in the banner rows (target 0); pages that gave an error row;
- closed walls ≥ 600 px: rms and bias of the model's ζ and of the classical fit
  (``zeta_classical``) with bootstrap 95 % intervals over frames, the Cramér–Rao bound at the
  wall's perimeter, calibration (share of errors within 1σ / 2σ of ``zeta_std``, Wilson);
  smaller closed walls and bubbles cut by the border beside them (no targets);
- open walls crossing the frame: rms and bias (compare with the single-crop target rms ≤ 0.10);
- growing bubbles: sd of ζ over the pages of one sequence (the truth is constant), mean over
  sequences with a bootstrap interval;
- seconds per frame in one batch after a warm-up call (model loading excluded).

Each target is judged met / missed / undecided from its interval, as in ``bench_generalization``.

Run: ``python benchmarks/bench_frames.py [--model models/model.keras] [--scale 1] [--out reports]
[--keep-frames DIR]``; writes ``bench_frames.json`` and ``bench_frames.md`` atomically.
``--scale 1``: 20 bubble frames, 10 open-wall frames and 3 growing sequences of 6 pages.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import independent_frames as frames  # noqa: E402

from roughml.core.storage import atomic_write_text  # noqa: E402
from roughml.physics.spectral import cramer_rao_bound  # noqa: E402

SEED = 20261124 + 40417          # disjoint from the pipeline's streams and the other benchmarks'
COUNTS = {"bubble_frames": 20, "open_frames": 10, "sequences": 3}
PAGES = 6
GROWTH = (100.0, 300.0)          # mean radius of the growing bubble, first → last page (px)
CLOSED_MIN_PERIMETER = 600.0
CUT_MIN_LENGTH = 200.0           # bubbles cut by the border: visible length to count them
RESAMPLES = 1000
TARGETS = {"closed_detection": 0.95, "banner_walls": 0, "closed_rms": 0.15, "closed_abs_bias": 0.05,
           "open_rms": 0.10, "sequence_sd": 0.12, "seconds_per_frame": 2.0}
WITHIN_2SIGMA_TARGET = 0.90
ZETA_BINS = (0.2, 0.467, 0.733, 1.0)


# --- frames ------------------------------------------------------------------------------------

def build(rng: np.random.Generator, scale: float, folder: Path) -> tuple[list[Path], list[dict], float]:
    """Write every frame into ``folder``; return the files, one entry per page, and the seconds taken."""
    started = time.perf_counter()
    n = {k: max(1, int(round(v * scale))) for k, v in COUNTS.items()}
    n["bubble_frames"] = max(2, n["bubble_frames"])
    files, pages = [], []
    group = 0
    for i in range(n["bubble_frames"] + n["open_frames"]):
        is_open = i >= n["bubble_frames"]
        frame = frames.open_wall_frame(rng) if is_open else frames.bubble_frame(rng)
        path = folder / f"{'open' if is_open else 'bubbles'}_{i:03d}.png"
        frames.write_png(path, frame.image)
        files.append(path)
        pages.append({"label": str(path), "file": path.name, "page": None, "set": "open" if is_open else "bubbles",
                      "group": group, "sequence": None, **frame.truth()})
        group += 1
    for k in range(n["sequences"]):
        seq = frames.growing_sequence(rng, PAGES, GROWTH)
        path = folder / f"growing_{k:02d}.tif"
        frames.write_tiff(path, [f.image for f in seq])
        files.append(path)
        for p, f in enumerate(seq):
            pages.append({"label": f"{path}[{p}]", "file": path.name, "page": p, "set": "sequence",
                          "group": group, "sequence": k, **f.truth()})
        group += 1
    return files, pages, time.perf_counter() - started


# --- rows and matching -------------------------------------------------------------------------

def _num(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


def row_record(row) -> dict:
    """The fields of a product row this benchmark uses (missing per-wall fields become None/NaN)."""
    return {"path": str(row.path), "status": row.status, "message": str(row.message or "")[:160],
            "wall": getattr(row, "wall", None), "kind": getattr(row, "kind", None),
            "length_px": _num(getattr(row, "length_px", None)), "x": _num(getattr(row, "x", None)),
            "y": _num(getattr(row, "y", None)), "zeta": _num(row.zeta), "zeta_std": _num(row.zeta_std),
            "zeta_classical": _num(row.zeta_classical)}


def tolerance(wall: dict) -> float:
    """Centroid distance within which a row counts as this wall."""
    if wall["source"] == "bubble":
        return max(15.0, 0.15 * wall["mean_radius"])
    return max(15.0, 0.1 * wall["length_px"])


def match_page(page: dict, rows: list[dict]) -> None:
    """Attach rows to the page's true walls (``wall['row']``) and mark the rest as false walls."""
    walls = page["walls"]
    for wall in walls:
        wall["row"] = None
    ok = [r for r in rows if r["status"] == "ok"]
    pairs = []
    for i, wall in enumerate(walls):
        if not np.isfinite(wall["x"]):
            continue
        for j, row in enumerate(ok):
            if np.isfinite(row["x"]) and np.isfinite(row["y"]):
                d = math.hypot(row["x"] - wall["x"], row["y"] - wall["y"])
                if d <= tolerance(wall):
                    pairs.append((d, i, j))
    used_w, used_r = set(), set()
    for d, i, j in sorted(pairs):
        if i in used_w or j in used_r:
            continue
        used_w.add(i)
        used_r.add(j)
        walls[i]["row"] = {**ok[j], "distance": d}
    start, stop = page["banner_rows"]
    page["false_walls"] = [r for j, r in enumerate(ok) if j not in used_r]
    in_banner = lambda r: np.isfinite(r["y"]) and start - 0.5 <= r["y"] <= stop - 0.5  # noqa: E731
    page["banner_walls"] = [r for r in ok if in_banner(r)]
    page["banner_error_rows"] = [r for r in rows if r["status"] != "ok" and in_banner(r)]
    page["error_rows"] = [r for r in rows if r["status"] != "ok"]
    page["rows"] = rows


def group_rows(pages: list[dict], rows: list[dict]) -> list[str]:
    """Hand every row to its page (by path label); return the labels of rows that fit no page."""
    by_label = {p["label"]: p for p in pages}
    by_file = {}
    for p in pages:
        by_file.setdefault(Path(p["label"].split("[")[0]).name, []).append(p)
    found = {p["label"]: [] for p in pages}
    stray = []
    for row in rows:
        label = row["path"]
        if label in by_label:
            found[label].append(row)
            continue
        m = re.match(r"^(.*)\[(\d+)\]$", label)
        name = Path(m.group(1) if m else label).name
        candidates = by_file.get(name, [])
        if m:
            candidates = [p for p in candidates if p["page"] == int(m.group(2))]
        elif candidates:
            candidates = candidates[:1]
        if candidates:
            found[candidates[0]["label"]].append(row)
        else:
            stray.append(label)
    for p in pages:
        match_page(p, found[p["label"]])
    return stray


# --- statistics --------------------------------------------------------------------------------

def wilson(k: int, n: int, z: float = 1.959964) -> list[float]:
    if n == 0:
        return [float("nan"), float("nan")]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def rate(k: int, n: int) -> dict:
    return {"k": int(k), "n": int(n), "rate": k / n if n else float("nan"), "ci95": wilson(k, n)}


def group_bootstrap(groups: np.ndarray, rng, resamples: int = RESAMPLES):
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    for _ in range(resamples):
        yield np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])


def error_stats(err: np.ndarray, groups: np.ndarray, rng) -> dict:
    """rms and bias of the finite errors, bootstrap 95 % intervals over groups (frames)."""
    keep = np.isfinite(err)
    err, groups = err[keep], groups[keep]
    nan2 = [float("nan")] * 2
    if err.size < 2:
        return {"n": int(err.size), "rms": float(np.sqrt(np.mean(err ** 2))) if err.size else float("nan"),
                "rms_ci95": nan2, "bias": float(np.mean(err)) if err.size else float("nan"), "bias_ci95": nan2}
    boot = np.array([(np.sqrt(np.mean(err[i] ** 2)), np.mean(err[i])) for i in group_bootstrap(groups, rng)])
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
    return {"n": int(err.size), "rms": float(np.sqrt(np.mean(err ** 2))), "rms_ci95": [float(lo[0]), float(hi[0])],
            "bias": float(np.mean(err)), "bias_ci95": [float(lo[1]), float(hi[1])]}


def judge(ci, target: float, absolute: bool = False) -> str:
    """met when the whole interval is ≤ target, missed when it is all above, else undecided."""
    lo, hi = ci
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "undecided"
    if absolute:
        lo, hi = (0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi))), max(abs(lo), abs(hi))
    return "met" if hi <= target else "missed" if lo > target else "undecided"


def judge_rate(ci, target: float) -> str:
    lo, hi = ci
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "undecided"
    return "met" if lo >= target else "missed" if hi < target else "undecided"


def wall_table(pages: list[dict], select) -> list[dict]:
    """Flat records of the true walls that ``select(page, wall)`` accepts, with their matched row."""
    out = []
    for p in pages:
        for w in p["walls"]:
            if select(p, w):
                r = w["row"] or {}
                out.append({"group": p["group"], "label": p["label"], "truth": w["zeta"],
                            "length": w["perimeter_px"] if w["kind"] == "closed" else w["length_px"],
                            "found": w["row"] is not None, "kind": r.get("kind"),
                            "zeta": r.get("zeta", float("nan")), "sigma": r.get("zeta_std", float("nan")),
                            "classical": r.get("zeta_classical", float("nan"))})
    return out


def set_report(walls: list[dict], rng, need_closed: bool) -> dict:
    """Detection and error statistics of one set of true walls."""
    n = len(walls)
    found = sum(w["found"] for w in walls)
    as_kind = sum(w["found"] and w["kind"] == ("closed" if need_closed else "open") for w in walls)
    out = {"walls": n, "found": rate(found, n), "found_as_kind": rate(as_kind, n)}
    if not n:
        return out
    truth = np.array([w["truth"] for w in walls])
    groups = np.array([w["group"] for w in walls])
    model = np.array([w["zeta"] for w in walls], dtype=float)
    sigma = np.array([w["sigma"] for w in walls], dtype=float)
    classical = np.array([w["classical"] for w in walls], dtype=float)
    err = model - truth
    out["model"] = error_stats(err, groups, rng)
    out["classical"] = error_stats(classical - truth, groups, rng)
    out["classical_ok"] = rate(int(np.isfinite(classical).sum()), n)
    lengths = np.array([w["length"] for w in walls], dtype=float)
    out["length_px"] = [float(lengths.min()), float(np.median(lengths)), float(lengths.max())]
    out["crb"] = float(np.mean([cramer_rao_bound(max(6, int(v))) for v in lengths]))
    ok = np.isfinite(err) & np.isfinite(sigma) & (sigma > 0)
    z = np.abs(err[ok]) / sigma[ok]
    out["within_1sigma"] = rate(int(np.sum(z <= 1.0)), int(z.size))
    out["within_2sigma"] = rate(int(np.sum(z <= 2.0)), int(z.size))
    out["sigma_median"] = float(np.median(sigma[ok])) if ok.any() else float("nan")
    out["by_zeta"] = []
    for lo, hi in zip(ZETA_BINS[:-1], ZETA_BINS[1:]):
        sel = (truth >= lo) & (truth <= hi)
        out["by_zeta"].append({"zeta": [lo, hi], "walls": int(sel.sum()),
                               "model": error_stats(err[sel], groups[sel], rng),
                               "classical": error_stats((classical - truth)[sel], groups[sel], rng)})
    return out


def sequence_report(pages: list[dict], rng) -> dict:
    """sd of ζ over the pages of each growing sequence; mean over sequences with a bootstrap interval."""
    seqs = sorted({p["sequence"] for p in pages if p["set"] == "sequence"})
    rows = []
    for k in seqs:
        walls = [(p["page"], p["walls"][0]) for p in pages if p["sequence"] == k]
        truth = walls[0][1]["zeta"]
        model = np.array([(w["row"] or {}).get("zeta", float("nan")) for _, w in walls], dtype=float)
        classical = np.array([(w["row"] or {}).get("zeta_classical", float("nan")) for _, w in walls], dtype=float)
        closed = sum(bool(w["row"]) and w["row"].get("kind") == "closed" for _, w in walls)
        fin = np.isfinite(model)
        finc = np.isfinite(classical)
        rows.append({"sequence": k, "truth": truth, "pages": len(walls), "found": int(fin.sum()),
                     "found_as_closed": int(closed), "model": [None if not np.isfinite(v) else float(v) for v in model],
                     "classical": [None if not np.isfinite(v) else float(v) for v in classical],
                     "model_sd": float(np.std(model[fin], ddof=1)) if fin.sum() > 1 else float("nan"),
                     "classical_sd": float(np.std(classical[finc], ddof=1)) if finc.sum() > 1 else float("nan"),
                     "model_mean_error": float(np.mean(model[fin]) - truth) if fin.any() else float("nan"),
                     "perimeters": [round(w["perimeter_px"], 1) for _, w in walls]})
    out = {"sequences": rows}
    for key in ("model_sd", "classical_sd"):
        sds = np.array([r[key] for r in rows], dtype=float)
        sds = sds[np.isfinite(sds)]
        if sds.size:
            boot = [np.mean(sds[rng.integers(0, sds.size, sds.size)]) for _ in range(RESAMPLES)]
            out[key] = {"mean": float(sds.mean()), "ci95": [float(v) for v in np.percentile(boot, [2.5, 97.5])],
                        "n": int(sds.size)}
        else:
            out[key] = {"mean": float("nan"), "ci95": [float("nan")] * 2, "n": 0}
    return out


# --- the run -----------------------------------------------------------------------------------

def run_product(files: list[Path], model_path: Path, workers: int) -> tuple[list[dict], dict]:
    """All frames through ``predict_paths`` after a warm-up call; rows and seconds."""
    from roughml.serving.predict import predict_paths
    from roughml.serving.pyfunc import RoughnessPyfunc

    seconds = {}
    t = time.perf_counter()
    model = RoughnessPyfunc(classical=True)
    model.load_keras(str(model_path))
    seconds["load model"] = time.perf_counter() - t
    t = time.perf_counter()
    list(predict_paths(files[:1], model, all_pages=True, workers=workers))
    seconds["warm-up (1 frame)"] = time.perf_counter() - t
    t = time.perf_counter()
    rows = [row_record(r) for r in predict_paths(files, model, all_pages=True, workers=workers)]
    seconds["batch"] = time.perf_counter() - t
    return rows, seconds


def near_speck(page: dict, row: dict) -> str:
    """What a false wall sits on: a dust speck (≤ 2 radii + 15 px), a pinning defect (≤ 12 px) or elsewhere."""
    specks = page["imaging"]["specks"]
    if np.isfinite(row["x"]):
        for x, y, radius, *_ in specks["dust"]:
            if math.hypot(row["x"] - x, row["y"] - y) <= 2.0 * radius + 15.0:
                return "dust"
        for x, y, *_ in specks["defects"]:
            if math.hypot(row["x"] - x, row["y"] - y) <= 12.0:
                return "defect"
    return "elsewhere"


def evaluate(pages: list[dict], rows: list[dict], rng) -> dict:
    stray = group_rows(pages, rows)
    single = [p for p in pages if p["set"] != "sequence"]
    per_wall_api = any(np.isfinite(r["x"]) for r in rows if r["status"] == "ok")
    report = {"per_wall_fields": per_wall_api, "stray_rows": stray[:20]}
    closed_big = lambda p, w: w["kind"] == "closed" and w["perimeter_px"] >= CLOSED_MIN_PERIMETER  # noqa: E731
    closed_small = lambda p, w: w["kind"] == "closed" and w["perimeter_px"] < CLOSED_MIN_PERIMETER  # noqa: E731
    cut = lambda p, w: w["source"] == "bubble" and w["kind"] == "open" and w["length_px"] >= CUT_MIN_LENGTH  # noqa: E731
    crossing = lambda p, w: w["source"] == "open_wall"  # noqa: E731
    report["sets"] = {
        f"closed ≥ {CLOSED_MIN_PERIMETER:.0f} px": set_report(wall_table(single, closed_big), rng, True),
        f"closed < {CLOSED_MIN_PERIMETER:.0f} px": set_report(wall_table(single, closed_small), rng, True),
        f"cut by border/banner (visible ≥ {CUT_MIN_LENGTH:.0f} px)": set_report(wall_table(single, cut), rng, False),
        "open, crossing the field": set_report(wall_table(single, crossing), rng, False),
        "growing bubbles (all pages)": set_report(wall_table(pages, lambda p, w: p["set"] == "sequence"), rng, True),
    }
    n_pages = len(pages)
    false = [dict(r, page=p["label"], near=near_speck(p, r)) for p in pages for r in p["false_walls"]]
    banner = [dict(r, page=p["label"], banner_rows=p["banner_rows"]) for p in pages for r in p["banner_walls"]]
    errors = [dict(r, page=p["label"]) for p in pages for r in p["error_rows"]]
    report["false_walls"] = {"count": len(false), "pages": n_pages, "per_page": len(false) / n_pages,
                             "pages_with_false": rate(sum(bool(p["false_walls"]) for p in pages), n_pages),
                             "near": {k: sum(f["near"] == k for f in false) for k in ("dust", "defect", "elsewhere")},
                             "examples": false[:12]}
    report["banner_walls"] = {"count": len(banner), "examples": banner[:12],
                              "error_rows_in_banner": sum(len(p["banner_error_rows"]) for p in pages)}
    report["error_rows"] = {"count": len(errors), "messages": sorted({e["message"][:100] for e in errors})[:12]}
    report["rows"] = {"total": len(rows), "ok": sum(r["status"] == "ok" for r in rows)}
    report["growing"] = sequence_report(pages, rng)
    return report


def verdicts(report: dict) -> dict:
    sets = report["sets"]
    big = sets[f"closed ≥ {CLOSED_MIN_PERIMETER:.0f} px"]
    out = {"closed_detection": judge_rate(big["found_as_kind"]["ci95"], TARGETS["closed_detection"]),
           "banner_walls": "met" if report["banner_walls"]["count"] <= TARGETS["banner_walls"] else "missed"}
    if "model" in big:
        out["closed_rms"] = judge(big["model"]["rms_ci95"], TARGETS["closed_rms"])
        out["closed_abs_bias"] = judge(big["model"]["bias_ci95"], TARGETS["closed_abs_bias"], absolute=True)
        out["closed_within_2sigma"] = judge_rate(big["within_2sigma"]["ci95"], WITHIN_2SIGMA_TARGET)
        out["closed_rms (classical)"] = judge(big["classical"]["rms_ci95"], TARGETS["closed_rms"])
        out["closed_abs_bias (classical)"] = judge(big["classical"]["bias_ci95"], TARGETS["closed_abs_bias"], absolute=True)
    crossing = sets["open, crossing the field"]
    if "model" in crossing:
        out["open_rms"] = judge(crossing["model"]["rms_ci95"], TARGETS["open_rms"])
    out["sequence_sd"] = judge(report["growing"]["model_sd"]["ci95"], TARGETS["sequence_sd"])
    spf = report["timing"]["seconds_per_frame"]
    out["seconds_per_frame"] = "met" if spf <= TARGETS["seconds_per_frame"] else "missed"
    return out


# --- report ------------------------------------------------------------------------------------

def _stat(stats: dict | None, key: str) -> str:
    if not stats or not np.isfinite(stats.get(key, float("nan"))):
        return "–"
    lo, hi = stats[f"{key}_ci95"]
    if key == "bias":
        return f"{stats[key]:+.3f} ({lo:+.3f}…{hi:+.3f})"
    return f"{stats[key]:.3f} ({lo:.3f}–{hi:.3f})"


def _rate(r: dict) -> str:
    if not r["n"]:
        return "–"
    return f"{r['k']}/{r['n']} = {r['rate']:.0%} ({r['ci95'][0]:.0%}–{r['ci95'][1]:.0%})"


def _clean(value):
    """JSON-safe: NaN/inf → None, NumPy scalars → Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def markdown(report: dict) -> str:
    v = report["targets"]
    sets = report["sets"]
    big = sets[f"closed ≥ {CLOSED_MIN_PERIMETER:.0f} px"]
    crossing = sets["open, crossing the field"]
    grow = report["growing"]
    t = report["timing"]
    lines = [f"# Full-frame benchmark — model `{report['model']}`", "",
             f"{report['frames']['bubble_frames']} bubble frames, {report['frames']['open_frames']} open-wall frames and "
             f"{report['frames']['sequences']} growing-bubble sequences ({PAGES} pages) of 1344×1066 16-bit frames from the "
             "independent generator (`benchmarks/independent_frames.py`: ζ uniform 0.2–1.0 per wall, per-pixel CNR "
             f"{report['cnr_range'][0]}–{report['cnr_range'][1]}, blur, vignetting, drift, dust, pinning defects, banner), "
             "through `predict_paths(…, all_pages=True)` with `RoughnessPyfunc(classical=True)`. Rows are matched to "
             "true walls by centroid distance (≤ max(15 px, 0.15 × mean radius) for bubbles, ≤ max(15 px, 0.1 × "
             "visible length) for open walls). Intervals: 95 %, Wilson for rates, bootstrap over frames otherwise "
             "(over sequences for the growing bubbles).", ""]
    if not report["per_wall_fields"]:
        lines += ["**The product's rows carry no wall centroids (`x`, `y`): no row could be matched to a wall; "
                  "every detection below is 0 by construction.**", ""]
    lines += ["| target | value (95 %) | goal | verdict |", "|---|---|---|---|",
              f"| closed walls ≥ 600 px found as `closed` | {_rate(big['found_as_kind'])} | ≥ 95 % | {v['closed_detection']} |",
              f"| walls reported inside the banner | {report['banner_walls']['count']} | 0 | {v['banner_walls']} |"]
    if "model" in big:
        lines += [f"| closed ≥ 600 px: model rms | {_stat(big['model'], 'rms')} | ≤ 0.15 | {v['closed_rms']} |",
                  f"| closed ≥ 600 px: model bias | {_stat(big['model'], 'bias')} | \\|·\\| ≤ 0.05 | {v['closed_abs_bias']} |",
                  f"| closed ≥ 600 px: classical rms | {_stat(big['classical'], 'rms')} | ≤ 0.15 | {v['closed_rms (classical)']} |",
                  f"| closed ≥ 600 px: classical bias | {_stat(big['classical'], 'bias')} | \\|·\\| ≤ 0.05 | "
                  f"{v['closed_abs_bias (classical)']} |",
                  f"| closed ≥ 600 px: within 2σ of zeta_std | {_rate(big['within_2sigma'])} | ≥ 90 % | "
                  f"{v['closed_within_2sigma']} |"]
    if "model" in crossing:
        lines.append(f"| open walls crossing the field: model rms | {_stat(crossing['model'], 'rms')} | ≤ 0.10 "
                     f"(single-crop target) | {v['open_rms']} |")
    g = grow["model_sd"]
    gtxt = "–" if not g["n"] else f"{g['mean']:.3f} ({g['ci95'][0]:.3f}–{g['ci95'][1]:.3f}), {g['n']} sequences"
    lines += [f"| growing bubble: sd of ζ over a sequence | {gtxt} | ≤ 0.12 | {v['sequence_sd']} |",
              f"| seconds per frame (batch, after warm-up) | {t['seconds_per_frame']:.2f} | ≤ 2 | {v['seconds_per_frame']} |",
              "", "## Walls by kind", "",
              "| set | walls | found | found as its kind | length px (min/med/max) | model rms | model bias "
              "| classical rms | classical bias | classical ok | CRB | within 1σ / 2σ | median σ |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in sets.items():
        if "model" not in s:
            lines.append(f"| {name} | 0 | | | | | | | | | | | |")
            continue
        lo, med, hi = s["length_px"]
        lines.append(f"| {name} | {s['walls']} | {_rate(s['found'])} | {_rate(s['found_as_kind'])} | {lo:.0f}/{med:.0f}/{hi:.0f} "
                     f"| {_stat(s['model'], 'rms')} | {_stat(s['model'], 'bias')} | {_stat(s['classical'], 'rms')} "
                     f"| {_stat(s['classical'], 'bias')} | {s['classical_ok']['rate']:.0%} | {s['crb']:.3f} "
                     f"| {_rate(s['within_1sigma'])} / {s['within_2sigma']['rate']:.0%} | {s['sigma_median']:.3f} |")
    lines += ["", "By true ζ (model rms | classical rms, found walls):", "",
              "| set | ζ 0.20–0.47 | ζ 0.47–0.73 | ζ 0.73–1.00 |", "|---|---|---|---|"]
    for name in (f"closed ≥ {CLOSED_MIN_PERIMETER:.0f} px", "open, crossing the field"):
        s = sets[name]
        if "by_zeta" in s:
            cells = [f"{b['model']['n']}: {_stat(b['model'], 'rms')} \\| {_stat(b['classical'], 'rms')}" for b in s["by_zeta"]]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Growing bubbles", "", "| sequence | true ζ | found / pages (as closed) | model ζ per page | sd "
              "| classical ζ per page | sd |", "|---|---|---|---|---|---|---|"]
    fmt = lambda xs: ", ".join("–" if x is None else f"{x:.2f}" for x in xs)  # noqa: E731
    for r in grow["sequences"]:
        lines.append(f"| {r['sequence']} | {r['truth']:.3f} | {r['found']}/{r['pages']} ({r['found_as_closed']}) "
                     f"| {fmt(r['model'])} | {r['model_sd']:.3f} | {fmt(r['classical'])} | {r['classical_sd']:.3f} |")
    c = grow["classical_sd"]
    if c["n"]:
        lines.append(f"\nClassical fit: mean sd {c['mean']:.3f} ({c['ci95'][0]:.3f}–{c['ci95'][1]:.3f}).")
    fw = report["false_walls"]
    lines += ["", "## False walls, banner walls, error rows", "",
              f"- rows matching no true wall: {fw['count']} on {fw['pages']} pages ({fw['per_page']:.2f} per page); "
              f"pages with any: {_rate(fw['pages_with_false'])}; on dust {fw['near']['dust']}, on pinning defects "
              f"{fw['near']['defect']}, elsewhere (illumination, noise, split walls) {fw['near']['elsewhere']}",
              f"- rows with a centroid inside the banner: {report['banner_walls']['count']} ok rows, "
              f"{report['banner_walls']['error_rows_in_banner']} error rows",
              f"- error rows: {report['error_rows']['count']}"
              + (f" ({'; '.join(report['error_rows']['messages'])})" if report['error_rows']['messages'] else "")]
    for r in fw["examples"][:6]:
        lines.append(f"  - false: {Path(r['page']).name} x={r['x']:.0f} y={r['y']:.0f} kind={r['kind']} "
                     f"length={r['length_px']:.0f} ζ={r['zeta']:.2f} ({r['near']})")
    if report["stray_rows"]:
        lines.append(f"- rows whose path matched no frame: {len(report['stray_rows'])}")
    lines += ["", f"Timing: {', '.join(f'{k} {v:.1f} s' for k, v in t['seconds'].items())}; "
              f"{t['pages']} pages; seed {report['seed']}, scale {report['scale']}; {report['machine']}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/model.keras"))
    parser.add_argument("--scale", type=float, default=1.0, help="frames and sequences × this")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--workers", type=int, default=0, help="preparation processes of predict_paths")
    parser.add_argument("--keep-frames", type=Path, default=None, help="write the frames and truth here")
    args = parser.parse_args()

    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    folder = Path(tempfile.mkdtemp(prefix="bench_frames_")) if args.keep_frames is None else args.keep_frames
    folder.mkdir(parents=True, exist_ok=True)
    try:
        files, pages, gen_seconds = build(rng, args.scale, folder)
        if args.keep_frames is not None:
            atomic_write_text(folder / "truth.json", json.dumps(_clean(pages), indent=1) + "\n")
        rows, seconds = run_product(files, args.model, args.workers)
    finally:
        if args.keep_frames is None:
            shutil.rmtree(folder, ignore_errors=True)
    report = {"model": str(args.model), "scale": args.scale, "seed": SEED, "cnr_range": list(frames.CNR_RANGE),
              "frames": {"bubble_frames": sum(p["set"] == "bubbles" for p in pages),
                         "open_frames": sum(p["set"] == "open" for p in pages),
                         "sequences": len({p["sequence"] for p in pages if p["set"] == "sequence"}),
                         "pages": len(pages)}}
    report.update(evaluate(pages, rows, np.random.default_rng(SEED + 1)))
    report["timing"] = {"seconds": {"generate+write": gen_seconds, **seconds},
                        "pages": len(pages), "seconds_per_frame": seconds["batch"] / len(pages)}
    report["targets"] = verdicts(report)
    report["seconds_total"] = time.perf_counter() - started
    report["machine"] = f"{platform.machine()}, {platform.processor() or platform.system()}"
    report["walls"] = [{"page": Path(p["label"]).name, "banner_rows": p["banner_rows"],
                        "walls": [{k: w[k] for k in ("kind", "source", "zeta", "x", "y", "length_px", "perimeter_px")}
                                  | {"row": w["row"]} for w in p["walls"]],
                        "false_walls": p["false_walls"], "error_rows": p["error_rows"]} for p in pages]
    atomic_write_text(args.out / "bench_frames.json", json.dumps(_clean(report), indent=2, allow_nan=False) + "\n")
    atomic_write_text(args.out / "bench_frames.md", markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
