"""The ``roughml`` command line: parse arguments, call the library, report.

Every command turns a :class:`roughml.core.errors.RoughmlError` into one readable line on stderr and
exit code 2; batch commands exit 1 when some rows are errors and 0 when all are fine.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, Iterator, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

from roughml.core.errors import RoughmlError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Measure the roughness exponent ζ of interfaces (domain walls, cracks, contact lines) from images.")
# soft_wrap: a non-terminal output is 80 columns for rich; long paths must stay on one line.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

PARAMS_OPTION = typer.Option(Path("params.yaml"), "--params", help="Pipeline parameters (YAML).")
TRACKING_OPTION = typer.Option(None, "--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db).")
DATA_OPTION = typer.Option(Path("data/generated"), "--data", help="Generated datasets.")
MODELS_OPTION = typer.Option(Path("models"), "--models", help="Output of the train stage.")


@contextlib.contextmanager
def reported_errors(params_path: Path | None = None) -> Iterator[None]:
    """Turn expected failures into one line and exit code 2 (130 for Ctrl-C), never a traceback.

    ``params_path``: the ``--params`` file, named in place of 'params.yaml' in a parameter error.
    """
    try:
        yield
    except RoughmlError as exc:
        from roughml.core.config import ParamsError

        if params_path is not None and isinstance(exc, ParamsError):
            exc.source = str(params_path)
        fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted: nothing half-written was left behind", soft_wrap=True, highlight=False)
        raise typer.Exit(130) from None


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``.

    ``soft_wrap`` because a non-terminal stderr is 80 columns wide for rich, which would break a
    long path or URI over several lines; the message is escaped so that brackets in paths or
    lists (``page[0]``, ``['key']``) are printed, not taken as rich markup.
    """
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _params(path: Path) -> dict:
    from roughml.core.config import load_params

    return load_params(path)


@contextlib.contextmanager
def _progress(total: int, label: str):
    """A rich progress bar on stderr; yields a callable(advance=1)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=total < 20) as progress:
        task = progress.add_task(label, total=total)
        yield lambda advance=1: progress.advance(task, advance)


@app.command()
def generate(params: Path = PARAMS_OPTION,
             out_dir: Path = typer.Option(Path("data/generated"), "--out", help="Output directory.")) -> None:
    """Generate the train / validation / test interface datasets (DVC stage `generate`)."""
    with reported_errors(params):
        from roughml.data.datasets import write_splits
        from roughml.core.config import generate_params

        gp = generate_params(_params(params))
        paths = write_splits(gp, out_dir)
        for split, path in paths.items():
            out.print(f"{split:<10} {sum(gp.splits[split].values()):>6} samples -> {path}")


@app.command()
def validate(params: Path = PARAMS_OPTION,
             data_dir: Path = DATA_OPTION,
             out_json: Path = typer.Option(Path("reports/validation.json"), "--out", help="JSON result."),
             docs_dir: Path = typer.Option(Path("reports/validation_docs"), "--docs", help="great-expectations data docs (HTML).")) -> None:
    """Check the generated datasets with great-expectations (DVC stage `validate`)."""
    with reported_errors(params):
        from roughml.core.config import generate_params, validate_params
        from roughml.data.validation import validate_datasets

        p = _params(params)
        report = validate_datasets(data_dir, generate_params(p), validate_params(p), out_json, docs_dir)
        out.print(f"validation passed: {report.counts.get('expectations', '?')} expectations, "
                  f"report -> {out_json}, data docs -> {docs_dir / 'index.html'}")


@app.command()
def train(params: Path = PARAMS_OPTION,
          data_dir: Path = DATA_OPTION,
          out_dir: Path = typer.Option(Path("models"), "--out", help="Where the model and run id go."),
          tracking_uri: Optional[str] = TRACKING_OPTION) -> None:
    """Train the model in params.yaml's `train` block and log the run to MLflow (DVC stage `train`)."""
    with reported_errors(params):
        from roughml.pipeline.train import run_training

        result = run_training(_params(params), data_dir, out_dir, tracking_uri=tracking_uri)
        out.print(f"trained {result.epochs_run} epochs, best validation rms {result.best_val_rms:.4f}, "
                  f"MLflow run {result.run_id}")


