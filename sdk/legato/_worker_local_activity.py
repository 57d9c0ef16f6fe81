"""Runs local activities for the workflow worker: attempts, local retries, timeouts.

A request from the workflow runtime (``LocalActivityRequest``) is run here,
in the worker process, through the same activity interceptor chain and
context as a normal activity (``activity.info()`` works; heartbeats are
accepted and dropped: there is no server-side attempt to heartbeat, and the
workflow task itself is what the worker keeps alive). The result is one
``LocalActivityOutcome``:

* the function returned: its result;
* it raised and the retry policy allows no more attempts (non-retryable
  error, maximum attempts, or the schedule-to-close deadline would pass
  before the next attempt): the final failure with its retry state;
* it raised and the next backoff is at most ``local_retry_threshold``: sleep
  here and try again, inside the same workflow task;
* a longer backoff: returned as a *backoff* outcome; the workflow sleeps it on
  a durable timer and asks for the next attempt afterwards.

``start_to_close_timeout`` bounds one attempt (a retryable START_TO_CLOSE
timeout), ``schedule_to_close_timeout`` all of them counted from the first
attempt's workflow time (a final SCHEDULE_TO_CLOSE timeout).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from legato import activity as activity_module
from legato import exceptions as exc
from legato._workflow_local_activity import LocalActivityOutcome, LocalActivityRequest
from legato.activity import ActivityDefinition, Info
from legato.api.v1 import common_pb2, enums_pb2
from legato.common import RetryPolicy
from legato.converter import DataConverter
from legato.exceptions import ApplicationError, TimeoutType
from legato.interceptor import ActivityInboundInterceptor, ExecuteActivityInput

log = logging.getLogger("legato.worker")

RS = enums_pb2


def is_non_retryable(policy: RetryPolicy, failure: common_pb2.Failure) -> bool:
    """The server's rule for activities, applied locally."""
    if failure.HasField("application_failure_info"):
        info = failure.application_failure_info
        return info.non_retryable or info.type in policy.non_retryable_error_types
    return failure.HasField("canceled_failure_info") or failure.HasField("terminated_failure_info")


def backoff_for(policy: RetryPolicy, attempt: int) -> timedelta:
    """Delay before attempt ``attempt + 1``: initial x coefficient^(attempt-1), capped."""
    initial = policy.initial_interval.total_seconds() or 1.0
    coefficient = policy.backoff_coefficient or 2.0
    maximum = (
        policy.maximum_interval.total_seconds() if policy.maximum_interval is not None else initial * 100
    )
    try:
        delay = initial * coefficient ** max(0, attempt - 1)
    except OverflowError:
        delay = maximum
    return timedelta(seconds=min(delay, maximum) if math.isfinite(delay) else maximum)


