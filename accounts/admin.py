from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Invitation, Membership, Organization, Queue, User


class MembershipInline(admin.StackedInline):
    model = Membership
    fk_name = "user"
    extra = 0
    filter_horizontal = ["queues"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login", "failed_login_count"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_active", "is_staff", "membership__organization"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Person"), {"fields": ["full_name", "preferred_language", "time_zone"]}),
        (_("Status"), {"fields": ["is_active", "is_staff", "is_superuser", "last_login", "date_joined",
                                  "failed_login_count", "last_failed_login_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined", "failed_login_count", "last_failed_login_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "country", "default_language", "time_zone", "is_active"]
    list_filter = ["kind", "country", "is_active"]
    search_fields = ["name"]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "country", "language"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "invited_by", "created_at", "expires_at", "accepted_at",
                    "revoked_at"]
    list_filter = ["organization", "role"]
    readonly_fields = ["token_hash", "accepted_user"]
