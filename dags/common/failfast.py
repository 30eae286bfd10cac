"""Failures not worth retrying fail the task at once.

A task retried after ``make stop`` stopped the embedded warehouse would only fail again minutes later
(before, its reconnect even started the server again and undid the stop). ``fail_fast`` turns such an
error into ``AirflowFailException``: no retry, and the run ends with the one line
``ground.warehouse.stopped_reason`` gives (``make run`` prints it, ``nightly/runerror.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def no_retry(exc: BaseException) -> BaseException | None:
    """The AirflowFailException to raise instead of ``exc``, or None to let Airflow retry it."""
    from airflow.sdk.exceptions import AirflowFailException

    from ground.warehouse import stopped_reason

    if isinstance(exc, AirflowFailException):
        return None
    why = stopped_reason(exc)
    return AirflowFailException(why) if why else None


def fail_fast(fn: F) -> F:
    """Decorate a task's function (under ``@task``). In the process that runs a whole run and holds its lease
    (``airflow dags test``), SIGINT/SIGTERM during the task end the run (``nightly.runlock.rearm_stop``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from nightly.runlock import rearm_stop

        rearm_stop()  # under `dags test`: SIGINT/SIGTERM end the whole run, not only this task
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            instead = no_retry(exc)
            if instead is None:
                raise
            raise instead from exc

    return wrapper  # type: ignore[return-value]
