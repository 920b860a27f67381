"""bench/run --pages on Flask: TechEmpower's fortunes page without a database, the way Flask's
docs teach templates: `render_template` (Jinja2, autoescape on for .html) from the app's
templates/ folder. The 12 fortunes are read once at start from
bench/peers/pages-data/fortunes.json (the file every server of the suite reads) and held in
memory; each request adds one, sorts by message and renders templates/fortunes.html. Served by
gunicorn, one worker process, gthread (bench/harness/pages.py)."""

import json
from operator import itemgetter
from pathlib import Path

from flask import Flask, render_template

HERE = Path(__file__).resolve().parent
FORTUNES = json.loads((HERE.parent / "pages-data" / "fortunes.json").read_text(encoding="utf-8"))
ADDED = "Additional fortune added at request time."

app = Flask(__name__)
by_message = itemgetter("message")


@app.get("/fortunes")
def fortunes():
    rows = [*FORTUNES, {"id": 0, "message": ADDED}]
    rows.sort(key=by_message)
    return render_template("fortunes.html", fortunes=rows)
