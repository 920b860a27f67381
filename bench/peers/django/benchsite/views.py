"""The items endpoints as Django views, the way Django's docs teach: function views, a
`forms.Form` for the ItemIn rules, `JsonResponse`. Invalid input answers 400 as Django does.
The `<int:item_id>` converter only matches digits, so `0` reaches the view and is refused
there; a non-number is Django's 404."""

import json
from threading import Lock

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

items: dict[int, dict] = {}
ids = Lock()


class TagsField(forms.Field):
    """A JSON list of at most 10 strings."""

    def to_python(self, value):
        if value in self.empty_values:
            return []
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ValidationError("Enter a list of strings.")
        if len(value) > 10:
            raise ValidationError("At most 10 tags.")
        return value


class ItemForm(forms.Form):
    name = forms.CharField(min_length=1, max_length=100, strip=False)
    description = forms.CharField(max_length=1000, required=False, strip=False, empty_value=None)
    price = forms.FloatField()
    tax = forms.FloatField(required=False, min_value=0)
    tags = TagsField(required=False)

    def clean_price(self):
        price = self.cleaned_data["price"]
        if price <= 0:
            raise ValidationError("Ensure this value is greater than 0.")
        return price


@require_GET
def plaintext(request):
    return HttpResponse("Hello, World!", content_type="text/plain")


@require_GET
def hello_json(request):
    return JsonResponse({"message": "Hello, World!"})


@csrf_exempt
@require_POST
def create_item(request):
    if request.content_type != "application/json":
        return JsonResponse({"detail": "Unsupported Media Type"}, status=415)
    try:
        data = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "Invalid JSON"}, status=400)
    if not isinstance(data, dict):
        return JsonResponse({"detail": "Expected a JSON object"}, status=400)
    form = ItemForm(data)
    if not form.is_valid():
        return JsonResponse({"detail": form.errors.get_json_data()}, status=400)
    item = form.cleaned_data
    with ids:
        item_id = len(items) + 1
        items[item_id] = item
    return JsonResponse({"id": item_id, **item}, status=201)


@require_GET
def read_item(request, item_id: int):
    if item_id <= 0:
        return JsonResponse({"detail": "item_id must be an integer greater than 0"}, status=400)
    item = items.get(item_id)
    if item is None:
        return JsonResponse({"detail": "Item not found"}, status=404)
    return JsonResponse({"id": item_id, **item})
