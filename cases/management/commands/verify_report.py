from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.queries import verify_report


class Command(BaseCommand):
    help = ("Check an outcome report PDF: signature intact, valid and trusted, and the file exactly an issued "
            "report. Exit 0 when it is (even if superseded), 1 otherwise.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The PDF to check.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        result = verify_report(path.read_bytes())
        write = self.stdout.write
        write(f"File:       {path}")
        write(f"SHA-256:    {result.sha256}")
        write(f"Signed:     {'yes' if result.signed else 'no'}")
        if result.damaged:
            write("Signature:  DAMAGED (its structure could not be read)")
        elif result.signed:
            write(f"Intact:     {'yes' if result.intact else 'NO - the document was changed after signing'}")
            if result.intact and not result.valid:
                write("Valid:      NO - the signature does not match the signer's certificate")
            write(f"Trusted:    {'yes' if result.trusted else 'NO'} (chains to the platform's CA)")
            write(f"Whole file: {'yes' if result.whole_file else 'NO'}")
            write(f"Signer:     {result.signer}")
            write(f"Issuer:     {result.signer_issuer}")
        if result.report is not None:
            report = result.report
            issued = report.issued_at.isoformat() if report.issued_at else "?"
            write(f"Issued:     {report.reference} version {report.version}, {issued}")
            if report.superseded:
                latest = report.latest_issued_at.isoformat() if report.latest_issued_at else "?"
                write(self.style.WARNING(f"Superseded: version {report.latest_version} was issued {latest}"))
        else:
            write("Issued:     NO - this exact file is not an issued report")
        for problem in result.problems:
            write(f"Problem:    {problem}")
        verdict = result.verdict.upper()
        if result.ok:
            write(self.style.SUCCESS(f"VALID ({verdict})"))
            return
        self.stderr.write(self.style.ERROR(f"NOT VALID ({verdict})"))
        raise SystemExit(1)
