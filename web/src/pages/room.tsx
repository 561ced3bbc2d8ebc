/** A room: its heading, the caller's role, and tabs for its data, snapshots, activity and webhooks. */
import { useEffect } from "preact/hooks";
import { api, ApiError } from "../api";
import type { Me } from "../auth";
import { permissions } from "../permissions";
import { Link } from "../router";
import { ErrorNote, formatTime, Loading, useLoad } from "../ui";
import { ActivityLog } from "./activity";
import { RoomData } from "./room-data";
import { Snapshots } from "./snapshots";
import { Webhooks } from "./webhooks";

export type RoomTab = "data" | "snapshots" | "activity" | "webhooks";

export function RoomPage({ me, roomId, tab }: { me: Me; roomId: string; tab: RoomTab }) {
  const room = useLoad(() => api.getRoom(roomId), [roomId]);
  const title = room.data?.title;
  useEffect(() => void (document.title = `${title ?? "Room"} · Room Snapshots`), [title]);

  if (room.error instanceof ApiError && room.error.status === 404) {
    return (
      <>
        <h1>Room not found</h1>
        <p>
          There is no such room, or you are not one of its parties. <Link href="/">Back to your rooms</Link>.
        </p>
      </>
    );
  }
  if (!room.data) return room.error ? <ErrorNote error={room.error} /> : <Loading what="the room" />;

  const detail = room.data;
  const role = detail.parties.find((party) => party.email === me.email)?.role ?? null;
  const can = permissions(role, me.isAdmin);
  const base = `/rooms/${encodeURIComponent(roomId)}`;
  const tabs: [RoomTab, string, string][] = [
    ["data", base, "Room data"],
    ["snapshots", `${base}/snapshots`, "Snapshots"],
    ["activity", `${base}/activity`, "Activity"],
    ...(can("manageWebhooks") ? [["webhooks", `${base}/webhooks`, "Webhooks"] as [RoomTab, string, string]] : []),
  ];

  return (
    <>
      <p class="crumbs">
        <Link href="/">My rooms</Link> /
      </p>
      <h1>{detail.title}</h1>
      <p class="room-facts">
        <span>{detail.location}</span>
        <span>Operation {formatTime(detail.operation_time)}</span>
        <span>
          Your role: <strong>{role ?? "none"}</strong>
          {me.isAdmin && " (admin)"}
        </span>
      </p>
      <nav class="tabs" aria-label="Room">
        {tabs.map(([name, href, label]) => (
          <Link href={href} current={tab === name}>
            {label}
          </Link>
        ))}
      </nav>
      {tab === "data" && <RoomData room={detail} me={me} can={can} reload={room.reload} />}
      {tab === "snapshots" && <Snapshots key={roomId} roomId={roomId} can={can} />}
      {tab === "activity" && <ActivityLog roomId={roomId} />}
      {tab === "webhooks" && can("manageWebhooks") && <Webhooks roomId={roomId} />}
    </>
  );
}
