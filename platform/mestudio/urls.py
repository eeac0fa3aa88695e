from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from annotator.api.errors import api_not_found
from annotator.api.schema import SchemaView, api_docs_page

docs_styles = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})


def docs_page(view):
    return docs_styles(api_docs_page(view))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("annotator.api_router")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # Swagger UI's script is served as a file of its own (the split view): no inline script.
    # Both docs renderers set styles inline and Redoc runs a worker from a blob.
    path(
        "api/docs/",
        docs_page(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        docs_page(
            SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html")
        ),
        name="api-redoc",
    ),
    re_path(r"^api/", api_not_found),
    path("", include("annotator.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
