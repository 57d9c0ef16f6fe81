"""Turning Python values into payloads and back, and exceptions into failures.

A ``DataConverter`` has two layers:

* a ``PayloadConverter`` (synchronous, deterministic; the workflow runtime uses
  it directly): ``None`` and ``bytes`` get their own encodings, everything else
  is JSON — dataclasses, pydantic models, enums, datetimes, and on the way back
  the annotated type is rebuilt from the JSON;
* an optional ``PayloadCodec`` (asynchronous; compression, encryption) applied
  to every payload that leaves or enters the process. The worker and the client
  apply it to whole messages with ``encode_message``/``decode_message``, so the
  workflow runtime never awaits a codec.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import traceback
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from google.protobuf.message import Message

from legato import exceptions as exc
from legato.api.v1 import common_pb2

ENCODING = "encoding"
JSON_PLAIN = b"json/plain"
BINARY_NULL = b"binary/null"
BINARY_PLAIN = b"binary/plain"


def _to_jsonable(value: Any) -> Any:
    """Default hook for json.dumps: what the stdlib cannot encode itself."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)  # pydantic v2
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"value of type {type(value).__name__} is not JSON serializable")


def _from_jsonable(value: Any, hint: Any) -> Any:
    """Rebuild a value of type ``hint`` from decoded JSON (best effort for unknown hints)."""
    if hint is None or hint is Any or value is None:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _from_jsonable(value, arg)
            except (TypeError, ValueError, KeyError):
                continue
        return value
    if origin in (list, Sequence, typing.Sequence) and args:
        return [_from_jsonable(v, args[0]) for v in value]
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_jsonable(v, args[0]) for v in value)
        return tuple(_from_jsonable(v, a) for v, a in zip(value, args, strict=False))
    if origin in (set, frozenset) and args:
        return origin(_from_jsonable(v, args[0]) for v in value)
    if origin is dict and len(args) == 2:
        return {k: _from_jsonable(v, args[1]) for k, v in value.items()}
    if not isinstance(hint, type):
        return value
    validate = getattr(hint, "model_validate", None)  # pydantic v2
    if callable(validate):
        return validate(value)
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        kwargs = {
            f.name: _from_jsonable(value[f.name], hints.get(f.name))
            for f in dataclasses.fields(hint)
            if f.name in value
        }
        return hint(**kwargs)
    if issubclass(hint, enum.Enum):
        return hint(value)
    if hint is datetime.datetime:
        return datetime.datetime.fromisoformat(value)
    if hint is datetime.date:
        return datetime.date.fromisoformat(value)
    if hint is datetime.timedelta:
        return datetime.timedelta(seconds=value)
    if hint is uuid.UUID:
        return uuid.UUID(value)
    if hint is float and isinstance(value, int):
        return float(value)
    return value


class PayloadConverter:
    """Values <-> payloads, synchronously. Subclass to support more types."""

    def to_payload(self, value: Any) -> common_pb2.Payload:
        if value is None:
            return common_pb2.Payload(metadata={ENCODING: BINARY_NULL})
        if isinstance(value, bytes | bytearray):
            return common_pb2.Payload(metadata={ENCODING: BINARY_PLAIN}, data=bytes(value))
        try:
            data = json.dumps(value, default=_to_jsonable, separators=(",", ":"), sort_keys=False)
        except (TypeError, ValueError) as err:
            raise exc.PayloadConversionError(f"cannot convert {type(value).__name__} to JSON: {err}") from err
        return common_pb2.Payload(metadata={ENCODING: JSON_PLAIN}, data=data.encode())

    def from_payload(self, payload: common_pb2.Payload, type_hint: Any = None) -> Any:
        encoding = payload.metadata.get(ENCODING, b"")
        if encoding == BINARY_NULL:
            return None
        if encoding == BINARY_PLAIN:
            return payload.data
        if encoding == JSON_PLAIN:
            try:
                return _from_jsonable(json.loads(payload.data), type_hint)
            except (TypeError, ValueError, KeyError) as err:
                raise exc.PayloadConversionError(
                    f"cannot convert JSON payload to {getattr(type_hint, '__name__', type_hint)}: {err}"
                ) from err
        raise exc.PayloadConversionError(
            f"unknown payload encoding {encoding!r}; is a payload codec missing on this side?"
        )

    def to_payloads(self, values: Sequence[Any]) -> common_pb2.Payloads:
        return common_pb2.Payloads(payloads=[self.to_payload(v) for v in values])

    def from_payloads(
        self, payloads: common_pb2.Payloads | None, type_hints: Sequence[Any] | None = None
    ) -> list[Any]:
        if payloads is None:
            return []
        hints = list(type_hints or [])
        return [
            self.from_payload(p, hints[i] if i < len(hints) else None)
            for i, p in enumerate(payloads.payloads)
        ]


