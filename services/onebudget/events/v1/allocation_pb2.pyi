from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class BudgetAgreed(_message.Message):
    __slots__ = ("budget_id", "person_id", "commissioner_ods_code", "council_gss_code", "nhs_pence", "council_pence", "client_pence", "agreed_on")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    AGREED_ON_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    nhs_pence: int
    council_pence: int
    client_pence: int
    agreed_on: str
    def __init__(self, budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., nhs_pence: _Optional[int] = ..., council_pence: _Optional[int] = ..., client_pence: _Optional[int] = ..., agreed_on: _Optional[str] = ...) -> None: ...
