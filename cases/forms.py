from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, User
from accounts.roles import OrgKind
from liaison.input_policy import BoundedIntegerField

from .choices import DECIDED_OUTCOMES, TLP, Outcome, Priority, RequestType
from .models import Category, ReportedItem, SLAPolicy


class CaseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200,
                            help_text=_("A short description both sides will recognise."))
    request_type = forms.ChoiceField(label=_("Request type"), choices=RequestType.choices,
                                     initial=RequestType.REMOVAL)
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.filter(is_active=True))
    priority = forms.ChoiceField(label=_("Priority"), choices=[("", _("Category default")), *Priority.choices],
                                 required=False)
    threat_to_life = forms.BooleanField(label=_("Threat to life (makes the case urgent)"), required=False)
    tlp = forms.ChoiceField(label=_("Confidentiality"), choices=TLP.choices, initial=TLP.AMBER,
                            help_text=_("TLP:RED cases are visible only to named people."))
    legal_basis = forms.CharField(label=_("Legal basis"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  help_text=_("Required to submit: the law that makes this content illegal."))
    legal_article = forms.CharField(label=_("Article"), max_length=200, required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}),
                                  required=False)
    language = forms.ChoiceField(label=_("Language of the content"), choices=settings.LANGUAGES, required=False)
    territorial_scope = forms.CharField(label=_("Territorial scope"), required=False, max_length=200,
                                        help_text=_("Country codes, separated by commas (default: your country)."))
    responding_org = forms.ModelChoiceField(label=_("Platform"), queryset=Organization.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        platforms = Organization.objects.filter(kind=OrgKind.PLATFORM, is_active=True)
        cast(forms.ModelChoiceField, self.fields["responding_org"]).queryset = platforms
        if platforms.count() == 1:
            self.fields["responding_org"].initial = platforms.first()

    def clean_territorial_scope(self) -> list[str]:
        raw = self.cleaned_data.get("territorial_scope") or ""
        codes = [c.strip().upper() for c in raw.replace(";", ",").split(",") if c.strip()]
        bad = [c for c in codes if len(c) != 2 or not c.isalpha()]
        if bad:
            raise forms.ValidationError(_("Use two-letter country codes (for example ID, MY): %(bad)s")
                                        % {"bad": ", ".join(bad)})
        return codes


class ItemListForm(forms.Form):
    pasted = forms.CharField(
        label=_("Paste targets"), required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false",
                                     "placeholder": "https://t.me/example_channel\t" + "note"}),
        help_text=_("One link or @handle per line; an optional note after a tab or a comma."),
    )
    upload = forms.FileField(label=_("Or upload a CSV or XLSX file"), required=False,
                             widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}))

    def clean_upload(self) -> Any:
        upload = self.cleaned_data.get("upload")
        if upload and upload.size > settings.LIAISON_INTAKE_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is too large (at most %(mb)d MB).")
                                        % {"mb": settings.LIAISON_INTAKE_MAX_UPLOAD_BYTES // (1024 * 1024)})
        return upload


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           max_length=4000)
    outcome_summary = forms.CharField(label=_("Outcome summary"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)


class OutcomeForm(forms.Form):
    """A bulk decision: the ticked items, or every item matching the page's filter (`show`, `item_q`) as many as
    the person saw (`expected`, checked again when applied)."""

    TICKED, MATCHING = "ticked", "matching"

    scope = forms.ChoiceField(choices=[(TICKED, _("The ticked items")), (MATCHING, _("All items matching the filter"))],
                              required=False)
    items = forms.TypedMultipleChoiceField(coerce=int, choices=(), label=_("Items"), required=False)
    expected = BoundedIntegerField(required=False, min_value=0)
    outcome = forms.ChoiceField(label=_("Outcome"),
                                choices=[(o.value, o.label) for o in DECIDED_OUTCOMES])
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)

    def __init__(self, *args: Any, item_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["items"]).choices = [(i, i) for i in item_ids]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["scope"] = data.get("scope") or self.TICKED
        if data.get("outcome") and data["outcome"] != Outcome.REMOVED and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Give a reason for this outcome."))
        if data["scope"] == self.TICKED and not data.get("items"):
            self.add_error("items", _("Select at least one item."))
        if data["scope"] == self.MATCHING and data.get("expected") is None:
            self.add_error("expected", _("Reload the page: the number of matching items is missing."))
        return data


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=User.objects.none(), required=False,
                                      empty_label=_("Nobody"))

    def __init__(self, *args: Any, candidates: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = candidates


class GrantForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.none())
    reason = forms.CharField(label=_("Why"), max_length=500)

    def __init__(self, *args: Any, candidates: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["user"]).queryset = candidates


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A FileField for several files: the widget hands over a list, which FileField alone rejects."""

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(one, initial) for one in data]
        return super().clean(data, initial)


class EvidenceForm(forms.Form):
    # The metaclass takes declared fields off the class, so this does not hide Form.files at run time.
    files = MultipleFileField(label=_("Files"), required=False,  # type: ignore[assignment]
                              widget=MultipleFileInput(attrs={"multiple": True}),
                              help_text=_("Screenshots, PDFs, videos, chat exports, e-mails (.eml), ZIP or Office "
                                          "files. The SHA-256 fingerprint is computed as the file is stored."))
    # The item's number in the case, not a list of every item: a case may hold thousands.
    item = forms.IntegerField(label=_("About item number"), required=False, min_value=1, max_value=10**6,
                              help_text=_("The # of the item in the list; leave empty for the whole case."))
    description = forms.CharField(label=_("Description"), required=False, max_length=2000)
    documents_url = forms.URLField(label=_("URL it documents"), required=False, max_length=2048,
                                   assume_scheme="https")
    captured_at = forms.DateTimeField(label=_("Captured at"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      help_text=_("When the screenshot or export was made, in your time zone."))
    internal = forms.BooleanField(label=_("Internal to the platform (hidden from the authority)"), required=False)

    def __init__(self, *args: Any, case: Any = None, side: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        if case is None:
            del self.fields["item"]
        if side != "platform":
            del self.fields["internal"]

    def clean_item(self) -> ReportedItem | None:
        number = self.cleaned_data.get("item")
        if number is None or self.case is None:
            return None
        item = ReportedItem.objects.filter(case=self.case, position=number).first()
        if item is None:
            raise forms.ValidationError(_("This case has no item #%(n)d.") % {"n": number})
        return item


class SLADurationsForm(forms.Form):
    """The two durations of one SLA policy, in whole minutes its columns hold."""

    acknowledge_minutes = BoundedIntegerField(label=_("Acknowledge (minutes)"), min_value=1,
                                              model_field=SLAPolicy._meta.get_field("acknowledge_minutes"))
    resolve_minutes = BoundedIntegerField(label=_("Resolve (minutes)"), min_value=1,
                                          model_field=SLAPolicy._meta.get_field("resolve_minutes"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        acknowledge, resolve = data.get("acknowledge_minutes"), data.get("resolve_minutes")
        if acknowledge is not None and resolve is not None and acknowledge > resolve:
            raise forms.ValidationError(_("Acknowledging cannot take longer than resolving."))
        return data
