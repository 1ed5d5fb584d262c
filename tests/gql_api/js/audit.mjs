// node audit.mjs URL KEY
// Runs graphql-http's GraphQL-over-HTTP server audits against a live server
// (every request carrying the API key) and prints one JSON line per audit:
// {id, name, status, reason?}. The audits' own queries ask for `{ __typename }`.
import { auditServer } from "graphql-http";

const [url, key] = process.argv.slice(2);
const fetchWithKey = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};
for (const result of await auditServer({ url, fetchFn: fetchWithKey })) {
  const { id, name, status, reason } = result;
  console.log(JSON.stringify({ id, name, status, reason }));
}
