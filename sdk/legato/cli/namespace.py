"""``legato namespace create|list|describe|update|delete``.

Namespaces are named by a positional argument here rather than by ``-n``, since
they are the object of the command, not the scope it runs in.

``delete`` asks before it acts, as ``legato workflow terminate --query`` does:
``--yes`` skips the question and is required when stdin is not a terminal.
It returns once the namespace is marked deleted; the server removes its
workflows, schedules and task queues in the background, and the name can be
registered again when ``describe`` answers "not found".
"""

from __future__ import annotations

import argparse
import sys

from google.protobuf import json_format

from legato.api.v1 import enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws
from legato.cli.arguments import CommandGroup, Context, add_output_option, duration_arg, key_value_arg
from legato.cli.durations import format_duration
from legato.cli.errors import CliError, UsageError
from legato.cli.format import enum_label, messages_json, render_fields, render_table

_PAGE_SIZE = 100


def register(root: argparse._SubParsersAction, *, parents: list[argparse.ArgumentParser]) -> None:
    commands = CommandGroup(
        root, "namespace", help="create, list, describe, update and delete namespaces", parents=parents
    )

    create = commands.add("create", create_namespace, "register a new namespace")
    create.add_argument("name", metavar="NAME")
    _add_settings(create, retention_help="how long closed workflows are kept (default 72h, at least 1h)")

    listing = commands.add("list", list_namespaces, "list namespaces")
    add_output_option(listing)

    describe = commands.add("describe", describe_namespace, "show a namespace's settings")
    describe.add_argument("name", metavar="NAME")
    add_output_option(describe)

    update = commands.add("update", update_namespace, "change a namespace's settings")
    update.add_argument("name", metavar="NAME")
    _add_settings(update, retention_help="new retention of closed workflows")

    delete = commands.add(
        "delete", delete_namespace, "delete a namespace with all its workflows, schedules and task queues"
    )
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


def _add_settings(parser: argparse.ArgumentParser, *, retention_help: str) -> None:
    parser.add_argument("--description")
    parser.add_argument("--owner-email")
    parser.add_argument("--retention", type=duration_arg, metavar="DURATION", help=retention_help)
    parser.add_argument(
        "--data",
        type=key_value_arg,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="custom data; repeat for more keys (update merges into existing data)",
    )
    parser.add_argument(
        "--search-attribute",
        dest="search_attributes",
        type=key_value_arg,
        action="append",
        default=[],
        metavar="NAME=TYPE",
        help="register a custom search attribute; TYPE is one of "
        + ", ".join(_SEARCH_ATTRIBUTE_TYPES)
        + "; repeat for more (added, never retyped)",
    )


