from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (the deployment checks; logins and account changes go to the audit chain)
        from .kept_statements import remember_conversions_of_kept_statements

        remember_conversions_of_kept_statements()