@app.command()
def evaluate(params: Path = PARAMS_OPTION,
             model_dir: Path = MODELS_OPTION,
             data_dir: Path = DATA_OPTION,
             out_dir: Path = typer.Option(Path("reports"), "--out", help="Metrics and plots."),
             tracking_uri: Optional[str] = TRACKING_OPTION) -> None:
    """Evaluate on the test split against Whittle and the Cramér–Rao bound (DVC stage `evaluate`)."""
    with reported_errors(params):
        from roughml.pipeline.evaluate import accuracy_table, run_evaluation

        metrics = run_evaluation(_params(params), model_dir, data_dir, out_dir, tracking_uri=tracking_uri)
        out.print(accuracy_table(metrics), soft_wrap=False)
        out.print(f"test rms {metrics['test_rms']:.4f} (Whittle {metrics['test_classical_rms']:.4f})")


@app.command()
def register(params: Path = PARAMS_OPTION,
             model_dir: Path = MODELS_OPTION,
             reports_dir: Path = typer.Option(Path("reports"), "--reports", help="Output of the evaluate stage."),
             tracking_uri: Optional[str] = TRACKING_OPTION) -> None:
    """Register the evaluated model; promote it to Production if it beats the champion (DVC stage `register`)."""
    with reported_errors(params):
        from roughml.core.config import register_params
        from roughml.pipeline.register import run_registration

        decision = run_registration(register_params(_params(params)), model_dir, reports_dir,
                                    tracking_uri=tracking_uri)
        out.print(decision.reason)


def _check_output(output: Path) -> None:
    """Refuse an output path that cannot be a file before a long batch runs, not after it."""
    if output.is_dir():
        fail(f"{output}: is a folder; give a file name for --output (.csv or .json)")


def _write_and_summarise(rows, output: Path, then: Callable[[], None] | None = None) -> None:
    """Write the rows atomically, print the summary, call ``then``, exit 1 when some rows are errors."""
    from roughml.serving.rows import exit_code, summary_table, write_rows

    try:
        write_rows(rows, output)
    except OSError as exc:  # read-only folder, disk full, …: the atomic write left nothing behind
        fail(f"{output}: cannot write results ({exc.strerror or exc})")
    out.print(summary_table(rows), soft_wrap=False)
    out.print(f"{len(rows)} rows -> {output}")
    if then is not None:
        then()
    code = exit_code(rows)
    if code:
        raise typer.Exit(code)


@app.command()
def estimate(folder: Path = typer.Argument(..., help="Folder of images (or one image file)."),
             output: Path = typer.Option(Path("results.csv"), "--output", "-o", help="CSV, or JSON when it ends in .json."),
             recursive: bool = typer.Option(False, "--recursive", "-r", help="Include sub-folders."),
             all_pages: bool = typer.Option(True, "--all-pages/--first-page", help="Measure every page of multi-page TIFFs (stacks), or only the first."),
             overlays: Optional[Path] = typer.Option(None, "--overlays", help="Also draw every measured wall, labelled with its ζ, on a PNG per image (or page) in this folder.")) -> None:
    """Classical estimate of ζ (Whittle fit of the extracted profile) for every wall of every image in FOLDER (one row per wall)."""
    with reported_errors():
        from roughml.serving.estimate import estimate_folder
        from roughml.serving.inputs import list_inputs

        _check_output(output)
        if overlays is not None and overlays.exists() and not overlays.is_dir():
            fail(f"{overlays}: is a file; give a folder for --overlays")
        exclude = [output, *_overlay_files(overlays)]
        n = len(list_inputs(folder, recursive, exclude=exclude))  # a missing folder fails at once
        with _progress(n, "estimating") as advance:
            rows = estimate_folder(folder, recursive=recursive, all_pages=all_pages, progress=advance,
                                   exclude=exclude)
        then = None if overlays is None else functools.partial(_overlays, rows, overlays)
        _write_and_summarise(rows, output, then)


class Stage(str, Enum):
    """Registry stages accepted by ``--model-stage``."""

    Production = "Production"
    Staging = "Staging"
    Archived = "Archived"
    None_ = "None"


