"""Data access: the single DynamoDB table, behind small repositories (docs/data-model.md).

ROOM#<room>      META               the room                 GSI1: ROOMS / <room>
ROOM#<room>      PARTY#<email>      a party = a membership   GSI1: USER#<email> / ROOM#<room>
ROOM#<room>      VESSEL#<imo>, DOC#<id>, APPROVAL#<id>
ROOMLOG#<room>   <id>               the activity log (time-ordered ids)
SNAP#<id>        SNAP               a snapshot and its task  GSI1: ROOMSNAPS#<room> / <id>
                                                             GSI2: ACTIVE / <heartbeat> or PDF#<hash> / <id>
PDF#<hash>       PDF                a cached PDF's use       (last_used_at, deleting)
IDEMP#<user>#<key> IDEMP            an Idempotency-Key of a create request
"""

from roomsnap.dal.rooms import RoomRepository
from roomsnap.dal.snapshots import SnapshotRepository

__all__ = ["RoomRepository", "SnapshotRepository"]
