from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BudgetAgreed(_message.Message):
    __slots__ = ("budget_id", "person_id", "commissioner_ods_code", "council_gss_code", "nhs_pence", "council_pence", "client_pence", "agreed_on", "financial_year", "cohort", "child", "start_date", "end_date", "stream_accounts", "plan_lines", "agreed_pence", "budget_version", "nhs_funding")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_ON_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    STREAM_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINES_FIELD_NUMBER: _ClassVar[int]
    AGREED_PENCE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_VERSION_FIELD_NUMBER: _ClassVar[int]
    NHS_FUNDING_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    nhs_pence: int
    council_pence: int
    client_pence: int
    agreed_on: str
    financial_year: int
    cohort: str
    child: bool
    start_date: str
    end_date: str
    stream_accounts: _containers.RepeatedCompositeFieldContainer[BudgetStreamAccount]
    plan_lines: _containers.RepeatedCompositeFieldContainer[PlanLineTerms]
    agreed_pence: int
    budget_version: int
    nhs_funding: _containers.RepeatedCompositeFieldContainer[NhsFunding]
    def __init__(self, budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., nhs_pence: _Optional[int] = ..., council_pence: _Optional[int] = ..., client_pence: _Optional[int] = ..., agreed_on: _Optional[str] = ..., financial_year: _Optional[int] = ..., cohort: _Optional[str] = ..., child: _Optional[bool] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., stream_accounts: _Optional[_Iterable[_Union[BudgetStreamAccount, _Mapping]]] = ..., plan_lines: _Optional[_Iterable[_Union[PlanLineTerms, _Mapping]]] = ..., agreed_pence: _Optional[int] = ..., budget_version: _Optional[int] = ..., nhs_funding: _Optional[_Iterable[_Union[NhsFunding, _Mapping]]] = ...) -> None: ...

class NhsFunding(_message.Message):
    __slots__ = ("account_id", "ring_fence", "cohort", "pence")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    RING_FENCE_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    PENCE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    ring_fence: bool
    cohort: str
    pence: int
    def __init__(self, account_id: _Optional[str] = ..., ring_fence: _Optional[bool] = ..., cohort: _Optional[str] = ..., pence: _Optional[int] = ...) -> None: ...

class BudgetStreamAccount(_message.Message):
    __slots__ = ("funding_stream", "account_id")
    FUNDING_STREAM_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    funding_stream: str
    account_id: str
    def __init__(self, funding_stream: _Optional[str] = ..., account_id: _Optional[str] = ...) -> None: ...

class PlanLineTerms(_message.Message):
    __slots__ = ("plan_line_id", "description", "category", "cost_per_occurrence_pence", "frequency", "occurrences", "cost_pence", "nhs_basis_points", "council_basis_points", "client_basis_points", "nhs_pence", "council_pence", "client_pence", "management_option", "allowed_payee_id", "allowed_payee_kind")
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    COST_PER_OCCURRENCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    COST_PENCE_FIELD_NUMBER: _ClassVar[int]
    NHS_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    MANAGEMENT_OPTION_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PAYEE_KIND_FIELD_NUMBER: _ClassVar[int]
    plan_line_id: str
    description: str
    category: str
    cost_per_occurrence_pence: int
    frequency: str
    occurrences: int
    cost_pence: int
    nhs_basis_points: int
    council_basis_points: int
    client_basis_points: int
    nhs_pence: int
    council_pence: int
    client_pence: int
    management_option: str
    allowed_payee_id: str
    allowed_payee_kind: str
    def __init__(self, plan_line_id: _Optional[str] = ..., description: _Optional[str] = ..., category: _Optional[str] = ..., cost_per_occurrence_pence: _Optional[int] = ..., frequency: _Optional[str] = ..., occurrences: _Optional[int] = ..., cost_pence: _Optional[int] = ..., nhs_basis_points: _Optional[int] = ..., council_basis_points: _Optional[int] = ..., client_basis_points: _Optional[int] = ..., nhs_pence: _Optional[int] = ..., council_pence: _Optional[int] = ..., client_pence: _Optional[int] = ..., management_option: _Optional[str] = ..., allowed_payee_id: _Optional[str] = ..., allowed_payee_kind: _Optional[str] = ...) -> None: ...

