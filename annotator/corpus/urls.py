from django.urls import path

from annotator.corpus import views

urlpatterns = [
    path("", views.home, name="home"),
    path("clips/upload/", views.clip_upload, name="clip-upload"),
    path("clips/<int:clip_id>/", views.clip_detail, name="clip-detail"),
    path(
        "clips/<int:clip_id>/media/v<int:version>/<slug:layer>/<int:frame>.jpg",
        views.clip_media,
        name="clip-media",
    ),
]
