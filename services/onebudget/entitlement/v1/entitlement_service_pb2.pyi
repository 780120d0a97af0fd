import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EligibilityCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ELIGIBILITY_CATEGORY_UNSPECIFIED: _ClassVar[EligibilityCategory]
    ELIGIBILITY_CATEGORY_CHC: _ClassVar[EligibilityCategory]
    ELIGIBILITY_CATEGORY_CHILDRENS_CC: _ClassVar[EligibilityCategory]
    ELIGIBILITY_CATEGORY_S117: _ClassVar[EligibilityCategory]
    ELIGIBILITY_CATEGORY_WHEELCHAIR: _ClassVar[EligibilityCategory]
    ELIGIBILITY_CATEGORY_JOINT_PACKAGE: _ClassVar[EligibilityCategory]
    ELIGIBILITY_CATEGORY_LONG_TERM_CONDITION: _ClassVar[EligibilityCategory]
    ELIGIBILITY_CATEGORY_MENTAL_HEALTH: _ClassVar[EligibilityCategory]
    ELIGIBILITY_CATEGORY_LOCAL_OFFER: _ClassVar[EligibilityCategory]

class DecisionOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_OUTCOME_UNSPECIFIED: _ClassVar[DecisionOutcome]
    DECISION_OUTCOME_GRANTED: _ClassVar[DecisionOutcome]
    DECISION_OUTCOME_REFUSED: _ClassVar[DecisionOutcome]

class PersonState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERSON_STATE_UNSPECIFIED: _ClassVar[PersonState]
    PERSON_STATE_ACTIVE: _ClassVar[PersonState]
    PERSON_STATE_CONSENT_WITHDRAWN: _ClassVar[PersonState]
    PERSON_STATE_DECEASED: _ClassVar[PersonState]

class PersonalHealthBudgetRequestState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERSONAL_HEALTH_BUDGET_REQUEST_STATE_UNSPECIFIED: _ClassVar[PersonalHealthBudgetRequestState]
    PERSONAL_HEALTH_BUDGET_REQUEST_STATE_GRANTED: _ClassVar[PersonalHealthBudgetRequestState]
    PERSONAL_HEALTH_BUDGET_REQUEST_STATE_REFUSED: _ClassVar[PersonalHealthBudgetRequestState]
    PERSONAL_HEALTH_BUDGET_REQUEST_STATE_RECONSIDERATION_REQUESTED: _ClassVar[PersonalHealthBudgetRequestState]

class ReviewKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_KIND_UNSPECIFIED: _ClassVar[ReviewKind]
    REVIEW_KIND_DIRECT_PAYMENT: _ClassVar[ReviewKind]
    REVIEW_KIND_CARE_PLAN: _ClassVar[ReviewKind]
ELIGIBILITY_CATEGORY_UNSPECIFIED: EligibilityCategory
ELIGIBILITY_CATEGORY_CHC: EligibilityCategory
ELIGIBILITY_CATEGORY_CHILDRENS_CC: EligibilityCategory
ELIGIBILITY_CATEGORY_S117: EligibilityCategory
ELIGIBILITY_CATEGORY_WHEELCHAIR: EligibilityCategory
ELIGIBILITY_CATEGORY_JOINT_PACKAGE: EligibilityCategory
ELIGIBILITY_CATEGORY_LONG_TERM_CONDITION: EligibilityCategory
ELIGIBILITY_CATEGORY_MENTAL_HEALTH: EligibilityCategory
ELIGIBILITY_CATEGORY_LOCAL_OFFER: EligibilityCategory
DECISION_OUTCOME_UNSPECIFIED: DecisionOutcome
DECISION_OUTCOME_GRANTED: DecisionOutcome
DECISION_OUTCOME_REFUSED: DecisionOutcome
PERSON_STATE_UNSPECIFIED: PersonState
PERSON_STATE_ACTIVE: PersonState
PERSON_STATE_CONSENT_WITHDRAWN: PersonState
PERSON_STATE_DECEASED: PersonState
PERSONAL_HEALTH_BUDGET_REQUEST_STATE_UNSPECIFIED: PersonalHealthBudgetRequestState
PERSONAL_HEALTH_BUDGET_REQUEST_STATE_GRANTED: PersonalHealthBudgetRequestState
PERSONAL_HEALTH_BUDGET_REQUEST_STATE_REFUSED: PersonalHealthBudgetRequestState
PERSONAL_HEALTH_BUDGET_REQUEST_STATE_RECONSIDERATION_REQUESTED: PersonalHealthBudgetRequestState
REVIEW_KIND_UNSPECIFIED: ReviewKind
REVIEW_KIND_DIRECT_PAYMENT: ReviewKind
REVIEW_KIND_CARE_PLAN: ReviewKind