@app.command()
def predict(folder: Path = typer.Argument(..., help="Folder of images (or one image file)."),
            model_stage: Optional[Stage] = typer.Option(None, "--model-stage", help="Registry stage, read as an alias (stages are deprecated in MLflow 3): Production = production, Staging = challenger."),
            model_alias: Optional[str] = typer.Option(None, "--model-alias", show_default="production", help="Registry alias: production (the champion) or challenger (the last version registered)."),
            model_version: Optional[int] = typer.Option(None, "--model-version", help="Registry version number."),
            model_uri: Optional[str] = typer.Option(None, "--model-uri", help="Any MLflow model URI (runs:/…, models:/…, a path)."),
            model_name: Optional[str] = typer.Option(None, "--model-name", help="Registered model name (default: params.yaml register.model_name, else roughml)."),
            output: Path = typer.Option(Path("predictions.csv"), "--output", "-o", help="CSV, or JSON when it ends in .json."),
            tracking_uri: Optional[str] = TRACKING_OPTION,
            recursive: bool = typer.Option(False, "--recursive", "-r", help="Include sub-folders."),
            all_pages: bool = typer.Option(True, "--all-pages/--first-page", help="Measure every page of multi-page TIFFs (stacks), or only the first."),
            classical: bool = typer.Option(True, "--classical/--no-classical", help="Also run the Whittle fit (zeta_classical); --no-classical is several times faster."),
            report: Optional[Path] = typer.Option(None, "--report", help="Also write an ensemble report of the batch to this folder: summary.json, index.html, walls.csv."),
            fit_min_px: float = typer.Option(5.0, "--fit-min-px", min=1.0, help="Smallest scale (px) of the report's classical ensemble fit: 5-10x the optical blur sigma."),
            fit_max_px: Optional[float] = typer.Option(None, "--fit-max-px", min=2.0, help="Largest scale (px) of that fit (default: a quarter of the shortest wall)."),
            track: bool = typer.Option(False, "--track", help="Log the report and the per-wall table as an MLflow run in experiment roughml-predictions."),
            overlays: Optional[Path] = typer.Option(None, "--overlays", help="Also draw every measured wall, labelled with its ζ, on a PNG per image (or page) in this folder.")) -> None:
    """Estimate ζ for every wall of every image in FOLDER (crops, full frames, stacks; one row per wall) with a registered model (plus the classical fit beside it)."""
    with reported_errors():
        chosen = [x for x in (model_stage, model_alias, model_version, model_uri) if x is not None]
        if len(chosen) > 1:
            fail("give only one of --model-stage, --model-alias, --model-version, --model-uri")
        if (report is not None or track) and not classical:
            fail("--report and --track need the classical fit (the walls' profiles): drop --no-classical")
        for option, place in (("--report", report), ("--overlays", overlays)):
            if place is not None and place.exists() and not place.is_dir():
                fail(f"{place}: is a file; give a folder for {option}")
        from roughml.serving import tracking
        from roughml.serving.inputs import list_inputs
        from roughml.serving.predict import predict_folder
        from roughml.serving.registry import resolve_model_uri

        _check_output(output)
        exclude = [output, *_report_files(report), *_overlay_files(overlays)]
        n = len(list_inputs(folder, recursive, exclude=exclude))  # a missing folder fails before MLflow starts
        tracking.configure(tracking_uri)
        uri = resolve_model_uri(model_name or _default_model_name(),  # no choice: alias production
                                stage=model_stage.value if model_stage else None, alias=model_alias,
                                version=model_version, uri=model_uri)
        with _progress(n, "predicting") as advance:
            rows = predict_folder(folder, uri, recursive=recursive, all_pages=all_pages, progress=advance,
                                  classical=classical, exclude=exclude)
        steps = []  # after the predictions are safely written
        if report is not None or track:
            steps.append(functools.partial(_ensemble_report, rows, report, uri, folder, (fit_min_px, fit_max_px), track))
        if overlays is not None:
            steps.append(functools.partial(_overlays, rows, overlays))
        _write_and_summarise(rows, output, (lambda: [step() for step in steps]) if steps else None)


