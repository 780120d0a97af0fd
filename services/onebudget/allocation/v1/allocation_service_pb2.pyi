from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FundingStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FUNDING_STREAM_UNSPECIFIED: _ClassVar[FundingStream]
    FUNDING_STREAM_NHS: _ClassVar[FundingStream]
    FUNDING_STREAM_COUNCIL: _ClassVar[FundingStream]
    FUNDING_STREAM_CLIENT: _ClassVar[FundingStream]

class Cohort(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COHORT_UNSPECIFIED: _ClassVar[Cohort]
    COHORT_CHC: _ClassVar[Cohort]
    COHORT_CHILDRENS_CC: _ClassVar[Cohort]
    COHORT_S117: _ClassVar[Cohort]
    COHORT_WHEELCHAIR: _ClassVar[Cohort]
    COHORT_JOINT_PACKAGE: _ClassVar[Cohort]
    COHORT_LONG_TERM_CONDITION: _ClassVar[Cohort]
    COHORT_MENTAL_HEALTH: _ClassVar[Cohort]
    COHORT_LOCAL_OFFER: _ClassVar[Cohort]

class ManagementOption(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MANAGEMENT_OPTION_UNSPECIFIED: _ClassVar[ManagementOption]
    MANAGEMENT_OPTION_NOTIONAL: _ClassVar[ManagementOption]
    MANAGEMENT_OPTION_THIRD_PARTY: _ClassVar[ManagementOption]
    MANAGEMENT_OPTION_DIRECT_PAYMENT: _ClassVar[ManagementOption]

class PayeeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYEE_KIND_UNSPECIFIED: _ClassVar[PayeeKind]
    PAYEE_KIND_PROVIDER: _ClassVar[PayeeKind]
    PAYEE_KIND_PERSONAL_ASSISTANT: _ClassVar[PayeeKind]
    PAYEE_KIND_PERSON: _ClassVar[PayeeKind]
    PAYEE_KIND_NOMINEE: _ClassVar[PayeeKind]
    PAYEE_KIND_THIRD_PARTY_ORGANISATION: _ClassVar[PayeeKind]
    PAYEE_KIND_FAMILY_MEMBER: _ClassVar[PayeeKind]

class Frequency(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FREQUENCY_UNSPECIFIED: _ClassVar[Frequency]
    FREQUENCY_ONE_OFF: _ClassVar[Frequency]
    FREQUENCY_DAILY: _ClassVar[Frequency]
    FREQUENCY_WEEKLY: _ClassVar[Frequency]
    FREQUENCY_FOUR_WEEKLY: _ClassVar[Frequency]
    FREQUENCY_MONTHLY: _ClassVar[Frequency]
    FREQUENCY_QUARTERLY: _ClassVar[Frequency]
    FREQUENCY_ANNUAL: _ClassVar[Frequency]

class BudgetStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_STATUS_UNSPECIFIED: _ClassVar[BudgetStatus]
    BUDGET_STATUS_DRAFT: _ClassVar[BudgetStatus]
    BUDGET_STATUS_AGREED: _ClassVar[BudgetStatus]
    BUDGET_STATUS_ENDED: _ClassVar[BudgetStatus]

class EndReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    END_REASON_UNSPECIFIED: _ClassVar[EndReason]
    END_REASON_REQUESTED: _ClassVar[EndReason]
    END_REASON_PERSON_DIED: _ClassVar[EndReason]
    END_REASON_CONSENT_WITHDRAWN: _ClassVar[EndReason]
FUNDING_STREAM_UNSPECIFIED: FundingStream
FUNDING_STREAM_NHS: FundingStream
FUNDING_STREAM_COUNCIL: FundingStream
FUNDING_STREAM_CLIENT: FundingStream
COHORT_UNSPECIFIED: Cohort
COHORT_CHC: Cohort
COHORT_CHILDRENS_CC: Cohort
COHORT_S117: Cohort
COHORT_WHEELCHAIR: Cohort
COHORT_JOINT_PACKAGE: Cohort
COHORT_LONG_TERM_CONDITION: Cohort
COHORT_MENTAL_HEALTH: Cohort
COHORT_LOCAL_OFFER: Cohort
MANAGEMENT_OPTION_UNSPECIFIED: ManagementOption
MANAGEMENT_OPTION_NOTIONAL: ManagementOption
MANAGEMENT_OPTION_THIRD_PARTY: ManagementOption
MANAGEMENT_OPTION_DIRECT_PAYMENT: ManagementOption
PAYEE_KIND_UNSPECIFIED: PayeeKind
PAYEE_KIND_PROVIDER: PayeeKind
PAYEE_KIND_PERSONAL_ASSISTANT: PayeeKind
PAYEE_KIND_PERSON: PayeeKind
PAYEE_KIND_NOMINEE: PayeeKind
PAYEE_KIND_THIRD_PARTY_ORGANISATION: PayeeKind
PAYEE_KIND_FAMILY_MEMBER: PayeeKind
FREQUENCY_UNSPECIFIED: Frequency
FREQUENCY_ONE_OFF: Frequency
FREQUENCY_DAILY: Frequency
FREQUENCY_WEEKLY: Frequency
FREQUENCY_FOUR_WEEKLY: Frequency
FREQUENCY_MONTHLY: Frequency
FREQUENCY_QUARTERLY: Frequency
FREQUENCY_ANNUAL: Frequency
BUDGET_STATUS_UNSPECIFIED: BudgetStatus
BUDGET_STATUS_DRAFT: BudgetStatus
BUDGET_STATUS_AGREED: BudgetStatus
BUDGET_STATUS_ENDED: BudgetStatus
END_REASON_UNSPECIFIED: EndReason
END_REASON_REQUESTED: EndReason
END_REASON_PERSON_DIED: EndReason
END_REASON_CONSENT_WITHDRAWN: EndReason

class Commissioner(_message.Message):
    __slots__ = ("ods_code", "name")
    ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ods_code: str
    name: str
    def __init__(self, ods_code: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RegisterCommissionerRequest(_message.Message):
    __slots__ = ("request_id", "ods_code", "name")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    ods_code: str
    name: str
    def __init__(self, request_id: _Optional[str] = ..., ods_code: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Council(_message.Message):
    __slots__ = ("gss_code", "name")
    GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    gss_code: str
    name: str
    def __init__(self, gss_code: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RegisterCouncilRequest(_message.Message):
    __slots__ = ("request_id", "gss_code", "name")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    gss_code: str
    name: str
    def __init__(self, request_id: _Optional[str] = ..., gss_code: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CohortTarget(_message.Message):
    __slots__ = ("cohort", "basis_points")
    COHORT_FIELD_NUMBER: _ClassVar[int]
    BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    cohort: Cohort
    basis_points: int
    def __init__(self, cohort: _Optional[_Union[Cohort, str]] = ..., basis_points: _Optional[int] = ...) -> None: ...

class SetCommissionerAllocationRequest(_message.Message):
    __slots__ = ("request_id", "commissioner_ods_code", "financial_year", "allocation_pence", "phb_target_basis_points", "cohort_targets")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_PENCE_FIELD_NUMBER: _ClassVar[int]
    PHB_TARGET_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    COHORT_TARGETS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    commissioner_ods_code: str
    financial_year: int
    allocation_pence: int
    phb_target_basis_points: int
    cohort_targets: _containers.RepeatedCompositeFieldContainer[CohortTarget]
    def __init__(self, request_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., allocation_pence: _Optional[int] = ..., phb_target_basis_points: _Optional[int] = ..., cohort_targets: _Optional[_Iterable[_Union[CohortTarget, _Mapping]]] = ...) -> None: ...

class GetCommissionerAllocationRequest(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ...) -> None: ...

class RingFence(_message.Message):
    __slots__ = ("cohort", "basis_points", "target_pence", "balance_pence", "funded_pence", "returned_at_close_pence", "account_id")
    COHORT_FIELD_NUMBER: _ClassVar[int]
    BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_PENCE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    FUNDED_PENCE_FIELD_NUMBER: _ClassVar[int]
    RETURNED_AT_CLOSE_PENCE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    cohort: Cohort
    basis_points: int
    target_pence: int
    balance_pence: int
    funded_pence: int
    returned_at_close_pence: int
    account_id: str
    def __init__(self, cohort: _Optional[_Union[Cohort, str]] = ..., basis_points: _Optional[int] = ..., target_pence: _Optional[int] = ..., balance_pence: _Optional[int] = ..., funded_pence: _Optional[int] = ..., returned_at_close_pence: _Optional[int] = ..., account_id: _Optional[str] = ...) -> None: ...

class CommissionerAllocation(_message.Message):
    __slots__ = ("commissioner_ods_code", "financial_year", "allocation_pence", "phb_target_basis_points", "phb_target_pence", "ring_fences", "allocation_account_id", "allocation_balance_pence", "closed", "closed_on")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_PENCE_FIELD_NUMBER: _ClassVar[int]
    PHB_TARGET_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    PHB_TARGET_PENCE_FIELD_NUMBER: _ClassVar[int]
    RING_FENCES_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_BALANCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_ON_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    financial_year: int
    allocation_pence: int
    phb_target_basis_points: int
    phb_target_pence: int
    ring_fences: _containers.RepeatedCompositeFieldContainer[RingFence]
    allocation_account_id: str
    allocation_balance_pence: int
    closed: bool
    closed_on: str
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., allocation_pence: _Optional[int] = ..., phb_target_basis_points: _Optional[int] = ..., phb_target_pence: _Optional[int] = ..., ring_fences: _Optional[_Iterable[_Union[RingFence, _Mapping]]] = ..., allocation_account_id: _Optional[str] = ..., allocation_balance_pence: _Optional[int] = ..., closed: _Optional[bool] = ..., closed_on: _Optional[str] = ...) -> None: ...

class SetCouncilAllocationRequest(_message.Message):
    __slots__ = ("request_id", "council_gss_code", "financial_year", "pot_pence")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    POT_PENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    council_gss_code: str
    financial_year: int
    pot_pence: int
    def __init__(self, request_id: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., pot_pence: _Optional[int] = ...) -> None: ...

class CouncilAllocation(_message.Message):
    __slots__ = ("council_gss_code", "financial_year", "pot_pence", "balance_pence", "account_id")
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    POT_PENCE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    council_gss_code: str
    financial_year: int
    pot_pence: int
    balance_pence: int
    account_id: str
    def __init__(self, council_gss_code: _Optional[str] = ..., financial_year: _Optional[int] = ..., pot_pence: _Optional[int] = ..., balance_pence: _Optional[int] = ..., account_id: _Optional[str] = ...) -> None: ...

class CloseFinancialYearRequest(_message.Message):
    __slots__ = ("request_id", "commissioner_ods_code", "financial_year")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    commissioner_ods_code: str
    financial_year: int
    def __init__(self, request_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., financial_year: _Optional[int] = ...) -> None: ...

class CreateBudgetRequest(_message.Message):
    __slots__ = ("request_id", "person_id", "commissioner_ods_code", "council_gss_code", "nhs_only", "cohort", "financial_year", "start_date", "end_date", "indicative_nhs_pence", "indicative_council_pence", "client_contribution_pence")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    NHS_ONLY_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    INDICATIVE_NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    INDICATIVE_COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CONTRIBUTION_PENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    nhs_only: bool
    cohort: Cohort
    financial_year: int
    start_date: str
    end_date: str
    indicative_nhs_pence: int
    indicative_council_pence: int
    client_contribution_pence: int
    def __init__(self, request_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., nhs_only: _Optional[bool] = ..., cohort: _Optional[_Union[Cohort, str]] = ..., financial_year: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., indicative_nhs_pence: _Optional[int] = ..., indicative_council_pence: _Optional[int] = ..., client_contribution_pence: _Optional[int] = ...) -> None: ...

class GetBudgetRequest(_message.Message):
    __slots__ = ("budget_id",)
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    def __init__(self, budget_id: _Optional[str] = ...) -> None: ...

class ListBudgetsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "commissioner_ods_code", "council_gss_code", "person_id", "status", "financial_year")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    commissioner_ods_code: str
    council_gss_code: str
    person_id: str
    status: BudgetStatus
    financial_year: int
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., person_id: _Optional[str] = ..., status: _Optional[_Union[BudgetStatus, str]] = ..., financial_year: _Optional[int] = ...) -> None: ...

class ListBudgetsResponse(_message.Message):
    __slots__ = ("budgets", "next_page_token")
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    budgets: _containers.RepeatedCompositeFieldContainer[Budget]
    next_page_token: str
    def __init__(self, budgets: _Optional[_Iterable[_Union[Budget, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class FundingSplit(_message.Message):
    __slots__ = ("nhs_basis_points", "council_basis_points", "client_basis_points")
    NHS_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    nhs_basis_points: int
    council_basis_points: int
    client_basis_points: int
    def __init__(self, nhs_basis_points: _Optional[int] = ..., council_basis_points: _Optional[int] = ..., client_basis_points: _Optional[int] = ...) -> None: ...

class PlanLineInput(_message.Message):
    __slots__ = ("description", "category", "cost_per_occurrence_pence", "frequency", "occurrences", "split", "management_option", "allowed_payee_id", "allowed_payee_kind")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    COST_PER_OCCURRENCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    MANAGEMENT_OPTION_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PAYEE_KIND_FIELD_NUMBER: _ClassVar[int]
    description: str
    category: str
    cost_per_occurrence_pence: int
    frequency: Frequency
    occurrences: int
    split: FundingSplit
    management_option: ManagementOption
    allowed_payee_id: str
    allowed_payee_kind: PayeeKind
    def __init__(self, description: _Optional[str] = ..., category: _Optional[str] = ..., cost_per_occurrence_pence: _Optional[int] = ..., frequency: _Optional[_Union[Frequency, str]] = ..., occurrences: _Optional[int] = ..., split: _Optional[_Union[FundingSplit, _Mapping]] = ..., management_option: _Optional[_Union[ManagementOption, str]] = ..., allowed_payee_id: _Optional[str] = ..., allowed_payee_kind: _Optional[_Union[PayeeKind, str]] = ...) -> None: ...

class PlanLine(_message.Message):
    __slots__ = ("plan_line_id", "description", "category", "cost_per_occurrence_pence", "frequency", "occurrences", "split", "management_option", "allowed_payee_id", "allowed_payee_kind", "cost_pence", "nhs_pence", "council_pence", "client_pence", "spent_pence", "reserved_pence", "available_pence")
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    COST_PER_OCCURRENCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    MANAGEMENT_OPTION_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PAYEE_KIND_FIELD_NUMBER: _ClassVar[int]
    COST_PENCE_FIELD_NUMBER: _ClassVar[int]
    NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    SPENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVED_PENCE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_PENCE_FIELD_NUMBER: _ClassVar[int]
    plan_line_id: str
    description: str
    category: str
    cost_per_occurrence_pence: int
    frequency: Frequency
    occurrences: int
    split: FundingSplit
    management_option: ManagementOption
    allowed_payee_id: str
    allowed_payee_kind: PayeeKind
    cost_pence: int
    nhs_pence: int
    council_pence: int
    client_pence: int
    spent_pence: int
    reserved_pence: int
    available_pence: int
    def __init__(self, plan_line_id: _Optional[str] = ..., description: _Optional[str] = ..., category: _Optional[str] = ..., cost_per_occurrence_pence: _Optional[int] = ..., frequency: _Optional[_Union[Frequency, str]] = ..., occurrences: _Optional[int] = ..., split: _Optional[_Union[FundingSplit, _Mapping]] = ..., management_option: _Optional[_Union[ManagementOption, str]] = ..., allowed_payee_id: _Optional[str] = ..., allowed_payee_kind: _Optional[_Union[PayeeKind, str]] = ..., cost_pence: _Optional[int] = ..., nhs_pence: _Optional[int] = ..., council_pence: _Optional[int] = ..., client_pence: _Optional[int] = ..., spent_pence: _Optional[int] = ..., reserved_pence: _Optional[int] = ..., available_pence: _Optional[int] = ...) -> None: ...

class BudgetStream(_message.Message):
    __slots__ = ("funding_stream", "account_id", "agreed_pence", "reserved_pence", "spent_pence", "available_pence", "returned_pence")
    FUNDING_STREAM_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AGREED_PENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVED_PENCE_FIELD_NUMBER: _ClassVar[int]
    SPENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_PENCE_FIELD_NUMBER: _ClassVar[int]
    RETURNED_PENCE_FIELD_NUMBER: _ClassVar[int]
    funding_stream: FundingStream
    account_id: str
    agreed_pence: int
    reserved_pence: int
    spent_pence: int
    available_pence: int
    returned_pence: int
    def __init__(self, funding_stream: _Optional[_Union[FundingStream, str]] = ..., account_id: _Optional[str] = ..., agreed_pence: _Optional[int] = ..., reserved_pence: _Optional[int] = ..., spent_pence: _Optional[int] = ..., available_pence: _Optional[int] = ..., returned_pence: _Optional[int] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("budget_id", "person_id", "commissioner_ods_code", "council_gss_code", "cohort", "financial_year", "start_date", "end_date", "status", "child", "indicative_nhs_pence", "indicative_council_pence", "client_contribution_pence", "planned_pence", "agreed_pence", "reserved_pence", "spent_pence", "available_pence", "streams", "plan_lines", "agreed_on", "ended_on", "end_reason", "version", "revision")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    INDICATIVE_NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    INDICATIVE_COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CONTRIBUTION_PENCE_FIELD_NUMBER: _ClassVar[int]
    PLANNED_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_PENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVED_PENCE_FIELD_NUMBER: _ClassVar[int]
    SPENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINES_FIELD_NUMBER: _ClassVar[int]
    AGREED_ON_FIELD_NUMBER: _ClassVar[int]
    ENDED_ON_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    cohort: Cohort
    financial_year: int
    start_date: str
    end_date: str
    status: BudgetStatus
    child: bool
    indicative_nhs_pence: int
    indicative_council_pence: int
    client_contribution_pence: int
    planned_pence: int
    agreed_pence: int
    reserved_pence: int
    spent_pence: int
    available_pence: int
    streams: _containers.RepeatedCompositeFieldContainer[BudgetStream]
    plan_lines: _containers.RepeatedCompositeFieldContainer[PlanLine]
    agreed_on: str
    ended_on: str
    end_reason: EndReason
    version: int
    revision: int
    def __init__(self, budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., cohort: _Optional[_Union[Cohort, str]] = ..., financial_year: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., status: _Optional[_Union[BudgetStatus, str]] = ..., child: _Optional[bool] = ..., indicative_nhs_pence: _Optional[int] = ..., indicative_council_pence: _Optional[int] = ..., client_contribution_pence: _Optional[int] = ..., planned_pence: _Optional[int] = ..., agreed_pence: _Optional[int] = ..., reserved_pence: _Optional[int] = ..., spent_pence: _Optional[int] = ..., available_pence: _Optional[int] = ..., streams: _Optional[_Iterable[_Union[BudgetStream, _Mapping]]] = ..., plan_lines: _Optional[_Iterable[_Union[PlanLine, _Mapping]]] = ..., agreed_on: _Optional[str] = ..., ended_on: _Optional[str] = ..., end_reason: _Optional[_Union[EndReason, str]] = ..., version: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...

class AddPlanLineRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "line")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    line: PlanLineInput
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., line: _Optional[_Union[PlanLineInput, _Mapping]] = ...) -> None: ...

class RemovePlanLineRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "plan_line_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    plan_line_id: str
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., plan_line_id: _Optional[str] = ...) -> None: ...

class AgreeBudgetRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "agreed_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    AGREED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    agreed_on: str
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., agreed_on: _Optional[str] = ...) -> None: ...

class ReviseBudgetRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "reasons", "notice_date", "add_lines", "remove_plan_line_ids")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    NOTICE_DATE_FIELD_NUMBER: _ClassVar[int]
    ADD_LINES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_PLAN_LINE_IDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    notice_date: str
    add_lines: _containers.RepeatedCompositeFieldContainer[PlanLineInput]
    remove_plan_line_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., notice_date: _Optional[str] = ..., add_lines: _Optional[_Iterable[_Union[PlanLineInput, _Mapping]]] = ..., remove_plan_line_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class EndBudgetRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "ended_on", "note", "reasons", "notice_date")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    ENDED_ON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    NOTICE_DATE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    ended_on: str
    note: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    notice_date: str
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., ended_on: _Optional[str] = ..., note: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., notice_date: _Optional[str] = ...) -> None: ...

class ImportBudgetsRequest(_message.Message):
    __slots__ = ("request_id", "items")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    items: _containers.RepeatedCompositeFieldContainer[ImportBudgetItem]
    def __init__(self, request_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ImportBudgetItem, _Mapping]]] = ...) -> None: ...

