from django.urls import path

from . import views

urlpatterns = [
    path("plaintext", views.plaintext),
    path("json", views.hello_json),
    path("items", views.create_item),
    path("items/<int:item_id>", views.read_item),
]
