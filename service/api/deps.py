"""Dependencies of the routers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.context import ServiceContext

__all__ = ["ContextDep", "get_context"]


def get_context(request: Request) -> ServiceContext:
    """The app's :class:`ServiceContext` (set up by the lifespan)."""
    context: ServiceContext = request.app.state.context
    return context


ContextDep = Annotated[ServiceContext, Depends(get_context)]
