// GetInitiative as of a tree size, over gRPC with an independent client
// (@grpc/grpc-js, protobufjs loading our .proto files): the answer as of
// size N is byte-identical before and after more entries are appended,
// and as of the latest size it equals the live answer (same "now").
//
//   node roadmap_asof.js before INITIATIVE N OUT.bin   # writes the answer
//   node roadmap_asof.js after INITIATIVE N OUT.bin    # compares with it
//
// Environment: LOOPLEDGER_SERVER, PROTO_DIR.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(process.env.PROTO_DIR, target);
root.loadSync(['loopledger/v1/loop.proto', 'loopledger/v1/ledger.proto'], { keepCase: true });
const T = (n) => root.lookupType('loopledger.v1.' + n);
const client = new grpc.Client(process.env.LOOPLEDGER_SERVER, grpc.credentials.createInsecure());
const ident = (b) => b;

function unary(method, type, req) {
  const bytes = Buffer.from(T(type).encode(T(type).fromObject(req)).finish());
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(method, ident, ident, bytes, (e, r) => (e ? reject(e) : resolve(r))));
}
const initiative = (req) => unary('/loopledger.v1.LoopService/GetInitiative', 'GetInitiativeRequest', req);

async function main() {
  const [mode, ini, n, file] = process.argv.slice(2);
  const asOf = await initiative({ initiative: ini, as_of_size: Number(n) });
  if (mode === 'before') {
    fs.writeFileSync(file, asOf);
    // As of the latest size = the live answer, with the same "now".
    const cp = T('GetCheckpointResponse').decode(await unary(
      '/loopledger.v1.LedgerService/GetCheckpoint', 'GetCheckpointRequest', {}));
    const now = T('InitiativeState').decode(asOf).charter.server_time_unix_nanos;
    const req = { initiative: ini, now_unix_nanos: now };
    const live = await initiative(req);
    const latest = await initiative({ ...req, as_of_size: cp.tree_size });
    assert.ok(Buffer.compare(live, latest) === 0, 'as of the latest size differs from the live state');
  } else {
    assert.ok(Buffer.compare(fs.readFileSync(file), asOf) === 0,
      `GetInitiative as of ${n} changed after appends`);
    await assert.rejects(initiative({ initiative: ini, as_of_size: 1e9 }),
      (e) => e.code === grpc.status.OUT_OF_RANGE);
  }
  client.close();
}
main().catch((e) => { console.error(e); process.exit(1); });
