"""The items endpoints on FastAPI, the way FastAPI's tutorial teaches: pydantic models with
Field rules, a typed path parameter, response models. Served by uvicorn with uvloop and
httptools, one process, access log off (see bench/harness/servers.py for the command)."""

from typing import Annotated

from fastapi import FastAPI, HTTPException, Path
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    price: float = Field(gt=0, allow_inf_nan=False)
    tax: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    tags: list[str] = Field(default_factory=list, max_length=10)


class ItemOut(ItemIn):
    id: int


app = FastAPI()
items: dict[int, ItemIn] = {}


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext():
    return "Hello, World!"


@app.get("/json")
async def hello_json():
    return {"message": "Hello, World!"}


@app.post("/items", status_code=201, response_model=ItemOut)
async def create_item(item: ItemIn):
    item_id = len(items) + 1
    items[item_id] = item
    return ItemOut(id=item_id, **item.model_dump())


@app.get("/items/{item_id}", response_model=ItemOut)
async def read_item(item_id: Annotated[int, Path(gt=0)]):
    item = items.get(item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return ItemOut(id=item_id, **item.model_dump())
