"""The alternative a user would pick instead of this project, as a peer to measure: FastAPI + SQLModel + PyJWT.

It answers `GET /api/tasks` with the same page as bench/ceiling.py (the token's user's count, then their newest
50), written the way FastAPI's documentation writes it: a `current_user` dependency decoding HS256 with PyJWT, an
SQLModel table over the project's `tasks_task`, a session dependency and a Pydantic response model.
Environment: BETTER_AUTH_SECRET, PEER_DATABASE_URL (postgresql://...), PEER_MODE = async (asyncpg, the default)
or sync (psycopg2).

    gunicorn peer_fastapi:app --worker-class uvicorn.workers.UvicornWorker --workers 4   (from bench/)
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import Field, Session, SQLModel, create_engine, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

SECRET = os.environ["BETTER_AUTH_SECRET"]
DATABASE_URL = os.environ["PEER_DATABASE_URL"].split("://", 1)[1]
MODE = os.environ.get("PEER_MODE", "async")
PAGE = 50


class Task(SQLModel, table=True):
    __tablename__ = "tasks_task"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: str = Field(index=True, max_length=255)
    title: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    completed: bool = False
    created_at: datetime
    updated_at: datetime


class TaskPage(BaseModel):
    count: int
    next: str | None = None
    previous: str | None = None
    results: list[Task]


def current_user(request: Request) -> str:
    """The token's `sub`, or a 401 with a Bearer challenge."""
    authorization = request.headers.get("authorization", "")
    if not authorization.startswith("Bearer "):
        raise HTTPException(401, "Missing token", headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = jwt.decode(authorization[7:], SECRET, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise HTTPException(401, "Invalid token", headers={"WWW-Authenticate": "Bearer"}) from exc
    return claims["sub"]


def count_of(user_id: str):
    return select(func.count()).select_from(Task).where(Task.user_id == user_id)


def newest_of(user_id: str):
    return select(Task).where(Task.user_id == user_id).order_by(Task.created_at.desc()).limit(PAGE)


app = FastAPI()
User = Annotated[str, Depends(current_user)]

if MODE == "async":
    engine = create_async_engine(f"postgresql+asyncpg://{DATABASE_URL}", pool_size=10, max_overflow=0)

    async def async_session() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(engine) as session:
            yield session

    @app.get("/api/tasks", response_model=TaskPage)
    async def list_tasks(user_id: User, session: Annotated[AsyncSession, Depends(async_session)]) -> TaskPage:
        count = (await session.exec(count_of(user_id))).one()
        tasks = (await session.exec(newest_of(user_id))).all()
        return TaskPage(count=count, results=tasks)

else:
    engine = create_engine(f"postgresql+psycopg2://{DATABASE_URL}", pool_size=10, max_overflow=0)

    def sync_session() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    @app.get("/api/tasks", response_model=TaskPage)
    def list_tasks(user_id: User, session: Annotated[Session, Depends(sync_session)]) -> TaskPage:
        count = session.exec(count_of(user_id)).one()
        tasks = session.exec(newest_of(user_id)).all()
        return TaskPage(count=count, results=tasks)
