import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PayeeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYEE_KIND_UNSPECIFIED: _ClassVar[PayeeKind]
    PAYEE_KIND_PROVIDER: _ClassVar[PayeeKind]
    PAYEE_KIND_PERSONAL_ASSISTANT: _ClassVar[PayeeKind]
    PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT: _ClassVar[PayeeKind]
    PAYEE_KIND_THIRD_PARTY_ORGANISATION: _ClassVar[PayeeKind]

class FundingStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FUNDING_STREAM_UNSPECIFIED: _ClassVar[FundingStream]
    FUNDING_STREAM_NHS: _ClassVar[FundingStream]
    FUNDING_STREAM_COUNCIL: _ClassVar[FundingStream]
    FUNDING_STREAM_CLIENT: _ClassVar[FundingStream]

class PaymentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_STATE_UNSPECIFIED: _ClassVar[PaymentState]
    PAYMENT_STATE_RELEASED: _ClassVar[PaymentState]
    PAYMENT_STATE_RESERVED: _ClassVar[PaymentState]
    PAYMENT_STATE_CONFIRMED: _ClassVar[PaymentState]
    PAYMENT_STATE_CANCELLED: _ClassVar[PaymentState]
    PAYMENT_STATE_EXPIRED: _ClassVar[PaymentState]

class PaymentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_KIND_UNSPECIFIED: _ClassVar[PaymentKind]
    PAYMENT_KIND_RELEASE: _ClassVar[PaymentKind]
    PAYMENT_KIND_RESERVATION: _ClassVar[PaymentKind]
    PAYMENT_KIND_INSTALMENT: _ClassVar[PaymentKind]

class ScheduleState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULE_STATE_UNSPECIFIED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_ACTIVE: _ClassVar[ScheduleState]
    SCHEDULE_STATE_STOPPED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_ENDED: _ClassVar[ScheduleState]