class Person(_message.Message):
    __slots__ = ("person_id", "nhs_number", "given_name", "family_name", "date_of_birth", "commissioner_ods_code", "council_gss_code", "state", "died_on", "consent_withdrawn_on", "version", "create_time", "update_time")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    NHS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    GIVEN_NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DIED_ON_FIELD_NUMBER: _ClassVar[int]
    CONSENT_WITHDRAWN_ON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: str
    commissioner_ods_code: str
    council_gss_code: str
    state: PersonState
    died_on: str
    consent_withdrawn_on: str
    version: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, person_id: _Optional[str] = ..., nhs_number: _Optional[str] = ..., given_name: _Optional[str] = ..., family_name: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., state: _Optional[_Union[PersonState, str]] = ..., died_on: _Optional[str] = ..., consent_withdrawn_on: _Optional[str] = ..., version: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterPersonRequest(_message.Message):
    __slots__ = ("request_id", "nhs_number", "given_name", "family_name", "date_of_birth", "commissioner_ods_code", "council_gss_code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NHS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    GIVEN_NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: str
    commissioner_ods_code: str
    council_gss_code: str
    def __init__(self, request_id: _Optional[str] = ..., nhs_number: _Optional[str] = ..., given_name: _Optional[str] = ..., family_name: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ...) -> None: ...

class GetPersonRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    def __init__(self, person_id: _Optional[str] = ...) -> None: ...

class ListPeopleRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "commissioner_ods_code", "council_gss_code")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    commissioner_ods_code: str
    council_gss_code: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ...) -> None: ...

