"""Objects, validation, store, allocators and controllers: pure Python, no root, no kernel.

    store = Store("/var/lib/kubelab/state.db")      # or Store() in memory
    registry = Registry(store)                      # create/get/list/update/update_status/delete/bind/watch
    manager = standard_controllers(registry)        # from controlplane.controllers
"""

from controlplane.errors import AlreadyExists, BadRequest, Conflict, FieldError, Gone, Invalid, NotFound, StatusError
from controlplane.objects import KINDS, dump_yaml, load_yaml
from controlplane.registry import Registry
from controlplane.selectors import FieldSelector, Selector
from controlplane.store import Listing, Store
from controlplane.watch import Watch, WatchEvent, aiter_events

__all__ = [
    "AlreadyExists", "BadRequest", "Conflict", "FieldError", "FieldSelector", "Gone", "Invalid", "KINDS",
    "Listing", "NotFound", "Registry", "Selector", "StatusError", "Store", "Watch", "WatchEvent",
    "aiter_events", "dump_yaml", "load_yaml",
]
