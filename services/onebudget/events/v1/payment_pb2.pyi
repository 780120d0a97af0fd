import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

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

class PaymentStreamPence(_message.Message):
    __slots__ = ("nhs_pence", "council_pence", "client_pence")
    NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    nhs_pence: int
    council_pence: int
    client_pence: int
    def __init__(self, nhs_pence: _Optional[int] = ..., council_pence: _Optional[int] = ..., client_pence: _Optional[int] = ...) -> None: ...

class PaymentContext(_message.Message):
    __slots__ = ("budget_id", "plan_line_id", "person_id", "commissioner_ods_code", "council_gss_code", "management_option", "category")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COMMISSIONER_ODS_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_GSS_CODE_FIELD_NUMBER: _ClassVar[int]
    MANAGEMENT_OPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    plan_line_id: str
    person_id: str
    commissioner_ods_code: str
    council_gss_code: str
    management_option: str
    category: str
    def __init__(self, budget_id: _Optional[str] = ..., plan_line_id: _Optional[str] = ..., person_id: _Optional[str] = ..., commissioner_ods_code: _Optional[str] = ..., council_gss_code: _Optional[str] = ..., management_option: _Optional[str] = ..., category: _Optional[str] = ...) -> None: ...

class PaymentReleased(_message.Message):
    __slots__ = ("payment_id", "context", "payee_id", "payee_kind", "amount_pence", "streams", "service_period_start", "service_period_end", "broker_reference")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    BROKER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    context: PaymentContext
    payee_id: str
    payee_kind: str
    amount_pence: int
    streams: PaymentStreamPence
    service_period_start: str
    service_period_end: str
    broker_reference: str
    def __init__(self, payment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., payee_kind: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ..., service_period_start: _Optional[str] = ..., service_period_end: _Optional[str] = ..., broker_reference: _Optional[str] = ...) -> None: ...

class PaymentReserved(_message.Message):
    __slots__ = ("payment_id", "context", "payee_id", "payee_kind", "amount_pence", "streams", "service_period_start", "service_period_end", "broker_reference", "expire_time")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    BROKER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    context: PaymentContext
    payee_id: str
    payee_kind: str
    amount_pence: int
    streams: PaymentStreamPence
    service_period_start: str
    service_period_end: str
    broker_reference: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, payment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., payee_kind: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ..., service_period_start: _Optional[str] = ..., service_period_end: _Optional[str] = ..., broker_reference: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PaymentConfirmed(_message.Message):
    __slots__ = ("payment_id", "context", "payee_id", "amount_pence", "streams", "released_pence")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    RELEASED_PENCE_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    context: PaymentContext
    payee_id: str
    amount_pence: int
    streams: PaymentStreamPence
    released_pence: int
    def __init__(self, payment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ..., released_pence: _Optional[int] = ...) -> None: ...