class PayloadCodec:
    """Transforms payloads on their way to and from the server (compression, encryption).

    ``decode(encode(ps))`` must return ``ps``. Both work on whole lists so a
    codec can batch (e.g. one call to a key service).
    """

    async def encode(self, payloads: Sequence[common_pb2.Payload]) -> list[common_pb2.Payload]:
        raise NotImplementedError

    async def decode(self, payloads: Sequence[common_pb2.Payload]) -> list[common_pb2.Payload]:
        raise NotImplementedError


def _payload_lists(message: Message) -> Iterator[Any]:
    """Every repeated Payload field, and every Payload map, found anywhere in message."""
    for fd, value in message.ListFields():
        if fd.message_type is None:
            continue
        if fd.message_type.full_name == "legato.api.v1.SearchAttributes":
            # Never through the codec: the server validates and indexes search attributes.
            continue
        if fd.message_type.full_name == "legato.api.v1.Payloads":
            yield value.payloads
        elif fd.message_type.GetOptions().map_entry:
            entry_value = fd.message_type.fields_by_name["value"]
            if entry_value.message_type is None:
                continue
            if entry_value.message_type.full_name == "legato.api.v1.Payload":
                yield value  # a map<string, Payload>
            else:
                for item in value.values():
                    yield from _payload_lists(item)
        elif isinstance(value, Sequence):  # a repeated message field
            for item in value:
                yield from _payload_lists(item)
        else:
            yield from _payload_lists(value)


async def _transform(
    message: Message, fn: Callable[[Sequence[common_pb2.Payload]], Awaitable[list[common_pb2.Payload]]]
) -> None:
    for container in list(_payload_lists(message)):
        if hasattr(container, "keys"):  # map<string, Payload>
            keys = list(container.keys())
            new = await fn([container[k] for k in keys])
            for k, p in zip(keys, new, strict=True):
                container[k].CopyFrom(p)
        else:
            new = await fn(list(container))
            del container[:]
            container.extend(new)


@dataclasses.dataclass(frozen=True)
class DataConverter:
    """What the client and worker use to (de)serialize every value they exchange."""

    payload_converter: PayloadConverter = dataclasses.field(default_factory=PayloadConverter)
    payload_codec: PayloadCodec | None = None
    failure_converter: FailureConverter = dataclasses.field(default_factory=lambda: FailureConverter())

    async def encode_message(self, message: Message) -> None:
        """Apply the codec's encode to every payload inside message, in place."""
        if self.payload_codec is not None:
            await _transform(message, self.payload_codec.encode)

    async def decode_message(self, message: Message) -> None:
        """Apply the codec's decode to every payload inside message, in place."""
        if self.payload_codec is not None:
            await _transform(message, self.payload_codec.decode)

    async def encode(self, values: Sequence[Any]) -> common_pb2.Payloads:
        payloads = self.payload_converter.to_payloads(values)
        if self.payload_codec is not None:
            payloads = common_pb2.Payloads(payloads=await self.payload_codec.encode(list(payloads.payloads)))
        return payloads

    async def decode(
        self, payloads: common_pb2.Payloads, type_hints: Sequence[Any] | None = None
    ) -> list[Any]:
        if self.payload_codec is not None:
            payloads = common_pb2.Payloads(payloads=await self.payload_codec.decode(list(payloads.payloads)))
        return self.payload_converter.from_payloads(payloads, type_hints)


