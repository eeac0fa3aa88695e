import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mestudio.settings.production")

application = get_wsgi_application()

# Through mlcore the app imports torch, OpenCV and matplotlib: about 500 000 long-lived objects,
# which each full garbage collection walked, a pause of about 230 ms in the middle of whichever
# request triggered it (the API benchmark's p99 tail). Importing every view now and freezing
# what start-up made leaves the collector only the objects requests allocate.
get_resolver().url_patterns  # noqa: B018 (loads every view module)
gc.freeze()
