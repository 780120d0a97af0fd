from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class DirectPaymentStarted(_message.Message):
    __slots__ = ("schedule_id", "budget_id", "person_id", "nhs_funded", "start_date")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    NHS_FUNDED_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    budget_id: str
    person_id: str
    nhs_funded: bool
    start_date: str
    def __init__(self, schedule_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., nhs_funded: _Optional[bool] = ..., start_date: _Optional[str] = ...) -> None: ...