def _overlay_files(overlays: Path | None) -> list[Path]:
    """Pictures already in the overlay folder, kept out of the inputs when it lies inside them."""
    if overlays is None or not overlays.is_dir():
        return []
    return sorted(overlays.glob("*.png"))


def _overlays(rows, folder: Path) -> None:
    """Write the overlay pictures and say where they are."""
    from roughml.serving.overlays import write_overlays

    try:
        written = write_overlays(rows, folder)
    except OSError as exc:
        fail(f"{folder}: cannot write overlay pictures ({exc.strerror or exc})")
    out.print(f"{len(written)} overlay pictures -> {folder}")


def _report_files(report: Path | None) -> list[Path]:
    """The report's own files, kept out of the inputs when the report folder lies inside them."""
    if report is None:
        return []
    from roughml.serving.report import report_files

    return report_files(report)


def _ensemble_report(rows, report: Path | None, uri: str, folder: Path, window: tuple[float, float | None],
                     track: bool) -> None:
    """Write the ensemble report (to a temporary folder when only tracked), print it, log it."""
    import tempfile

    from roughml.serving.report import track_report, write_report

    with tempfile.TemporaryDirectory(prefix="roughml-report-") as scratch:
        target = report if report is not None else Path(scratch) / "report"
        data = write_report(rows, target, model=uri, min_scale_px=window[0], max_scale_px=window[1])
        summary = data.summary
        zeta, ci = summary["zeta"], summary["zeta_ci95"]
        if zeta is not None and None not in ci:
            out.print(f"ensemble ζ = {zeta:.3f} (95 % {ci[0]:.3f}–{ci[1]:.3f}) over {summary['n_walls']} walls, "
                      f"spread {summary['spread']:.3f}", highlight=False)
        zeta, ci = summary["zeta_classical"], summary["zeta_classical_ci95"]
        if zeta is not None and None not in ci:
            out.print(f"classical ensemble ζ = {zeta:.3f} (95 % {ci[0]:.3f}–{ci[1]:.3f}), S(q) over "
                      f"{summary['fit_window_px'][0]:g}–{summary['fit_window_px'][1]:g} px", highlight=False)
        for warning in summary["warnings"]:
            err.print(f"warning: {escape(warning)}", highlight=False, soft_wrap=True)
        if report is not None:
            out.print(f"report -> {report / 'index.html'}", highlight=False)
        if track:
            run_id = track_report(data, target, source=folder)
            out.print(f"report logged to MLflow experiment roughml-predictions, run {run_id}", highlight=False)


def _default_model_name() -> str:
    """``register.model_name`` of ./params.yaml when there is a valid one, else 'roughml'."""
    from roughml.core.config import ParamsError, load_params, register_params

    try:
        return register_params(load_params()).model_name
    except ParamsError:
        return "roughml"


@app.command()
def samples(out_path: Path = typer.Option(Path("gallery.png"), "--out", help="PNG to write."),
            params: Path = PARAMS_OPTION,
            per_family: int = typer.Option(4, "--per-family", min=1, max=16, help="Images per family.")) -> None:
    """Write a gallery of example images of every synthetic family."""
    with reported_errors(params):
        from roughml.data.gallery import make_gallery
        from roughml.core.config import generate_params

        path = make_gallery(generate_params(_params(params)), out_path, per_family=per_family)
        out.print(f"gallery -> {path}")


@app.command(hidden=True)
def examples(out_dir: Path = typer.Option(Path("examples/lab"), "--out", help="Folder to write."),
             params: Path = PARAMS_OPTION,
             count: int = typer.Option(8, "--count", min=1, max=100),
             frames_dir: Path = typer.Option(Path("examples/frames"), "--frames-out", help="Folder for the full-frame examples.")) -> None:
    """Re-create the shipped synthetic example images (single walls and full frames) and their truth."""
    with reported_errors(params):
        from roughml.data.examples import write_examples, write_frame_examples
        from roughml.core.config import generate_params

        generate = generate_params(_params(params))
        paths = write_examples(generate, out_dir, n=count)
        out.print(f"{len(paths)} example images -> {out_dir}")
        frames = write_frame_examples(generate.seed, frames_dir)
        out.print(f"{len(frames)} example frames -> {frames_dir}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