class RepaymentGrounds(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPAYMENT_GROUNDS_UNSPECIFIED: _ClassVar[RepaymentGrounds]
    REPAYMENT_GROUNDS_UNUSED_ACCUMULATION: _ClassVar[RepaymentGrounds]
    REPAYMENT_GROUNDS_OUTSIDE_PLAN: _ClassVar[RepaymentGrounds]
    REPAYMENT_GROUNDS_THEFT_OR_FRAUD: _ClassVar[RepaymentGrounds]
    REPAYMENT_GROUNDS_PLAN_CHANGED: _ClassVar[RepaymentGrounds]
    REPAYMENT_GROUNDS_DEATH: _ClassVar[RepaymentGrounds]
    REPAYMENT_GROUNDS_CONSENT_WITHDRAWN: _ClassVar[RepaymentGrounds]

class Repayer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPAYER_UNSPECIFIED: _ClassVar[Repayer]
    REPAYER_PERSON: _ClassVar[Repayer]
    REPAYER_REPRESENTATIVE: _ClassVar[Repayer]
    REPAYER_NOMINEE: _ClassVar[Repayer]
    REPAYER_ESTATE: _ClassVar[Repayer]
    REPAYER_PAYEE: _ClassVar[Repayer]

class RepaymentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPAYMENT_STATE_UNSPECIFIED: _ClassVar[RepaymentState]
    REPAYMENT_STATE_OPEN: _ClassVar[RepaymentState]
    REPAYMENT_STATE_REPAID: _ClassVar[RepaymentState]
    REPAYMENT_STATE_WRITTEN_OFF: _ClassVar[RepaymentState]

class StopGrounds(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOP_GROUNDS_UNSPECIFIED: _ClassVar[StopGrounds]
    STOP_GROUNDS_INELIGIBILITY: _ClassVar[StopGrounds]
    STOP_GROUNDS_MISUSE: _ClassVar[StopGrounds]
    STOP_GROUNDS_FRAUD: _ClassVar[StopGrounds]
PAYEE_KIND_UNSPECIFIED: PayeeKind
PAYEE_KIND_PROVIDER: PayeeKind
PAYEE_KIND_PERSONAL_ASSISTANT: PayeeKind
PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT: PayeeKind
PAYEE_KIND_THIRD_PARTY_ORGANISATION: PayeeKind
FUNDING_STREAM_UNSPECIFIED: FundingStream
FUNDING_STREAM_NHS: FundingStream
FUNDING_STREAM_COUNCIL: FundingStream
FUNDING_STREAM_CLIENT: FundingStream
PAYMENT_STATE_UNSPECIFIED: PaymentState
PAYMENT_STATE_RELEASED: PaymentState
PAYMENT_STATE_RESERVED: PaymentState
PAYMENT_STATE_CONFIRMED: PaymentState
PAYMENT_STATE_CANCELLED: PaymentState
PAYMENT_STATE_EXPIRED: PaymentState
PAYMENT_KIND_UNSPECIFIED: PaymentKind
PAYMENT_KIND_RELEASE: PaymentKind
PAYMENT_KIND_RESERVATION: PaymentKind
PAYMENT_KIND_INSTALMENT: PaymentKind
SCHEDULE_STATE_UNSPECIFIED: ScheduleState
SCHEDULE_STATE_ACTIVE: ScheduleState
SCHEDULE_STATE_STOPPED: ScheduleState
SCHEDULE_STATE_ENDED: ScheduleState
REPAYMENT_GROUNDS_UNSPECIFIED: RepaymentGrounds
REPAYMENT_GROUNDS_UNUSED_ACCUMULATION: RepaymentGrounds
REPAYMENT_GROUNDS_OUTSIDE_PLAN: RepaymentGrounds
REPAYMENT_GROUNDS_THEFT_OR_FRAUD: RepaymentGrounds
REPAYMENT_GROUNDS_PLAN_CHANGED: RepaymentGrounds
REPAYMENT_GROUNDS_DEATH: RepaymentGrounds
REPAYMENT_GROUNDS_CONSENT_WITHDRAWN: RepaymentGrounds
REPAYER_UNSPECIFIED: Repayer
REPAYER_PERSON: Repayer
REPAYER_REPRESENTATIVE: Repayer
REPAYER_NOMINEE: Repayer
REPAYER_ESTATE: Repayer
REPAYER_PAYEE: Repayer
REPAYMENT_STATE_UNSPECIFIED: RepaymentState
REPAYMENT_STATE_OPEN: RepaymentState
REPAYMENT_STATE_REPAID: RepaymentState
REPAYMENT_STATE_WRITTEN_OFF: RepaymentState
STOP_GROUNDS_UNSPECIFIED: StopGrounds
STOP_GROUNDS_INELIGIBILITY: StopGrounds
STOP_GROUNDS_MISUSE: StopGrounds
STOP_GROUNDS_FRAUD: StopGrounds

class StreamPence(_message.Message):
    __slots__ = ("nhs_pence", "council_pence", "client_pence")
    NHS_PENCE_FIELD_NUMBER: _ClassVar[int]
    COUNCIL_PENCE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    nhs_pence: int
    council_pence: int
    client_pence: int
    def __init__(self, nhs_pence: _Optional[int] = ..., council_pence: _Optional[int] = ..., client_pence: _Optional[int] = ...) -> None: ...

class Payee(_message.Message):
    __slots__ = ("payee_id", "kind", "name", "close_family_member_in_household", "family_payment_approved", "approval_reason", "approver", "create_time", "person_id", "organisation_code")
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FAMILY_MEMBER_IN_HOUSEHOLD_FIELD_NUMBER: _ClassVar[int]
    FAMILY_PAYMENT_APPROVED_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_REASON_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_CODE_FIELD_NUMBER: _ClassVar[int]
    payee_id: str
    kind: PayeeKind
    name: str
    close_family_member_in_household: bool
    family_payment_approved: bool
    approval_reason: str
    approver: str
    create_time: _timestamp_pb2.Timestamp
    person_id: str
    organisation_code: str
    def __init__(self, payee_id: _Optional[str] = ..., kind: _Optional[_Union[PayeeKind, str]] = ..., name: _Optional[str] = ..., close_family_member_in_household: _Optional[bool] = ..., family_payment_approved: _Optional[bool] = ..., approval_reason: _Optional[str] = ..., approver: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., person_id: _Optional[str] = ..., organisation_code: _Optional[str] = ...) -> None: ...

class RegisterPayeeRequest(_message.Message):
    __slots__ = ("request_id", "kind", "name", "close_family_member_in_household", "person_id", "organisation_code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FAMILY_MEMBER_IN_HOUSEHOLD_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    kind: PayeeKind
    name: str
    close_family_member_in_household: bool
    person_id: str
    organisation_code: str
    def __init__(self, request_id: _Optional[str] = ..., kind: _Optional[_Union[PayeeKind, str]] = ..., name: _Optional[str] = ..., close_family_member_in_household: _Optional[bool] = ..., person_id: _Optional[str] = ..., organisation_code: _Optional[str] = ...) -> None: ...

class ApproveFamilyPayeeRequest(_message.Message):
    __slots__ = ("request_id", "payee_id", "reason", "approver")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    payee_id: str
    reason: str
    approver: str
    def __init__(self, request_id: _Optional[str] = ..., payee_id: _Optional[str] = ..., reason: _Optional[str] = ..., approver: _Optional[str] = ...) -> None: ...

class GetPayeeRequest(_message.Message):
    __slots__ = ("payee_id",)
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    payee_id: str
    def __init__(self, payee_id: _Optional[str] = ...) -> None: ...

class Payment(_message.Message):
    __slots__ = ("payment_id", "kind", "state", "budget_id", "plan_line_id", "payee_id", "amount_pence", "streams", "reserved_pence", "returned_pence", "service_period_start", "service_period_end", "broker_reference", "schedule_id", "instalment_no", "create_time", "expire_time")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    RESERVED_PENCE_FIELD_NUMBER: _ClassVar[int]
    RETURNED_PENCE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    BROKER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALMENT_NO_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    kind: PaymentKind
    state: PaymentState
    budget_id: str
    plan_line_id: str
    payee_id: str
    amount_pence: int
    streams: StreamPence
    reserved_pence: int
    returned_pence: int
    service_period_start: str
    service_period_end: str
    broker_reference: str
    schedule_id: str
    instalment_no: int
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, payment_id: _Optional[str] = ..., kind: _Optional[_Union[PaymentKind, str]] = ..., state: _Optional[_Union[PaymentState, str]] = ..., budget_id: _Optional[str] = ..., plan_line_id: _Optional[str] = ..., payee_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[StreamPence, _Mapping]] = ..., reserved_pence: _Optional[int] = ..., returned_pence: _Optional[int] = ..., service_period_start: _Optional[str] = ..., service_period_end: _Optional[str] = ..., broker_reference: _Optional[str] = ..., schedule_id: _Optional[str] = ..., instalment_no: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReleasePaymentRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "plan_line_id", "payee_id", "amount_pence", "service_period_start", "service_period_end", "broker_reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    BROKER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    plan_line_id: str
    payee_id: str
    amount_pence: int
    service_period_start: str
    service_period_end: str
    broker_reference: str
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., plan_line_id: _Optional[str] = ..., payee_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., service_period_start: _Optional[str] = ..., service_period_end: _Optional[str] = ..., broker_reference: _Optional[str] = ...) -> None: ...

class ReleasePaymentsRequest(_message.Message):
    __slots__ = ("request_id", "payments")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    payments: _containers.RepeatedCompositeFieldContainer[ReleasePaymentRequest]
    def __init__(self, request_id: _Optional[str] = ..., payments: _Optional[_Iterable[_Union[ReleasePaymentRequest, _Mapping]]] = ...) -> None: ...

class PaymentError(_message.Message):
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
    field_violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    def __init__(self, code: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., field_violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ...) -> None: ...

class FieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ReleasePaymentResult(_message.Message):
    __slots__ = ("payment", "error")
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    error: PaymentError
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ..., error: _Optional[_Union[PaymentError, _Mapping]] = ...) -> None: ...

class ReleasePaymentsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ReleasePaymentResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ReleasePaymentResult, _Mapping]]] = ...) -> None: ...

class ReservePaymentRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "plan_line_id", "payee_id", "amount_pence", "service_period_start", "service_period_end", "broker_reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    BROKER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    plan_line_id: str
    payee_id: str
    amount_pence: int
    service_period_start: str
    service_period_end: str
    broker_reference: str
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., plan_line_id: _Optional[str] = ..., payee_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., service_period_start: _Optional[str] = ..., service_period_end: _Optional[str] = ..., broker_reference: _Optional[str] = ...) -> None: ...

class ConfirmPaymentRequest(_message.Message):
    __slots__ = ("request_id", "payment_id", "amount_pence")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    payment_id: str
    amount_pence: int
    def __init__(self, request_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., amount_pence: _Optional[int] = ...) -> None: ...

class CancelPaymentRequest(_message.Message):
    __slots__ = ("request_id", "payment_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    payment_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetPaymentRequest(_message.Message):
    __slots__ = ("payment_id",)
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    def __init__(self, payment_id: _Optional[str] = ...) -> None: ...

class ListPaymentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "budget_id", "payee_id", "broker_reference", "period_start", "period_end")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    BROKER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    budget_id: str
    payee_id: str
    broker_reference: str
    period_start: str
    period_end: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., budget_id: _Optional[str] = ..., payee_id: _Optional[str] = ..., broker_reference: _Optional[str] = ..., period_start: _Optional[str] = ..., period_end: _Optional[str] = ...) -> None: ...

