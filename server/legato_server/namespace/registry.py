"""The namespace registry: names -> ids and settings, shared by frontend and history.

Every request names its namespace; every role needs the namespace's id (the
key all execution data is stored under) and its settings (retention). Reading
the store on each call would put a database round trip on the hot path, so the
registry caches entries in memory:

* A cached entry is served for ``refresh_interval`` after it was read; after
  that the next lookup reads the store again. Changes made through *this*
  registry (register, update) replace the cached entry at once; changes made
  by another host become visible here within ``refresh_interval``.
* Unknown names are not cached: a namespace registered on another host becomes
  usable here immediately.
* A store outage does not take namespaces away: when the re-read of an expired
  entry fails with a transient error, the entry last read is served until the
  store answers again. Requests keep flowing to history and matching (which
  have their own ways of riding out the outage) instead of every call failing
  on a lookup whose answer almost never changes. A name never read before
  fails with the store's error, which is retryable (UNAVAILABLE).

The stored blob is a serialized ``legato.api.v1.DescribeNamespaceResponse``
(``NamespaceInfo`` + ``NamespaceConfig``): the public API shape is exactly what
describe/list return, so there is nothing to translate and nothing new to
version. Stores never parse it.
"""

from __future__ import annotations

import builtins
import dataclasses
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from legato.api.v1 import common_pb2, enums_pb2, workflow_service_pb2
from legato_server.common import errors
from legato_server.common.limits import quote, shorten
from legato_server.persistence.interface import (
    AlreadyExistsError,
    ConditionFailedError,
    NamespaceRecord,
    NamespaceStore,
    NotFoundError,
    TransientError,
)
from legato_server.visibility import attributes as search_attributes

DEFAULT_NAMESPACE = "default"
"""The namespace start-dev registers and SDKs use by default; DeleteNamespace refuses it."""
DEFAULT_RETENTION = timedelta(days=3)
MIN_RETENTION = timedelta(hours=1)
MAX_RETENTION = timedelta(days=3650)
MAX_NAME_LENGTH = 255
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
# Optimistic updates that lose a race re-read and retry this many times.
_UPDATE_ATTEMPTS = 5


def validate_namespace_name(name: str) -> None:
    """Raise InvalidArgument unless ``name`` is 1-255 chars of letters, digits, '.', '_', '-'."""
    if not name:
        raise errors.InvalidArgument("namespace is required (1-255 chars: letters, digits, '.', '_', '-')")
    if len(name) > MAX_NAME_LENGTH:
        raise errors.InvalidArgument(f"namespace is {len(name)} chars long; the limit is {MAX_NAME_LENGTH}")
    # fullmatch: with match, "$" also accepts a name ending in a newline.
    if not _NAME_PATTERN.fullmatch(name):
        raise errors.InvalidArgument(
            f"namespace {quote(name)} has characters that are not allowed; use letters, digits, '.', '_', '-'"
        )


def validate_retention(retention: timedelta) -> None:
    """Raise InvalidArgument unless MIN_RETENTION <= retention <= MAX_RETENTION."""
    if retention < MIN_RETENTION:
        raise errors.InvalidArgument(
            f"workflow_execution_retention_period is {retention}; the minimum is {MIN_RETENTION}"
        )
    if retention > MAX_RETENTION:
        raise errors.InvalidArgument(
            f"workflow_execution_retention_period is {retention}; the maximum is {MAX_RETENTION.days} days"
        )


