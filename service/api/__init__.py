"""The REST API (``/v1``): routers by resource, dependencies, and the error table."""

from fastapi import APIRouter

from service.api import datasets, recommendations, studies, system, tasks
from service.api.errors import ERROR_RESPONSES, install_error_handlers

__all__ = ["install_error_handlers", "v1_router"]


def v1_router() -> APIRouter:
    """All ``/v1`` routes."""
    router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
    for module in (datasets, tasks, recommendations, studies, system):
        router.include_router(module.router)
    return router
