"""Issue #16: indexes on customers_customer and customers_activity that no query needs, each written by every insert
(the lead import writes 50,000 customers at a time):

- customers_customer.assigned_to_id and .team_id alone: customer_assigned_idx (assigned_to, -registered_at) and
  customer_team_idx (team, -registered_at) start with the same column and serve every lookup by it;
- customers_activity.customer_id alone: activity_customer_keyset (customer, -created_at, -id) starts with it;
- the `varchar_pattern_ops` copy of the phone index (`…_like`, made by `db_index=True` on PostgreSQL for
  LIKE 'prefix%'): no query filters phones by prefix (the search is `phone__contains`, a '%digits%' pattern no
  b-tree serves). The plain phone b-tree (duplicate scoring, registration) stays: renamed, not rebuilt.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OLD_PHONE = "customers_customer_phone_01182399"  # Django's name for the phone field's db_index (same on every backend)


def phone_index_forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{OLD_PHONE}_like"')
        schema_editor.execute(f'ALTER INDEX "{OLD_PHONE}" RENAME TO "customer_phone_idx"')
    else:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{OLD_PHONE}"')
        schema_editor.execute('CREATE INDEX "customer_phone_idx" ON "customers_customer" ("phone")')


def phone_index_backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER INDEX "customer_phone_idx" RENAME TO "{OLD_PHONE}"')
        schema_editor.execute(f'CREATE INDEX "{OLD_PHONE}_like" ON "customers_customer" ("phone" varchar_pattern_ops)')
    else:
        schema_editor.execute('DROP INDEX IF EXISTS "customer_phone_idx"')
        schema_editor.execute(f'CREATE INDEX "{OLD_PHONE}" ON "customers_customer" ("phone")')


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0006_registration_settings_rows_exist'),
        ('teams', '0004_user_time_zone'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # State: the fields lose db_index and the phone index is declared in Meta. Database: only the indexes move —
    # Django's own AlterField would also drop and re-add each foreign key (re-validated over every customer).
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='activity',
                    name='customer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='customers.customer'),
                ),
                migrations.AlterField(
                    model_name='customer',
                    name='assigned_to',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_customers', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='customer',
                    name='team',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='customers', to='teams.team'),
                ),
                migrations.AlterField(
                    model_name='customer',
                    name='phone',
                    field=models.CharField(blank=True, help_text='E.164.', max_length=20),
                ),
                migrations.AddIndex(
                    model_name='customer',
                    index=models.Index(fields=['phone'], name='customer_phone_idx'),
                ),
            ],
            database_operations=[
                migrations.RunSQL('DROP INDEX IF EXISTS "customers_activity_customer_id_2da340a2"',
                                  'CREATE INDEX "customers_activity_customer_id_2da340a2" '
                                  'ON "customers_activity" ("customer_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "customers_customer_assigned_to_id_c1b6fee6"',
                                  'CREATE INDEX "customers_customer_assigned_to_id_c1b6fee6" '
                                  'ON "customers_customer" ("assigned_to_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "customers_customer_team_id_677425ba"',
                                  'CREATE INDEX "customers_customer_team_id_677425ba" ON "customers_customer" ("team_id")'),
                migrations.RunPython(phone_index_forwards, phone_index_backwards),
            ],
        ),
    ]
