"""Deadlines over the API: a case's deadlines and proposals; a proposal (a new due time, a waiver, a new deadline);
the other side's answer. Each by the deadline panel's actions."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from cases.actions.deadlines import answer_proposal, propose_deadline

from ..idempotency import idempotent
from ..serializers import (
    AnswerInputSerializer,
    DeadlineListSerializer,
    ProposalInputSerializer,
    ProposalSerializer,
)
from .base import ApiView
from .cases import CONFLICT, ERRORS, IDEMPOTENCY_KEY, UNPROCESSABLE, case_for


class DeadlinesView(ApiView):
    @extend_schema(operation_id="deadlines_list", responses={200: DeadlineListSerializer, **ERRORS})
    def get(self, request: Request, reference: str) -> Response:
        case = case_for(self.actor, reference)
        deadlines = case.deadlines.order_by("due_at", "id")
        proposals = case.deadline_proposals.select_related("proposed_by").order_by("id")
        return Response(DeadlineListSerializer({"deadlines": deadlines, "proposals": proposals}).data)


class ProposalsView(ApiView):
    @extend_schema(operation_id="deadlines_propose", request=ProposalInputSerializer, parameters=[IDEMPOTENCY_KEY],
                   responses={201: ProposalSerializer, **UNPROCESSABLE, **ERRORS})
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = case_for(user, reference)
        serializer = ProposalInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        deadline = None
        if data.get("deadline") is not None:
            deadline = case.deadlines.filter(pk=data["deadline"]).first()
            if deadline is None:
                raise exceptions.ValidationError({"deadline": ["This case has no such deadline."]})
        proposal = propose_deadline(actor=user, case=case, kind=data["kind"], reason=data["reason"],
                                    deadline=deadline, due_at=data.get("due_at"), title=data.get("title", ""),
                                    owner_side=data.get("owner_side", ""))
        return Response(ProposalSerializer(proposal).data, status=201)


class AnswerView(ApiView):
    accept = True

    @extend_schema(request=AnswerInputSerializer, responses={200: ProposalSerializer, **CONFLICT, **ERRORS})
    def post(self, request: Request, reference: str, proposal_id: int) -> Response:
        user = self.actor
        case = case_for(user, reference)
        proposal = case.deadline_proposals.filter(pk=proposal_id).first()
        if proposal is None:
            raise exceptions.NotFound("No such proposal.")
        serializer = AnswerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = answer_proposal(actor=user, proposal=proposal, accept=self.accept,
                                   note=serializer.validated_data["note"])
        return Response(ProposalSerializer(proposal).data)


class AcceptView(AnswerView):
    accept = True


class RejectView(AnswerView):
    accept = False
