"""The gRPC face of the payment service: each RPC hands its request to a use case.

Errors are typed domain errors; the shared edge interceptor turns them into google.rpc.Status.
"""

from __future__ import annotations

from typing import Any

from onebudget.payment.service_layer.handlers import PaymentHandlers
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc

SERVICE_NAME = "onebudget.payment.v1.PaymentService"
Context = Any  # grpc.aio.ServicerContext


class PaymentServicer(api_grpc.PaymentServiceServicer):
    def __init__(self, handlers: PaymentHandlers) -> None:
        self._h = handlers

    @property
    def handlers(self) -> PaymentHandlers:
        return self._h

    async def RegisterPayee(self, request: api.RegisterPayeeRequest, _: Context) -> api.Payee:
        return await self._h.register_payee(request)

    async def ApproveFamilyPayee(
        self, request: api.ApproveFamilyPayeeRequest, _: Context
    ) -> api.Payee:
        return await self._h.approve_family_payee(request)

    async def GetPayee(self, request: api.GetPayeeRequest, _: Context) -> api.Payee:
        return await self._h.get_payee(request)

    async def ListPayees(
        self, request: api.ListPayeesRequest, _: Context
    ) -> api.ListPayeesResponse:
        return await self._h.list_payees(request)

    async def ReleasePayment(self, request: api.ReleasePaymentRequest, _: Context) -> api.Payment:
        return await self._h.release_payment(request)

    async def ReleasePayments(
        self, request: api.ReleasePaymentsRequest, _: Context
    ) -> api.ReleasePaymentsResponse:
        return await self._h.release_payments(request)

    async def ReservePayment(self, request: api.ReservePaymentRequest, _: Context) -> api.Payment:
        return await self._h.reserve_payment(request)

    async def ConfirmPayment(self, request: api.ConfirmPaymentRequest, _: Context) -> api.Payment:
        return await self._h.confirm_payment(request)

    async def CancelPayment(self, request: api.CancelPaymentRequest, _: Context) -> api.Payment:
        return await self._h.cancel_payment(request)

    async def GetPayment(self, request: api.GetPaymentRequest, _: Context) -> api.Payment:
        return await self._h.get_payment(request)

    async def ListPayments(
        self, request: api.ListPaymentsRequest, _: Context
    ) -> api.ListPaymentsResponse:
        return await self._h.list_payments(request)

    async def GetBudgetStatement(
        self, request: api.GetBudgetStatementRequest, _: Context
    ) -> api.BudgetStatement:
        return await self._h.get_budget_statement(request)

    async def CreateSchedule(self, request: api.CreateScheduleRequest, _: Context) -> api.Schedule:
        return await self._h.create_schedule(request)

    async def GetSchedule(self, request: api.GetScheduleRequest, _: Context) -> api.Schedule:
        return await self._h.get_schedule(request)

    async def OffsetAccumulatedFunds(
        self, request: api.OffsetAccumulatedFundsRequest, _: Context
    ) -> api.Schedule:
        return await self._h.offset_accumulated_funds(request)

    async def RecordReturn(self, request: api.RecordReturnRequest, _: Context) -> api.Return:
        return await self._h.record_return(request)

    async def RequireRepayment(
        self, request: api.RequireRepaymentRequest, _: Context
    ) -> api.Repayment:
        return await self._h.require_repayment(request)

    async def RecordRepaymentReceived(
        self, request: api.RecordRepaymentReceivedRequest, _: Context
    ) -> api.Repayment:
        return await self._h.record_repayment_received(request)

    async def WriteOffRepayment(
        self, request: api.WriteOffRepaymentRequest, _: Context
    ) -> api.Repayment:
        return await self._h.write_off_repayment(request)

    async def GetRepayment(self, request: api.GetRepaymentRequest, _: Context) -> api.Repayment:
        return await self._h.get_repayment(request)

    async def StopPayments(self, request: api.StopPaymentsRequest, _: Context) -> api.PaymentStop:
        return await self._h.stop_payments(request)

    async def ResumePayments(
        self, request: api.ResumePaymentsRequest, _: Context
    ) -> api.PaymentStop:
        return await self._h.resume_payments(request)
