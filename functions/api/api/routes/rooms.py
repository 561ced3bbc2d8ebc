"""Rooms and what they hold: parties, vessels, documents, approvals, and the activity log."""

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from roomsnap.models import (
    Activity,
    Approval,
    ApprovalIn,
    Document,
    DocumentIn,
    DocumentPatch,
    Party,
    PartyIn,
    PartyPatch,
    Room,
    RoomDetail,
    RoomIn,
    Vessel,
    VesselIn,
)

from api.logic.views import DocumentStatusView
from api.openapi_docs import NEXT_PAGE, NO_CONTENT, WRITE_ERRORS, errors, links, returns
from api.routes.http import Cursor, ItemId, Limit, PartyEmail, RoomId, caller, json_response, page
from api.services import rooms

router = Router()


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
    responses={200: returns(list[Room], "The caller's rooms (every room for an admin)"), **errors()},
)
def list_rooms():
    return json_response(200, [room.model_dump() for room in rooms.list_rooms(caller(router))])


@router.get(
    "/rooms/<room_id>",
    operation_id="getRoom",
    responses={200: returns(RoomDetail, "The room and its data"), **errors(404)},
)
def get_room(room_id: RoomId):
    return json_response(200, rooms.get_room(caller(router), room_id).model_dump(mode="json"))


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
    responses={200: returns(Party, "The party with its new role"), **errors(404, 409, *WRITE_ERRORS)},
)
def change_party_role(room_id: RoomId, email: PartyEmail, body: PartyPatch):
    party = rooms.change_party_role(caller(router), room_id, unquote(email), body)
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
    responses={201: returns(Vessel, "The vessel added"), **errors(404, 409, *WRITE_ERRORS)},
)
def add_vessel(room_id: RoomId, body: VesselIn):
    return json_response(201, rooms.add_vessel(caller(router), room_id, body).model_dump(mode="json"))


@router.post(
    "/rooms/<room_id>/documents",
    operation_id="addDocument",
    responses={
        201: returns(
            Document,
            "The document added",
            links=links(["setDocumentStatus"], room_id="$request.path.room_id", document_id="$response.body#/id"),
        ),
        **errors(404, *WRITE_ERRORS),
    },
)
def add_document(room_id: RoomId, body: DocumentIn):
    return json_response(201, rooms.add_document(caller(router), room_id, body).model_dump(mode="json"))


@router.patch(
    "/rooms/<room_id>/documents/<document_id>",
    operation_id="setDocumentStatus",
    responses={200: returns(DocumentStatusView, "The document's new status"), **errors(404, *WRITE_ERRORS)},
)
def set_document_status(room_id: RoomId, document_id: ItemId, body: DocumentPatch):
    return json_response(200, rooms.set_document_status(caller(router), room_id, document_id, body))


@router.post(
    "/rooms/<room_id>/approvals",
    operation_id="addApproval",
    responses={201: returns(Approval, "The approval recorded"), **errors(404, *WRITE_ERRORS)},
)
def add_approval(room_id: RoomId, body: ApprovalIn):
    return json_response(201, rooms.add_approval(caller(router), room_id, body).model_dump(mode="json"))


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
