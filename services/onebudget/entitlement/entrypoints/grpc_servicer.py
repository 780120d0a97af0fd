"""The gRPC face of the entitlement service: each RPC hands its request to a use case.

Errors are typed domain errors; the shared edge interceptor turns them into google.rpc.Status.
"""

from __future__ import annotations

from typing import Any

from onebudget.entitlement.service_layer.handlers import EntitlementHandlers
from onebudget.entitlement.service_layer.importing import PeopleImport
from onebudget.entitlement.service_layer.reviews import ReviewHandlers
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as api_grpc

SERVICE_NAME = "onebudget.entitlement.v1.EntitlementService"
Context = Any  # grpc.aio.ServicerContext


class EntitlementServicer(api_grpc.EntitlementServiceServicer):
    def __init__(
        self, handlers: EntitlementHandlers, reviews: ReviewHandlers, importer: PeopleImport
    ) -> None:
        self._h = handlers
        self._r = reviews
        self._i = importer

    async def RegisterPerson(self, request: api.RegisterPersonRequest, _: Context) -> api.Person:
        return await self._h.register_person(request)

    async def GetPerson(self, request: api.GetPersonRequest, _: Context) -> api.Person:
        return await self._h.get_person(request)

    async def ListPeople(
        self, request: api.ListPeopleRequest, _: Context
    ) -> api.ListPeopleResponse:
        return await self._h.list_people(request)

    async def UpdatePersonDetails(
        self, request: api.UpdatePersonDetailsRequest, _: Context
    ) -> api.Person:
        return await self._h.update_person_details(request)

    async def RecordEligibilityDecision(
        self, request: api.RecordEligibilityDecisionRequest, _: Context
    ) -> api.EligibilityDecision:
        return await self._h.record_eligibility_decision(request)

    async def ListEligibility(
        self, request: api.ListEligibilityRequest, _: Context
    ) -> api.ListEligibilityResponse:
        return await self._h.list_eligibility(request)

    async def SetCommissionerPolicy(
        self, request: api.SetCommissionerPolicyRequest, _: Context
    ) -> api.CommissionerPolicy:
        return await self._h.set_commissioner_policy(request)

    async def GetCommissionerPolicy(
        self, request: api.GetCommissionerPolicyRequest, _: Context
    ) -> api.CommissionerPolicy:
        return await self._h.get_commissioner_policy(request)

    async def RequestPersonalHealthBudget(
        self, request: api.RequestPersonalHealthBudgetRequest, _: Context
    ) -> api.PersonalHealthBudgetRequest:
        return await self._h.request_personal_health_budget(request)

    async def RequestReconsideration(
        self, request: api.RequestReconsiderationRequest, _: Context
    ) -> api.PersonalHealthBudgetRequest:
        return await self._h.request_reconsideration(request)

    async def DecideReconsideration(
        self, request: api.DecideReconsiderationRequest, _: Context
    ) -> api.PersonalHealthBudgetRequest:
        return await self._h.decide_reconsideration(request)

    async def ListReviewsDue(
        self, request: api.ListReviewsDueRequest, _: Context
    ) -> api.ListReviewsDueResponse:
        return await self._r.list_reviews_due(request)

    async def RecordReviewCompleted(
        self, request: api.RecordReviewCompletedRequest, _: Context
    ) -> api.ReviewDue:
        return await self._r.record_review_completed(request)

    async def RecordDeath(self, request: api.RecordDeathRequest, _: Context) -> api.Person:
        return await self._h.record_death(request)

    async def RecordConsentWithdrawn(
        self, request: api.RecordConsentWithdrawnRequest, _: Context
    ) -> api.Person:
        return await self._h.record_consent_withdrawn(request)

    async def ImportPeople(
        self, request: api.ImportPeopleRequest, _: Context
    ) -> api.ImportPeopleResponse:
        return await self._i.import_people(request)
