from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
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
REVIEW_KIND_UNSPECIFIED: ReviewKind
REVIEW_KIND_DIRECT_PAYMENT: ReviewKind
REVIEW_KIND_CARE_PLAN: ReviewKind

class PersonRegistered(_message.Message):
    __slots__ = ("person_id", "nhs_number", "date_of_birth", "commissioner_ods_code", "council_gss_code", "date_of_birth_sealed")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    NHS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_SEALED_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    nhs_number: str
    date_of_birth: str
    commissioner_ods_code: str
    council_gss_code: str
    date_of_birth_sealed: bytes
    def __init__(self, person_id: _Optional[str] = ..., nhs_number: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., date_of_birth_sealed: _Optional[bytes] = ...) -> None: ...

class PersonDetailsUpdated(_message.Message):
    __slots__ = ("person_id", "changed_fields", "date_of_birth", "commissioner_ods_code", "council_gss_code", "date_of_birth_sealed")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_SEALED_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    date_of_birth: str
    commissioner_ods_code: str
    council_gss_code: str
    date_of_birth_sealed: bytes
    def __init__(self, person_id: _Optional[str] = ..., changed_fields: _Optional[_Iterable[str]] = ..., date_of_birth: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., date_of_birth_sealed: _Optional[bytes] = ...) -> None: ...

class EligibilityDecided(_message.Message):
    __slots__ = ("person_id", "decision_id", "category", "outcome", "reasons", "decided_on", "deciding_body", "commissioner_ods_code", "council_gss_code", "child")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    DECIDING_BODY_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    decision_id: str
    category: EligibilityCategory
    outcome: DecisionOutcome
    reasons: _containers.RepeatedScalarFieldContainer[str]
    decided_on: str
    deciding_body: str
    commissioner_ods_code: str
    council_gss_code: str
    child: bool
    def __init__(self, person_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., category: _Optional[_Union[EligibilityCategory, str]] = ..., outcome: _Optional[_Union[DecisionOutcome, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., decided_on: _Optional[str] = ..., deciding_body: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., child: _Optional[bool] = ...) -> None: ...

class PersonalHealthBudgetRequested(_message.Message):
    __slots__ = ("person_id", "phb_request_id", "category", "requested_on", "commissioner_ods_code", "council_gss_code", "child", "right_to_have")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    PHB_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_ON_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    RIGHT_TO_HAVE_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    phb_request_id: str
    category: EligibilityCategory
    requested_on: str
    commissioner_ods_code: str
    council_gss_code: str
    child: bool
    right_to_have: bool
    def __init__(self, person_id: _Optional[str] = ..., phb_request_id: _Optional[str] = ..., category: _Optional[_Union[EligibilityCategory, str]] = ..., requested_on: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., child: _Optional[bool] = ..., right_to_have: _Optional[bool] = ...) -> None: ...

class PersonalHealthBudgetRequestDecided(_message.Message):
    __slots__ = ("person_id", "phb_request_id", "category", "outcome", "reasons", "decided_on", "commissioner_ods_code", "council_gss_code", "child", "right_to_have")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    PHB_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    RIGHT_TO_HAVE_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    phb_request_id: str
    category: EligibilityCategory
    outcome: DecisionOutcome
    reasons: _containers.RepeatedScalarFieldContainer[str]
    decided_on: str
    commissioner_ods_code: str
    council_gss_code: str
    child: bool
    right_to_have: bool
    def __init__(self, person_id: _Optional[str] = ..., phb_request_id: _Optional[str] = ..., category: _Optional[_Union[EligibilityCategory, str]] = ..., outcome: _Optional[_Union[DecisionOutcome, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., decided_on: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., child: _Optional[bool] = ..., right_to_have: _Optional[bool] = ...) -> None: ...

class ReconsiderationDecided(_message.Message):
    __slots__ = ("person_id", "phb_request_id", "category", "outcome", "reasons", "decided_on", "commissioner_ods_code", "council_gss_code", "child", "right_to_have")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    PHB_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    RIGHT_TO_HAVE_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    phb_request_id: str
    category: EligibilityCategory
    outcome: DecisionOutcome
    reasons: _containers.RepeatedScalarFieldContainer[str]
    decided_on: str
    commissioner_ods_code: str
    council_gss_code: str
    child: bool
    right_to_have: bool
    def __init__(self, person_id: _Optional[str] = ..., phb_request_id: _Optional[str] = ..., category: _Optional[_Union[EligibilityCategory, str]] = ..., outcome: _Optional[_Union[DecisionOutcome, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., decided_on: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., child: _Optional[bool] = ..., right_to_have: _Optional[bool] = ...) -> None: ...

class ReviewCompleted(_message.Message):
    __slots__ = ("person_id", "review_id", "kind", "subject_id", "completed_on", "next_due_on", "commissioner_ods_code", "council_gss_code")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_ON_FIELD_NUMBER: _ClassVar[int]
    NEXT_DUE_ON_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    review_id: str
    kind: ReviewKind
    subject_id: str
    completed_on: str
    next_due_on: str
    commissioner_ods_code: str
    council_gss_code: str
    def __init__(self, person_id: _Optional[str] = ..., review_id: _Optional[str] = ..., kind: _Optional[_Union[ReviewKind, str]] = ..., subject_id: _Optional[str] = ..., completed_on: _Optional[str] = ..., next_due_on: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ...) -> None: ...

class PersonDied(_message.Message):
    __slots__ = ("person_id", "died_on", "commissioner_ods_code", "council_gss_code")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    DIED_ON_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    died_on: str
    commissioner_ods_code: str
    council_gss_code: str
    def __init__(self, person_id: _Optional[str] = ..., died_on: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ...) -> None: ...

class ConsentWithdrawn(_message.Message):
    __slots__ = ("person_id", "withdrawn_on", "commissioner_ods_code", "council_gss_code")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_ON_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    withdrawn_on: str
    commissioner_ods_code: str
    council_gss_code: str
    def __init__(self, person_id: _Optional[str] = ..., withdrawn_on: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ...) -> None: ...
