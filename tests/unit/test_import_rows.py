"""The import file's row checks (issue 17; importer/rows.py): each bad kind of row is refused
with its row number, column and the rule's stable reason, by the rule the RPCs use; the good
rows become people with their budgets; a pounds column refuses the whole file."""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from pathlib import Path

import pytest

from onebudget.demo.synthetic import synthetic_nhs_number
from onebudget.importer import rows
from onebudget.shared.policy import CategoryPolicy

TODAY = date(2026, 9, 1)
EXAMPLE_FILE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "phb-import.csv"
POLICY = CategoryPolicy()


def nhs_numbers(count: int, seed: int = 17) -> list[str]:
    rng = random.Random(seed)
    found: list[str] = []
    while len(found) < count:
        number = synthetic_nhs_number(rng)
        if number not in found:
            found.append(number)
    return found


def good_row(nhs: str, **changes: str) -> dict[str, str]:
    """A joint-package adult with one council-and-NHS line of personal care."""
    row = {
        "nhs_number": nhs,
        "given_name": "Alex",
        "family_name": "Oak",
        "date_of_birth": "1960-05-01",
        "commissioner_ods_code": "QNQ",
        "council_gss_code": "E06000036",
        "nhs_only": "no",
        "eligibility_category": "JOINT_PACKAGE",
        "eligibility_decided_on": "2026-04-20",
        "financial_year": "2026",
        "budget_start_date": "2026-05-01",
        "client_contribution_pence": "100000",
        "line_description": "Personal assistant support",
        "line_category": "personal_care",
        "line_cost_per_occurrence_pence": "16500",
        "line_frequency": "WEEKLY",
        "line_occurrences": "40",
        "line_nhs_basis_points": "6000",
        "line_council_basis_points": "3500",
        "line_client_basis_points": "500",
        "line_management_option": "NOTIONAL",
    }
    row.update(changes)
    return row


def text_of(data: list[dict[str, str]], header: list[str] | None = None) -> list[str]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or list(rows.COLUMNS))
    writer.writeheader()
    writer.writerows(data)
    return out.getvalue().splitlines(keepends=True)


def check(data: list[dict[str, str]]) -> rows.Checked:
    return rows.read(text_of(data), policy=POLICY, today=TODAY)


def test_good_rows_make_people_with_their_lines() -> None:
    a, b = nhs_numbers(2)
    checked = check(
        [
            good_row(a),
            good_row(a, line_description="Respite care", line_category="respite"),
            good_row(
                b,
                eligibility_category="CHC",
                nhs_only="yes",
                client_contribution_pence="0",
                line_nhs_basis_points="10000",
                line_council_basis_points="0",
                line_client_basis_points="0",
                line_management_option="DIRECT_PAYMENT",
            ),
        ]
    )
    assert checked.refusals == []
    assert checked.rows == 3
    by_nhs = {p.nhs_number: p for p in checked.people}
    assert by_nhs[a].rows == [2, 3]
    assert by_nhs[b].nhs_only
    assert by_nhs[b].lines[0].plan_line.allowed_payee_kind == 3  # PAYEE_KIND_PERSON


# (change to a good row, the column refused, the reason's stable code)
BAD_KINDS = [
    ({"nhs_number": "9434765918"}, "nhs_number", "INVALID_VALUE"),  # check digit is 9
    ({"line_cost_per_occurrence_pence": "165.00"}, "line_cost_per_occurrence_pence", "INVALID_"),
    ({"client_contribution_pence": "£200"}, "client_contribution_pence", "INVALID_VALUE"),
    ({"line_category": "alcohol"}, "line_category", "CATEGORY_EXCLUDED"),
    ({"line_nhs_basis_points": "7000"}, "line_nhs_basis_points", "INVALID_VALUE"),
    ({"eligibility_category": "CHC_PLUS"}, "eligibility_category", "INVALID_VALUE"),
    ({"date_of_birth": "1960-02-30"}, "date_of_birth", "INVALID_VALUE"),
    ({"budget_start_date": "2027-04-01"}, "budget_start_date", "DATE_OUTSIDE_FINANCIAL_YEAR"),
    ({"financial_year": "1999"}, "financial_year", "INVALID_VALUE"),
    ({"line_frequency": "FORTNIGHTLY"}, "line_frequency", "INVALID_VALUE"),
    ({"council_gss_code": "E07000001"}, "council_gss_code", "INVALID_VALUE"),  # a district
    (
        {"eligibility_category": "CHILDRENS_CC"},  # born 1960: not a child
        "eligibility_decided_on",
        "AGE_OUTSIDE_CATEGORY_RULE",
    ),
    (
        {"eligibility_category": "CHC", "nhs_only": "yes", "client_contribution_pence": "0"},
        "line_nhs_basis_points",
        "COHORT_NHS_ONLY",
    ),
    ({"client_contribution_pence": "100"}, "client_contribution_pence", "CLIENT_CONTRIBUTION"),
]


