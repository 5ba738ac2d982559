"""The ``warning`` column: each reason on its own, their joining, and where the rows get them."""

from __future__ import annotations

import math

import pytest

from roughml.serving import rows, warnings
from roughml.serving.rows import CLASSICAL_STD_KEY


def measured(zeta=0.5, zeta_std=0.05, zeta_classical=math.nan, classical_std=math.nan, length_px=256.0,
             shape=(256, 64), orientation="vertical/right") -> dict:
    """A record as the network leaves it (built by the rows helpers), with the given numbers."""
    record = rows.measured_record("w.png", shape, orientation, wall=1, kind="open", length_px=length_px,
                                  x=32.0, y=128.0)
    record.update(zeta=zeta, zeta_std=zeta_std, zeta_classical=zeta_classical)
    record[CLASSICAL_STD_KEY] = classical_std
    return record


# --- rule 1: model and classical fit disagree -----------------------------------------------------

def test_disagreement_beyond_two_combined_sigma():
    # |0.62 - 0.41| = 0.21; combined σ = hypot(0.06, 0.05) = 0.078: 2.7σ
    text = warnings.disagreement(0.62, 0.06, 0.41, 0.05)
    assert text == "model and classical fit disagree: 0.62 vs 0.41 (2.7σ)"
    assert warnings.model_warning(measured(0.62, 0.06, 0.41, 0.05)) == text


def test_agreement_within_two_combined_sigma_is_silent():
    assert warnings.disagreement(0.62, 0.08, 0.41, 0.07) is None  # 0.21 / 0.106 = 2.0σ
    assert warnings.disagreement(0.50, 0.01, 0.50, 0.01) is None
    assert warnings.model_warning(measured(0.62, 0.08, 0.41, 0.07)) == ""


def test_disagreement_needs_both_values():
    assert warnings.disagreement(0.9, 0.01, math.nan, 0.01) is None  # --no-classical / failed fit
    assert warnings.disagreement(None, None, 0.3, 0.01) is None
    assert warnings.disagreement(0.9, 0.01, 0.3, math.inf) is None  # an infinitely uncertain fit agrees
    # an unknown classical σ counts as 0: the model's σ alone
    assert "(30.0σ)" in warnings.disagreement(0.9, 0.02, 0.3, math.nan)


# --- rule 2: ζ at the edge of the training range ---------------------------------------------------

@pytest.mark.parametrize("zeta, warned", [(0.03, True), (0.0999, True), (0.1, False), (0.7, False),
                                          (1.2, False), (1.21, True), (1.6, True), (math.nan, False)])
def test_zeta_at_the_edge_of_the_training_range(zeta, warned):
    text = warnings.zeta_at_edge(zeta)
    assert (text == "ζ near the edge of the training range [0.05, 1.25]") is warned
    assert (text is None) is not warned
    assert (warnings.model_warning(measured(zeta=zeta)) != "") is warned


# --- rule 3: wall length outside the trained lengths -----------------------------------------------

@pytest.mark.parametrize("length, warned", [(48.0, True), (63.9, True), (64.0, False), (4096.0, False),
                                            (5000.0, True)])
def test_wall_length_outside_the_trained_lengths(length, warned):
    text = warnings.length_outside(length)
    assert (text is not None) is warned
    if warned:
        assert text == f"wall length {length:g} px outside the trained 64–4096 px"
    assert (warnings.model_warning(measured(length_px=length)) == (text or ""))


def test_wall_length_falls_back_to_the_image_side_along_the_wall():
    assert warnings.wall_length(measured(length_px=100.0)) == 100.0
    vertical = measured(length_px=math.nan, shape=(48, 200), orientation="vertical/left")
    horizontal = measured(length_px=math.nan, shape=(48, 200), orientation="horizontal/top")
    assert warnings.wall_length(vertical) == 48 and warnings.wall_length(horizontal) == 200
    assert warnings.model_warning(vertical) == "wall length 48 px outside the trained 64–4096 px"
    assert warnings.model_warning(horizontal) == ""
    assert warnings.wall_length(measured(length_px=math.nan, orientation="")) is None


# --- rule 4: a very uncertain model ---------------------------------------------------------------

def test_model_uncertain_above_a_quarter():
    assert warnings.model_uncertain(0.31) == "model uncertain (σ = 0.31)"
    assert warnings.model_uncertain(0.25) is None and warnings.model_uncertain(math.nan) is None
    assert warnings.model_warning(measured(zeta_std=0.31)) == "model uncertain (σ = 0.31)"


# --- several reasons, error rows, the classical rows -------------------------------------------------

def test_reasons_are_joined_in_rule_order():
    record = measured(zeta=1.24, zeta_std=0.3, zeta_classical=0.2, classical_std=0.05, length_px=5000.0)
    assert warnings.model_warning(record).split("; ") == [
        "model and classical fit disagree: 1.24 vs 0.20 (3.4σ)",
        "ζ near the edge of the training range [0.05, 1.25]",
        "wall length 5000 px outside the trained 64–4096 px",
        "model uncertain (σ = 0.30)",
    ]


def test_error_records_carry_no_warning():
    record = rows.error_record("w.png", "uniform image", (32, 32), wall=1, kind="open", length_px=12.0)
    assert record["warning"] == "" and list(record) == list(rows.COLUMNS)
    record.update(zeta=1.5, zeta_std=0.9)
    assert warnings.model_warning(record) == "" and warnings.classical_warning(record) == ""
    assert rows.record_row(record).warning == ""


def test_classical_rows_are_judged_on_their_length_only():
    far = measured(zeta=1.24, zeta_std=0.3, zeta_classical=0.2, classical_std=0.05)
    assert warnings.classical_warning(far) == ""
    assert warnings.classical_warning(measured(length_px=40.0)) == "wall length 40 px outside the trained 64–4096 px"


def test_rows_carry_the_warning_into_csv_and_the_summary_table(tmp_path):
    import csv

    record = measured(zeta_std=0.31)
    record["warning"] = warnings.model_warning(record)
    row = rows.record_row(record)
    assert row.warning == "model uncertain (σ = 0.31)"
    assert rows.COLUMNS[-3:] == ("warning", "status", "message")
    rows.write_rows([row, rows.error_row("x.txt", "not an image")], tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert [r["warning"] for r in written] == ["model uncertain (σ = 0.31)", ""]
    table = rows.summary_table([row, rows.error_row("x.txt", "not an image")])
    assert [column.header for column in table.columns][-1] == "warnings"
    assert table.columns[-1]._cells == ["1"]
    assert rows.record_row({"path": "p", "status": "ok"}).warning == ""  # records without the key


def test_estimate_rows_flag_short_walls_only():
    from roughml.serving.estimate import classical_rows
    from tests.serving.test_predict import wall_image

    short, = classical_rows("short.png", wall_image(48, 64, seed=0))
    long, = classical_rows("long.png", wall_image(96, 64, seed=1))
    assert short.status == "ok" and short.warning == "wall length 48 px outside the trained 64–4096 px"
    assert long.status == "ok" and long.warning == ""
