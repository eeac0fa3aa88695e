"""Datasets in and out: published labels imported, MEGC2019-style composites exported, ELAN
files both ways. `services` is the web half (pages, API, admin); `imports` and `exports` are
what the workers run (and the management commands call directly); `jobs` is what both share."""