@pytest.mark.parametrize(("change", "column", "reason"), BAD_KINDS)
def test_each_bad_kind_is_refused_by_row_and_column(
    change: dict[str, str], column: str, reason: str
) -> None:
    good, bad = nhs_numbers(2)
    checked = check([good_row(good), good_row(bad, **change)])
    assert [p.nhs_number for p in checked.people] == [good]
    assert [(r.row, r.column) for r in checked.refusals] == [(3, column)]
    assert checked.refusals[0].reason.startswith(reason), checked.refusals[0].reason


HUGE = "99999999999999999999999"  # beyond int64: the proto field would raise ValueError


@pytest.mark.parametrize("column", rows.WHOLE_COLUMNS)
@pytest.mark.parametrize("figure", [HUGE, "-" + HUGE, "99999999999999999999"])
def test_a_huge_figure_in_any_numeric_column_is_refused_by_row_and_column(
    column: str, figure: str
) -> None:
    good, bad = nhs_numbers(2)
    checked = check([good_row(good), good_row(bad, **{column: figure})])
    assert [p.nhs_number for p in checked.people] == [good]
    # (a huge basis point also breaks the split's sum: that is the row's other refusal)
    assert {r.row for r in checked.refusals} == {3}
    (named,) = [r for r in checked.refusals if r.column == column]
    assert named.reason.startswith("INVALID_VALUE"), named.reason


def test_money_columns_use_the_one_pence_rule() -> None:
    from onebudget.shared.money import PENCE_MAX

    good, bad = nhs_numbers(2)
    checked = check([good_row(good), good_row(bad, client_contribution_pence=str(PENCE_MAX + 1))])
    assert [r.reason for r in checked.refusals] == [
        f"INVALID_VALUE: whole pence from 0 to {PENCE_MAX}"
    ]


def test_a_person_with_a_refused_row_is_refused_whole() -> None:
    a, b = nhs_numbers(2)
    checked = check([good_row(a), good_row(a, line_category="gambling"), good_row(b), good_row(a)])
    assert [p.nhs_number for p in checked.people] == [b]
    assert [(r.row, r.column, r.reason.split(":")[0]) for r in checked.refusals] == [
        (2, "", "PERSON_REFUSED"),
        (3, "line_category", "CATEGORY_EXCLUDED"),
        (5, "", "PERSON_REFUSED"),
    ]


def test_rows_of_one_person_that_disagree_are_refused() -> None:
    (a,) = nhs_numbers(1)
    checked = check([good_row(a), good_row(a, budget_start_date="2026-06-01")])
    assert checked.people == []
    assert [(r.row, r.column, r.reason.split(":")[0]) for r in checked.refusals] == [
        (2, "", "PERSON_REFUSED"),
        (3, "budget_start_date", "PERSON_ROWS_DIFFER"),
    ]


def test_a_row_of_the_wrong_width_is_refused_alone() -> None:
    a, b = nhs_numbers(2)
    lines = text_of([good_row(a), good_row(b)])
    lines[2] = lines[2].rstrip("\r\n") + ",extra\r\n"
    checked = rows.read(lines, policy=POLICY, today=TODAY)
    assert [p.nhs_number for p in checked.people] == [a]
    assert [(r.row, r.reason.split(":")[0]) for r in checked.refusals] == [(3, "ROW_WIDTH")]


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (
            ["line_cost_per_occurrence_pounds" if c.endswith("pence") else c for c in rows.COLUMNS],
            "pounds",
        ),
        ([c for c in rows.COLUMNS if c != "nhs_only"], "lacks"),
        ([*rows.COLUMNS, "notes"], "unknown"),
    ],
)
def test_a_file_with_a_bad_header_is_refused_whole(header: list[str], says: str) -> None:
    with pytest.raises(rows.FileRefused, match=says):
        rows.read([",".join(header) + "\n"], policy=POLICY, today=TODAY)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(rows.FileRefused, match="empty"):
        rows.read([], policy=POLICY, today=TODAY)


def test_the_deployments_excluded_categories_are_the_ones_refused() -> None:
    (a,) = nhs_numbers(1)
    data = [good_row(a, line_category="personal_care")]
    strict = CategoryPolicy(frozenset({"personal_care"}))
    refused = rows.read(text_of(data), policy=strict, today=TODAY)
    assert [r.reason.split(":")[0] for r in refused.refusals] == ["CATEGORY_EXCLUDED"]
    assert check(data).refusals == []


def test_request_ids_are_the_rows_stable_keys() -> None:
    a, b = nhs_numbers(2)
    first = check([good_row(a), good_row(b)]).people
    again = check([good_row(b), good_row(a)]).people  # another order, the same ids
    ids = {p.nhs_number: p.request_id("budget") for p in first}
    assert {p.nhs_number: p.request_id("budget") for p in again} == ids
    assert ids[a] != ids[b]
    assert first[0].request_id("line", 0) != first[0].request_id("line", 1)