class LocalActivityRunner:
    def __init__(
        self,
        *,
        definitions: Mapping[str, ActivityDefinition],
        chain: ActivityInboundInterceptor,
        data_converter: DataConverter,
        task_queue: str,
    ) -> None:
        self._definitions = definitions
        self._chain = chain
        self._converter = data_converter
        self._task_queue = task_queue
        self.executions = 0
        """Attempts started (tests check that replay does not run recorded activities again)."""

    async def run(self, request: LocalActivityRequest) -> LocalActivityOutcome:
        """Run ``request`` from its attempt on until it succeeds, fails for good, or needs a durable backoff."""
        policy = request.retry_policy or RetryPolicy()
        deadline = (
            request.original_schedule_time + request.schedule_to_close_timeout
            if request.schedule_to_close_timeout is not None
            else None
        )
        attempt = request.attempt
        while True:
            failure = await self._attempt(request, attempt, deadline)
            if isinstance(failure, common_pb2.Payloads):
                return LocalActivityOutcome(attempt=attempt, result=failure)
            now = datetime.now(UTC)
            if deadline is not None and now >= deadline:
                return self._final(
                    attempt, self._timeout(TimeoutType.SCHEDULE_TO_CLOSE), RS.RETRY_STATE_TIMEOUT
                )
            if is_non_retryable(policy, failure):
                return self._final(attempt, failure, RS.RETRY_STATE_NON_RETRYABLE_FAILURE)
            if policy.maximum_attempts and attempt >= policy.maximum_attempts:
                return self._final(attempt, failure, RS.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED)
            delay = backoff_for(policy, attempt)
            if deadline is not None and now + delay >= deadline:
                return self._final(attempt, failure, RS.RETRY_STATE_TIMEOUT)
            if delay > request.local_retry_threshold:
                return LocalActivityOutcome(
                    attempt=attempt, failure=failure, retry_state=RS.RETRY_STATE_IN_PROGRESS, backoff=delay
                )
            await asyncio.sleep(delay.total_seconds())
            attempt += 1

    @staticmethod
    def _final(attempt: int, failure: common_pb2.Failure, retry_state: int) -> LocalActivityOutcome:
        return LocalActivityOutcome(attempt=attempt, failure=failure, retry_state=retry_state)

    def _timeout(self, kind: int) -> common_pb2.Failure:
        name = "schedule-to-close" if kind == TimeoutType.SCHEDULE_TO_CLOSE else "start-to-close"
        error = exc.TimeoutError(f"local activity exceeded its {name} timeout", type=kind)
        return self._converter.failure_converter.to_failure(error, self._converter.payload_converter)

    async def _attempt(
        self, request: LocalActivityRequest, attempt: int, deadline: datetime | None
    ) -> common_pb2.Payloads | common_pb2.Failure:
        """One attempt: the result payloads, or the failure it ended with."""
        pc = self._converter.payload_converter
        definition = self._definitions.get(request.activity_type)
        if definition is None:
            known = ", ".join(sorted(self._definitions)) or "none"
            error: BaseException = ApplicationError(
                f"local activity {request.activity_type!r} is not registered on the worker running the "
                f"workflow (registered activities: {known})",
                type="NotFoundError",
                non_retryable=True,
            )
            return self._converter.failure_converter.to_failure(error, pc)
        limits = [
            datetime.now(UTC) + request.start_to_close_timeout
            if request.start_to_close_timeout is not None
            else None,
            deadline,
        ]
        attempt_deadline = min((d for d in limits if d is not None), default=None)
        info = Info(
            activity_id=request.activity_id,
            activity_type=request.activity_type,
            attempt=attempt,
            task_queue=self._task_queue,
            task_token=b"",
            workflow_namespace=request.workflow_namespace,
            workflow_id=request.workflow_id,
            workflow_run_id=request.workflow_run_id,
            workflow_type=request.workflow_type,
            heartbeat_details=[],
            heartbeat_timeout=None,
            schedule_to_close_timeout=request.schedule_to_close_timeout,
            start_to_close_timeout=request.start_to_close_timeout,
            scheduled_time=request.original_schedule_time,
            current_attempt_scheduled_time=datetime.now(UTC),
            started_time=datetime.now(UTC),
            deadline=attempt_deadline,
        )
        context = activity_module._ActivityContext(
            info=info,
            is_async=definition.is_async,
            loop=asyncio.get_running_loop(),
            payload_converter=pc,
            record_heartbeat=lambda details: None,
        )
        self.executions += 1
        try:
            args = pc.from_payloads(request.input, definition.arg_types)
            token = activity_module._current.set(context)
            try:
                call = asyncio.ensure_future(
                    self._chain.execute_activity(
                        ExecuteActivityInput(fn=definition.fn, args=args, headers=dict(request.headers))
                    )
                )
            finally:
                activity_module._current.reset(token)
            timeout = (
                None
                if attempt_deadline is None
                else max(0.0, (attempt_deadline - datetime.now(UTC)).total_seconds())
            )
            try:
                value = await asyncio.wait_for(call, timeout)
            except TimeoutError:
                context.mark_cancelled("the local activity attempt's deadline passed")
                kind = (
                    TimeoutType.SCHEDULE_TO_CLOSE
                    if deadline is not None and datetime.now(UTC) >= deadline
                    else TimeoutType.START_TO_CLOSE
                )
                return self._timeout(kind)
            return pc.to_payloads([value])
        except asyncio.CancelledError:
            context.mark_cancelled("the workflow stopped waiting for the local activity")
            raise
        except Exception as err:
            return self._converter.failure_converter.to_failure(err, pc)
