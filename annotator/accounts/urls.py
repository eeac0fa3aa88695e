from django.urls import path

from annotator.accounts import views

urlpatterns = [
    path("profile/", views.profile, name="profile"),
]
