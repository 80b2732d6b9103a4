// Subscribes to Bergamot's checkUpdated with the npm graphql-ws client, the
// way a browser or Node program would. Run by graph/node_test.go:
//
//   node subscribe.mjs subscribe <ws-url> <token> <check-id>
//     prints READY once connected, then UPDATE <json> for the first update
//     of the check, and exits 0 (2 on timeout, 1 on error).
//   node subscribe.mjs badtoken <ws-url> <token>
//     prints REFUSED <close code> <reason> when the server refuses the
//     token and exits 0; exits 1 if the connection is acknowledged.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [mode, url, token, checkId] = process.argv.slice(2);
const timeout = setTimeout(() => { console.log('TIMEOUT'); process.exit(2); }, 20000);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  on: {
    connected: () => {
      if (mode === 'badtoken') { console.log('CONNECTED'); process.exit(1); }
      console.log('READY');
    },
    closed: (ev) => {
      if (mode === 'badtoken') { console.log(`REFUSED ${ev.code} ${ev.reason}`); clearTimeout(timeout); process.exit(0); }
    },
  },
});

if (mode === 'subscribe') {
  client.subscribe(
    {
      query: `subscription($f: CheckFilter) { checkUpdated(filter: $f) { check { id name } state { status output } } }`,
      variables: { f: { ids: [checkId] } },
    },
    {
      next: (msg) => {
        if (msg.errors) { console.log(`ERROR ${JSON.stringify(msg.errors)}`); process.exit(1); }
        console.log(`UPDATE ${JSON.stringify(msg.data.checkUpdated)}`);
        clearTimeout(timeout);
        client.dispose();
        process.exit(0);
      },
      error: (err) => { console.log(`ERROR ${JSON.stringify(err?.reason ?? err?.message ?? err)}`); process.exit(1); },
      complete: () => {},
    },
  );
}
