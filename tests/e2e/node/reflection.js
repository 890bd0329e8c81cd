// Server reflection seen by independent clients: grpc-reflection-js (the
// npm package, grpc.reflection.v1alpha) and, for grpc.reflection.v1, a
// raw bidi stream from @grpc/grpc-js with the reflection messages typed
// in below from the public definition and FileDescriptorProtos decoded by
// protobufjs's own descriptor.proto. No loopledger .proto file is read:
// every type used comes from the server.
//
// Environment: LOOPLEDGER_SERVER (host:port, plaintext loopback).
'use strict';
const assert = require('node:assert/strict');
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');
const descriptor = require('protobufjs/ext/descriptor');
const { Client: ReflectionClient } = require('grpc-reflection-js');

const SERVER = process.env.LOOPLEDGER_SERVER;
const SERVICES = [
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
  'loopledger.v1.GovernanceService',
  'loopledger.v1.LedgerService',
  'loopledger.v1.LoopService',
  'loopledger.v1.RoadmapService',
];

// grpc.reflection.v1 messages, transcribed from the public protocol.
const V1 = protobuf.Root.fromJSON({
  nested: {
    ServerReflectionRequest: {
      oneofs: { message_request: { oneof: ['file_by_filename', 'file_containing_symbol',
                                          'all_extension_numbers_of_type', 'list_services'] } },
      fields: {
        host: { type: 'string', id: 1 },
        file_by_filename: { type: 'string', id: 3 },
        file_containing_symbol: { type: 'string', id: 4 },
        all_extension_numbers_of_type: { type: 'string', id: 6 },
        list_services: { type: 'string', id: 7 },
      },
    },
    ServerReflectionResponse: {
      fields: {
        valid_host: { type: 'string', id: 1 },
        original_request: { type: 'ServerReflectionRequest', id: 2 },
        file_descriptor_response: { type: 'FileDescriptorResponse', id: 4 },
        list_services_response: { type: 'ListServiceResponse', id: 6 },
        error_response: { type: 'ErrorResponse', id: 7 },
      },
    },
    FileDescriptorResponse: { fields: { file_descriptor_proto: { rule: 'repeated', type: 'bytes', id: 1 } } },
    ListServiceResponse: { fields: { service: { rule: 'repeated', type: 'ServiceResponse', id: 1 } } },
    ServiceResponse: { fields: { name: { type: 'string', id: 1 } } },
    ErrorResponse: { fields: { error_code: { type: 'int32', id: 1 }, error_message: { type: 'string', id: 2 } } },
  },
});
const Req = V1.lookupType('ServerReflectionRequest');
const Resp = V1.lookupType('ServerReflectionResponse');
const FileProto = descriptor.FileDescriptorProto;

const raw = new grpc.Client(SERVER, grpc.credentials.createInsecure());