class RingFenceTarget(_message.Message):
    __slots__ = ("cohort", "basis_points", "target_pence", "account_id")
    COHORT_FIELD_NUMBER: _ClassVar[int]
    BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_PENCE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    cohort: str
    basis_points: int
    target_pence: int
    account_id: str
    def __init__(self, cohort: _Optional[str] = ..., basis_points: _Optional[int] = ..., target_pence: _Optional[int] = ..., account_id: _Optional[str] = ...) -> None: ...

class CommissionerAllocationSet(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year", "allocation_pence", "phb_target_basis_points", "phb_target_pence", "ring_fences", "allocation_account_id")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_PENCE_FIELD_NUMBER: _ClassVar[int]
    PHB_TARGET_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    PHB_TARGET_PENCE_FIELD_NUMBER: _ClassVar[int]
    RING_FENCES_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    allocation_pence: int
    phb_target_basis_points: int
    phb_target_pence: int
    ring_fences: _containers.RepeatedCompositeFieldContainer[RingFenceTarget]
    allocation_account_id: str
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., allocation_pence: _Optional[int] = ..., phb_target_basis_points: _Optional[int] = ..., phb_target_pence: _Optional[int] = ..., ring_fences: _Optional[_Iterable[_Union[RingFenceTarget, _Mapping]]] = ..., allocation_account_id: _Optional[str] = ...) -> None: ...

class CouncilAllocationSet(_message.Message):
    __slots__ = ("council_gss_code", "financial_year", "pot_pence", "account_id")
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    POT_PENCE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    council_gss_code: str
    financial_year: int
    pot_pence: int
    account_id: str
    def __init__(self, council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., pot_pence: _Optional[int] = ..., account_id: _Optional[str] = ...) -> None: ...

class FinancialYearClosed(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year", "closed_on", "returned_pence", "ring_fences_returned")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    CLOSED_ON_FIELD_NUMBER: _ClassVar[int]
    RETURNED_PENCE_FIELD_NUMBER: _ClassVar[int]
    RING_FENCES_RETURNED_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    closed_on: str
    returned_pence: int
    ring_fences_returned: _containers.RepeatedCompositeFieldContainer[RingFenceTarget]
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., closed_on: _Optional[str] = ..., returned_pence: _Optional[int] = ..., ring_fences_returned: _Optional[_Iterable[_Union[RingFenceTarget, _Mapping]]] = ...) -> None: ...

class BudgetCreated(_message.Message):
    __slots__ = ("budget_id", "person_id", "commissioner_ods_code", "council_gss_code", "financial_year", "cohort", "child", "start_date", "end_date", "indicative_nhs_pence", "indicative_council_pence", "client_contribution_pence", "stream_accounts")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    INDICATIVE_NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    INDICATIVE_COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CONTRIBUTION_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAM_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    financial_year: int
    cohort: str
    child: bool
    start_date: str
    end_date: str
    indicative_nhs_pence: int
    indicative_council_pence: int
    client_contribution_pence: int
    stream_accounts: _containers.RepeatedCompositeFieldContainer[BudgetStreamAccount]
    def __init__(self, budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., cohort: _Optional[str] = ..., child: _Optional[bool] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., indicative_nhs_pence: _Optional[int] = ..., indicative_council_pence: _Optional[int] = ..., client_contribution_pence: _Optional[int] = ..., stream_accounts: _Optional[_Iterable[_Union[BudgetStreamAccount, _Mapping]]] = ...) -> None: ...

