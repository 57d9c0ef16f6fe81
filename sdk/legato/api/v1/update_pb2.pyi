from legato.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UpdateStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPDATE_STAGE_UNSPECIFIED: _ClassVar[UpdateStage]
    UPDATE_STAGE_ACCEPTED: _ClassVar[UpdateStage]
    UPDATE_STAGE_COMPLETED: _ClassVar[UpdateStage]
UPDATE_STAGE_UNSPECIFIED: UpdateStage
UPDATE_STAGE_ACCEPTED: UpdateStage
UPDATE_STAGE_COMPLETED: UpdateStage

class UpdateInput(_message.Message):
    __slots__ = ("update_id", "name", "args", "header")
    UPDATE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    update_id: str
    name: str
    args: _common_pb2.Payloads
    header: _common_pb2.Header
    def __init__(self, update_id: _Optional[str] = ..., name: _Optional[str] = ..., args: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., header: _Optional[_Union[_common_pb2.Header, _Mapping]] = ...) -> None: ...

class UpdateOutcome(_message.Message):
    __slots__ = ("success", "failure")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    success: _common_pb2.Payloads
    failure: _common_pb2.Failure
    def __init__(self, success: _Optional[_Union[_common_pb2.Payloads, _Mapping]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ...) -> None: ...
