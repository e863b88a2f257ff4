// framechat's kept chat, the IndexedDB side: src/store/mod.rs imports these few functions
// (wasm-bindgen bundles this file as a snippet next to framechat.js). The transactions,
// eviction, a private room's store key and sealing live here, in JS, so that they cost the
// WebAssembly nothing; Rust hands over and gets back a message's header bytes and its Blobs,
// and the Blobs never enter WebAssembly. Every function takes the handle `open` gives:
// { db, r: the room's name or pseudonym, key: a CryptoKey or null, max, cap }.
//
// One database, "framechat", version 2 (version 1, an earlier layout never used by a release,
// is dropped on upgrade), with two object stores keyed by [r, id] and indexed in order by
// "order" on [r, k, id]:
//   messages  { r: room (a private room's pseudonym), id: 32 hex digits, k: send time (ms),
//               f: the whole message as one `msg` frame (PROTOCOL.md) — a Uint8Array when it
//                  has no attachment, else a Blob of the header bytes and the attachments —
//               n: bytes of its attachments,
//               t: for a message with attachments, the message without them as a `msg` frame
//                  (its text, then which files it had), what `f` becomes when the byte cap
//                  evicts the attachments }
//   pending   { r, id, k: the outbox's sequence number }: own messages the relay has not
//               confirmed yet; their frame is the messages record of the same id, which
//               eviction never touches while it is pending.
// In a private room f (and t) is iv ‖ AES-GCM(frame) (a Blob again when it has attachments), a fresh
// 96-bit iv each, the additional data naming room and record: only r (a pseudonym), id, k
// and n are in the clear. Errors are thrown as the browser made them (a QuotaExceededError
// stays one); a record that does not read back is skipped and counted.
"use strict";

const PENDING = "pending";
const MESSAGES = "messages";
const ORDER = "order";
const IV = 12;
const utf8 = new TextEncoder();

const done = (r) =>
  new Promise((ok, no) => {
    r.onsuccess = () => ok(r.result);
    r.onerror = () => no(r.error);
  });

const committed = (tx) =>
  new Promise((ok, no) => {
    tx.oncomplete = ok;
    tx.onabort = () => no(tx.error || new DOMException("transaction aborted", "AbortError"));
  });

// Every key of a room: [room] sorts before [room, …], an array after every string and number.
const room = (r) => IDBKeyRange.bound([r], [r, []]);

const ad = (r, id) => utf8.encode(`framechat store v2\0${r}\0${id}`);

/**
 * A private room's store key from its 32-byte room key: imported raw as a non-extractable
 * HKDF base key, then (SHA-256, empty salt) deriveKey with info "framechat store key v1" into
 * a non-extractable AES-256-GCM key, and deriveBits with info "framechat store label v1" into
 * the 128-bit pseudonym (32 hex digits) the room's records are filed under. The same
 * derivation as src/platform/webcrypto.rs's derive_store_key (a browser test compares them).
 */
