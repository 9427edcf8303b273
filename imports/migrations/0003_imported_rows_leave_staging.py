"""Imported rows leave the staging table (issue #16): a row whose customer was created is deleted in the chunk's own
transaction instead of being rewritten as `imported` with the customer's id. The rows earlier imports marked
`imported` are deleted here (one DELETE, no cascade: nothing references a staging row); the `customer_id` column
goes (nothing read it; the customer's registration activity names its import job from now on)."""

from django.db import migrations, models


def delete_imported_rows(apps, schema_editor):
    apps.get_model("imports", "ImportRow").objects.filter(status="imported")._raw_delete(schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ('imports', '0002_import_row_claim_pending_only'),
    ]

    operations = [
        migrations.RunPython(delete_imported_rows, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='importrow',
            name='customer_id',
        ),
        migrations.AlterField(
            model_name='importrow',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('rejected', 'Rejected')], default='pending', max_length=10),
        ),
    ]
