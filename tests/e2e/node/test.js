// An independent client for loopledger: @grpc/grpc-js for transport,
// protobufjs loading our .proto files for messages, node:crypto for
// Ed25519 and SHA-256, and its own RFC 9162 proof checks. Nothing here
// shares code with the C implementation.
//
// Environment: LOOPLEDGER_SERVER (host:port), ADMIN_KEY (PKCS#8 PEM of the
// genesis admin "admin"), PROTO_DIR (the repository's proto/ directory).
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const SERVER = process.env.LOOPLEDGER_SERVER;
const PROTO_DIR = process.env.PROTO_DIR;
const PAYLOAD_TYPE = 'application/vnd.loopledger.entry+protobuf';
const SVC = '/loopledger.v1.LedgerService/';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
root.loadSync(['loopledger/v1/entry.proto', 'loopledger/v1/ledger.proto'], { keepCase: true });
const T = (n) => root.lookupType('loopledger.v1.' + n);

const client = new grpc.Client(SERVER, grpc.credentials.createInsecure());
const ident = (b) => b;

function unary(method, bytes) {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(SVC + method, ident, ident, bytes, (err, resp) =>
      err ? reject(err) : resolve(resp));
  });
}
async function call(method, reqType, req, respType) {
  const bytes = Buffer.from(T(reqType).encode(T(reqType).fromObject(req)).finish());
  return T(respType).decode(await unary(method, bytes));
}
async function expectCode(promise, code, what) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.code, code, `${what}: want ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`);
    assert.ok(e.details && e.details.length > 5, `${what}: status carries no message`);
    return e;
  }
  assert.fail(`${what}: succeeded, want ${grpc.status[code]}`);
}

const sha256 = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();
const leafHash = (leaf) => sha256(Buffer.from([0]), leaf);
const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r);
const pae = (type, body) => Buffer.concat([
  Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);

function keyFromPem(pem) {
  const priv = crypto.createPrivateKey(pem);
  const raw = Buffer.from(crypto.createPublicKey(priv).export({ format: 'jwk' }).x, 'base64url');
  return { priv, raw, keyid: crypto.createHash('sha256').update(raw).digest('hex') };
}
function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  return keyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }));
}

function body(fields) {
  const b = Object.assign({ client_time_unix_nanos: Date.now() * 1e6, nonce: crypto.randomBytes(16) }, fields);
  return Buffer.from(T('EntryBody').encode(T('EntryBody').fromObject(b)).finish());
}
function envelope(key, payload, type = PAYLOAD_TYPE) {
  const sig = crypto.sign(null, pae(type, payload), key.priv);
  return { payload, payload_type: type, signatures: [{ sig, keyid: key.keyid }] };
}
const appendReq = (env) => Buffer.from(T('AppendRequest').encode(T('AppendRequest').fromObject({ envelope: env })).finish());
async function append(env) {
  return T('AppendResponse').decode(await unary('Append', appendReq(env)));
}

// RFC 9162 section 2.1.3.2.
function verifyInclusion(index, size, leaf, proof, rootHash) {
  if (index >= size) return false;
  let fn = BigInt(index), sn = BigInt(size) - 1n, r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && r.equals(rootHash);
}
// RFC 9162 section 2.1.4.2.
function verifyConsistency(first, second, firstHash, secondHash, proof) {
  if (first === second) return proof.length === 0 && firstHash.equals(secondHash);
  if (first === 0 || first > second) return false;
  let p = proof.slice();
  if ((first & (first - 1)) === 0) p = [firstHash, ...p];
  if (p.length === 0) return false;
  let fn = BigInt(first) - 1n, sn = BigInt(second) - 1n;
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = p[0], sr = p[0];
  for (const c of p.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr); sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && fr.equals(firstHash) && sr.equals(secondHash);
}

async function treeSize() {
  return Number((await call('GetCheckpoint', 'GetCheckpointRequest', {}, 'GetCheckpointResponse')).tree_size);
}

