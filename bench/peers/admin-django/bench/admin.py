"""The admin of `bench/run --admin`: what brisk's peer registers, as Django's documentation
teaches it — list_display with the foreign key (loaded by a join: list_select_related),
search_fields, list_filter; Django's defaults otherwise (100 rows a page, newest key first,
`show_full_result_count`)."""

from django.contrib import admin

from .models import Item, Supplier


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["name", "price", "in_stock", "supplier"]
    list_select_related = ["supplier"]
    search_fields = ["name"]
    list_filter = ["in_stock"]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    search_fields = ["name"]
