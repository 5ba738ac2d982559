"""The ensemble report of a prediction run (``roughml predict FOLDER --report DIR``).

From the per-wall rows: the model's ζ_i ± σ_i combined by a random-effects mean, the classical
ensemble S(q) and B(r) fits of the walls' profiles, bootstrap-over-walls 95 % intervals, local
slopes, a crossover test and plain warnings (:mod:`~roughml.serving.report.summary`); its plots
(:mod:`~roughml.serving.report.figures`); a self-contained HTML page
(:mod:`~roughml.serving.report.page`); the folder written atomically
(:mod:`~roughml.serving.report.writer`); and an MLflow run of it (:mod:`~roughml.serving.report.runs`).
"""

from roughml.serving.report.runs import EXPERIMENT, track_report
from roughml.serving.report.summary import ReportData, build_report
from roughml.serving.report.writer import REPORT_FILES, report_files, write_report

__all__ = ["EXPERIMENT", "REPORT_FILES", "ReportData", "build_report", "report_files", "track_report",
           "write_report"]