class PlanLineAdded(_message.Message):
    __slots__ = ("budget_id", "person_id", "commissioner_ods_code", "council_gss_code", "financial_year", "cohort", "line", "revision")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    financial_year: int
    cohort: str
    line: PlanLineTerms
    revision: int
    def __init__(self, budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., cohort: _Optional[str] = ..., line: _Optional[_Union[PlanLineTerms, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class PlanLineRemoved(_message.Message):
    __slots__ = ("budget_id", "person_id", "commissioner_ods_code", "council_gss_code", "financial_year", "cohort", "plan_line_id", "category", "revision")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    financial_year: int
    cohort: str
    plan_line_id: str
    category: str
    revision: int
    def __init__(self, budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., cohort: _Optional[str] = ..., plan_line_id: _Optional[str] = ..., category: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class BudgetRevised(_message.Message):
    __slots__ = ("budget_id", "person_id", "commissioner_ods_code", "council_gss_code", "financial_year", "cohort", "revision", "reasons", "notice_date", "nhs_pence", "council_pence", "client_pence", "nhs_delta_pence", "council_delta_pence", "client_delta_pence", "added_lines", "removed_plan_line_ids", "child", "budget_version", "nhs_funding")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    NOTICE_DATE_FIELD_NUMBER: _ClassVar[int]
    NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    NHS_DELTA_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_DELTA_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_DELTA_PENCE_FIELD_NUMBER: _ClassVar[int]
    ADDED_LINES_FIELD_NUMBER: _ClassVar[int]
    REMOVED_PLAN_LINE_IDS_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_VERSION_FIELD_NUMBER: _ClassVar[int]
    NHS_FUNDING_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    financial_year: int
    cohort: str
    revision: int
    reasons: _containers.RepeatedScalarFieldContainer[str]
    notice_date: str
    nhs_pence: int
    council_pence: int
    client_pence: int
    nhs_delta_pence: int
    council_delta_pence: int
    client_delta_pence: int
    added_lines: _containers.RepeatedCompositeFieldContainer[PlanLineTerms]
    removed_plan_line_ids: _containers.RepeatedScalarFieldContainer[str]
    child: bool
    budget_version: int
    nhs_funding: _containers.RepeatedCompositeFieldContainer[NhsFunding]
    def __init__(self, budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., cohort: _Optional[str] = ..., revision: _Optional[int] = ..., reasons: _Optional[_Iterable[str]] = ..., notice_date: _Optional[str] = ..., nhs_pence: _Optional[int] = ..., council_pence: _Optional[int] = ..., client_pence: _Optional[int] = ..., nhs_delta_pence: _Optional[int] = ..., council_delta_pence: _Optional[int] = ..., client_delta_pence: _Optional[int] = ..., added_lines: _Optional[_Iterable[_Union[PlanLineTerms, _Mapping]]] = ..., removed_plan_line_ids: _Optional[_Iterable[str]] = ..., child: _Optional[bool] = ..., budget_version: _Optional[int] = ..., nhs_funding: _Optional[_Iterable[_Union[NhsFunding, _Mapping]]] = ...) -> None: ...

class BudgetEnded(_message.Message):
    __slots__ = ("budget_id", "person_id", "commissioner_ods_code", "council_gss_code", "financial_year", "cohort", "reason", "ended_on", "nhs_returned_pence", "council_returned_pence", "client_returned_pence", "reserved_pence", "child", "was_agreed", "nhs_funding")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ENDED_ON_FIELD_NUMBER: _ClassVar[int]
    NHS_RETURNED_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_RETURNED_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_RETURNED_PENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVED_PENCE_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    WAS_AGREED_FIELD_NUMBER: _ClassVar[int]
    NHS_FUNDING_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    financial_year: int
    cohort: str
    reason: str
    ended_on: str
    nhs_returned_pence: int
    council_returned_pence: int
    client_returned_pence: int
    reserved_pence: int
    child: bool
    was_agreed: bool
    nhs_funding: _containers.RepeatedCompositeFieldContainer[NhsFunding]
    def __init__(self, budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., cohort: _Optional[str] = ..., reason: _Optional[str] = ..., ended_on: _Optional[str] = ..., nhs_returned_pence: _Optional[int] = ..., council_returned_pence: _Optional[int] = ..., client_returned_pence: _Optional[int] = ..., reserved_pence: _Optional[int] = ..., child: _Optional[bool] = ..., was_agreed: _Optional[bool] = ..., nhs_funding: _Optional[_Iterable[_Union[NhsFunding, _Mapping]]] = ...) -> None: ...
