"""Rooms and what they hold: parties, vessels, documents, approvals, their corrections, and the
activity log."""

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from roomsnap.models import (
    Activity,
    Approval,
    ApprovalIn,
    ApprovalPatch,
    Document,
    DocumentIn,
    DocumentPatch,
    Party,
    PartyIn,
    PartyPatch,
    Room,
    RoomIn,
    RoomPatch,
    Vessel,
    VesselIn,
    VesselPatch,
)

from api.logic.views import RoomDetailView, RoomView, room_view
from api.openapi_docs import NEXT_PAGE, NO_CONTENT, WRITE_ERRORS, errors, links, returns
from api.routes.http import Cursor, ItemId, Limit, PartyEmail, RoomId, VesselImo, caller, json_response, page
from api.services import rooms

router = Router()
GONE: OpenAPIResponse = {"description": "Removed; the activity log keeps what it was", "content": NO_CONTENT}


@router.post(
    "/rooms",
    operation_id="createRoom",
    responses={
        201: returns(
            Room,
            "The room, with the caller as its owner",
            links=links(
                [
                    "getRoom",
                    "updateRoom",
                    "addParty",
                    "addVessel",
                    "addDocument",
                    "addApproval",
                    "listActivity",
                    "createSnapshot",
                    "listSnapshots",
                ],
                room_id="$response.body#/id",
            ),
        ),
        **errors(*WRITE_ERRORS),
    },
)
def create_room(body: RoomIn):
    return json_response(201, rooms.create_room(caller(router), body).model_dump())


@router.get(
    "/rooms",
    operation_id="listRooms",
    responses={
        200: returns(list[RoomView], "The caller's rooms (every room for an admin), each with its clearance now"),
        **errors(),
    },
)
def list_rooms():
    return json_response(200, [room_view(room, clearance) for room, clearance in rooms.list_rooms(caller(router))])


@router.get(
    "/rooms/<room_id>",
    operation_id="getRoom",
    responses={200: returns(RoomDetailView, "The room, its data and its clearance now"), **errors(404)},
)
def get_room(room_id: RoomId):
    detail, clearance = rooms.get_room(caller(router), room_id)
    return json_response(200, room_view(detail, clearance, RoomDetailView))


@router.patch(
    "/rooms/<room_id>",
    operation_id="updateRoom",
    responses={200: returns(Room, "The room with its details corrected"), **errors(404, 409, *WRITE_ERRORS)},
)
def update_room(room_id: RoomId, body: RoomPatch):
    return json_response(200, rooms.update_room(caller(router), room_id, body).model_dump())


@router.post(
    "/rooms/<room_id>/parties",
    operation_id="addParty",
    responses={201: returns(Party, "The party added"), **errors(404, 409, *WRITE_ERRORS)},
)
def add_party(room_id: RoomId, body: PartyIn):
    return json_response(201, rooms.add_party(caller(router), room_id, body).model_dump(mode="json"))


@router.patch(
    "/rooms/<room_id>/parties/<email>",
    operation_id="changePartyRole",
    responses={200: returns(Party, "The party with its new role or company"), **errors(404, 409, *WRITE_ERRORS)},
)
def change_party_role(room_id: RoomId, email: PartyEmail, body: PartyPatch):
    party = rooms.update_party(caller(router), room_id, unquote(email), body)
    return json_response(200, party.model_dump(mode="json"))


@router.delete(
    "/rooms/<room_id>/parties/<email>",
    operation_id="removeParty",
    responses={
        204: {"description": "Removed: the party has no access from now on", "content": NO_CONTENT},
        **errors(404, 409),
    },
)
def remove_party(room_id: RoomId, email: PartyEmail):
    rooms.remove_party(caller(router), room_id, unquote(email))
    return Response(204)


@router.post(
    "/rooms/<room_id>/vessels",
    operation_id="addVessel",
    responses={
        201: returns(
            Vessel,
            "The vessel added",
            links=links(["updateVessel", "deleteVessel"], room_id="$request.path.room_id", imo="$response.body#/imo"),
        ),
        **errors(404, 409, *WRITE_ERRORS),
    },
)
def add_vessel(room_id: RoomId, body: VesselIn):
    return json_response(201, rooms.add_vessel(caller(router), room_id, body).model_dump(mode="json"))


