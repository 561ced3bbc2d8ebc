/** What each room role may do: the buttons a role may not use are not shown (the API still decides).
 * Mirrors layers/common/python/roomsnap/permissions.py; managing webhooks is for owners (issue 11). */
export type Role = "owner" | "broker" | "operator" | "inspector" | "viewer";
export const ROLES: Role[] = ["owner", "broker", "operator", "inspector", "viewer"];

export type Action =
  | "download"
  | "editRoom"
  | "approve"
  | "manageParties"
  | "createSnapshot"
  | "cancelSnapshot"
  | "deleteSnapshot"
  | "manageWebhooks";

const SNAPSHOTS: Action[] = ["download", "createSnapshot", "cancelSnapshot", "deleteSnapshot"];
const ROLE_ACTIONS: Record<Role, Action[]> = {
  owner: [...SNAPSHOTS, "editRoom", "approve", "manageParties", "manageWebhooks"],
  broker: [...SNAPSHOTS, "editRoom", "approve", "manageParties"],
  operator: [...SNAPSHOTS, "editRoom", "approve"],
  inspector: [...SNAPSHOTS, "approve"],
  viewer: ["download"],
};

/** Whether the caller (by their role in the room, or as an admin) may do this. */
export type Can = (action: Action) => boolean;

export function permissions(role: Role | null, isAdmin: boolean): Can {
  return (action) => isAdmin || (role !== null && ROLE_ACTIONS[role].includes(action));
}