async function main() {
  const admin = keyFromPem(fs.readFileSync(process.env.ADMIN_KEY));
  let checks = 0;

  // Health, through a service definition proto-loader builds from health.proto.
  const def = protoLoader.loadSync('grpc/health/v1/health.proto', { includeDirs: [PROTO_DIR], enums: String });
  const Health = grpc.loadPackageDefinition(def).grpc.health.v1.Health;
  const health = new Health(SERVER, grpc.credentials.createInsecure());
  const hs = await new Promise((res, rej) => health.Check({ service: '' }, (e, r) => e ? rej(e) : res(r)));
  assert.equal(hs.status, 'SERVING'); checks++;
  health.close();

  // A signed note from the admin.
  const payload = body({ author: 'admin', note: { text: 'escalation rate up after model swap' } });
  const env = envelope(admin, payload);
  const a = await append(env);
  const seq = Number(a.seq);
  assert.ok(seq >= 1); checks++;

  // GetEntry returns the leaf: the payload exactly as signed, inside the
  // envelope exactly as sent; its hash is the one Append reported.
  const g = await call('GetEntry', 'GetEntryRequest', { seq }, 'GetEntryResponse');
  const leaf = Buffer.from(g.leaf);
  assert.ok(leafHash(leaf).equals(Buffer.from(a.leaf_hash)), 'leaf hash mismatch'); checks++;
  assert.equal(g.status, 1); assert.equal(Number(g.superseded_by), 0); checks++;
  const le = T('LogEntry').decode(leaf);
  assert.equal(Number(le.seq), seq);
  assert.ok(Buffer.from(le.envelope.payload).equals(payload), 'payload not stored byte-for-byte'); checks++;
  const sentEnv = Buffer.from(T('Envelope').encode(T('Envelope').fromObject(env)).finish());
  assert.ok(leaf.includes(sentEnv), 'leaf does not embed the envelope as sent'); checks++;
  assert.ok(crypto.verify(null, pae(le.envelope.payload_type, Buffer.from(le.envelope.payload)),
    crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: admin.raw.toString('base64url') }, format: 'jwk' }),
    Buffer.from(le.envelope.signatures[0].sig)), 'stored signature does not verify'); checks++;

  // Resubmitting the identical envelope is idempotent.
  const again = await append(env);
  assert.equal(Number(again.seq), seq);
  assert.equal(again.duplicate, true); checks++;

  // Inclusion proof, checked with this file's own RFC 9162 verifier.
  const size = await treeSize();
  const ip = await call('GetInclusionProof', 'GetInclusionProofRequest', { seq, tree_size: size }, 'GetInclusionProofResponse');
  const cp = await call('GetCheckpoint', 'GetCheckpointRequest', { tree_size: size }, 'GetCheckpointResponse');
  assert.ok(verifyInclusion(seq, size, leafHash(leaf), ip.hashes.map(Buffer.from), Buffer.from(cp.root_hash)), 'inclusion proof'); checks++;
  const lines = cp.checkpoint.split('\n');
  assert.equal(lines[1], String(size));
  assert.equal(Buffer.from(lines[2], 'base64').toString('hex'), Buffer.from(cp.root_hash).toString('hex')); checks++;
  assert.ok(!verifyInclusion(seq, size, leafHash(Buffer.concat([leaf, Buffer.from([0])])), ip.hashes.map(Buffer.from), Buffer.from(cp.root_hash)));

  // Refusals: precise status, nothing written.
  const before = await treeSize();
  await expectCode(unary('Append', Buffer.from([0x0a, 0x05, 0xff, 0xff])), grpc.status.INVALID_ARGUMENT, 'malformed protobuf'); checks++;
  await expectCode(unary('Append', Buffer.alloc(0)), grpc.status.INVALID_ARGUMENT, 'empty request'); checks++;
  await expectCode(append(envelope(admin, payload, 'application/json')), grpc.status.INVALID_ARGUMENT, 'wrong payload type'); checks++;
  const bad = envelope(admin, body({ author: 'admin', note: { text: 'x' } }));
  bad.signatures[0].sig = Buffer.from(bad.signatures[0].sig); bad.signatures[0].sig[0] ^= 1;
  await expectCode(append(bad), grpc.status.UNAUTHENTICATED, 'bad signature'); checks++;
  const stranger = newKey();
  await expectCode(append(envelope(stranger, body({ author: 'admin', note: { text: 'x' } }))), grpc.status.UNAUTHENTICATED, 'unregistered key'); checks++;
  await expectCode(append(envelope(admin, body({ author: 'nobody', note: { text: 'x' } }))), grpc.status.UNAUTHENTICATED, 'unknown author'); checks++;
  await expectCode(append(envelope(admin, body({ author: 'admin', links: [{ relation: 'SUPPORTS', target_seq: 1e6 }], note: { text: 'x' } }))),
    grpc.status.FAILED_PRECONDITION, 'link to a future entry'); checks++;
  await expectCode(append(envelope(admin, body({ author: 'admin', note: { text: 'x'.repeat(2 << 20) } }))),
    grpc.status.RESOURCE_EXHAUSTED, 'oversize message'); checks++;
  await expectCode(call('GetEntry', 'GetEntryRequest', { seq: 1e9 }, 'GetEntryResponse'), grpc.status.NOT_FOUND, 'missing entry'); checks++;
  await expectCode(call('GetConsistencyProof', 'GetConsistencyProofRequest', { old_size: 5, new_size: 1e9 }, 'GetConsistencyProofResponse'),
    grpc.status.OUT_OF_RANGE, 'consistency beyond the tree'); checks++;
  assert.equal(await treeSize(), before, 'a refused call wrote something'); checks++;

  // Concurrent appends, then a consistency proof from the old size.
  const results = await Promise.all(Array.from({ length: 32 }, (_, i) =>
    append(envelope(admin, body({ author: 'admin', note: { text: `burst ${i}` } })))));
  const seqs = results.map((r) => Number(r.seq)).sort((x, y) => x - y);
  assert.deepEqual(seqs, Array.from({ length: 32 }, (_, i) => before + i), 'burst seqs are not contiguous'); checks++;
  const after = await treeSize();
  const cons = await call('GetConsistencyProof', 'GetConsistencyProofRequest', { old_size: before, new_size: after }, 'GetConsistencyProofResponse');
  const oldCp = await call('GetCheckpoint', 'GetCheckpointRequest', { tree_size: before }, 'GetCheckpointResponse');
  const newCp = await call('GetCheckpoint', 'GetCheckpointRequest', { tree_size: after }, 'GetCheckpointResponse');
  assert.ok(verifyConsistency(before, after, Buffer.from(oldCp.root_hash), Buffer.from(newCp.root_hash), cons.hashes.map(Buffer.from)), 'consistency proof'); checks++;

  // Paging through ListEntries covers every entry once, in order.
  let token = '', seen = 0;
  do {
    const page = await call('ListEntries', 'ListEntriesRequest', { page_size: 7, page_token: token }, 'ListEntriesResponse');
    // Derived marks travel beside the leaves, one per leaf.
    assert.equal(page.superseded_by.length, page.leaves.length);
    assert.equal(page.status.length, page.leaves.length);
    assert.ok(page.status.every((x) => x === 1), 'entries without a policy are EFFECTIVE');
    for (const l of page.leaves) assert.equal(Number(T('LogEntry').decode(l).seq), seen++);
    token = page.next_page_token;
  } while (token);
  assert.equal(seen, after); checks++;

  // Watch replays from a sequence number and then follows a live append.
  const stream = client.makeServerStreamRequest(SVC + 'Watch', ident, ident,
    Buffer.from(T('WatchRequest').encode({ from_seq: after - 2 }).finish()));
  const got = [];
  const done = new Promise((resolve, reject) => {
    stream.on('data', (m) => {
      got.push(Number(T('WatchResponse').decode(m).seq));
      if (got.length === 3) { stream.cancel(); resolve(); }
    });
    stream.on('error', (e) => (e.code === grpc.status.CANCELLED ? resolve() : reject(e)));
  });
  await new Promise((r) => setTimeout(r, 200));
  await append(envelope(admin, body({ author: 'admin', note: { text: 'live' } })));
  await done;
  assert.deepEqual(got, [after - 2, after - 1, after]); checks++;

  client.close();
  console.log(`node client: ok (${checks} checks)`);
}

main().catch((e) => { console.error('node client: FAIL:', e); process.exit(1); });
