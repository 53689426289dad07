// A flood of ExportSessions calls from a separate process, so the test
// process measures only the server's memory. Usage:
//   node flood-client.js <address> <token> <calls> <payload-file>
// Sends the same pre-encoded request bytes on every call, all at once, and
// prints one JSON object: { "<status code>": count, ... }.
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');

const [address, token, calls, payloadFile] = process.argv.slice(2);
const payload = fs.readFileSync(payloadFile);
const client = new grpc.Client(address, grpc.credentials.createInsecure());
const identity = (b) => b;
const counts = {};
let left = Number(calls);
for (let i = 0; i < Number(calls); i++) {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  client.makeUnaryRequest('/catsyphon.telemetry.v1.SessionIngestion/ExportSessions', identity, identity, payload, md, (err) => {
    const code = err ? err.code : 0;
    counts[code] = (counts[code] || 0) + 1;
    if (--left === 0) {
      process.stdout.write(JSON.stringify(counts));
      client.close();
    }
  });
}
