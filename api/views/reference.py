"""What a new case names: the categories and the platforms it may be addressed to (the web form's choices)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from cases.forms import CaseForm

from .base import ApiView
from .cases import ERRORS


class CategorySerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    default_priority = serializers.CharField()


class PlatformSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField()


class CategoriesView(ApiView):
    @extend_schema(operation_id="categories_list", responses={200: CategorySerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        rows = CaseForm.base_fields["category"].queryset.order_by("sort_order", "name")  # type: ignore[attr-defined]
        return Response(CategorySerializer([{"slug": c.slug, "name": str(c), "default_priority": c.default_priority}
                                            for c in rows], many=True).data)


class PlatformsView(ApiView):
    @extend_schema(operation_id="platforms_list", responses={200: PlatformSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        platforms = CaseForm().fields["responding_org"].queryset.order_by("name")  # type: ignore[attr-defined]
        return Response(PlatformSerializer(platforms, many=True).data)