class FailureConverter:
    """Exceptions <-> ``Failure`` protos, keeping type, message, stack and cause chain."""

    source = "PythonSDK"

    def to_failure(self, error: BaseException, payload_converter: PayloadConverter) -> common_pb2.Failure:
        failure = common_pb2.Failure(
            message=str(error.args[0]) if isinstance(error, exc.LegatoError) and error.args else str(error),
            source=self.source,
            stack_trace="".join(traceback.format_exception(type(error), error, error.__traceback__)),
        )
        if (
            isinstance(error, exc.FailureError)
            and error.failure is not None
            and not isinstance(error, exc.ApplicationError | exc.CancelledError)
        ):
            # A failure that came from the server (activity/child error) keeps its original proto.
            failure.CopyFrom(error.failure)
            return failure
        if isinstance(error, exc.ApplicationError):
            failure.application_failure_info.type = error.type or type(error).__name__
            failure.application_failure_info.non_retryable = error.non_retryable
            if error.details:
                failure.application_failure_info.details.CopyFrom(
                    payload_converter.to_payloads(error.details)
                )
        elif isinstance(error, exc.CancelledError):
            failure.canceled_failure_info.SetInParent()
            if error.details:
                failure.canceled_failure_info.details.CopyFrom(payload_converter.to_payloads(error.details))
        elif isinstance(error, exc.TimeoutError):
            failure.timeout_failure_info.timeout_type = error.type  # type: ignore[assignment]
        elif isinstance(error, exc.TerminatedError):
            failure.terminated_failure_info.SetInParent()
        elif isinstance(error, exc.ServerError):
            failure.server_failure_info.non_retryable = error.non_retryable
        else:
            failure.application_failure_info.type = type(error).__name__
        cause = error.__cause__
        if cause is not None:
            failure.cause.CopyFrom(self.to_failure(cause, payload_converter))
        return failure

    def from_failure(
        self, failure: common_pb2.Failure, payload_converter: PayloadConverter
    ) -> exc.FailureError:
        kind = failure.WhichOneof("failure_info")
        err: exc.FailureError
        if kind == "application_failure_info":
            info = failure.application_failure_info
            err = exc.ApplicationError(
                failure.message,
                *payload_converter.from_payloads(info.details),
                type=info.type or None,
                non_retryable=info.non_retryable,
            )
        elif kind == "timeout_failure_info":
            tinfo = failure.timeout_failure_info
            err = exc.TimeoutError(
                failure.message or "timed out",
                type=int(tinfo.timeout_type),
                last_heartbeat_details=payload_converter.from_payloads(tinfo.last_heartbeat_details),
            )
        elif kind == "canceled_failure_info":
            err = exc.CancelledError(
                failure.message or "cancelled",
                *payload_converter.from_payloads(failure.canceled_failure_info.details),
            )
        elif kind == "terminated_failure_info":
            err = exc.TerminatedError(failure.message or "terminated")
        elif kind == "server_failure_info":
            err = exc.ServerError(failure.message, non_retryable=failure.server_failure_info.non_retryable)
        elif kind == "activity_failure_info":
            ainfo = failure.activity_failure_info
            err = exc.ActivityError(
                failure.message or "activity failed",
                activity_id=ainfo.activity_id,
                activity_type=ainfo.activity_type.name,
                scheduled_event_id=ainfo.scheduled_event_id,
                started_event_id=ainfo.started_event_id,
                retry_state=int(ainfo.retry_state),
            )
        elif kind == "child_workflow_execution_failure_info":
            cinfo = failure.child_workflow_execution_failure_info
            err = exc.ChildWorkflowError(
                failure.message or "child workflow failed",
                namespace=cinfo.namespace,
                workflow_id=cinfo.workflow_execution.workflow_id,
                run_id=cinfo.workflow_execution.run_id,
                workflow_type=cinfo.workflow_type.name,
                retry_state=int(cinfo.retry_state),
            )
        else:
            err = exc.FailureError(failure.message)
        err.failure = failure
        if failure.stack_trace:
            err.add_note(f"remote stack trace:\n{failure.stack_trace}")
        if failure.HasField("cause"):
            err.__cause__ = self.from_failure(failure.cause, payload_converter)
        return err


default_converter = DataConverter()
