"""Namespaces: the registry every role uses to resolve names to ids and settings."""

from legato_server.namespace.registry import (
    DEFAULT_NAMESPACE,
    DEFAULT_RETENTION,
    MIN_RETENTION,
    NamespaceEntry,
    NamespaceRegistry,
    validate_namespace_name,
    validate_retention,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_RETENTION",
    "MIN_RETENTION",
    "NamespaceEntry",
    "NamespaceRegistry",
    "validate_namespace_name",
    "validate_retention",
]
