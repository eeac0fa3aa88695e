import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mestudio.settings.production")

application = get_wsgi_application()

# Start-up leaves about 190 000 long-lived objects (Django, DRF, OpenCV and scikit-learn through
# mlcore; torch and matplotlib stay out of the web process), which each full garbage collection
# walked in the middle of whichever request triggered it (with torch loaded, a pause of about
# 230 ms: the API benchmark's p99 tail). Importing every view now and freezing what start-up
# made leaves the collector only the objects requests allocate.
get_resolver().url_patterns  # noqa: B018 (loads every view module)
gc.freeze()
