from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and organisations")

    def ready(self) -> None:
        # Connects login bookkeeping; registers the deployment checks.
        from . import checks, receivers  # noqa: F401