// One v1 stream: sends every request, collects one answer per request.
function v1Session(requests) {
  return new Promise((resolve, reject) => {
    const out = [];
    const call = raw.makeBidiStreamRequest('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      (m) => Buffer.from(Req.encode(Req.fromObject(m)).finish()), (b) => Resp.decode(b));
    call.on('data', (m) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
    for (const r of requests) call.write(r);
    call.end();
  });
}

function unary(path, reqType, req, respType) {
  return new Promise((resolve, reject) => {
    raw.makeUnaryRequest(path, (m) => Buffer.from(reqType.encode(reqType.fromObject(m)).finish()),
      (b) => respType.decode(b), req, (err, resp) => (err ? reject(err) : resolve(resp)));
  });
}

async function main() {
  // ---- v1alpha through grpc-reflection-js ----
  const rc = new ReflectionClient(SERVER, grpc.credentials.createInsecure());
  const listed = (await rc.listServices()).slice().sort();
  assert.deepEqual(listed, SERVICES, 'v1alpha list_services');
  for (const s of SERVICES) {
    const root = await rc.fileContainingSymbol(s);
    const svc = root.lookupService(s);
    assert.ok(Object.keys(svc.methods).length > 0, `${s} has methods`);
    for (const m of Object.values(svc.methods)) {
      // Request and response types resolve inside the same root.
      root.lookupType(m.requestType);
      root.lookupType(m.responseType);
    }
  }
  const byName = await rc.fileByFilename('loopledger/v1/loop.proto');
  byName.lookupService('loopledger.v1.LoopService');
  byName.lookupType('loopledger.v1.EntryRef');
  byName.lookupEnum('loopledger.v1.Kind'); // from an import, entry.proto

  // ---- v1 on a raw stream: list, then every file and its imports ----
  const answers = await v1Session([{ list_services: '' }, ...SERVICES.map((s) => ({ file_containing_symbol: s })),
                                   { file_containing_symbol: 'loopledger.v1.NoSuchThing' },
                                   { file_by_filename: 'no/such.proto' }]);
  assert.equal(answers.length, SERVICES.length + 3, 'one answer per request');
  assert.deepEqual(answers[0].list_services_response.service.map((s) => s.name).sort(), SERVICES);
  const files = new Map();
  answers.slice(1, 1 + SERVICES.length).forEach((a, i) => {
    assert.ok(a.file_descriptor_response, `file for ${SERVICES[i]}`);
    assert.equal(a.original_request.file_containing_symbol, SERVICES[i]);
    const got = a.file_descriptor_response.file_descriptor_proto.map((b) => FileProto.decode(b));
    const names = new Set(got.map((f) => f.name));
    for (const f of got) {
      for (const d of f.dependency || []) assert.ok(names.has(d), `${f.name} imports ${d}: sent with it`);
      files.set(f.name, f);
    }
  });
  for (const a of answers.slice(1 + SERVICES.length)) {
    assert.ok(a.error_response, 'unknown names answer an error_response');
    assert.equal(a.error_response.error_code, grpc.status.NOT_FOUND);
    assert.ok(a.error_response.error_message.length > 5);
  }
  const expected = ['grpc/health/v1/health.proto', 'grpc/reflection/v1/reflection.proto',
    'grpc/reflection/v1alpha/reflection.proto', 'loopledger/v1/domain.proto',
    'loopledger/v1/entry.proto', 'loopledger/v1/governance.proto', 'loopledger/v1/ledger.proto',
    'loopledger/v1/loop.proto', 'loopledger/v1/roadmap.proto'];
  assert.deepEqual([...files.keys()].sort(), expected, 'every file of the contract was described');

  // ---- a call made through the descriptors alone ----
  const root = protobuf.Root.fromDescriptor({ file: [...files.values()] });
  const ledger = root.lookupService('loopledger.v1.LedgerService');
  const gc = ledger.methods.GetCheckpoint;
  gc.resolve();
  const cp = await unary('/loopledger.v1.LedgerService/GetCheckpoint', gc.resolvedRequestType, {},
                         gc.resolvedResponseType);
  assert.ok(Number(cp.tree_size) >= 1, 'GetCheckpoint through reflected types');
  assert.ok(cp.checkpoint.startsWith('e2e.test/ledger\n'), cp.checkpoint);
  const health = root.lookupService('grpc.health.v1.Health').methods.Check;
  health.resolve();
  const h = await unary('/grpc.health.v1.Health/Check', health.resolvedRequestType, { service: '' },
                        health.resolvedResponseType);
  assert.equal(health.resolvedResponseType.lookupEnum('ServingStatus').valuesById[h.status], 'SERVING');
  const ge = ledger.methods.GetEntry;
  ge.resolve();
  const e = await unary('/loopledger.v1.LedgerService/GetEntry', ge.resolvedRequestType, { seq: 0 },
                        ge.resolvedResponseType);
  const entry = root.lookupType('loopledger.v1.LogEntry').decode(e.leaf);
  const body = root.lookupType('loopledger.v1.EntryBody').decode(entry.envelope.payload);
  assert.equal(body.genesis.origin, 'e2e.test/ledger', 'the genesis entry, decoded with reflected types');
  console.log(`reflection: ${listed.length} services, ${files.size} files, calls through reflected types OK`);
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