async function storeKey(raw) {
  const subtle = crypto.subtle;
  const base = await subtle.importKey("raw", raw, "HKDF", false, ["deriveKey", "deriveBits"]);
  const hkdf = (info) => ({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8.encode(info) });
  const key = await subtle.deriveKey(hkdf("framechat store key v1"), base,
    { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const bits = new Uint8Array(await subtle.deriveBits(hkdf("framechat store label v1"), base, 128));
  return [key, Array.from(bits, (b) => b.toString(16).padStart(2, "0")).join("")];
}

/**
 * Opens (and on first use creates) the database for room `name`, keeping the newest `max`
 * messages and `cap` bytes of their media; `raw`: a private room's key (its records are then
 * sealed, and filed under a pseudonym), or null.
 */
export async function open(name, raw, max, cap) {
  const [key, r] = raw ? await storeKey(raw) : [null, name];
  const db = await new Promise((ok, no) => {
    // A browser that never answers (an upgrade blocked by another tab, say) must not keep
    // the chat from connecting: it goes on in memory.
    setTimeout(() => no(new DOMException("IndexedDB did not answer", "TimeoutError")), 5000);
    const req = indexedDB.open("framechat", 2);
    req.onupgradeneeded = () => {
      const db = req.result;
      for (const name of Array.from(db.objectStoreNames)) db.deleteObjectStore(name);
      for (const name of [PENDING, MESSAGES]) {
        db.createObjectStore(name, { keyPath: ["r", "id"] }).createIndex(ORDER, ["r", "k", "id"]);
      }
    };
    req.onsuccess = () => {
      const db = req.result;
      // A newer version opened in another tab asks this connection to close: it does.
      db.onversionchange = () => db.close();
      ok(db);
    };
    req.onerror = () => no(req.error);
  });
  return { db, r, key, max, cap };
}

/**
 * Keeps message `id` sent at `k` (replacing one of the same id): its `msg` frame, header
 * bytes `m` (which announce every attachment's bytes as its payload) and the attachments'
 * bytes `b` (Blobs, file slices, byte views or blob: URLs, in order), as
 * pending when `seq` >= 0; then evicts the room past its limits. All or nothing.
 */
export async function put({ db, r, key, max, cap }, id, k, m, b, seq) {
  // `m` is a view of the WebAssembly's memory: kept as it is, IndexedDB would clone all of
  // that memory into every record.
  m = m.slice();
  // A received attachment comes as its blob: URL (the page's own, made of the frames' bytes).
  if (b.some((p) => typeof p === "string")) {
    b = await Promise.all(b.map(async (p) => (typeof p === "string" ? (await fetch(p)).blob() : p)));
  }
  const n = b.reduce((sum, p) => sum + (p instanceof Blob ? p.size : p.byteLength), 0);
  let t = b.length ? textOnly(m) : null;
  let f;
  if (key) {
    // Sealed before the transaction: an await on WebCrypto inside one would commit it.
    const seal = (plain) => {
      const iv = crypto.getRandomValues(new Uint8Array(IV));
      return crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: ad(r, id) }, key, plain)
        .then((sealed) => [iv, new Uint8Array(sealed)]);
    };
    // The whole frame in one buffer, as WebCrypto takes it. Byte views (what this browser
    // sends) are copied straight in: a Blob of them, read back, cost a 12 MP photo's sender
    // 6 ms more (latency bench, private room).
    const whole = !b.length ? m : b.some((p) => p instanceof Blob)
      ? await new Blob([m, ...b]).arrayBuffer() : concat([m, ...b]);
    const sealed = seal(whole);
    f = b.length ? new Blob(await sealed) : concat(await sealed);
    if (t) t = concat(await seal(t));
  } else {
    f = b.length ? new Blob([m, ...b]) : m;
  }
  const value = { r, id, k, f, t, n };
  const tx = db.transaction([PENDING, MESSAGES], "readwrite");
  const end = committed(tx);
  try {
    tx.objectStore(MESSAGES).put(value);
    if (seq >= 0) tx.objectStore(PENDING).put({ r, id, k: seq });
    await evict(tx, r, max, cap);
  } catch (e) {
    try { tx.abort(); } catch (_) { /* already over */ }
    await end.catch(() => {});
    throw e;
  }
  await end;
}

/** Byte views `parts`, one after the other in a buffer of their own. */
function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Message header bytes `m` (`0xFC`, u16 length, JSON) as a `msg` frame without its files: the
 * text, then a line naming the files no longer kept. Null when that would not be a valid
 * header (PROTOCOL.md: text of at most 16384 bytes); the message is then evicted whole.
 */
function textOnly(m) {
  try {
    const h = JSON.parse(new TextDecoder().decode(m.subarray(3, 3 + ((m[1] << 8) | m[2]))));
    const note = `[${h.files.map((f) => f.name).join(", ")}: no longer kept in this browser]`;
    h.text = h.text ? `${h.text}\n${note}` : note;
    delete h.files;
    const json = utf8.encode(JSON.stringify(h));
    if (utf8.encode(h.text).length > 16384 || json.length > 65535) return null;
    const out = new Uint8Array(3 + json.length);
    out.set([0xfc, json.length >> 8, json.length & 255]);
    out.set(json, 3);
    return out;
  } catch (_) {
    return null;
  }
}

