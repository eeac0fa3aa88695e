"""The REST API's toolkit under /api/v1/ (issue 8): base viewsets, errors, permissions, parsers,
pagination, the schema's hooks. It imports no domain: each domain keeps its endpoints in its own
api.py (thin DRF views over its selectors and services) and serializers.py, and
annotator.api_router gathers them.

Input serializers parse and check requests; output serializers shape responses. They are
separate because what a client may send (a revision, a clip id) differs from what it reads back
(counts, URLs, the coder's name), and one serializer doing both grows read_only flags everywhere.
"""