class PaymentCancelled(_message.Message):
    __slots__ = ("payment_id", "context", "payee_id", "released_pence", "streams", "reason")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    RELEASED_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    context: PaymentContext
    payee_id: str
    released_pence: int
    streams: PaymentStreamPence
    reason: str
    def __init__(self, payment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., released_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class PaymentExpired(_message.Message):
    __slots__ = ("payment_id", "context", "payee_id", "released_pence", "streams")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    RELEASED_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    context: PaymentContext
    payee_id: str
    released_pence: int
    streams: PaymentStreamPence
    def __init__(self, payment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., released_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ...) -> None: ...

class InstalmentPaid(_message.Message):
    __slots__ = ("schedule_id", "instalment_no", "payment_id", "context", "payee_id", "amount_pence", "streams", "offset_pence", "due_date", "period_end")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALMENT_NO_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_PENCE_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    instalment_no: int
    payment_id: str
    context: PaymentContext
    payee_id: str
    amount_pence: int
    streams: PaymentStreamPence
    offset_pence: int
    due_date: str
    period_end: str
    def __init__(self, schedule_id: _Optional[str] = ..., instalment_no: _Optional[int] = ..., payment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ..., offset_pence: _Optional[int] = ..., due_date: _Optional[str] = ..., period_end: _Optional[str] = ...) -> None: ...

class InstalmentFailed(_message.Message):
    __slots__ = ("schedule_id", "instalment_no", "context", "reason", "due_date")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALMENT_NO_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    instalment_no: int
    context: PaymentContext
    reason: str
    due_date: str
    def __init__(self, schedule_id: _Optional[str] = ..., instalment_no: _Optional[int] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., reason: _Optional[str] = ..., due_date: _Optional[str] = ...) -> None: ...

class ScheduleStopped(_message.Message):
    __slots__ = ("schedule_id", "budget_id", "person_id", "reason", "stopped_on")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STOPPED_ON_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    budget_id: str
    person_id: str
    reason: str
    stopped_on: str
    def __init__(self, schedule_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., reason: _Optional[str] = ..., stopped_on: _Optional[str] = ...) -> None: ...

class ReturnRecorded(_message.Message):
    __slots__ = ("return_id", "payment_id", "context", "payee_id", "amount_pence", "streams", "reason")
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    return_id: str
    payment_id: str
    context: PaymentContext
    payee_id: str
    amount_pence: int
    streams: PaymentStreamPence
    reason: str
    def __init__(self, return_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class RepaymentRequired(_message.Message):
    __slots__ = ("repayment_id", "context", "payee_id", "grounds", "amount_pence", "streams", "due_date", "repayer")
    REPAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    REPAYER_FIELD_NUMBER: _ClassVar[int]
    repayment_id: str
    context: PaymentContext
    payee_id: str
    grounds: str
    amount_pence: int
    streams: PaymentStreamPence
    due_date: str
    repayer: str
    def __init__(self, repayment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., grounds: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ..., due_date: _Optional[str] = ..., repayer: _Optional[str] = ...) -> None: ...

class RepaymentReceived(_message.Message):
    __slots__ = ("repayment_id", "context", "payee_id", "amount_pence", "streams", "outstanding_pence")
    REPAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_PENCE_FIELD_NUMBER: _ClassVar[int]
    repayment_id: str
    context: PaymentContext
    payee_id: str
    amount_pence: int
    streams: PaymentStreamPence
    outstanding_pence: int
    def __init__(self, repayment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ..., outstanding_pence: _Optional[int] = ...) -> None: ...

class RepaymentWrittenOff(_message.Message):
    __slots__ = ("repayment_id", "context", "payee_id", "amount_pence", "streams", "reason")
    REPAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    repayment_id: str
    context: PaymentContext
    payee_id: str
    amount_pence: int
    streams: PaymentStreamPence
    reason: str
    def __init__(self, repayment_id: _Optional[str] = ..., context: _Optional[_Union[PaymentContext, _Mapping]] = ..., payee_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[PaymentStreamPence, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class PaymentsStopped(_message.Message):
    __slots__ = ("stop_id", "budget_id", "person_id", "grounds", "reasons", "stopped_on")
    STOP_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    STOPPED_ON_FIELD_NUMBER: _ClassVar[int]
    stop_id: str
    budget_id: str
    person_id: str
    grounds: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    stopped_on: str
    def __init__(self, stop_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., grounds: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., stopped_on: _Optional[str] = ...) -> None: ...

class PaymentsResumed(_message.Message):
    __slots__ = ("stop_id", "budget_id", "person_id", "grounds", "reasons", "resumed_on")
    STOP_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    RESUMED_ON_FIELD_NUMBER: _ClassVar[int]
    stop_id: str
    budget_id: str
    person_id: str
    grounds: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    resumed_on: str
    def __init__(self, stop_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., person_id: _Optional[str] = ..., grounds: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., resumed_on: _Optional[str] = ...) -> None: ...