/**
 * Past `max` messages the oldest go; then, past `cap` bytes of attachments, the oldest
 * messages' attachments, until the rest fits: each such message stays as its text and the
 * names of its files (`t`), or goes whole when it has none. Pending messages stay, and
 * count towards neither.
 */
async function evict(tx, r, max, cap) {
  const store = tx.objectStore(MESSAGES);
  const pending = new Set((await done(tx.objectStore(PENDING).getAllKeys(room(r)))).map((k) => k[1]));
  const all = (await done(store.index(ORDER).getAll(room(r)))).filter((v) => !pending.has(v.id));
  const size = (v) => (Number.isFinite(v.n) && v.n > 0 ? v.n : 0);
  let over = all.length - max;
  let bytes = all.reduce((sum, v) => sum + size(v), 0);
  for (const v of all) {
    if (over > 0) {
      over -= 1;
      bytes -= size(v);
      store.delete([v.r, v.id]);
    } else if (bytes > cap && size(v) > 0) {
      bytes -= size(v);
      if (v.t) store.put({ r: v.r, id: v.id, k: v.k, f: v.t, n: 0 });
      else store.delete([v.r, v.id]);
    }
  }
}

/** The relay has messages `ids`: they are no longer pending; `forget`: they were
 * cancelled, and are not kept at all. */
export async function sent({ db, r }, ids, forget) {
  const tx = db.transaction([PENDING, MESSAGES], "readwrite");
  for (const id of ids) {
    tx.objectStore(PENDING).delete([r, id]);
    if (forget) tx.objectStore(MESSAGES).delete([r, id]);
  }
  await committed(tx);
}

/**
 * The room's newest `max` messages that are not pending, oldest first, then its pending ones
 * in the order they were sent: `[skipped, count of the first, ...frames]`, each an
 * ArrayBuffer holding one whole `msg` frame.
 */
export async function load({ db, r, key, max: n }) {
  const tx = db.transaction([PENDING, MESSAGES]);
  const end = committed(tx);
  const messages = tx.objectStore(MESSAGES);
  const pend = await done(tx.objectStore(PENDING).index(ORDER).getAll(room(r)));
  // One request for the room's records, oldest first (eviction keeps them to about `n` and
  // the pending ones): a cursor would take a task of the page per record.
  const all = await done(messages.index(ORDER).getAll(room(r)));
  const byId = new Map(all.map((v) => [v.id, v]));
  const wanted = new Set(pend.map((p) => p.id));
  const recent = n > 0 ? all.filter((v) => !wanted.has(v.id)).slice(-n) : [];
  const pending = pend.map((p) => byId.get(p.id));
  await end;
  let skipped = 0;
  const read = async (v) => {
    try {
      return await openRecord(key, r, v);
    } catch (_) {
      skipped += 1;
      return null;
    }
  };
  const shown = (await Promise.all(recent.map(read))).filter((v) => v);
  const again = (await Promise.all(pending.map(read))).filter((v) => v);
  return [skipped, shown.length, ...shown, ...again];
}

/** A record's frame read back, in a buffer of its own; throws for a record that is not ours
 * or does not open. */
async function openRecord(key, r, v) {
  const f = v && typeof v.id === "string" ? v.f : null;
  let buf = f instanceof Blob ? await f.arrayBuffer() : f instanceof Uint8Array ? f.slice().buffer : null;
  if (!buf) throw new Error("not a record");
  if (key) {
    buf = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: new Uint8Array(buf, 0, IV), additionalData: ad(r, v.id) },
      key, new Uint8Array(buf, IV));
  }
  return buf;
}

/** The bytes the room keeps, as stored. */
export async function usage({ db, r }) {
  const tx = db.transaction(MESSAGES);
  const all = await done(tx.objectStore(MESSAGES).getAll(room(r)));
  const size = (f) => (f instanceof Blob ? f.size : f ? f.byteLength || 0 : 0);
  return all.reduce((sum, v) => sum + size(v.f) + size(v.t), 0);
}

/** Forgets everything the room keeps, pending messages included. */
export async function clear({ db, r }) {
  const tx = db.transaction([PENDING, MESSAGES], "readwrite");
  for (const name of [PENDING, MESSAGES]) tx.objectStore(name).delete(room(r));
  await committed(tx);
}
