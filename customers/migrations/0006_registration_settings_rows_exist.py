"""The four registration paths, the fraud settings and the KYC settings exist as rows with their defaults, so reading
them never writes (the platform API's list of paths used to create missing rows during a GET)."""

from django.db import migrations

SOURCES = ("organic", "affiliate", "promo", "import")


def paths_create(apps, schema_editor):
    RegistrationPath = apps.get_model("customers", "RegistrationPath")
    for source in SOURCES:
        RegistrationPath.objects.get_or_create(source=source)
    FraudSettings = apps.get_model("customers", "FraudSettings")
    if not FraudSettings.objects.exists():
        FraudSettings.objects.create()
    KycSettings = apps.get_model("customers", "KycSettings")
    if not KycSettings.objects.exists():
        KycSettings.objects.create(required_kinds=["identity", "proof_of_address"])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_kyc_documents"),
    ]

    operations = [
        migrations.RunPython(paths_create, migrations.RunPython.noop),
    ]
