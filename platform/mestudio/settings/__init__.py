"""Settings split by environment: base, local (default for manage.py), production, test."""