_SEARCH_ATTRIBUTE_TYPES: dict[str, enums_pb2.IndexedValueType] = {
    "Keyword": enums_pb2.INDEXED_VALUE_TYPE_KEYWORD,
    "Text": enums_pb2.INDEXED_VALUE_TYPE_TEXT,
    "Int": enums_pb2.INDEXED_VALUE_TYPE_INT,
    "Double": enums_pb2.INDEXED_VALUE_TYPE_DOUBLE,
    "Bool": enums_pb2.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": enums_pb2.INDEXED_VALUE_TYPE_DATETIME,
    "KeywordList": enums_pb2.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


def _search_attribute_types(pairs: list[tuple[str, str]]) -> dict[str, enums_pb2.IndexedValueType]:
    """NAME=TYPE pairs as IndexedValueType numbers; UsageError naming the allowed types."""
    types: dict[str, enums_pb2.IndexedValueType] = {}
    for name, type_name in pairs:
        wanted = type_name.replace("-", "").replace("_", "").lower()
        match = [number for label, number in _SEARCH_ATTRIBUTE_TYPES.items() if label.lower() == wanted]
        if not match:
            raise UsageError(
                f"--search-attribute {name}={type_name}: the type must be one of "
                + ", ".join(_SEARCH_ATTRIBUTE_TYPES)
            )
        types[name] = match[0]
    return types


def create_namespace(args: argparse.Namespace, context: Context) -> int:
    request = ws.RegisterNamespaceRequest(
        namespace=args.name,
        description=args.description or "",
        owner_email=args.owner_email or "",
        data=dict(args.data),
        search_attributes=_search_attribute_types(args.search_attributes),
    )
    if args.retention is not None:
        request.workflow_execution_retention_period.FromTimedelta(args.retention)
    context.connection.call("RegisterNamespace", request)
    print(f"Namespace {args.name} created.")
    return 0


def list_namespaces(args: argparse.Namespace, context: Context) -> int:
    namespaces: list[ws.DescribeNamespaceResponse] = []
    token = b""
    while True:
        response = context.connection.call(
            "ListNamespaces", ws.ListNamespacesRequest(page_size=_PAGE_SIZE, next_page_token=token)
        )
        namespaces.extend(response.namespaces)
        token = response.next_page_token
        if not token:
            break
    if args.output == "json":
        print(messages_json(namespaces))
        return 0
    rows = [
        (
            ns.namespace_info.name,
            _state(ns),
            _retention(ns),
            ns.namespace_info.owner_email,
            ns.namespace_info.description,
        )
        for ns in namespaces
    ]
    print(render_table(("NAME", "STATE", "RETENTION", "OWNER", "DESCRIPTION"), rows))
    return 0


def describe_namespace(args: argparse.Namespace, context: Context) -> int:
    response = context.connection.call("DescribeNamespace", ws.DescribeNamespaceRequest(namespace=args.name))
    if args.output == "json":
        print(json_format.MessageToJson(response))
    else:
        print(_namespace_fields(response))
    return 0


def update_namespace(args: argparse.Namespace, context: Context) -> int:
    request = ws.UpdateNamespaceRequest(
        namespace=args.name,
        data=dict(args.data),
        add_search_attributes=_search_attribute_types(args.search_attributes),
    )
    if args.description is not None:
        request.description = args.description
    if args.owner_email is not None:
        request.owner_email = args.owner_email
    if args.retention is not None:
        request.workflow_execution_retention_period.FromTimedelta(args.retention)
    if not (
        args.data
        or args.search_attributes
        or request.HasField("description")
        or request.HasField("owner_email")
        or args.retention is not None
    ):
        raise UsageError(
            "nothing to update: give --description, --owner-email, --retention, --data or --search-attribute"
        )
    response = context.connection.call("UpdateNamespace", request)
    print(_namespace_fields(response))
    return 0


def delete_namespace(args: argparse.Namespace, context: Context) -> int:
    if not args.yes:
        question = (
            f"Delete namespace {args.name} and all its workflows (running ones are terminated), "
            "schedules and task queues?"
        )
        if not sys.stdin.isatty():
            raise CliError(f"{question} Not confirmed: pass --yes to delete without a terminal")
        if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
            raise CliError("not confirmed; nothing was deleted")
    context.connection.call("DeleteNamespace", ws.DeleteNamespaceRequest(namespace=args.name))
    print(
        f"Namespace {args.name} is being deleted: it accepts no new work, and its workflows, schedules "
        "and task queues are removed in the background. The name is free again once "
        f"`legato namespace describe {args.name}` says it is not found."
    )
    return 0


def _namespace_fields(response: ws.DescribeNamespaceResponse | ws.UpdateNamespaceResponse) -> str:
    info = response.namespace_info
    fields = [
        ("Name", info.name),
        ("ID", info.id),
        ("State", _state(response)),
        ("Retention", _retention(response)),
        ("Description", info.description),
        ("Owner email", info.owner_email),
    ]
    fields.extend((f"Data {key}", value) for key, value in sorted(info.data.items()))
    fields.extend(
        (f"Search attribute {name}", _type_label(number))
        for name, number in sorted(response.config.search_attributes.items())
    )
    return render_fields(fields)


def _state(response: ws.DescribeNamespaceResponse | ws.UpdateNamespaceResponse) -> str:
    return enum_label(enums_pb2.NamespaceState, response.namespace_info.state)


def _retention(response: ws.DescribeNamespaceResponse | ws.UpdateNamespaceResponse) -> str:
    return format_duration(response.config.workflow_execution_retention_ttl.ToTimedelta())


def _type_label(number: int) -> str:
    return next((label for label, n in _SEARCH_ATTRIBUTE_TYPES.items() if n == number), str(number))
