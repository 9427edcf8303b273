"""Issue #16: the tables the lead import writes carry no redundant index (each one is written by every insert), and
the lookups whose single-column indexes were dropped (migration customers 0007) still run on an index."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

IMPORT_TABLES = ["customers_customer", "customers_activity", "ledger_tradingaccount", "crm_note", "imports_importrow"]


def _btree_indexes(table: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisunique, i.indpred IS NOT NULL, i.indexprs IS NOT NULL, "
            "       string_to_array(i.indkey::text, ' ')::int[], string_to_array(i.indclass::text, ' ')::oid[] "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "WHERE i.indrelid = %s::regclass AND a.amname = 'btree'", [table])
        return [{"name": n, "unique": u, "partial": p, "expressions": e, "keys": k, "classes": cl}
                for n, u, p, e, k, cl in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL catalogs")
@pytest.mark.parametrize("table", IMPORT_TABLES)
def test_no_index_is_a_prefix_of_another(table):
    assert _redundant_indexes(table) == []


def _redundant_indexes(table: str) -> list[tuple[str, str]]:
    """(index, the index covering it): a plain (non-unique, non-partial) b-tree whose columns and operator classes
    lead another b-tree serves no lookup the longer one does not, and costs every insert."""
    indexes = _btree_indexes(table)
    redundant = []
    for a in indexes:
        if a["unique"] or a["partial"] or a["expressions"]:
            continue
        for b in indexes:
            if b is a or b["partial"] or b["expressions"] or len(b["keys"]) < len(a["keys"]):
                continue
            width = len(a["keys"])
            if b["keys"][:width] == a["keys"] and b["classes"][:width] == a["classes"]:
                redundant.append((a["name"], b["name"]))
    return redundant


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL catalogs")
def test_no_pattern_ops_copy_of_the_phone_index():
    assert [i["name"] for i in _btree_indexes("customers_customer") if i["name"].endswith("_like")] == []


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
@pytest.mark.parametrize("sql, params, index", [
    ("SELECT id FROM customers_customer WHERE phone = %s", ["+447911123456"], "customer_phone_idx"),
    ("SELECT id FROM customers_customer WHERE phone = ANY(%s)", [["+447911123456"]], "customer_phone_idx"),
    ("SELECT id FROM customers_customer WHERE assigned_to_id = %s", [1], "customer_assigned_idx"),
    ("UPDATE customers_customer SET assigned_to_id = NULL WHERE assigned_to_id IN (%s)", [1],
     "customer_assigned_idx"),
    ("SELECT id FROM customers_customer WHERE team_id = %s", [1], "customer_team_idx"),
    ("UPDATE customers_customer SET team_id = NULL WHERE team_id IN (%s)", [1], "customer_team_idx"),
    ("SELECT id FROM customers_activity WHERE customer_id = %s", [1], "activity_customer_keyset"),
    ("DELETE FROM customers_activity WHERE customer_id IN (%s)", [1], "activity_customer_keyset"),
])
def test_lookups_of_dropped_single_column_indexes_still_use_an_index(sql, params, index):
    assert index in _plan(sql, params)
