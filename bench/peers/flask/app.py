"""The items endpoints on Flask, the way Flask's docs teach: route decorators, dicts returned
as JSON, `request.get_json()`, `abort` for errors. Flask has no validation layer of its own,
so the ItemIn rules are checked by hand; failures answer 400 as Flask apps do. Served by
gunicorn, one worker process (see bench/harness/servers.py for the command)."""

import math
from threading import Lock

from flask import Flask, abort, request

app = Flask(__name__)
items: dict[int, dict] = {}
ids = Lock()


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def item_errors(data) -> list[str]:
    """The broken ItemIn rules, as sentences."""
    if not isinstance(data, dict):
        return ["body: expected a JSON object"]
    errors = []
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        errors.append("name: a string of 1 to 100 characters is required")
    description = data.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 1000):
        errors.append("description: at most 1000 characters")
    price = data.get("price")
    if not _number(price) or price <= 0:
        errors.append("price: a finite number greater than 0 is required")
    tax = data.get("tax")
    if tax is not None and (not _number(tax) or tax < 0):
        errors.append("tax: a finite number, 0 or more")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or len(tags) > 10 or not all(isinstance(t, str) for t in tags):
        errors.append("tags: at most 10 strings")
    return errors


@app.get("/plaintext")
def plaintext():
    return "Hello, World!", {"Content-Type": "text/plain"}


@app.get("/json")
def hello_json():
    return {"message": "Hello, World!"}


@app.post("/items")
def create_item():
    data = request.get_json()
    errors = item_errors(data)
    if errors:
        return {"detail": errors}, 400
    item = {
        "name": data["name"],
        "description": data.get("description"),
        "price": data["price"],
        "tax": data.get("tax"),
        "tags": data.get("tags", []),
    }
    with ids:
        item_id = len(items) + 1
        items[item_id] = item
    return {"id": item_id, **item}, 201


@app.get("/items/<int(signed=True):item_id>")
def read_item(item_id: int):
    if item_id <= 0:
        abort(400, "item_id must be an integer greater than 0")
    item = items.get(item_id)
    if item is None:
        abort(404, "Item not found")
    return {"id": item_id, **item}
