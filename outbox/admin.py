from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: what is waiting for the broker, what failed and why, what was never done."""

    list_display = ("id", "task", "created_at", "sends", "attempts", "sent_at", "done_at", "last_error")
    list_filter = ("task",)
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