class ListPaymentsResponse(_message.Message):
    __slots__ = ("payments", "next_page_token")
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    next_page_token: str
    def __init__(self, payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetBudgetStatementRequest(_message.Message):
    __slots__ = ("budget_id",)
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    def __init__(self, budget_id: _Optional[str] = ...) -> None: ...

class StatementLine(_message.Message):
    __slots__ = ("time", "transfer_id", "stream", "reason", "payment_id", "plan_line_id", "posted_change_pence", "reserved_change_pence", "posted_balance_pence", "available_balance_pence")
    TIME_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    POSTED_CHANGE_PENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVED_CHANGE_PENCE_FIELD_NUMBER: _ClassVar[int]
    POSTED_BALANCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_BALANCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    transfer_id: str
    stream: FundingStream
    reason: str
    payment_id: str
    plan_line_id: str
    posted_change_pence: int
    reserved_change_pence: int
    posted_balance_pence: int
    available_balance_pence: int
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transfer_id: _Optional[str] = ..., stream: _Optional[_Union[FundingStream, str]] = ..., reason: _Optional[str] = ..., payment_id: _Optional[str] = ..., plan_line_id: _Optional[str] = ..., posted_change_pence: _Optional[int] = ..., reserved_change_pence: _Optional[int] = ..., posted_balance_pence: _Optional[int] = ..., available_balance_pence: _Optional[int] = ...) -> None: ...