@dataclass(frozen=True, slots=True)
class NamespaceEntry:
    """One namespace as the server sees it."""

    id: str
    name: str
    retention: timedelta
    description: str = ""
    owner_email: str = ""
    data: Mapping[str, str] = field(default_factory=dict)
    state: enums_pb2.NamespaceState = enums_pb2.NAMESPACE_STATE_REGISTERED
    """A ``legato.api.v1.NamespaceState`` value."""
    notification_version: int = 0
    """The store's version of the record; updates are conditional on it."""
    search_attributes: Mapping[str, search_attributes.ValueType] = field(default_factory=dict)
    """Custom search attributes registered here: name -> type (added, never retyped)."""

    @property
    def deleted(self) -> bool:
        """DeleteNamespace was called: no new work; the deleter is removing what it holds."""
        return self.state == enums_pb2.NAMESPACE_STATE_DELETED

    def check_accepts_work(self) -> None:
        """FailedPrecondition if the namespace is being deleted (it takes no new work)."""
        if self.deleted:
            raise errors.FailedPrecondition(
                f'namespace "{self.name}" is being deleted; it accepts no new work '
                "(register it again once the deletion is done)"
            )

    def to_proto(self) -> workflow_service_pb2.DescribeNamespaceResponse:
        """The public description of this namespace (also the stored blob)."""
        response = workflow_service_pb2.DescribeNamespaceResponse(
            namespace_info=common_pb2.NamespaceInfo(
                name=self.name,
                id=self.id,
                state=self.state,
                description=self.description,
                owner_email=self.owner_email,
                data=dict(self.data),
            ),
        )
        response.config.workflow_execution_retention_ttl.FromTimedelta(self.retention)
        for name, value_type in self.search_attributes.items():
            response.config.search_attributes[name] = search_attributes.type_to_proto(value_type)
        return response

    @classmethod
    def from_record(cls, record: NamespaceRecord) -> NamespaceEntry:
        blob = workflow_service_pb2.DescribeNamespaceResponse.FromString(record.data)
        info = blob.namespace_info
        return cls(
            id=record.id,
            name=record.name,
            retention=blob.config.workflow_execution_retention_ttl.ToTimedelta(),
            description=info.description,
            owner_email=info.owner_email,
            data=dict(info.data),
            state=info.state,
            notification_version=record.notification_version,
            search_attributes={
                name: search_attributes.type_from_proto(number)
                for name, number in blob.config.search_attributes.items()
            },
        )


@dataclass(slots=True)
class _Cached:
    entry: NamespaceEntry
    read_at: float


