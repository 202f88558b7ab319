"""Each read marker remembers the newest thread entry its person may see (kept by the thread actions from now on),
filled here from the threads; a partial index holds the markers with something new, so the unread badge reads only
those cases."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce


def fill(apps, schema_editor):
    ReadMarker = apps.get_model("cases", "ReadMarker")
    Message = apps.get_model("cases", "Message")
    Membership = apps.get_model("accounts", "Membership")
    side_of_person = Membership.objects.filter(user_id=OuterRef(OuterRef("user_id"))).values("organization__kind")[:1]
    visible = (Message.objects.filter(case_id=OuterRef("case_id"))
               .filter(Q(kind__in=["shared", "system"], side="") | Q(side=Subquery(side_of_person)))
               .filter(Q(author_id__isnull=True) | ~Q(author_id=OuterRef("user_id"))).order_by("-id").values("id")[:1])
    ReadMarker.objects.update(news_up_to=Coalesce(Subquery(visible), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("cases", "0015_audit_case_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(model_name="readmarker", name="news_up_to", field=models.BigIntegerField(default=0)),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="readmarker",
            index=models.Index(condition=Q(news_up_to__gt=F("last_read_message_id")), fields=["user", "case"],
                               name="read_marker_news"),
        ),
    ]
