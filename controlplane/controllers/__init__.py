"""Level-triggered controllers over the registry, run by one ControllerManager.

    manager = standard_controllers(registry)   # scheduler, RC, RS, Deployment, EndpointSlice, Endpoints
    manager.run_until_quiet()                  # tests: settle deterministically
    manager.run(stop_event)                    # daemon: loop until stop_event is set
"""

from __future__ import annotations

from controlplane.controllers.base import Cache, Controller, ControllerManager
from controlplane.controllers.deployment import DeploymentController, rollback
from controlplane.controllers.endpoints import EndpointsController
from controlplane.controllers.endpointslice import EndpointSliceController
from controlplane.controllers.replicaset import ReplicaSetController, ReplicationControllerController
from controlplane.controllers.scheduler import Scheduler


def standard_controllers(registry) -> ControllerManager:
    return ControllerManager(registry, [
        Scheduler(registry),
        ReplicationControllerController(registry),
        ReplicaSetController(registry),
        DeploymentController(registry),
        EndpointSliceController(registry),
        EndpointsController(registry),
    ])


__all__ = [
    "Cache", "Controller", "ControllerManager", "DeploymentController", "EndpointSliceController",
    "EndpointsController", "ReplicaSetController", "ReplicationControllerController", "Scheduler",
    "rollback", "standard_controllers",
]
