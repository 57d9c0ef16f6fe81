"""Membership: live hosts in storage, and consistent-hash rings over them."""

from legato_server.membership.monitor import MembershipMonitor, new_host_id
from legato_server.membership.ring import HashRing

__all__ = ["HashRing", "MembershipMonitor", "new_host_id"]
