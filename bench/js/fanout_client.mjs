// node fanout_client.mjs URL KEY QUERY SEGMENT_IDS_JSON SUBSCRIBERS
// Opens SUBSCRIBERS graphql-transport-ws connections, subscriber i following
// segment i % segments, prints "ready" once all are subscribed, records the
// receipt time (ms since the epoch) of every event, and when stdin closes prints
// {"eventId": ..., "at": ...} lines and exits. The event id is cut out of the
// text rather than parsed, to spend the client's CPU on receiving only.
import WebSocket from "ws";

const [url, key, query, segmentIdsJson, count] = process.argv.slice(2);
const segmentIds = JSON.parse(segmentIdsJson);
const received = [];
const sockets = [];
const marker = '"eventId":"';

function subscribe(index) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, "graphql-transport-ws", { perMessageDeflate: false });
    sockets.push(socket);
    socket.on("error", reject);
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${key}` } })));
    socket.on("message", (data) => {
      const at = performance.timeOrigin + performance.now();
      const text = data.toString();
      const start = text.indexOf(marker);
      if (start >= 0) {
        const from = start + marker.length;
        received.push([text.slice(from, text.indexOf('"', from)), at]);
      } else if (text.includes('"connection_ack"')) {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { ids: [segmentIds[index % segmentIds.length]] } } }));
        resolve();
      } else if (!text.includes('"next"')) {
        reject(new Error(text));
      }
    });
  });
}

for (let i = 0; i < Number(count); i += 50) {  // in waves, not to flood the accept queue
  await Promise.all(Array.from({ length: Math.min(50, Number(count) - i) }, (_, j) => subscribe(i + j)));
}
process.stdout.write("ready\n");
process.stdin.resume();
process.stdin.on("end", () => {
  for (const socket of sockets) socket.terminate();
  process.stdout.write(received.map(([eventId, at]) => JSON.stringify({ eventId, at })).join("\n") + "\n", () => process.exit(0));
});
