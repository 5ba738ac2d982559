"""Great-expectations results flattened into outcomes: one JSON record and one readable line each.

Why: a failed stage must say which rule broke, on how many rows and on which samples, in one
line a person can act on (``test: expect_column_values_to_be_between(zeta) failed: 3 of 50 rows
outside [0.05, 1.25] (e.g. ...)``), and the JSON summary must be strict JSON whatever values
great-expectations reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from roughml.core.formats import plain


@dataclass(frozen=True)
class ExpectationOutcome:
    """One evaluated expectation, flattened for the JSON summary."""

    suite: str
    expectation: str
    column: str
    row_condition: str
    success: bool
    observed: Any
    message: str


def json_plain(value: Any) -> Any:
    """``value`` as plain JSON: containers recursively, NaN as None, anything unknown as its text.

    Unlike :func:`roughml.core.formats.json_ready` it never fails: great-expectations may report
    values of any type (sets, timestamps, its own objects), and the summary must still be written.
    """
    if isinstance(value, dict):
        return {str(k): json_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_plain(v) for v in value]
    value = plain(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _kwargs_label(kwargs: Mapping[str, Any]) -> str:
    """The column(s) an expectation is about: ``zeta`` or ``count, min_count``."""
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return ""


def _condition_text(kwargs: Mapping[str, Any]) -> str:
    """The row condition of an expectation as text ('' when it applies to every row)."""
    cond = kwargs.get("row_condition")
    if isinstance(cond, dict):
        cond = cond.get("pass_through_filter") or str(cond)
    return str(cond) if cond else ""


def _rule_text(kind: str, kwargs: Mapping[str, Any]) -> str:
    """Why a row counts as unexpected, in words."""
    if kind == "expect_column_values_to_be_between":
        lo = kwargs.get("min_value")
        hi = kwargs.get("max_value")
        return f"outside [{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
    if kind == "expect_column_values_to_be_in_set":
        return f"not in {list(kwargs.get('value_set', []))}"
    if kind == "expect_column_values_to_be_unique":
        return "duplicated"
    if kind == "expect_column_values_to_not_be_null":
        return "null"
    if kind == "expect_column_pair_values_to_be_equal":
        return f"with {kwargs.get('column_A')} != {kwargs.get('column_B')}"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        op = "<" if kwargs.get("or_equal") else "<="
        return f"with {kwargs.get('column_A')} {op} {kwargs.get('column_B')}"
    return "unexpected"


def _examples(result: Mapping[str, Any], limit: int = 3) -> str:
    """A few offending rows, named by their id columns (e.g. split/family) and values.

    The id columns are the ``unexpected_index_column_names`` the suite was run with; without an
    index list the offending values themselves are shown.
    """
    items = result.get("partial_unexpected_index_list") or []
    shown = []
    for item in items[:limit]:
        if isinstance(item, Mapping):
            shown.append(", ".join(f"{k}={_short(v)}" for k, v in item.items()))
    if not shown:
        shown = [_short(v) for v in (result.get("partial_unexpected_list") or [])[:limit]]
    return f" (e.g. {'; '.join(shown)})" if shown else ""


def _short(value: Any) -> str:
    """A value as short text: floats to 4 significant digits, sequences in parentheses."""
    value = json_plain(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)


def _exception_message(info: Any) -> str:
    """The first error message in a result's ``exception_info`` (flat, or keyed by metric)."""
    if not isinstance(info, Mapping):
        return ""
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "unknown error")
    for value in info.values():
        if isinstance(value, Mapping) and (value.get("raised_exception") or value.get("exception_message")):
            return str(value.get("exception_message") or "unknown error").strip().splitlines()[-1]
    return ""


def _observed_and_detail(kind: str, kwargs: Mapping[str, Any], result: Mapping[str, Any],
                         error: str) -> tuple[Any, str]:
    """What was observed, and the words after ``passed:`` / ``failed:`` in the message.

    Three kinds of result: an evaluation error, a table-level value (a row count), or a count of
    unexpected rows with a few examples.
    """
    if error:
        return {"exception": error}, f"could not be evaluated: {error}"
    if "observed_value" in result:
        observed = result["observed_value"]
        expected = kwargs.get("value")
        return observed, f"observed {_short(observed)}" + (f", expected {_short(expected)}"
                                                           if expected is not None else "")
    observed = {"unexpected_count": result.get("unexpected_count"),
                "element_count": result.get("element_count"),
                "partial_unexpected_list": list(result.get("partial_unexpected_list") or [])[:5]}
    detail = (f"{result.get('unexpected_count', '?')} of {result.get('element_count', '?')} rows "
              f"{_rule_text(kind, kwargs)}{_examples(result)}")
    return observed, detail


def outcome(suite_name: str, label: str, res: Any) -> ExpectationOutcome:
    """Flatten one great-expectations result into an outcome with a readable message.

    ``label`` starts the message (the split, or e.g. ``clean images``).
    """
    config = res.expectation_config
    kind = config.type
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    column = _kwargs_label(kwargs)
    condition = _condition_text(kwargs)
    where = f" where {condition}" if condition else ""
    error = _exception_message(getattr(res, "exception_info", None))
    observed, detail = _observed_and_detail(kind, kwargs, dict(res.result or {}), error)
    message = f"{label}: {kind}({column}){where} {'passed' if res.success else 'failed'}: {detail}"
    return ExpectationOutcome(suite=suite_name, expectation=kind, column=column, row_condition=condition,
                              success=bool(res.success), observed=json_plain(observed), message=message)
