from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable pages while rows are added (clips arrive during an upload run): a cursor, not an
    offset. The list's ordering comes from the view's `ordering` or the `ordering` parameter."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
