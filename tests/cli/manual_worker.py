"""A worker driven by hand over raw gRPC, for the CLI tests that need one.

It does exactly what the test says — take the next workflow task, answer it
with these commands, answer that query — so a test of ``legato workflow
result`` or ``query`` depends on the server and the wire API only, not on the
SDK's workflow runtime.
"""

from __future__ import annotations

import time
from typing import Any

import grpc

from legato.api.v1 import command_pb2, common_pb2, enums_pb2, workflow_service_pb2_grpc
from legato.api.v1 import workflow_service_pb2 as ws
from legato.converter import PayloadConverter

POLL_CALL_TIMEOUT = 70.0
converter = PayloadConverter()


class ManualWorker:
    def __init__(self, address: str, *, namespace: str, task_queue: str) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = workflow_service_pb2_grpc.WorkflowServiceStub(self._channel)
        self.namespace = namespace
        self.task_queue = task_queue

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> ManualWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def poll(self, *, deadline_s: float = 60.0) -> ws.PollWorkflowTaskQueueResponse:
        """The next workflow (or query) task; an empty poll is retried until the deadline."""
        deadline = time.monotonic() + deadline_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                task = self._stub.PollWorkflowTaskQueue(
                    ws.PollWorkflowTaskQueueRequest(
                        namespace=self.namespace,
                        task_queue=common_pb2.TaskQueue(name=self.task_queue),
                        identity="cli-test-manual-worker",
                    ),
                    timeout=min(POLL_CALL_TIMEOUT, remaining),
                )
            except grpc.RpcError as error:
                if isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    continue
                raise
            if task.task_token:
                return task
        raise AssertionError(f"no workflow task on {self.task_queue!r} within {deadline_s:.0f}s")

    def respond(self, task: ws.PollWorkflowTaskQueueResponse, *commands: command_pb2.Command) -> None:
        self._stub.RespondWorkflowTaskCompleted(
            ws.RespondWorkflowTaskCompletedRequest(
                task_token=task.task_token,
                commands=list(commands),
                identity="cli-test-manual-worker",
                namespace=self.namespace,
            ),
            timeout=10,
        )

    def complete(self, task: ws.PollWorkflowTaskQueueResponse, result: Any) -> None:
        self.respond(
            task,
            command_pb2.Command(
                command_type=enums_pb2.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
                complete_workflow_execution_command_attributes=command_pb2.CompleteWorkflowExecutionCommandAttributes(
                    result=converter.to_payloads([result])
                ),
            ),
        )

    def fail(self, task: ws.PollWorkflowTaskQueueResponse, message: str, *, error_type: str) -> None:
        self.respond(
            task,
            command_pb2.Command(
                command_type=enums_pb2.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
                fail_workflow_execution_command_attributes=command_pb2.FailWorkflowExecutionCommandAttributes(
                    failure=common_pb2.Failure(
                        message=message,
                        application_failure_info=common_pb2.ApplicationFailureInfo(
                            type=error_type, non_retryable=True
                        ),
                    )
                ),
            ),
        )

    def answer_query(self, task: ws.PollWorkflowTaskQueueResponse, answer: Any) -> None:
        self._stub.RespondQueryTaskCompleted(
            ws.RespondQueryTaskCompletedRequest(
                task_token=task.task_token,
                completed_type=enums_pb2.QUERY_RESULT_TYPE_ANSWERED,
                query_result=converter.to_payloads([answer]),
                namespace=self.namespace,
            ),
            timeout=10,
        )