class ListPeopleResponse(_message.Message):
    __slots__ = ("people", "next_page_token")
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    people: _containers.RepeatedCompositeFieldContainer[Person]
    next_page_token: str
    def __init__(self, people: _Optional[_Iterable[_Union[Person, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatePersonDetailsRequest(_message.Message):
    __slots__ = ("request_id", "person_id", "person", "update_mask", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person_id: str
    person: Person
    update_mask: _field_mask_pb2.FieldMask
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., person_id: _Optional[str] = ..., person: _Optional[_Union[Person, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class EligibilityDecision(_message.Message):
    __slots__ = ("decision_id", "person_id", "category", "outcome", "reasons", "decided_on", "deciding_body", "age_on_decision", "create_time")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    DECIDING_BODY_FIELD_NUMBER: _ClassVar[int]
    AGE_ON_DECISION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    person_id: str
    category: EligibilityCategory
    outcome: DecisionOutcome
    reasons: _containers.RepeatedScalarFieldContainer[str]
    decided_on: str
    deciding_body: str
    age_on_decision: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, decision_id: _Optional[str] = ..., person_id: _Optional[str] = ..., category: _Optional[_Union[EligibilityCategory, str]] = ..., outcome: _Optional[_Union[DecisionOutcome, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., decided_on: _Optional[str] = ..., deciding_body: _Optional[str] = ..., age_on_decision: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordEligibilityDecisionRequest(_message.Message):
    __slots__ = ("request_id", "person_id", "category", "outcome", "reasons", "decided_on", "deciding_body")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    DECIDING_BODY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person_id: str
    category: EligibilityCategory
    outcome: DecisionOutcome
    reasons: _containers.RepeatedScalarFieldContainer[str]
    decided_on: str
    deciding_body: str
    def __init__(self, request_id: _Optional[str] = ..., person_id: _Optional[str] = ..., category: _Optional[_Union[EligibilityCategory, str]] = ..., outcome: _Optional[_Union[DecisionOutcome, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., decided_on: _Optional[str] = ..., deciding_body: _Optional[str] = ...) -> None: ...

class ListEligibilityRequest(_message.Message):
    __slots__ = ("person_id", "page_size", "page_token")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    page_size: int
    page_token: str
    def __init__(self, person_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEligibilityResponse(_message.Message):
    __slots__ = ("decisions", "next_page_token")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[EligibilityDecision]
    next_page_token: str
    def __init__(self, decisions: _Optional[_Iterable[_Union[EligibilityDecision, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CommissionerPolicy(_message.Message):
    __slots__ = ("commissioner_ods_code", "extended_categories", "right_to_have_categories", "update_time")
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    RIGHT_TO_HAVE_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    extended_categories: _containers.RepeatedScalarFieldContainer[EligibilityCategory]
    right_to_have_categories: _containers.RepeatedScalarFieldContainer[EligibilityCategory]
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, commissioner_ods_code: _Optional[str] = ..., extended_categories: _Optional[_Iterable[_Union[EligibilityCategory, str]]] = ..., right_to_have_categories: _Optional[_Iterable[_Union[EligibilityCategory, str]]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetCommissionerPolicyRequest(_message.Message):
    __slots__ = ("request_id", "commissioner_ods_code", "extended_categories")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    commissioner_ods_code: str
    extended_categories: _containers.RepeatedScalarFieldContainer[EligibilityCategory]
    def __init__(self, request_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., extended_categories: _Optional[_Iterable[_Union[EligibilityCategory, str]]] = ...) -> None: ...

class GetCommissionerPolicyRequest(_message.Message):
    __slots__ = ("commissioner_ods_code",)
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    commissioner_ods_code: str
    def __init__(self, commissioner_ods_code: _Optional[str] = ...) -> None: ...

class PersonalHealthBudgetRequest(_message.Message):
    __slots__ = ("phb_request_id", "person_id", "category", "requested_on", "right_to_have", "state", "reasons", "decided_on", "reconsideration_requested_on", "reconsideration_grounds", "reconsidered", "create_time", "update_time")
    PHB_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_ON_FIELD_NUMBER: _ClassVar[int]
    RIGHT_TO_HAVE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    RECONSIDERATION_REQUESTED_ON_FIELD_NUMBER: _ClassVar[int]
    RECONSIDERATION_GROUNDS_FIELD_NUMBER: _ClassVar[int]
    RECONSIDERED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    phb_request_id: str
    person_id: str
    category: EligibilityCategory
    requested_on: str
    right_to_have: bool
    state: PersonalHealthBudgetRequestState
    reasons: _containers.RepeatedScalarFieldContainer[str]
    decided_on: str
    reconsideration_requested_on: str
    reconsideration_grounds: _containers.RepeatedScalarFieldContainer[str]
    reconsidered: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, phb_request_id: _Optional[str] = ..., person_id: _Optional[str] = ..., category: _Optional[_Union[EligibilityCategory, str]] = ..., requested_on: _Optional[str] = ..., right_to_have: _Optional[bool] = ..., state: _Optional[_Union[PersonalHealthBudgetRequestState, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., decided_on: _Optional[str] = ..., reconsideration_requested_on: _Optional[str] = ..., reconsideration_grounds: _Optional[_Iterable[str]] = ..., reconsidered: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RequestPersonalHealthBudgetRequest(_message.Message):
    __slots__ = ("request_id", "person_id", "category", "requested_on", "not_appropriate_reasons", "discretionary_outcome", "discretionary_reasons")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_ON_FIELD_NUMBER: _ClassVar[int]
    NOT_APPROPRIATE_REASONS_FIELD_NUMBER: _ClassVar[int]
    DISCRETIONARY_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DISCRETIONARY_REASONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person_id: str
    category: EligibilityCategory
    requested_on: str
    not_appropriate_reasons: _containers.RepeatedScalarFieldContainer[str]
    discretionary_outcome: DecisionOutcome
    discretionary_reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., person_id: _Optional[str] = ..., category: _Optional[_Union[EligibilityCategory, str]] = ..., requested_on: _Optional[str] = ..., not_appropriate_reasons: _Optional[_Iterable[str]] = ..., discretionary_outcome: _Optional[_Union[DecisionOutcome, str]] = ..., discretionary_reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class RequestReconsiderationRequest(_message.Message):
    __slots__ = ("request_id", "phb_request_id", "requested_on", "grounds")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PHB_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_ON_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    phb_request_id: str
    requested_on: str
    grounds: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., phb_request_id: _Optional[str] = ..., requested_on: _Optional[str] = ..., grounds: _Optional[_Iterable[str]] = ...) -> None: ...

class DecideReconsiderationRequest(_message.Message):
    __slots__ = ("request_id", "phb_request_id", "outcome", "reasons", "decided_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PHB_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    phb_request_id: str
    outcome: DecisionOutcome
    reasons: _containers.RepeatedScalarFieldContainer[str]
    decided_on: str
    def __init__(self, request_id: _Optional[str] = ..., phb_request_id: _Optional[str] = ..., outcome: _Optional[_Union[DecisionOutcome, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., decided_on: _Optional[str] = ...) -> None: ...

class ReviewDue(_message.Message):
    __slots__ = ("kind", "subject_id", "person_id", "commissioner_ods_code", "council_gss_code", "budget_id", "started_on", "last_completed_on", "window_opens_on", "due_on", "nhs_funded")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_ON_FIELD_NUMBER: _ClassVar[int]
    LAST_COMPLETED_ON_FIELD_NUMBER: _ClassVar[int]
    WINDOW_OPENS_ON_FIELD_NUMBER: _ClassVar[int]
    DUE_ON_FIELD_NUMBER: _ClassVar[int]
    NHS_FUNDED_FIELD_NUMBER: _ClassVar[int]
    kind: ReviewKind
    subject_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    budget_id: str
    started_on: str
    last_completed_on: str
    window_opens_on: str
    due_on: str
    nhs_funded: bool
    def __init__(self, kind: _Optional[_Union[ReviewKind, str]] = ..., subject_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., budget_id: _Optional[str] = ..., started_on: _Optional[str] = ..., last_completed_on: _Optional[str] = ..., window_opens_on: _Optional[str] = ..., due_on: _Optional[str] = ..., nhs_funded: _Optional[bool] = ...) -> None: ...

class ListReviewsDueRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "commissioner_ods_code", "due_from", "due_to")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    DUE_FROM_FIELD_NUMBER: _ClassVar[int]
    DUE_TO_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    commissioner_ods_code: str
    due_from: str
    due_to: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., due_from: _Optional[str] = ..., due_to: _Optional[str] = ...) -> None: ...

class ListReviewsDueResponse(_message.Message):
    __slots__ = ("reviews", "next_page_token")
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reviews: _containers.RepeatedCompositeFieldContainer[ReviewDue]
    next_page_token: str
    def __init__(self, reviews: _Optional[_Iterable[_Union[ReviewDue, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RecordReviewCompletedRequest(_message.Message):
    __slots__ = ("request_id", "kind", "subject_id", "completed_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    kind: ReviewKind
    subject_id: str
    completed_on: str
    def __init__(self, request_id: _Optional[str] = ..., kind: _Optional[_Union[ReviewKind, str]] = ..., subject_id: _Optional[str] = ..., completed_on: _Optional[str] = ...) -> None: ...

class RecordDeathRequest(_message.Message):
    __slots__ = ("request_id", "person_id", "died_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    DIED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person_id: str
    died_on: str
    def __init__(self, request_id: _Optional[str] = ..., person_id: _Optional[str] = ..., died_on: _Optional[str] = ...) -> None: ...

class RecordConsentWithdrawnRequest(_message.Message):
    __slots__ = ("request_id", "person_id", "withdrawn_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person_id: str
    withdrawn_on: str
    def __init__(self, request_id: _Optional[str] = ..., person_id: _Optional[str] = ..., withdrawn_on: _Optional[str] = ...) -> None: ...

class ImportPeopleRequest(_message.Message):
    __slots__ = ("request_id", "items")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    items: _containers.RepeatedCompositeFieldContainer[ImportPersonItem]
    def __init__(self, request_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ImportPersonItem, _Mapping]]] = ...) -> None: ...

class ImportPersonItem(_message.Message):
    __slots__ = ("request_id", "person", "eligibility", "phb")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_FIELD_NUMBER: _ClassVar[int]
    PHB_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    person: RegisterPersonRequest
    eligibility: RecordEligibilityDecisionRequest
    phb: RequestPersonalHealthBudgetRequest
    def __init__(self, request_id: _Optional[str] = ..., person: _Optional[_Union[RegisterPersonRequest, _Mapping]] = ..., eligibility: _Optional[_Union[RecordEligibilityDecisionRequest, _Mapping]] = ..., phb: _Optional[_Union[RequestPersonalHealthBudgetRequest, _Mapping]] = ...) -> None: ...

class ImportedPerson(_message.Message):
    __slots__ = ("person", "eligibility", "phb")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_FIELD_NUMBER: _ClassVar[int]
    PHB_FIELD_NUMBER: _ClassVar[int]
    person: Person
    eligibility: EligibilityDecision
    phb: PersonalHealthBudgetRequest
    def __init__(self, person: _Optional[_Union[Person, _Mapping]] = ..., eligibility: _Optional[_Union[EligibilityDecision, _Mapping]] = ..., phb: _Optional[_Union[PersonalHealthBudgetRequest, _Mapping]] = ...) -> None: ...

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

class ImportPersonResult(_message.Message):
    __slots__ = ("imported", "error")
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    imported: ImportedPerson
    error: ItemError
    def __init__(self, imported: _Optional[_Union[ImportedPerson, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class ImportPeopleResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ImportPersonResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ImportPersonResult, _Mapping]]] = ...) -> None: ...
