# Placeholder: the audit checkpoints (signed chain heads) and the append-only triggers go here.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_item_warnings")]

    operations: list[migrations.operations.base.Operation] = []
