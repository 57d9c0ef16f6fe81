"""ResetWorkflowExecution: start a new run from a workflow's history up to a workflow task boundary.

Not implemented yet: the RPC exists so the API is complete and refuses
clearly instead of failing with UNIMPLEMENTED from gRPC.
"""

from __future__ import annotations

from legato.api.v1 import workflow_service_pb2 as ws
from legato_server.common.errors import FailedPrecondition
from legato_server.history.shards.engine import HistoryEngine
from legato_server.internal.v1 import history_service_pb2 as hsvc


async def reset_workflow(
    engine: HistoryEngine, request: hsvc.ResetWorkflowExecutionRequest
) -> ws.ResetWorkflowExecutionResponse:
    raise FailedPrecondition("workflow reset is not available on this server yet")
