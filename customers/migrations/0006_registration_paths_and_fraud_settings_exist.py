"""The four registration paths and the fraud settings exist as rows with their defaults, so reading them never
writes (the platform API's list of paths used to create missing rows during a GET)."""

from django.db import migrations

SOURCES = ("organic", "affiliate", "promo", "import")


def paths_create(apps, schema_editor):
    RegistrationPath = apps.get_model("customers", "RegistrationPath")
    for source in SOURCES:
        RegistrationPath.objects.get_or_create(source=source)
    FraudSettings = apps.get_model("customers", "FraudSettings")
    if not FraudSettings.objects.exists():
        FraudSettings.objects.create()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_kyc_documents"),
    ]

    operations = [
        migrations.RunPython(paths_create, migrations.RunPython.noop),
    ]