@router.patch(
    "/rooms/<room_id>/vessels/<imo>",
    operation_id="updateVessel",
    responses={
        200: returns(Vessel, "The vessel corrected (a new IMO number takes the documents that named it along)"),
        **errors(404, 409, *WRITE_ERRORS),
    },
)
def update_vessel(room_id: RoomId, imo: VesselImo, body: VesselPatch):
    return json_response(200, rooms.update_vessel(caller(router), room_id, imo, body).model_dump(mode="json"))


@router.delete(
    "/rooms/<room_id>/vessels/<imo>",
    operation_id="deleteVessel",
    responses={204: GONE, **errors(404, 409)},
)
def delete_vessel(room_id: RoomId, imo: VesselImo):
    rooms.delete_vessel(caller(router), room_id, imo)
    return Response(204)


@router.post(
    "/rooms/<room_id>/documents",
    operation_id="addDocument",
    responses={
        201: returns(
            Document,
            "The document added",
            links=links(
                ["setDocumentStatus", "deleteDocument"],
                room_id="$request.path.room_id",
                document_id="$response.body#/id",
            ),
        ),
        **errors(404, *WRITE_ERRORS),
    },
)
def add_document(room_id: RoomId, body: DocumentIn):
    return json_response(201, rooms.add_document(caller(router), room_id, body).model_dump(mode="json"))


@router.patch(
    "/rooms/<room_id>/documents/<document_id>",
    operation_id="setDocumentStatus",
    responses={200: returns(Document, "The document corrected"), **errors(404, 409, *WRITE_ERRORS)},
)
def update_document(room_id: RoomId, document_id: ItemId, body: DocumentPatch):
    document = rooms.update_document(caller(router), room_id, document_id, body)
    return json_response(200, document.model_dump(mode="json"))


@router.delete(
    "/rooms/<room_id>/documents/<document_id>",
    operation_id="deleteDocument",
    responses={204: GONE, **errors(404, 409)},
)
def delete_document(room_id: RoomId, document_id: ItemId):
    rooms.delete_document(caller(router), room_id, document_id)
    return Response(204)


@router.post(
    "/rooms/<room_id>/approvals",
    operation_id="addApproval",
    responses={
        201: returns(
            Approval,
            "The approval recorded",
            links=links(
                ["updateApproval", "withdrawApproval"],
                room_id="$request.path.room_id",
                approval_id="$response.body#/id",
            ),
        ),
        **errors(404, 409, *WRITE_ERRORS),
    },
)
def add_approval(room_id: RoomId, body: ApprovalIn):
    return json_response(201, rooms.add_approval(caller(router), room_id, body).model_dump(mode="json"))


@router.patch(
    "/rooms/<room_id>/approvals/<approval_id>",
    operation_id="updateApproval",
    responses={200: returns(Approval, "The approval corrected"), **errors(404, 409, *WRITE_ERRORS)},
)
def update_approval(room_id: RoomId, approval_id: ItemId, body: ApprovalPatch):
    approval = rooms.update_approval(caller(router), room_id, approval_id, body)
    return json_response(200, approval.model_dump(mode="json"))


@router.delete(
    "/rooms/<room_id>/approvals/<approval_id>",
    operation_id="withdrawApproval",
    responses={204: {"description": "Withdrawn: no longer counted", "content": NO_CONTENT}, **errors(404, 409)},
)
def withdraw_approval(room_id: RoomId, approval_id: ItemId):
    rooms.withdraw_approval(caller(router), room_id, approval_id)
    return Response(204)


@router.get(
    "/rooms/<room_id>/activity",
    operation_id="listActivity",
    responses={
        200: returns(list[Activity], "The room's activity, newest first", headers=NEXT_PAGE),
        **errors(400, 404),
    },
)
def list_activity(room_id: RoomId, limit: Limit = 50, cursor: Cursor = None):
    entries, next_cursor = rooms.list_activity(caller(router), room_id, limit, cursor)
    return page([entry.model_dump() for entry in entries], next_cursor)
