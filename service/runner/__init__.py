"""Study execution: the Optuna bridge, the worker loop, and the trial objective."""

from service.runner.executor import ChildExecutor, InlineExecutor, make_executor
from service.runner.worker import Worker, default_worker_name

__all__ = ["ChildExecutor", "InlineExecutor", "Worker", "default_worker_name", "make_executor"]
