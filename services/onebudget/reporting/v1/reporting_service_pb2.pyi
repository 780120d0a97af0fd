from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Cohort(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COHORT_UNSPECIFIED: _ClassVar[Cohort]
    COHORT_ALL: _ClassVar[Cohort]
    COHORT_GENERAL: _ClassVar[Cohort]
    COHORT_CHC: _ClassVar[Cohort]
    COHORT_CHILDRENS_CC: _ClassVar[Cohort]
    COHORT_S117: _ClassVar[Cohort]
    COHORT_WHEELCHAIR: _ClassVar[Cohort]
    COHORT_JOINT_PACKAGE: _ClassVar[Cohort]
    COHORT_LONG_TERM_CONDITION: _ClassVar[Cohort]
    COHORT_MENTAL_HEALTH: _ClassVar[Cohort]
    COHORT_LOCAL_OFFER: _ClassVar[Cohort]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    CATEGORY_CHC: _ClassVar[Category]
    CATEGORY_CHILDRENS_CC: _ClassVar[Category]
    CATEGORY_S117: _ClassVar[Category]
    CATEGORY_WHEELCHAIR: _ClassVar[Category]
    CATEGORY_JOINT_PACKAGE: _ClassVar[Category]
    CATEGORY_LONG_TERM_CONDITION: _ClassVar[Category]
    CATEGORY_MENTAL_HEALTH: _ClassVar[Category]
    CATEGORY_OTHER: _ClassVar[Category]
COHORT_UNSPECIFIED: Cohort
COHORT_ALL: Cohort
COHORT_GENERAL: Cohort
COHORT_CHC: Cohort
COHORT_CHILDRENS_CC: Cohort
COHORT_S117: Cohort
COHORT_WHEELCHAIR: Cohort
COHORT_JOINT_PACKAGE: Cohort
COHORT_LONG_TERM_CONDITION: Cohort
COHORT_MENTAL_HEALTH: Cohort
COHORT_LOCAL_OFFER: Cohort
CATEGORY_UNSPECIFIED: Category
CATEGORY_CHC: Category
CATEGORY_CHILDRENS_CC: Category
CATEGORY_S117: Category
CATEGORY_WHEELCHAIR: Category
CATEGORY_JOINT_PACKAGE: Category
CATEGORY_LONG_TERM_CONDITION: Category
CATEGORY_MENTAL_HEALTH: Category
CATEGORY_OTHER: Category

class GetCommissionerSummaryRequest(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year", "quarter")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    QUARTER_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    quarter: int
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., quarter: _Optional[int] = ...) -> None: ...

class GetCouncilSummaryRequest(_message.Message):
    __slots__ = ("council_gss_code", "financial_year", "quarter")
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    QUARTER_FIELD_NUMBER: _ClassVar[int]
    council_gss_code: str
    financial_year: int
    quarter: int
    def __init__(self, council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., quarter: _Optional[int] = ...) -> None: ...

class RingFenceStatus(_message.Message):
    __slots__ = ("cohort", "basis_points", "target_pence", "balance_pence", "agreed_pence", "agreed_basis_points", "target_met", "drawn_pence", "above_floor_pence")
    COHORT_FIELD_NUMBER: _ClassVar[int]
    BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_PENCE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_MET_FIELD_NUMBER: _ClassVar[int]
    DRAWN_PENCE_FIELD_NUMBER: _ClassVar[int]
    ABOVE_FLOOR_PENCE_FIELD_NUMBER: _ClassVar[int]
    cohort: Cohort
    basis_points: int
    target_pence: int
    balance_pence: int
    agreed_pence: int
    agreed_basis_points: int
    target_met: bool
    drawn_pence: int
    above_floor_pence: int
    def __init__(self, cohort: _Optional[_Union[Cohort, str]] = ..., basis_points: _Optional[int] = ..., target_pence: _Optional[int] = ..., balance_pence: _Optional[int] = ..., agreed_pence: _Optional[int] = ..., agreed_basis_points: _Optional[int] = ..., target_met: _Optional[bool] = ..., drawn_pence: _Optional[int] = ..., above_floor_pence: _Optional[int] = ...) -> None: ...

class PeopleCounts(_message.Message):
    __slots__ = ("total", "adults", "children", "by_category", "notional", "third_party", "direct_payment")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ADULTS_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    BY_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    THIRD_PARTY_FIELD_NUMBER: _ClassVar[int]
    DIRECT_PAYMENT_FIELD_NUMBER: _ClassVar[int]
    total: int
    adults: int
    children: int
    by_category: _containers.RepeatedCompositeFieldContainer[CategoryCount]
    notional: int
    third_party: int
    direct_payment: int
    def __init__(self, total: _Optional[int] = ..., adults: _Optional[int] = ..., children: _Optional[int] = ..., by_category: _Optional[_Iterable[_Union[CategoryCount, _Mapping]]] = ..., notional: _Optional[int] = ..., third_party: _Optional[int] = ..., direct_payment: _Optional[int] = ...) -> None: ...

class CategoryCount(_message.Message):
    __slots__ = ("category", "people", "adults", "children")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    ADULTS_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    category: Category
    people: int
    adults: int
    children: int
    def __init__(self, category: _Optional[_Union[Category, str]] = ..., people: _Optional[int] = ..., adults: _Optional[int] = ..., children: _Optional[int] = ...) -> None: ...

class PeopleSnapshot(_message.Message):
    __slots__ = ("at_period_end", "year_to_date")
    AT_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    YEAR_TO_DATE_FIELD_NUMBER: _ClassVar[int]
    at_period_end: PeopleCounts
    year_to_date: PeopleCounts
    def __init__(self, at_period_end: _Optional[_Union[PeopleCounts, _Mapping]] = ..., year_to_date: _Optional[_Union[PeopleCounts, _Mapping]] = ...) -> None: ...

class CommissionerSummary(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year", "quarter", "period_end", "allocation_pence", "phb_target_basis_points", "phb_target_pence", "ring_fences", "nhs_agreed_pence", "nhs_agreed_basis_points", "nhs_agreed_ipb_pence", "nhs_paid_pence", "nhs_paid_basis_points", "target_met", "people_with_phb", "people_with_ipb", "year_closed", "nhs_beyond_ring_fences_pence", "provisional")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    QUARTER_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_PENCE_FIELD_NUMBER: _ClassVar[int]
    PHB_TARGET_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    PHB_TARGET_PENCE_FIELD_NUMBER: _ClassVar[int]
    RING_FENCES_FIELD_NUMBER: _ClassVar[int]
    NHS_AGREED_PENCE_FIELD_NUMBER: _ClassVar[int]
    NHS_AGREED_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    NHS_AGREED_IPB_PENCE_FIELD_NUMBER: _ClassVar[int]
    NHS_PAID_PENCE_FIELD_NUMBER: _ClassVar[int]
    NHS_PAID_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_MET_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_WITH_PHB_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_WITH_IPB_FIELD_NUMBER: _ClassVar[int]
    YEAR_CLOSED_FIELD_NUMBER: _ClassVar[int]
    NHS_BEYOND_RING_FENCES_PENCE_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    quarter: int
    period_end: str
    allocation_pence: int
    phb_target_basis_points: int
    phb_target_pence: int
    ring_fences: _containers.RepeatedCompositeFieldContainer[RingFenceStatus]
    nhs_agreed_pence: int
    nhs_agreed_basis_points: int
    nhs_agreed_ipb_pence: int
    nhs_paid_pence: int
    nhs_paid_basis_points: int
    target_met: bool
    people_with_phb: PeopleSnapshot
    people_with_ipb: PeopleSnapshot
    year_closed: bool
    nhs_beyond_ring_fences_pence: int
    provisional: bool
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., quarter: _Optional[int] = ..., period_end: _Optional[str] = ..., allocation_pence: _Optional[int] = ..., phb_target_basis_points: _Optional[int] = ..., phb_target_pence: _Optional[int] = ..., ring_fences: _Optional[_Iterable[_Union[RingFenceStatus, _Mapping]]] = ..., nhs_agreed_pence: _Optional[int] = ..., nhs_agreed_basis_points: _Optional[int] = ..., nhs_agreed_ipb_pence: _Optional[int] = ..., nhs_paid_pence: _Optional[int] = ..., nhs_paid_basis_points: _Optional[int] = ..., target_met: _Optional[bool] = ..., people_with_phb: _Optional[_Union[PeopleSnapshot, _Mapping]] = ..., people_with_ipb: _Optional[_Union[PeopleSnapshot, _Mapping]] = ..., year_closed: _Optional[bool] = ..., nhs_beyond_ring_fences_pence: _Optional[int] = ..., provisional: _Optional[bool] = ...) -> None: ...

class CouncilSummary(_message.Message):
    __slots__ = ("council_gss_code", "financial_year", "quarter", "period_end", "pot_pence", "council_agreed_pence", "council_agreed_basis_points", "client_agreed_pence", "nhs_agreed_ipb_pence", "council_paid_pence", "client_paid_pence", "people_with_personal_budget", "people_with_ipb", "provisional")
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    QUARTER_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    POT_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_AGREED_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_AGREED_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_AGREED_PENCE_FIELD_NUMBER: _ClassVar[int]
    NHS_AGREED_IPB_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_PAID_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PAID_PENCE_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_WITH_PERSONAL_BUDGET_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_WITH_IPB_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_FIELD_NUMBER: _ClassVar[int]
    council_gss_code: str
    financial_year: int
    quarter: int
    period_end: str
    pot_pence: int
    council_agreed_pence: int
    council_agreed_basis_points: int
    client_agreed_pence: int
    nhs_agreed_ipb_pence: int
    council_paid_pence: int
    client_paid_pence: int
    people_with_personal_budget: PeopleSnapshot
    people_with_ipb: PeopleSnapshot
    provisional: bool
    def __init__(self, council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., quarter: _Optional[int] = ..., period_end: _Optional[str] = ..., pot_pence: _Optional[int] = ..., council_agreed_pence: _Optional[int] = ..., council_agreed_basis_points: _Optional[int] = ..., client_agreed_pence: _Optional[int] = ..., nhs_agreed_ipb_pence: _Optional[int] = ..., council_paid_pence: _Optional[int] = ..., client_paid_pence: _Optional[int] = ..., people_with_personal_budget: _Optional[_Union[PeopleSnapshot, _Mapping]] = ..., people_with_ipb: _Optional[_Union[PeopleSnapshot, _Mapping]] = ..., provisional: _Optional[bool] = ...) -> None: ...

class GetTargetStatusRequest(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ...) -> None: ...

class QuarterPoint(_message.Message):
    __slots__ = ("quarter", "period_end", "agreed_pence", "agreed_basis_points", "met", "gap_pence", "above_floor_pence", "provisional")
    QUARTER_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    AGREED_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    GAP_PENCE_FIELD_NUMBER: _ClassVar[int]
    ABOVE_FLOOR_PENCE_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_FIELD_NUMBER: _ClassVar[int]
    quarter: int
    period_end: str
    agreed_pence: int
    agreed_basis_points: int
    met: bool
    gap_pence: int
    above_floor_pence: int
    provisional: bool
    def __init__(self, quarter: _Optional[int] = ..., period_end: _Optional[str] = ..., agreed_pence: _Optional[int] = ..., agreed_basis_points: _Optional[int] = ..., met: _Optional[bool] = ..., gap_pence: _Optional[int] = ..., above_floor_pence: _Optional[int] = ..., provisional: _Optional[bool] = ...) -> None: ...

class CohortTarget(_message.Message):
    __slots__ = ("cohort", "target_basis_points", "target_pence", "agreed_pence", "agreed_basis_points", "met", "gap_pence", "trend", "above_floor_pence", "provisional")
    COHORT_FIELD_NUMBER: _ClassVar[int]
    TARGET_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    GAP_PENCE_FIELD_NUMBER: _ClassVar[int]
    TREND_FIELD_NUMBER: _ClassVar[int]
    ABOVE_FLOOR_PENCE_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_FIELD_NUMBER: _ClassVar[int]
    cohort: Cohort
    target_basis_points: int
    target_pence: int
    agreed_pence: int
    agreed_basis_points: int
    met: bool
    gap_pence: int
    trend: _containers.RepeatedCompositeFieldContainer[QuarterPoint]
    above_floor_pence: int
    provisional: bool
    def __init__(self, cohort: _Optional[_Union[Cohort, str]] = ..., target_basis_points: _Optional[int] = ..., target_pence: _Optional[int] = ..., agreed_pence: _Optional[int] = ..., agreed_basis_points: _Optional[int] = ..., met: _Optional[bool] = ..., gap_pence: _Optional[int] = ..., trend: _Optional[_Iterable[_Union[QuarterPoint, _Mapping]]] = ..., above_floor_pence: _Optional[int] = ..., provisional: _Optional[bool] = ...) -> None: ...

class TargetStatus(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year", "allocation_pence", "targets")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_PENCE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    allocation_pence: int
    targets: _containers.RepeatedCompositeFieldContainer[CohortTarget]
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., allocation_pence: _Optional[int] = ..., targets: _Optional[_Iterable[_Union[CohortTarget, _Mapping]]] = ...) -> None: ...

class ExportQuarterlyReturnRequest(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year", "quarter")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    QUARTER_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    quarter: int
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., quarter: _Optional[int] = ...) -> None: ...

class QuarterlyReturn(_message.Message):
    __slots__ = ("csv", "file_name", "columns", "provisional")
    CSV_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_FIELD_NUMBER: _ClassVar[int]
    csv: bytes
    file_name: str
    columns: _containers.RepeatedScalarFieldContainer[str]
    provisional: bool
    def __init__(self, csv: _Optional[bytes] = ..., file_name: _Optional[str] = ..., columns: _Optional[_Iterable[str]] = ..., provisional: _Optional[bool] = ...) -> None: ...

class ReconcileRequest(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ...) -> None: ...

class FigureDifference(_message.Message):
    __slots__ = ("figure", "reported_pence", "ledger_pence", "difference_pence")
    FIGURE_FIELD_NUMBER: _ClassVar[int]
    REPORTED_PENCE_FIELD_NUMBER: _ClassVar[int]
    LEDGER_PENCE_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    figure: str
    reported_pence: int
    ledger_pence: int
    difference_pence: int
    def __init__(self, figure: _Optional[str] = ..., reported_pence: _Optional[int] = ..., ledger_pence: _Optional[int] = ..., difference_pence: _Optional[int] = ...) -> None: ...

class Reconciliation(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year", "figures_checked", "differences", "reconciled")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    FIGURES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    RECONCILED_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    figures_checked: int
    differences: _containers.RepeatedCompositeFieldContainer[FigureDifference]
    reconciled: bool
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., figures_checked: _Optional[int] = ..., differences: _Optional[_Iterable[_Union[FigureDifference, _Mapping]]] = ..., reconciled: _Optional[bool] = ...) -> None: ...

class RebuildReadModelRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class RebuildReadModelResponse(_message.Message):
    __slots__ = ("consumers_reset",)
    CONSUMERS_RESET_FIELD_NUMBER: _ClassVar[int]
    consumers_reset: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, consumers_reset: _Optional[_Iterable[str]] = ...) -> None: ...

class GetReadModelStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReadModelStatus(_message.Message):
    __slots__ = ("rebuilding", "applied_events", "total_events")
    REBUILDING_FIELD_NUMBER: _ClassVar[int]
    APPLIED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EVENTS_FIELD_NUMBER: _ClassVar[int]
    rebuilding: bool
    applied_events: int
    total_events: int
    def __init__(self, rebuilding: _Optional[bool] = ..., applied_events: _Optional[int] = ..., total_events: _Optional[int] = ...) -> None: ...