class NamespaceRegistry:
    """Cached access to ``NamespaceStore``; raises ``common.errors`` types, never store errors."""

    def __init__(
        self,
        store: NamespaceStore,
        *,
        refresh_interval: timedelta = timedelta(seconds=10),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._refresh_s = refresh_interval.total_seconds()
        self._monotonic = monotonic
        self._by_id: dict[str, _Cached] = {}
        self._id_by_name: dict[str, str] = {}

    # ------------------------------------------------------------ lookups

    async def get_by_name(self, name: str) -> NamespaceEntry:
        """The namespace called ``name``; NotFound ``namespace "x" not found``."""
        cached_id = self._id_by_name.get(name)
        if cached_id is not None:
            fresh = self._fresh(cached_id)
            if fresh is not None:
                return fresh
        try:
            record = await self._store.get_namespace(name=name)
        except NotFoundError:
            self._forget_name(name)
            raise errors.NotFound(f'namespace "{name}" not found') from None
        except TransientError:
            stale = self._last_read(cached_id)
            if stale is None:
                raise
            return stale
        return self._remember(record)

    async def get_by_id(self, namespace_id: str) -> NamespaceEntry:
        """The namespace with this id; NotFound ``namespace id "x" not found``."""
        fresh = self._fresh(namespace_id)
        if fresh is not None:
            return fresh
        try:
            record = await self._store.get_namespace(id=namespace_id)
        except NotFoundError:
            self._by_id.pop(namespace_id, None)
            raise errors.NotFound(f'namespace id "{shorten(namespace_id)}" not found') from None
        except TransientError:
            stale = self._last_read(namespace_id)
            if stale is None:
                raise
            return stale
        return self._remember(record)

    async def list(
        self, *, page_size: int = 100, page_token: bytes = b""
    ) -> tuple[list[NamespaceEntry], bytes]:
        """One page of namespaces ordered by name, and the token of the next page (b"" at the end)."""
        records, next_token = await self._store.list_namespaces(page_size=page_size, page_token=page_token)
        return [self._remember(record) for record in records], next_token

    # ------------------------------------------------------------ changes

    async def register(
        self,
        *,
        name: str,
        retention: timedelta = DEFAULT_RETENTION,
        description: str = "",
        owner_email: str = "",
        data: Mapping[str, str] | None = None,
        namespace_id: str | None = None,
        custom_search_attributes: Mapping[str, search_attributes.ValueType] | None = None,
    ) -> NamespaceEntry:
        """Create a namespace; AlreadyExists ``namespace "x" already exists`` if the name is taken."""
        validate_namespace_name(name)
        validate_retention(retention)
        merged_attributes = _add_search_attributes({}, custom_search_attributes or {})
        entry = NamespaceEntry(
            id=namespace_id or str(uuid.uuid4()),
            name=name,
            retention=retention,
            description=description,
            owner_email=owner_email,
            data=dict(data or {}),
            search_attributes=merged_attributes,
        )
        record = NamespaceRecord(id=entry.id, name=name, data=entry.to_proto().SerializeToString())
        try:
            await self._store.create_namespace(record)
        except AlreadyExistsError:
            try:
                taken = NamespaceEntry.from_record(await self._store.get_namespace(name=name))
            except NotFoundError:
                taken = None  # removed since: the caller may simply retry
            if taken is not None and taken.deleted:
                raise errors.FailedPrecondition(
                    f'namespace "{name}" is being deleted; register it again once the deletion is done '
                    "(it is done when DescribeNamespace answers NOT_FOUND)"
                ) from None
            raise errors.AlreadyExists(f'namespace "{name}" already exists') from None
        return self._remember(record)

    async def ensure(
        self, *, name: str, retention: timedelta = DEFAULT_RETENTION, description: str = ""
    ) -> NamespaceEntry:
        """The namespace ``name``, registered first if it does not exist (dev servers, tests)."""
        try:
            return await self.get_by_name(name)
        except errors.NotFound:
            pass
        try:
            return await self.register(name=name, retention=retention, description=description)
        except errors.AlreadyExists:  # registered concurrently by another host
            return await self.get_by_name(name)

    async def update(
        self,
        *,
        name: str,
        description: str | None = None,
        owner_email: str | None = None,
        retention: timedelta | None = None,
        data: Mapping[str, str] | None = None,
        add_search_attributes: Mapping[str, search_attributes.ValueType] | None = None,
    ) -> NamespaceEntry:
        """Change the given fields (None = unchanged; ``data`` and search attributes are merged).

        NotFound if missing; InvalidArgument if an added search attribute exists with another type.
        """
        if retention is not None:
            validate_retention(retention)

        def change(current: NamespaceEntry) -> NamespaceEntry:
            if current.deleted:
                raise errors.FailedPrecondition(f'namespace "{name}" is being deleted; it cannot be updated')
            merged = dict(current.data)
            merged.update(data or {})
            return NamespaceEntry(
                id=current.id,
                name=current.name,
                retention=retention if retention is not None else current.retention,
                description=description if description is not None else current.description,
                owner_email=owner_email if owner_email is not None else current.owner_email,
                data=merged,
                state=current.state,
                search_attributes=_add_search_attributes(
                    current.search_attributes, add_search_attributes or {}
                ),
            )

        return await self._change(name, change)

    async def mark_deleted(self, *, name: str) -> NamespaceEntry:
        """Move the namespace to NAMESPACE_STATE_DELETED (durably; idempotent); NotFound if missing.

        From then on the frontend refuses new work in it and the deleter
        (``namespace.deleter``) removes its contents, then the record.
        """
        return await self._change(
            name,
            lambda current: (
                None
                if current.deleted
                else dataclasses.replace(current, state=enums_pb2.NAMESPACE_STATE_DELETED)
            ),
        )

    async def _change(
        self, name: str, change: Callable[[NamespaceEntry], NamespaceEntry | None]
    ) -> NamespaceEntry:
        """Read the namespace, apply ``change`` (None: nothing to change) and write it if no one wrote first.

        The write is conditional on the record's notification version; when
        another writer won, the change is applied again on top of theirs.
        """
        for _ in range(_UPDATE_ATTEMPTS):
            try:
                record = await self._store.get_namespace(name=name)
            except NotFoundError:
                self._forget_name(name)
                raise errors.NotFound(f'namespace "{name}" not found') from None
            changed = change(NamespaceEntry.from_record(record))
            if changed is None:
                return self._remember(record)
            new_record = NamespaceRecord(
                id=record.id,
                name=record.name,
                data=changed.to_proto().SerializeToString(),
                notification_version=record.notification_version + 1,
            )
            try:
                await self._store.update_namespace(
                    new_record, previous_notification_version=record.notification_version
                )
            except ConditionFailedError:
                continue
            return self._remember(new_record)
        raise errors.Unavailable(f'namespace "{name}" is being updated concurrently; retry')

    async def deleted_namespaces(self) -> builtins.list[NamespaceEntry]:
        """Every namespace in state DELETED, read from the store (not the cache)."""
        found: builtins.list[NamespaceEntry] = []
        token = b""
        while True:
            records, token = await self._store.list_namespaces(page_size=100, page_token=token)
            found.extend(entry for entry in map(NamespaceEntry.from_record, records) if entry.deleted)
            if not token:
                return found

    async def remove(self, entry: NamespaceEntry) -> None:
        """Remove a DELETED namespace's record for good, freeing its name (the deleter's last step)."""
        if not entry.deleted:
            raise errors.FailedPrecondition(f'namespace "{entry.name}" is not being deleted; it is kept')
        await self._store.delete_namespace(id=entry.id)
        self._by_id.pop(entry.id, None)
        if self._id_by_name.get(entry.name) == entry.id:
            del self._id_by_name[entry.name]

    # ------------------------------------------------------------ cache

    def _fresh(self, namespace_id: str) -> NamespaceEntry | None:
        cached = self._by_id.get(namespace_id)
        if cached is None or self._monotonic() - cached.read_at > self._refresh_s:
            return None
        return cached.entry

    def _last_read(self, namespace_id: str | None) -> NamespaceEntry | None:
        """The entry last read for ``namespace_id``, however old (for riding out a store outage)."""
        cached = self._by_id.get(namespace_id) if namespace_id is not None else None
        return cached.entry if cached is not None else None

    def _remember(self, record: NamespaceRecord) -> NamespaceEntry:
        entry = NamespaceEntry.from_record(record)
        previous = self._by_id.get(entry.id)
        if previous is not None and previous.entry.name != entry.name:
            self._id_by_name.pop(previous.entry.name, None)
        self._by_id[entry.id] = _Cached(entry=entry, read_at=self._monotonic())
        self._id_by_name[entry.name] = entry.id
        return entry

    def _forget_name(self, name: str) -> None:
        namespace_id = self._id_by_name.pop(name, None)
        if namespace_id is not None:
            self._by_id.pop(namespace_id, None)


def _add_search_attributes(
    current: Mapping[str, search_attributes.ValueType], added: Mapping[str, search_attributes.ValueType]
) -> dict[str, search_attributes.ValueType]:
    """``current`` plus ``added``; InvalidArgument for a bad name, a retype, or too many attributes.

    Re-adding an attribute with its own type is a no-op, so registration is idempotent.
    """
    merged = dict(current)
    for name, value_type in added.items():
        try:
            search_attributes.check_custom_name(name)
        except ValueError as err:
            raise errors.InvalidArgument(str(err)) from None
        existing = merged.get(name)
        if existing is not None and existing is not value_type:
            raise errors.InvalidArgument(
                f"search attribute {name!r} is registered as {existing.value}; it cannot become "
                f"{value_type.value} (stored values were validated as {existing.value}); register a new name"
            )
        merged[name] = value_type
    if len(merged) > search_attributes.MAX_CUSTOM_ATTRIBUTES:
        raise errors.InvalidArgument(
            f"a namespace holds at most {search_attributes.MAX_CUSTOM_ATTRIBUTES} custom search attributes; "
            f"this would make {len(merged)}"
        )
    return merged
