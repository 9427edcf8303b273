"""Workspace lists that scale: whitelisted sort keys (each ending in the primary key, so pages are stable), a total
count, a page size, and filters validated by a form — an invalid value is an error next to its field (400), never
silently ignored."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import F

PAGE_SIZES = (25, 50, 100, 200)


@dataclass
class ListSpec:
    """`sorts`: key → order_by fields (without the direction; the primary key is appended)."""

    sorts: dict[str, tuple[str, ...]]
    default_sort: str
    default_desc: bool = False
    page_sizes: tuple[int, ...] = PAGE_SIZES
    default_size: int = 50
    labels: dict[str, str] = field(default_factory=dict)  # key → column heading (default: the key in words)


def _order(spec: ListSpec, key: str, desc: bool) -> list:
    fields = []
    for name in (*spec.sorts[key], "pk"):
        expression = F(name)
        fields.append(expression.desc(nulls_last=True) if desc else expression.asc(nulls_last=True))
    return fields


def list_page(request, queryset, spec: ListSpec) -> dict:
    """Sort, count and cut one page of `queryset` by the request's `sort` (`-key` for descending), `size` and
    `page`. Returns the template context; `list_errors` holds the parameters that were refused."""
    params = request.GET
    errors: dict[str, str] = {}
    raw_sort = params.get("sort", "") or (("-" if spec.default_desc else "") + spec.default_sort)
    desc, key = raw_sort.startswith("-"), raw_sort.lstrip("-")
    if key not in spec.sorts:
        errors["sort"] = f"Unknown sort “{raw_sort[:40]}”: sort by one of the column headings."
        desc, key = spec.default_desc, spec.default_sort
    size = spec.default_size
    if params.get("size"):
        if params["size"].isascii() and params["size"].isdigit() and int(params["size"]) in spec.page_sizes:
            size = int(params["size"])
        else:
            errors["size"] = f"Page size is one of {', '.join(map(str, spec.page_sizes))}."
    paginator = Paginator(queryset.order_by(*_order(spec, key, desc)), size)
    number = 1
    if params.get("page"):
        raw = params["page"]
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= max(paginator.num_pages, 1):
            number = int(raw)
        else:
            errors["page"] = f"There is no page “{raw[:20]}”; pages run from 1 to {max(paginator.num_pages, 1)}."
    page = paginator.page(number)
    base = params.copy()
    for name in ("page",):
        base.pop(name, None)
    columns = []
    for name in spec.sorts:
        query = base.copy()
        query["sort"] = name if (name != key or desc) else f"-{name}"
        columns.append({"key": name, "title": spec.labels.get(name, name.replace("_", " ").capitalize()),
                        "url": f"?{query.urlencode()}", "active": name == key,
                        "arrow": ("▼" if desc else "▲") if name == key else "",
                        "aria": ("descending" if desc else "ascending") if name == key else "none"})
    page_query = base.urlencode()
    return {"page_obj": page, "rows": list(page.object_list), "total": paginator.count, "sort": key,
            "sort_desc": desc, "size": size, "page_sizes": spec.page_sizes, "columns": columns,
            "page_query": page_query, "list_errors": errors}
