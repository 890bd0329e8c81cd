/*
 * In-browser verification of an entry (loopledger console).
 *
 * Nothing here trusts the server's claims: the browser
 *   1. hashes the entry's leaf bytes itself (RFC 9162: SHA-256(0x00 || leaf)),
 *   2. checks the checkpoint's Ed25519 signature (C2SP signed-note) with the
 *      verifier key the user pinned (stored in this browser; first use pins
 *      the key the server announces, and the page says so),
 *   3. recomputes the Merkle root from the leaf hash and the inclusion proof
 *      (RFC 9162 section 2.1.3.2) and compares it with the root in the
 *      signed checkpoint, not with the root the proof response claims.
 * WebCrypto does the hashing and the signature check.
 */
"use strict";

const LLVerify = (() => {
  const enc = new TextEncoder();

  function b64ToBytes(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(b) {
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  function concat(...parts) {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }
  async function sha256(b) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", b));
  }
  async function leafHash(leaf) { return sha256(concat(Uint8Array.of(0), leaf)); }
  async function nodeHash(l, r) { return sha256(concat(Uint8Array.of(1), l, r)); }

  /* C2SP signed-note verifier key: "name+hash8hex+base64(0x01 || pub32)". */
  function parseVerifierKey(vkey) {
    // The name has no "+" and the hash is 8 hex digits, but the base64 key
    // may contain "+": split at the first two only.
    const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(vkey);
    if (!m) throw new Error("verifier key is not name+hash+key");
    const [, name, hash8, b64] = m;
    const k = b64ToBytes(b64);
    if (k.length !== 33 || k[0] !== 1) throw new Error("verifier key is not an Ed25519 (type 0x01) key");
    return { name, hash: hash8, pub: k.slice(1) };
  }

  /* Splits a signed note: body (text up to and including the blank line's
   * preceding newline) and its signature lines. */
  function parseNote(text) {
    const i = text.indexOf("\n\n");
    if (i < 0) throw new Error("checkpoint has no signature block");
    const body = text.slice(0, i + 1);
    const sigs = text.slice(i + 2).split("\n").filter((l) => l.length).map((l) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(l);
      if (!m) throw new Error("malformed signature line");
      return { name: m[1], sig: b64ToBytes(m[2]) };
    });
    const lines = body.split("\n");
    return { body, sigs, origin: lines[0], size: BigInt(lines[1]), root: b64ToBytes(lines[2]) };
  }

  async function verifyCheckpoint(text, vkey, steps) {
    const k = parseVerifierKey(vkey);
    const note = parseNote(text);
    // The key hash binds name and key: SHA-256(name || "\n" || 0x01 || pub)[:4].
    const kh = (await sha256(concat(enc.encode(k.name + "\n"), Uint8Array.of(1), k.pub))).slice(0, 4);
    if (hex(kh) !== k.hash) throw new Error("verifier key hash does not match its name and key");
    const mine = note.sigs.filter((s) => s.name === k.name && s.sig.length === 68 && equal(s.sig.slice(0, 4), kh));
    if (!mine.length) throw new Error("the checkpoint carries no signature by " + k.name);
    let key;
    try {
      key = await crypto.subtle.importKey("raw", k.pub, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      throw new Error("this browser cannot check Ed25519 signatures (WebCrypto: " + e.message + ")");
    }
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, mine[0].sig.slice(4), enc.encode(note.body));
    if (!ok) throw new Error("the checkpoint signature does not verify with the pinned key");
    steps.push("checkpoint signature verifies (Ed25519, key " + k.name + "+" + k.hash + ")");
    return note;
  }

  /* RFC 9162 2.1.3.2: root from leaf hash, index, size and path. */
  async function rootFromInclusion(index, size, lh, path) {
    if (index >= size) throw new Error("entry is beyond the checkpoint");
    let fn = index, sn = size - 1n, r = lh;
    for (const p of path) {
      if (sn === 0n) throw new Error("inclusion proof is too long");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) throw new Error("inclusion proof is too short");
    return r;
  }

  /* get(path) -> parsed JSON (throws with the server's message). Returns
   * { ok, steps, error }. */
  async function verifyEntry(get, seq, leafB64, vkey, asOfSize) {
    const steps = [];
    try {
      if (!crypto || !crypto.subtle) throw new Error("WebCrypto is not available (the page needs a secure context)");
      const leaf = b64ToBytes(leafB64);
      const lh = await leafHash(leaf);
      steps.push("leaf hash computed here: " + hex(lh).slice(0, 16) + "…");
      const cp = await get("/v1/checkpoint" + (asOfSize ? "?treeSize=" + asOfSize : ""));
      const note = await verifyCheckpoint(cp.checkpoint, vkey, steps);
      if (BigInt(seq) >= note.size) throw new Error("entry " + seq + " is not below the checkpoint's size " + note.size);
      const pr = await get("/v1/entries/" + seq + "/inclusion-proof?treeSize=" + note.size);
      const path = (pr.hashes || []).map(b64ToBytes);
      const root = await rootFromInclusion(BigInt(seq), note.size, lh, path);
      if (!equal(root, note.root)) throw new Error("the inclusion proof does not lead to the signed root");
      steps.push("inclusion proof (" + path.length + " hashes) leads to the signed root of tree size " + note.size);
      return { ok: true, steps, size: note.size };
    } catch (e) {
      return { ok: false, steps, error: e.message || String(e) };
    }
  }

  return { verifyEntry, parseVerifierKey, b64ToBytes, hex };
})();