class BudgetStatement(_message.Message):
    __slots__ = ("budget_id", "lines", "posted_balance", "available_balance", "payments_stopped", "stop_grounds")
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    POSTED_BALANCE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_BALANCE_FIELD_NUMBER: _ClassVar[int]
    PAYMENTS_STOPPED_FIELD_NUMBER: _ClassVar[int]
    STOP_GROUNDS_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StatementLine]
    posted_balance: StreamPence
    available_balance: StreamPence
    payments_stopped: bool
    stop_grounds: str
    def __init__(self, budget_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StatementLine, _Mapping]]] = ..., posted_balance: _Optional[_Union[StreamPence, _Mapping]] = ..., available_balance: _Optional[_Union[StreamPence, _Mapping]] = ..., payments_stopped: _Optional[bool] = ..., stop_grounds: _Optional[str] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("schedule_id", "budget_id", "plan_line_id", "payee_id", "instalment_pence", "every_weeks", "start_date", "end_date", "state", "next_instalment_no", "next_due_date", "offset_outstanding_pence", "instalments_paid", "stop_reason", "backdated_held")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALMENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    EVERY_WEEKS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NEXT_INSTALMENT_NO_FIELD_NUMBER: _ClassVar[int]
    NEXT_DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_OUTSTANDING_PENCE_FIELD_NUMBER: _ClassVar[int]
    INSTALMENTS_PAID_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    BACKDATED_HELD_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    budget_id: str
    plan_line_id: str
    payee_id: str
    instalment_pence: int
    every_weeks: int
    start_date: str
    end_date: str
    state: ScheduleState
    next_instalment_no: int
    next_due_date: str
    offset_outstanding_pence: int
    instalments_paid: int
    stop_reason: str
    backdated_held: int
    def __init__(self, schedule_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., plan_line_id: _Optional[str] = ..., payee_id: _Optional[str] = ..., instalment_pence: _Optional[int] = ..., every_weeks: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., state: _Optional[_Union[ScheduleState, str]] = ..., next_instalment_no: _Optional[int] = ..., next_due_date: _Optional[str] = ..., offset_outstanding_pence: _Optional[int] = ..., instalments_paid: _Optional[int] = ..., stop_reason: _Optional[str] = ..., backdated_held: _Optional[int] = ...) -> None: ...

class CreateScheduleRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "plan_line_id", "payee_id", "instalment_pence", "every_weeks", "start_date", "end_date")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALMENT_PENCE_FIELD_NUMBER: _ClassVar[int]
    EVERY_WEEKS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    plan_line_id: str
    payee_id: str
    instalment_pence: int
    every_weeks: int
    start_date: str
    end_date: str
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., plan_line_id: _Optional[str] = ..., payee_id: _Optional[str] = ..., instalment_pence: _Optional[int] = ..., every_weeks: _Optional[int] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class GetScheduleRequest(_message.Message):
    __slots__ = ("schedule_id",)
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    def __init__(self, schedule_id: _Optional[str] = ...) -> None: ...

class OffsetAccumulatedFundsRequest(_message.Message):
    __slots__ = ("request_id", "schedule_id", "unused_balance_pence", "as_of")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    UNUSED_BALANCE_PENCE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    schedule_id: str
    unused_balance_pence: int
    as_of: str
    def __init__(self, request_id: _Optional[str] = ..., schedule_id: _Optional[str] = ..., unused_balance_pence: _Optional[int] = ..., as_of: _Optional[str] = ...) -> None: ...

