"""Limits the domains' input serializers share."""

# PostgreSQL's integer columns hold at most this: a larger frame, revision or seed is refused
# as invalid input instead of failing in the database.
MAX_INTEGER = 2**31 - 1
