"""Legato: durable workflows in plain async Python.

Public modules: ``legato.workflow`` (inside workflows), ``legato.activity``
(inside activities), ``legato.client``, ``legato.worker``, ``legato.converter``,
``legato.exceptions``, ``legato.interceptor``, ``legato.testing``.
"""

from legato.common import ParentClosePolicy, RetryPolicy, WorkflowExecutionStatus, WorkflowIDReusePolicy

__version__ = "0.1.0"

__all__ = [
    "ParentClosePolicy",
    "RetryPolicy",
    "WorkflowExecutionStatus",
    "WorkflowIDReusePolicy",
    "__version__",
]
