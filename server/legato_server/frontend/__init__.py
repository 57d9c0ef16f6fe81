"""The frontend role: the public WorkflowService (validation, namespaces, routing)."""

from legato_server.frontend.handler import FrontendHandler

__all__ = ["FrontendHandler"]