class ImportBudgetItem(_message.Message):
    __slots__ = ("request_id", "budget", "lines", "agreed_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    AGREED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget: CreateBudgetRequest
    lines: _containers.RepeatedCompositeFieldContainer[PlanLineInput]
    agreed_on: str
    def __init__(self, request_id: _Optional[str] = ..., budget: _Optional[_Union[CreateBudgetRequest, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[PlanLineInput, _Mapping]]] = ..., agreed_on: _Optional[str] = ...) -> None: ...

class ImportedBudget(_message.Message):
    __slots__ = ("budget_id", "person_id", "plan_line_ids", "agreed_nhs_pence", "agreed_council_pence", "agreed_client_pence", "version")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_IDS_FIELD_NUMBER: _ClassVar[int]
    AGREED_NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_CLIENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    person_id: str
    plan_line_ids: _containers.RepeatedScalarFieldContainer[str]
    agreed_nhs_pence: int
    agreed_council_pence: int
    agreed_client_pence: int
    version: int
    def __init__(self, budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., plan_line_ids: _Optional[_Iterable[str]] = ..., agreed_nhs_pence: _Optional[int] = ..., agreed_council_pence: _Optional[int] = ..., agreed_client_pence: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "reason", "message", "metadata", "field_violations")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FIELD_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    code: int
    reason: str
    message: str
    metadata: _containers.ScalarMap[str, str]
    field_violations: _containers.RepeatedCompositeFieldContainer[ItemFieldViolation]
    def __init__(self, code: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., field_violations: _Optional[_Iterable[_Union[ItemFieldViolation, _Mapping]]] = ...) -> None: ...

class ItemFieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ImportBudgetResult(_message.Message):
    __slots__ = ("imported", "error")
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    imported: ImportedBudget
    error: ItemError
    def __init__(self, imported: _Optional[_Union[ImportedBudget, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class ImportBudgetsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ImportBudgetResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ImportBudgetResult, _Mapping]]] = ...) -> None: ...
