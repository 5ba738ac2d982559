"""Seed-to-seed spread of the default training recipe: what `make run` gives, not one lucky run.

Why: every accuracy number in the README comes from one training run. Training draws the initial
weights and the batch order from ``train.seed``; how much do the test numbers move when only that
seed changes? This script trains the ``params.yaml`` model on the generated splits
(``data/generated``, as `dvc repro` leaves them) once per seed and scores each on the test split.

It trains with any Keras 3 backend. With TensorFlow (the pipeline's backend) the batches come from
the pipeline's own ``tf.data`` input; with ``KERAS_BACKEND=jax`` or ``torch`` (a GPU machine without
TensorFlow) from a :class:`keras.utils.PyDataset`: the same same-shape buckets, the same batch size, optimizer, weight averaging,
learning-rate rule and early stopping, each bucket reshuffled every epoch and the batches of all
buckets interleaved at random. Scoring uses the stored geometry of every test wall (no detection),
the model read both ways as `roughml predict` does, ζ in ``evaluate.report_range``.

Writes ``reports/bench_seed_spread.json`` and ``.md`` (per seed, then mean ± sd and the range).

    python benchmarks/bench_seed_spread.py --seeds 7 8 9
    python benchmarks/bench_seed_spread.py --score-only models/model.keras   # score a trained model
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _prepared(data_dir: Path, split: str):
    from roughml.data.datasets import load_split
    from roughml.data.model_inputs import prepare_rows

    ds = load_split(data_dir / f"{split}.npz")
    return ds, prepare_rows(ds, range(len(ds["zeta"])), known_geometry=True)


def _batches(prepared, zeta: np.ndarray, batch_size: int, *, training: bool, seed: int):
    """A PyDataset of same-shape batches: every bucket cut into batches, order reshuffled per epoch."""
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.plan = self._plan()

        def _plan(self):
            plan = []
            for bucket in prepared.buckets.values():
                order = self.rng.permutation(len(bucket.rows)) if training else np.arange(len(bucket.rows))
                n = len(order)
                stop = n - n % batch_size if training and n >= batch_size else n
                plan += [(bucket, order[i:i + batch_size]) for i in range(0, stop, batch_size)]
            if training:
                plan = [plan[i] for i in self.rng.permutation(len(plan))]
            return plan

        def __len__(self):
            return len(self.plan)

        def __getitem__(self, index):
            bucket, rows = self.plan[index]
            images = bucket.images[rows].astype(np.float32)[..., None] / np.float32(255.0)
            return images, zeta[bucket.rows[rows]].astype(np.float32)

        def on_epoch_end(self):
            if training:
                self.plan = self._plan()

    return Batches()


def train_one(params: dict, seed: int, train, validation) -> tuple[object, int, float]:
    """Fit the params.yaml model with ``seed``; returns it, the epochs run and the seconds taken."""
    import tempfile

    import keras

    from roughml.core.config import train_params
    from roughml.learning.model import build_model, compile_model
    from roughml.learning.training import fit_callbacks, make_dataset, weight_average_momentum

    tp = train_params(params)
    keras.utils.set_random_seed(seed)
    (train_ds, train_prep), (val_ds, val_prep) = train, validation
    if keras.backend.backend() == "tensorflow":  # the pipeline's own tf.data input, as `dvc repro` trains
        train_data, steps = make_dataset(train_prep, train_ds["zeta"].astype(np.float32), tp.batch_size,
                                         seed=seed, training=True)
        val_data, _ = make_dataset(val_prep, val_ds["zeta"].astype(np.float32), tp.batch_size, seed=seed,
                                   training=False)
    else:
        train_data = _batches(train_prep, train_ds["zeta"], tp.batch_size, training=True, seed=seed)
        val_data = _batches(val_prep, val_ds["zeta"], tp.batch_size, training=False, seed=seed)
        steps = len(train_data)
    momentum = weight_average_momentum(tp.weight_average_epochs, steps)
    model = build_model(tp.model, stem_filters=tp.stem_filters, tower_filters=tp.tower_filters,
                        tower_levels=tp.tower_levels)
    compile_model(model, tp.model, tp.learning_rate, weight_average_momentum=momentum)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        callbacks = fit_callbacks(Path(tmp) / "checkpoint", weight_averaging=momentum > 0,
                                  patience=tp.early_stopping_patience, learning_rate=tp.learning_rate,
                                  epochs=tp.epochs, decay_epochs=tp.learning_rate_decay_epochs)
        per_epoch = {"steps_per_epoch": steps} if keras.backend.backend() == "tensorflow" else {}
        fit = model.fit(train_data, epochs=tp.epochs, validation_data=val_data, callbacks=callbacks, verbose=2,
                        **per_epoch)
    return model, len(fit.history["loss"]), time.perf_counter() - start


def score(model, test, report_range: tuple[float, float]) -> dict[str, dict[str, float]]:
    """rms, bias and within-2σ share per test family (ζ in ``report_range``), and over all of them."""
    from roughml.learning.model import predict_zeta, read_both_ways

    ds, prepared = test
    reader = read_both_ways(model)
    estimate = np.full(len(ds["zeta"]), np.nan)
    sigma = np.full(len(ds["zeta"]), np.nan)
    for bucket in prepared.buckets.values():
        mu, sd = predict_zeta(reader, bucket.as_float())
        estimate[bucket.rows], sigma[bucket.rows] = mu, sd
    zeta = ds["zeta"].astype(np.float64)
    families = ds["family"].astype(str)
    lo, hi = report_range
    inside = (zeta >= lo) & (zeta <= hi) & np.isfinite(estimate)
    out = {}
    for name in [*sorted(set(families)), "all"]:
        sel = inside & ((families == name) if name != "all" else True)
        err = estimate[sel] - zeta[sel]
        out[name] = {"n": int(sel.sum()), "rms": float(np.sqrt(np.mean(err ** 2))), "bias": float(np.mean(err)),
                     "within_2sigma": float(np.mean(np.abs(err) <= 2 * sigma[sel]))}
    return out


def summarise(per_seed: dict[int, dict]) -> dict[str, dict[str, float]]:
    """Mean, sample sd and range across seeds of every family's rms."""
    families = next(iter(per_seed.values()))["scores"].keys()
    summary = {}
    for name in families:
        values = np.array([run["scores"][name]["rms"] for run in per_seed.values()])
        summary[name] = {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if values.size > 1 else 0.0,
                         "min": float(values.min()), "max": float(values.max())}
    return summary


