"""TechEmpower's database tests on FastAPI with SQLAlchemy 2's asyncio ORM on asyncpg, the way
their docs teach: declarative models, an `async_sessionmaker`, `session.get`, `select`, a
Jinja2 template for the fortunes (autoescaped). `/updates` changes the loaded objects and
commits: SQLAlchemy flushes the batch as one executemany of the UPDATE. Served by uvicorn
(uvloop, httptools), one process (see bench/harness/db.py for the command)."""

import os
import random

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql+asyncpg://", 1)
engine = create_async_engine(url)
Session = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"
    id: Mapped[int] = mapped_column(primary_key=True)
    randomnumber: Mapped[int]


class Fortune(Base):
    __tablename__ = "fortune"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


PAGE = Environment(autoescape=True).from_string(
    "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
    "<tr><th>id</th><th>message</th></tr>"
    "{% for f in fortunes %}<tr><td>{{ f.id }}</td><td>{{ f.message }}</td></tr>{% endfor %}"
    "</table></body></html>"
)

app = FastAPI()


def q_of(q: str) -> int:
    try:
        return min(max(int(q), 1), 500)
    except ValueError:
        return 1


def as_json(w: World) -> dict:
    return {"id": w.id, "randomNumber": w.randomnumber}


@app.get("/db")
async def db():
    async with Session() as session:
        return as_json(await session.get(World, random.randint(1, 10000)))


@app.get("/queries")
async def queries(q: str = "1"):
    async with Session() as session:
        return [as_json(await session.get(World, random.randint(1, 10000))) for _ in range(q_of(q))]


@app.get("/fortunes", response_class=HTMLResponse)
async def fortunes():
    async with Session() as session:
        rows = list((await session.scalars(select(Fortune))).all())
    rows.append(Fortune(id=0, message="Additional fortune added at request time."))
    rows.sort(key=lambda f: f.message)
    return HTMLResponse(PAGE.render(fortunes=rows))


@app.get("/updates")
async def updates(q: str = "1"):
    async with Session() as session:
        # Ascending, as every server of the suite does (random lock orders deadlock now and then).
        ids = sorted(random.sample(range(1, 10001), q_of(q)))
        worlds = [await session.get(World, i) for i in ids]
        for w in worlds:
            w.randomnumber = random.randint(1, 10000)
        await session.commit()
        return [as_json(w) for w in worlds]
