/** "My rooms": the rooms the user is a party of (every room for an admin), and creating one. */
import { useEffect } from "preact/hooks";
import { api } from "../api";
import type { Me } from "../auth";
import { Link, navigate } from "../router";
import { ErrorNote, Form, formatTime, Loading, Table, text, useLoad } from "../ui";

export function RoomsPage({ me }: { me: Me }) {
  useEffect(() => void (document.title = "My rooms · Room Snapshots"), []);
  const rooms = useLoad(() => api.listRooms(), []);

  return (
    <>
      <h1>{me.isAdmin ? "All rooms" : "My rooms"}</h1>
      <section class="card" aria-labelledby="rooms-heading">
        <h2 id="rooms-heading" class="visually-hidden">
          Rooms
        </h2>
        {rooms.loading && !rooms.data && <Loading what="rooms" />}
        <ErrorNote error={rooms.error} />
        {rooms.data && (
          <Table
            caption="Rooms"
            head={["Room", "Location", "Operation time", "Created by"]}
            empty="No rooms yet. Create one below, or ask a room's owner to add you."
          >
            {rooms.data.map((room) => (
              <tr key={room.id}>
                <td>
                  <Link href={`/rooms/${room.id}`}>{room.title}</Link>
                </td>
                <td>{room.location}</td>
                <td>{formatTime(room.operation_time)}</td>
                <td>{room.created_by}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <section class="card">
        <Form
          title="Create a room"
          level={2}
          submit="Create room"
          onSubmit={async (data) => {
            const room = await api.createRoom({
              title: text(data, "title"),
              location: text(data, "location"),
              operation_time: `${text(data, "operation_time")}:00Z`,
              company: text(data, "company"),
            });
            navigate(`/rooms/${room.id}`);
          }}
        >
          <label>
            Title
            <input name="title" required maxLength={200} placeholder="STS Malta" />
          </label>
          <label>
            Location
            <input name="location" required maxLength={200} placeholder="Hurd's Bank" />
          </label>
          <label>
            Operation time (UTC)
            <input name="operation_time" type="datetime-local" required />
          </label>
          <label>
            Your company <span class="muted">(optional)</span>
            <input name="company" maxLength={200} />
          </label>
        </Form>
      </section>
    </>
  );
}
