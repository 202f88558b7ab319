from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.utils.translation import gettext_lazy as _

from .models import Organization, Queue, User
from .roles import OrgKind, Role


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    full_name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    organization = forms.ModelChoiceField(label=_("Organisation"), queryset=Organization.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=())
    queues = forms.ModelMultipleChoiceField(
        label=_("Queues (moderators)"), queryset=Queue.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, inviter_org: Organization, inviter_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organization = cast(forms.ModelChoiceField, self.fields["organization"])
        if inviter_role == Role.TS_MANAGER:
            # Platform staff for the own platform, authority leads for any authority.
            organization.queryset = Organization.objects.filter(is_active=True).filter(
                kind=OrgKind.AUTHORITY
            ) | Organization.objects.filter(pk=inviter_org.pk)
            roles = [Role.MODERATOR, Role.TS_MANAGER, Role.LEGAL, Role.AUDITOR, Role.AUTHORITY_LEAD]
            cast(forms.ModelMultipleChoiceField, self.fields["queues"]).queryset = Queue.objects.filter(
                organization=inviter_org)
        else:
            organization.queryset = Organization.objects.filter(pk=inviter_org.pk)
            roles = [Role.LIAISON, Role.AUTHORITY_LEAD, Role.AUDITOR]
            del self.fields["queues"]
        self.fields["organization"].initial = inviter_org.pk
        cast(forms.ChoiceField, self.fields["role"]).choices = [(r.value, r.label) for r in roles]


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    password1 = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password (again)"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "preferred_language", "time_zone"]
