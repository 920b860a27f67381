"""bench/run --pages on FastAPI: TechEmpower's fortunes page without a database, the way
FastAPI's docs teach templates: Starlette's `Jinja2Templates` (autoescape on for .html) and
`TemplateResponse`. The 12 fortunes are read once at start from
bench/peers/pages-data/fortunes.json (the file every server of the suite reads) and held in
memory; each request adds one, sorts by message and renders templates/fortunes.html. Served by
uvicorn with uvloop and httptools, one process, access log off (bench/harness/pages.py)."""

import json
from operator import itemgetter
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).resolve().parent
FORTUNES = json.loads((HERE.parent / "pages-data" / "fortunes.json").read_text(encoding="utf-8"))
ADDED = "Additional fortune added at request time."

app = FastAPI()
templates = Jinja2Templates(directory=HERE / "templates")
by_message = itemgetter("message")


@app.get("/fortunes", response_class=HTMLResponse)
async def fortunes(request: Request):
    rows = [*FORTUNES, {"id": 0, "message": ADDED}]
    rows.sort(key=by_message)
    return templates.TemplateResponse(request, "fortunes.html", {"fortunes": rows})
