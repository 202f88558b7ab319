from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from cases.signing_identity import create_signing_identity


class Command(BaseCommand):
    help = ("Create a local CA and an outcome-report signing certificate (development). Writes the PKCS#12 to "
            "LIAISON_SIGNING_P12 and the CA certificate (PEM) to LIAISON_SIGNING_CA; without a configured "
            "passphrase, a random one goes to var/signing/passphrase.txt.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Replace an existing identity (readers must then "
                            "trust the new CA certificate).")
        parser.add_argument("--organization", default="Liaison (development)", help="O= of both certificates.")
        parser.add_argument("--common-name", default="Liaison outcome reports", help="CN= of the signer.")
        parser.add_argument("--country", default="AE", help="C= of both certificates (two letters).")
        parser.add_argument("--days", type=int, default=825, help="Validity of the signer certificate.")

    def handle(self, *args: Any, **options: Any) -> None:
        p12 = Path(settings.LIAISON_SIGNING_P12)
        if p12.exists() and not options["force"]:
            self.stdout.write(f"A signing identity already exists at {p12}; nothing changed (use --force to replace "
                              "it).")
            return
        created = create_signing_identity(organization=options["organization"], common_name=options["common_name"],
                                          country=options["country"].upper()[:2], days=options["days"])
        self.stdout.write(self.style.SUCCESS(f"Signing identity created: {created.subject}"))
        self.stdout.write(f"  PKCS#12:            {created.p12}")
        self.stdout.write(f"  CA certificate:     {created.ca_pem} (served at /reports/ca.pem)")
        self.stdout.write(f"  CA key (encrypted): {created.ca_key}")
        if created.passphrase_file is not None:
            self.stdout.write(f"  Passphrase:         {created.passphrase_file}")
        self.stdout.write(f"  CA fingerprint (SHA-256): {created.ca_fingerprint}")