def test_the_example_file_in_the_docs_is_all_good() -> None:
    with EXAMPLE_FILE.open(newline="", encoding="utf-8") as text:
        checked = rows.read(text, policy=POLICY, today=TODAY)
    assert checked.refusals == []
    assert len(checked.people) >= 3


def test_the_scale_benchs_synthetic_people_are_all_good_rows() -> None:
    from onebudget.bench.scale_people import people_csv
    from onebudget.demo import synthetic

    people = synthetic.people(300, today=TODAY)
    text = people_csv(people, synthetic.financial_year_of(TODAY))
    checked = rows.read(text.splitlines(keepends=True), policy=POLICY, today=TODAY)
    assert checked.refusals == []
    assert len(checked.people) == 300
    assert checked.rows == sum(len(p.plan) for p in people)


def test_a_dry_run_needs_no_login_an_import_does() -> None:
    from onebudget.cli import build_parser, needs_login

    parser = build_parser()
    assert not needs_login(parser.parse_args(["import", "phbs.csv", "--dry-run"]))
    assert needs_login(parser.parse_args(["import", "phbs.csv"]))


def test_a_report_path_in_no_directory_is_refused_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from onebudget.cli import build_parser

    missing = tmp_path / "no-such-dir" / "r.csv"
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["import", str(EXAMPLE_FILE), "--report", str(missing)])
    assert stopped.value.code == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert said[-1].startswith("onebudget import: error: argument --report:"), said
    assert "no directory" in said[-1]


def test_the_totals_count_refused_rows_not_reasons() -> None:
    from onebudget.importer.cli import EXIT_REFUSED_ROWS, summary

    good, bad = nhs_numbers(2)
    checked = check([good_row(good), good_row(bad, nhs_number="123", line_frequency="FORTNIGHTLY")])
    assert [r.row for r in checked.refusals] == [3, 3]  # two faults of one row
    lines, code = summary(checked.rows, checked.refusals, 1, dry_run=True, took=0.0)
    assert lines[:2] == [
        "row 3, column line_frequency: INVALID_VALUE: one of " + ", ".join(rows.FREQUENCIES),
        "row 3, column nhs_number: INVALID_VALUE: 10 digits with a valid check digit",
    ]
    assert lines[-1] == (
        "2 rows: would import 1 person, with their agreed budgets; 1 row refused (0.0 s)"
    )
    assert code == EXIT_REFUSED_ROWS


def test_nothing_imported_has_its_own_exit_code() -> None:
    from onebudget.importer.cli import EXIT_NOTHING_IMPORTED, summary

    (bad,) = nhs_numbers(1)
    checked = check([good_row(bad, line_category="gambling")])
    _lines, code = summary(checked.rows, checked.refusals, 0, dry_run=False, took=0.0)
    assert code == EXIT_NOTHING_IMPORTED


def test_a_role_that_may_not_import_is_one_line_naming_the_role_that_may() -> None:
    from onebudget.importer.cli import EXIT_NOTHING_IMPORTED, summary

    denied = [
        rows.Refusal(
            2,
            "nhs_number",
            "PERMISSION_DENIED_ROLE: the role care_broker may not call RegisterPerson"
            " (RegisterPerson)",
        ),
        rows.Refusal(3, "", "PERSON_REFUSED: row 2 of the same person is refused"),
        rows.Refusal(
            4,
            "nhs_number",
            "PERMISSION_DENIED_ROLE: the role care_broker may not call RegisterPerson"
            " (RegisterPerson)",
        ),
    ]
    lines, code = summary(3, denied, 0, dry_run=False, took=0.0)
    assert code == EXIT_NOTHING_IMPORTED
    assert len(lines) == 1
    assert "care_broker may not import" in lines[0]
    assert "log in as care_manager" in lines[0]
    assert "3 of 3 rows refused" in lines[0]


def test_an_import_says_imported_or_already_present() -> None:
    from onebudget.importer.cli import summary

    lines, code = summary(5, [], 4, dry_run=False, took=1.25)
    assert lines == [
        "5 rows: 4 people imported or already present, with their agreed budgets;"
        " 0 rows refused (1.2 s)"
    ]
    assert code == 0


def test_a_semicolon_separated_file_is_said_to_be_not_comma_separated() -> None:
    with pytest.raises(rows.FileRefused, match=r"not comma-separated.*semicolons"):
        rows.read([";".join(rows.COLUMNS) + "\n"], policy=POLICY, today=TODAY)


def test_a_file_not_in_utf8_is_one_line_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from onebudget.cli import main

    (a,) = nhs_numbers(1)
    text = "".join(text_of([good_row(a), good_row(a, family_name="Ó Súilleabháin")]))
    path = tmp_path / "latin1.csv"
    path.write_bytes(text.encode("latin-1"))
    assert main(["import", str(path), "--dry-run"]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1, said
    assert "must be UTF-8: line 3 is not" in said[0], said
    assert "codec" not in said[0]
