from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """Django's form renderer, reading widget templates from templates/ so they carry Bootstrap classes."""

    field_template_name = "includes/field.html"
