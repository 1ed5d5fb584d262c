// node subscribe.mjs URL KEY QUERY VARIABLES COUNT
// Subscribes with graphql-ws, prints each result's data as a JSON line, and
// exits after COUNT results (non-zero on any error).
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, key, query, variables, count] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${key}` },
  retryAttempts: 0,
});
let received = 0;
try {
  await new Promise((resolve, reject) => {
    const stop = client.subscribe({ query, variables: JSON.parse(variables) }, {
      next: (result) => {
        if (result.errors) return reject(new Error(JSON.stringify(result.errors)));
        console.log(JSON.stringify(result.data));
        if (++received >= Number(count)) { stop(); resolve(); }
      },
      error: reject,
      complete: resolve,
    });
  });
} finally {
  await client.dispose();
}