def markdown(report: dict) -> str:
    seeds = list(report["runs"])
    lines = [f"# Seed-to-seed spread ({report['backend']} backend, {len(seeds)} seeds: {', '.join(seeds)})", "",
             "Test-split rms per family (stored geometry, ζ in the report range), one column per training seed.", "",
             "| family | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± sd | range |",
             "|---|" + "---|" * (len(seeds) + 2)]
    for name, agg in report["summary"].items():
        cells = [f"{report['runs'][s]['scores'][name]['rms']:.4f}" for s in seeds]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {agg['mean']:.4f} ± {agg['sd']:.4f} | {agg['min']:.4f}–{agg['max']:.4f} |")
    lines += ["", "epochs run: " + ", ".join(f"seed {s}: {r['epochs']}" for s, r in report["runs"].items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "generated")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--score-only", type=Path, default=None, help="score this saved model instead of training")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench_seed_spread")
    args = parser.parse_args()

    import keras

    from roughml.core.config import evaluate_params, load_params
    from roughml.learning.model import load

    params = load_params(args.params)
    report_range = tuple(evaluate_params(params).report_range)
    test = _prepared(args.data, "test")
    runs = {}
    if args.score_only:
        runs["saved"] = {"epochs": 0, "seconds": 0.0, "scores": score(load(args.score_only), test, report_range)}
    else:
        train, validation = _prepared(args.data, "train"), _prepared(args.data, "validation")
        for seed in args.seeds:
            model, epochs, seconds = train_one(params, seed, train, validation)
            runs[str(seed)] = {"epochs": epochs, "seconds": seconds, "scores": score(model, test, report_range)}
            print(f"seed {seed}: {epochs} epochs in {seconds:.0f} s, test rms {runs[str(seed)]['scores']['all']['rms']:.4f}",
                  flush=True)
            _write(args.out, keras.backend.backend(), args.params, runs)  # after every seed: a cut-off run keeps its seeds
    print(_write(args.out, keras.backend.backend(), args.params, runs))


def _write(out: Path, backend: str, params_path: Path, runs: dict) -> str:
    """Write the JSON and markdown reports of the runs so far; returns the markdown."""
    from roughml.core.storage import atomic_write_text

    report = {"backend": backend, "params": str(params_path), "runs": runs, "summary": summarise(runs)}
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    atomic_write_text(out.with_suffix(".md"), text)
    return text


if __name__ == "__main__":
    main()