class Return(_message.Message):
    __slots__ = ("return_id", "payment_id", "amount_pence", "streams", "reason", "create_time")
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    return_id: str
    payment_id: str
    amount_pence: int
    streams: StreamPence
    reason: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, return_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., streams: _Optional[_Union[StreamPence, _Mapping]] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordReturnRequest(_message.Message):
    __slots__ = ("request_id", "payment_id", "amount_pence", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    payment_id: str
    amount_pence: int
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., amount_pence: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Repayment(_message.Message):
    __slots__ = ("repayment_id", "budget_id", "payee_id", "grounds", "reasons", "amount_pence", "received_pence", "written_off_pence", "due_date", "repayer", "state", "streams", "create_time")
    REPAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_PENCE_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_OFF_PENCE_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    REPAYER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    repayment_id: str
    budget_id: str
    payee_id: str
    grounds: RepaymentGrounds
    reasons: _containers.RepeatedScalarFieldContainer[str]
    amount_pence: int
    received_pence: int
    written_off_pence: int
    due_date: str
    repayer: Repayer
    state: RepaymentState
    streams: StreamPence
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, repayment_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., payee_id: _Optional[str] = ..., grounds: _Optional[_Union[RepaymentGrounds, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., amount_pence: _Optional[int] = ..., received_pence: _Optional[int] = ..., written_off_pence: _Optional[int] = ..., due_date: _Optional[str] = ..., repayer: _Optional[_Union[Repayer, str]] = ..., state: _Optional[_Union[RepaymentState, str]] = ..., streams: _Optional[_Union[StreamPence, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RequireRepaymentRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "payee_id", "grounds", "reasons", "amount_pence", "due_date", "repayer")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    REPAYER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    payee_id: str
    grounds: RepaymentGrounds
    reasons: _containers.RepeatedScalarFieldContainer[str]
    amount_pence: int
    due_date: str
    repayer: Repayer
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., payee_id: _Optional[str] = ..., grounds: _Optional[_Union[RepaymentGrounds, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., amount_pence: _Optional[int] = ..., due_date: _Optional[str] = ..., repayer: _Optional[_Union[Repayer, str]] = ...) -> None: ...

class RecordRepaymentReceivedRequest(_message.Message):
    __slots__ = ("request_id", "repayment_id", "amount_pence")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REPAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    repayment_id: str
    amount_pence: int
    def __init__(self, request_id: _Optional[str] = ..., repayment_id: _Optional[str] = ..., amount_pence: _Optional[int] = ...) -> None: ...

class WriteOffRepaymentRequest(_message.Message):
    __slots__ = ("request_id", "repayment_id", "reason", "approver")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REPAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    repayment_id: str
    reason: str
    approver: str
    def __init__(self, request_id: _Optional[str] = ..., repayment_id: _Optional[str] = ..., reason: _Optional[str] = ..., approver: _Optional[str] = ...) -> None: ...

class GetRepaymentRequest(_message.Message):
    __slots__ = ("repayment_id",)
    REPAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    repayment_id: str
    def __init__(self, repayment_id: _Optional[str] = ...) -> None: ...

class PaymentStop(_message.Message):
    __slots__ = ("stop_id", "budget_id", "grounds", "reasons", "stopped_on", "resumed_on", "resume_reasons")
    STOP_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    STOPPED_ON_FIELD_NUMBER: _ClassVar[int]
    RESUMED_ON_FIELD_NUMBER: _ClassVar[int]
    RESUME_REASONS_FIELD_NUMBER: _ClassVar[int]
    stop_id: str
    budget_id: str
    grounds: StopGrounds
    reasons: _containers.RepeatedScalarFieldContainer[str]
    stopped_on: str
    resumed_on: str
    resume_reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stop_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., grounds: _Optional[_Union[StopGrounds, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., stopped_on: _Optional[str] = ..., resumed_on: _Optional[str] = ..., resume_reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class StopPaymentsRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "grounds", "reasons", "stopped_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    STOPPED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    grounds: StopGrounds
    reasons: _containers.RepeatedScalarFieldContainer[str]
    stopped_on: str
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., grounds: _Optional[_Union[StopGrounds, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., stopped_on: _Optional[str] = ...) -> None: ...

class ResumePaymentsRequest(_message.Message):
    __slots__ = ("request_id", "budget_id", "reasons", "resumed_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    RESUMED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    budget_id: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    resumed_on: str
    def __init__(self, request_id: _Optional[str] = ..., budget_id: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., resumed_on: _Optional[str] = ...) -> None: ...

class ListPayeesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "organisation_code", "person_id", "kind")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_CODE_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    organisation_code: str
    person_id: str
    kind: PayeeKind
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., organisation_code: _Optional[str] = ..., person_id: _Optional[str] = ..., kind: _Optional[_Union[PayeeKind, str]] = ...) -> None: ...

class ListPayeesResponse(_message.Message):
    __slots__ = ("payees", "next_page_token")
    PAYEES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payees: _containers.RepeatedCompositeFieldContainer[Payee]
    next_page_token: str
    def __init__(self, payees: _Optional[_Iterable[_Union[Payee, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
