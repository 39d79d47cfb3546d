"""What a subscription grants on one table, whole or restricted to columns or rows.

- the whole table: the subscription's permissions on the table;
- ``columns`` / ``exclude_columns`` only: ``SELECT`` on the columns (``TableWithColumns``, with
  ``ColumnNames`` or ``ColumnWildcard.ExcludedColumnNames``);
- a ``row_filter`` (with or without columns): a data cells filter on the table holding the rows
  and columns, named ``meshctl-<consumer id>-<product>``, and ``SELECT`` on it;
- either way ``DESCRIBE``, when subscribed, stays on the table (its schema, never its data), and
  a grantable ``SELECT`` is grantable on the column grant or the filter.
A restricted column that the live table lacks holds the subscription (``plan.Held``) with the
table's columns listed, before anything is written for it.
"""

from __future__ import annotations

from meshctl.address import table_address
from meshctl.observed import DataFilter, LfResource, ResourceType
from meshctl.planning.canonical import column_resource, filter_resource
from meshctl.planning.data_filters import filter_name
from meshctl.planning.desired import Desired, Seen
from meshctl.spec.model import Subscription

SELECT = frozenset({"SELECT"})
DESCRIBE = frozenset({"DESCRIBE"})

Access = tuple[LfResource, frozenset[str], frozenset[str]]  # resource, permissions, grantable


def table_access(
    sub: Subscription, consumer_id: str, m: str, db: str, table: str, desired: Desired
) -> list[Access]:
    """The grants (resource, permissions, grantable) that give ``sub`` its access to ``table``;
    a row-restricted table also adds its data cells filter to ``desired``."""
    whole = LfResource(ResourceType.TABLE, m, db, table)
    restriction = sub.restriction(table)
    if restriction is None:
        return [(whole, sub.permissions, sub.grantable)]
    out: list[Access] = []
    if describe := sub.permissions & DESCRIBE:
        out.append((whole, describe, sub.grantable & DESCRIBE))
    if restriction.row_filter:
        data_filter = DataFilter(
            catalog_id=m,
            database=db,
            table=table,
            name=filter_name(consumer_id, sub.product),
            row_filter=restriction.row_filter,
            columns=restriction.columns,
            excluded=restriction.excluded,
        )
        desired.data_filters[data_filter.address] = data_filter
        desired.reasons[data_filter.address] = (
            f"{restriction.describe()} for approved subscription {sub.key}"
        )
        resource = filter_resource(m, db, table, data_filter.name)
    else:
        resource = column_resource(
            m, db, table, columns=restriction.columns, excluded=restriction.excluded
        )
    out.append((resource, SELECT, sub.grantable & SELECT))
    return out


def missing_columns(sub: Subscription, db: str, seen: Seen, desired: Desired) -> tuple[str, ...]:
    """The restricted columns the live table lacks, each named with the table's columns."""
    m = desired.mesh_account_id
    missing: list[str] = []
    for restriction in sub.restrictions:
        address = table_address(m, db, restriction.table)
        table = desired.tables.get(address) or seen.tables.get(address)
        if table is None:
            continue  # no copy yet and no source: the product is held for that already
        known = {c.name for c in (*table.columns, *table.partition_keys)}
        unknown = sorted({*restriction.columns, *restriction.excluded} - known)
        if unknown:
            names = ", ".join(sorted(known)) or "none"
            missing += [
                f"column {c} of table {db}.{restriction.table} (its columns: {names})"
                for c in unknown
            ]
    return tuple(missing)
