"""Issue #16: every posting writes a row into each index of the transaction and line tables, so those carry no
index another one covers, and the mostly-unset references are indexed only where set (migration ledger 0007). The
lookups by those columns (and the foreign-key checks PostgreSQL makes on delete) still run on an index."""

from __future__ import annotations

import pytest
from django.db import connection

from customers.tests.test_indexes import _btree_indexes, _plan, _redundant_indexes

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL catalogs and plans")]


@pytest.mark.parametrize("table", ["ledger_transaction", "ledger_ledgerline"])
def test_no_index_is_a_prefix_of_another(table):
    assert _redundant_indexes(table) == []


def test_the_unset_references_are_indexed_where_set_and_the_reversal_guard_is_kept():
    by_name = {i["name"]: i for i in _btree_indexes("ledger_transaction")}
    for name in ("tx_approved_by_set", "tx_rejected_by_set", "tx_related_set"):
        assert by_name[name]["partial"] and not by_name[name]["unique"]
    assert by_name["tx_reversed_once"]["unique"] and by_name["tx_reversed_once"]["partial"]
    assert sum(1 for i in by_name.values() if i["keys"] == by_name["tx_reversed_once"]["keys"]) == 2  # + plain


@pytest.mark.parametrize("sql, params, index", [
    ("SELECT id FROM ledger_transaction WHERE account_id = %s", [1], "tx_account_status"),
    ("SELECT id FROM ledger_transaction WHERE account_id IN (%s, %s)", [1, 2], "tx_account_status"),
    ("SELECT id FROM ledger_transaction WHERE approved_by_id = %s", [1], "tx_approved_by_set"),
    ("SELECT 1 FROM ledger_transaction WHERE approved_by_id IN (%s) LIMIT 1", [1], "tx_approved_by_set"),
    ("SELECT id FROM ledger_transaction WHERE rejected_by_id = %s", [1], "tx_rejected_by_set"),
    ("SELECT id FROM ledger_transaction WHERE related_id = %s", [1], "tx_related_set"),
    ("SELECT id FROM ledger_ledgerline WHERE account_id = %s", [1], "line_account_book"),
])
def test_lookups_by_those_columns_use_an_index(sql, params, index):
    assert index in _plan(sql, params)
