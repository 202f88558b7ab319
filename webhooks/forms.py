from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.case_events import CaseEvent


class EndpointForm(forms.Form):
    url = forms.CharField(label=_("URL"), max_length=2048,
                          help_text=_("An https:// address of your own system. It receives a POST for each "
                                      "chosen event, signed with the secret shown once after you add it."),
                          widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off"}))
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(label=_("Events"), choices=CaseEvent.choices,
                                       widget=forms.CheckboxSelectMultiple)
