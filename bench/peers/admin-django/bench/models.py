"""The models of `bench/run --admin`, as brisk's peer declares them (bench/peers/admin-brisk):
the same tables (bench_supplier, bench_item), columns and types."""

from django.db import models


class Supplier(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self):
        return self.name


class Item(models.Model):
    name = models.CharField(max_length=100)
    price = models.FloatField()
    in_stock = models.BooleanField(default=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT)

    def __str__(self):
        return self.name
