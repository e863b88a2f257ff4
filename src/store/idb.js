// framechat's kept chat, the IndexedDB side: src/store/mod.rs imports these few functions
// (wasm-bindgen bundles this file as a snippet next to framechat.js). The transactions,
// eviction, a private room's store key and sealing live here, in JS, so that they cost the
// WebAssembly nothing; Rust hands over and gets back a message's header bytes and its Blobs,
// and the Blobs never enter WebAssembly. Every function takes the handle `open` gives:
// { db, r: the room's name or pseudonym, key, fk: a private room's store and frame keys
// (CryptoKeys) or null, room: the room's name, max, cap }.
//
// One database, "framechat", version 3 (version 1, an earlier layout never used by a release,
// is dropped on upgrade; version 2 had no "sizes", which the upgrade fills in), with three
// object stores keyed by [r, id], two of them indexed in order by "order" on [r, k, id]:
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
//   sizes     { r, id, k, n }: each messages record's send time and attachment bytes, written
//               with it, so that eviction reads these few numbers, not every record's Blob:
//               with 200 messages with a 64 KiB attachment kept, one more took 12.2-14.4 ms to
//               write when eviction read them all (2.3-2.7 ms in a new room), and 4.2-4.4 ms
//               with this (1.9-2.0 ms new).
// In a private room f (and t) is iv ‖ AES-GCM(frame) (a Blob again when it has attachments), a fresh
// 96-bit iv each, the additional data naming room and record: only r (a pseudonym), id, k
// and n are in the clear. A private room's message is kept as the envelopes the relay carried
// (`putKept`): an own one as the socket worker sealed it to send, a received one as it came, so
// that it is sealed once, not twice: s: 1, and f is a Blob of the message's envelopes (PROTOCOL.md, "Private rooms": sealed with the room's
// frame key, the additional data naming room, tag, index and role), each after its length
// (u32, little-endian); its t is sealed as above. `load` opens them and gives the message back
// whole, as any other record. Errors are thrown as the browser made them (a
// QuotaExceededError stays one); a record that does not read back is skipped and counted.
"use strict";

const PENDING = "pending";
const MESSAGES = "messages";
const SIZES = "sizes";
const ALL = [PENDING, MESSAGES, SIZES];
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
 * Also the frame key (info "framechat frame key v1", PROTOCOL.md), to open what `putKept`
 * kept.
 */
async function storeKey(raw) {
  const subtle = crypto.subtle;
  const base = await subtle.importKey("raw", raw, "HKDF", false, ["deriveKey", "deriveBits"]);
  const hkdf = (info) => ({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8.encode(info) });
  const aes = (info, use) => subtle.deriveKey(hkdf(info), base, { name: "AES-GCM", length: 256 }, false, use);
  const key = await aes("framechat store key v1", ["encrypt", "decrypt"]);
  const fk = await aes("framechat frame key v1", ["decrypt"]);
  const bits = new Uint8Array(await subtle.deriveBits(hkdf("framechat store label v1"), base, 128));
  return [key, Array.from(bits, (b) => b.toString(16).padStart(2, "0")).join(""), fk];
}

/**
 * Opens (and on first use creates) the database for room `name`, keeping the newest `max`
 * messages and `cap` bytes of their media; `raw`: a private room's key (its records are then
 * sealed, and filed under a pseudonym), or null.
 */
export async function open(name, raw, max, cap) {
  const [key, r, fk] = raw ? await storeKey(raw) : [null, name, null];
  const db = await new Promise((ok, no) => {
    // A browser that never answers (an upgrade blocked by another tab, say) must not keep
    // the chat from connecting: it goes on in memory.
    setTimeout(() => no(new DOMException("IndexedDB did not answer", "TimeoutError")), 5000);
    const req = indexedDB.open("framechat", 3);
    req.onupgradeneeded = (e) => {
      const db = req.result;
      const keyPath = ["r", "id"];
      if (e.oldVersion < 2) {
        for (const name of Array.from(db.objectStoreNames)) db.deleteObjectStore(name);
        for (const name of [PENDING, MESSAGES]) {
          db.createObjectStore(name, { keyPath }).createIndex(ORDER, ["r", "k", "id"]);
        }
      }
      // Version 2's records get their sizes, read once here.
      const sizes = db.createObjectStore(SIZES, { keyPath });
      req.transaction.objectStore(MESSAGES).openCursor().onsuccess = ({ target: { result: c } }) => {
        if (!c) return;
        const { r, id, k, n } = c.value;
        sizes.put({ r, id, k, n });
        c.continue();
      };
    };
    req.onsuccess = () => {
      const db = req.result;
      // A newer version opened in another tab asks this connection to close: it does.
      db.onversionchange = () => db.close();
      ok(db);
    };
    req.onerror = () => no(req.error);
  });
  return { db, r, key, fk, room: name, max, cap };
}

/**
 * Keeps message `id` sent at `k` (replacing one of the same id): its `msg` frame, header
 * bytes `m` (which announce every attachment's bytes as its payload) and the attachments'
 * bytes `b` (Blobs, file slices, byte views or blob: URLs, in order), as
 * pending when `seq` >= 0 (at once), else once the page is idle (`idle`); then evicts the
 * room past its limits. All or nothing.
 */
export async function put(store, id, k, m, b, seq) {
  const { r, key } = store;
  // `m` is a view of the WebAssembly's memory: kept as it is, IndexedDB would clone all of
  // that memory into every record.
  m = m.slice();
  // A received attachment comes as its blob: URL (the page's own, made of the frames' bytes).
  if (b.some((p) => typeof p === "string")) {
    b = await Promise.all(b.map(async (p) => (typeof p === "string" ? (await fetch(p)).blob() : p)));
  }
  if (seq < 0) await idle();
  const n = b.reduce((sum, p) => sum + (p instanceof Blob ? p.size : p.byteLength), 0);
  let t = b.length ? textOnly(m) : null;
  let f;
  if (key) {
    // Sealed before the transaction: an await on WebCrypto inside one would commit it. The
    // whole frame in one buffer, as WebCrypto takes it (byte views copied straight in).
    const whole = !b.length ? m : b.some((p) => p instanceof Blob)
      ? await new Blob([m, ...b]).arrayBuffer() : concat([m, ...b]);
    const sealed = await seal(store, id, whole);
    f = b.length ? new Blob(sealed) : concat(sealed);
    if (t) t = concat(await seal(store, id, t));
  } else {
    f = b.length ? new Blob([m, ...b]) : m;
  }
  await write(store, { r, id, k, f, t, n }, seq);
}

/**
 * Keeps message `id` of a private room, sent at `k`, as the envelopes the relay carried: an
 * own one as the socket worker sealed it to send it, a received one as it came. `f`: a Blob
 * of them, each after its length (u32, little-endian), or an array of those parts (the
 * lengths and envelopes as byte views, made into one Blob here); `m` its header bytes (for
 * `t`), `n` the bytes of its attachments. As pending when `seq` >= 0, at once, else once the
 * page is idle; then evicts as `put` does.
 */
export async function putKept(store, id, k, m, f, n, seq) {
  const text = n > 0 ? textOnly(m.slice()) : null;
  const t = text && concat(await seal(store, id, text));
  if (seq < 0) await idle();
  // Envelopes as they came, each after its length: one Blob of them.
  if (!(f instanceof Blob)) f = new Blob(f);
  await write(store, { r: store.r, id, k, f, t, n, s: 1 }, seq);
}

/**
 * Until the page is idle (1 s at most): when a message that is not pending (one received)
 * is written, so that keeping it does not hold up showing it. Its copy, sealing and write
 * took the time the browser decodes the picture in (a private room's 12 MP photo: 1.21×
 * the plain room's pick → shown, written at once, latency bench).
 */
const idle = () => new Promise((ok) => (self.requestIdleCallback ? requestIdleCallback(ok, { timeout: 1000 }) : setTimeout(ok, 50)));

/** Bytes `plain` sealed with the store key for record `id`: [iv, AES-GCM]. */
async function seal({ r, key }, id, plain) {
  const iv = crypto.getRandomValues(new Uint8Array(IV));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: ad(r, id) }, key, plain);
  return [iv, new Uint8Array(sealed)];
}

/** Writes record `value` (as pending when `seq` >= 0), then evicts. All or nothing. */
async function write({ db, r, max, cap }, value, seq) {
  const { id, k } = value;
  const tx = db.transaction(ALL, "readwrite");
  const end = committed(tx);
  try {
    tx.objectStore(MESSAGES).put(value);
    tx.objectStore(SIZES).put({ r, id, k, n: value.n });
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
  const sizes = tx.objectStore(SIZES);
  const pending = new Set((await done(tx.objectStore(PENDING).getAllKeys(room(r)))).map((k) => k[1]));
  const all = (await done(sizes.getAll(room(r))))
    .filter((v) => !pending.has(v.id))
    .sort((a, b) => a.k - b.k || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const size = (v) => (Number.isFinite(v.n) && v.n > 0 ? v.n : 0);
  const forget = (v) => {
    store.delete([r, v.id]);
    sizes.delete([r, v.id]);
  };
  let over = all.length - max;
  let bytes = all.reduce((sum, v) => sum + size(v), 0);
  for (const v of all) {
    if (over > 0) {
      over -= 1;
      bytes -= size(v);
      forget(v);
    } else if (bytes > cap && size(v) > 0) {
      bytes -= size(v);
      // Only now is the record itself read: for the text it keeps.
      const t = (await done(store.get([r, v.id])))?.t;
      if (t) {
        store.put({ r, id: v.id, k: v.k, f: t, n: 0 });
        sizes.put({ r, id: v.id, k: v.k, n: 0 });
      } else forget(v);
    }
  }
}

/** The relay has messages `ids`: they are no longer pending; `forget`: they were
 * cancelled, and are not kept at all. */
export async function sent({ db, r }, ids, forget) {
  const tx = db.transaction(ALL, "readwrite");
  for (const id of ids) {
    const names = forget ? ALL : [PENDING];
    for (const name of names) tx.objectStore(name).delete([r, id]);
  }
  await committed(tx);
}

/**
 * The room's newest `max` messages that are not pending, oldest first, then its pending ones
 * in the order they were sent: `[skipped, count of the first, ...frames]`, each an
 * ArrayBuffer holding one whole `msg` frame.
 */
export async function load(store) {
  const { db, r, max: n } = store;
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
      return await openRecord(store, v);
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
async function openRecord(store, v) {
  const f = v && typeof v.id === "string" ? v.f : null;
  let buf = f instanceof Blob ? await f.arrayBuffer() : f instanceof Uint8Array ? f.slice().buffer : null;
  if (!buf) throw new Error("not a record");
  if (v.s) return openSent(store, buf);
  if (store.key) {
    buf = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: new Uint8Array(buf, 0, IV), additionalData: ad(store.r, v.id) },
      store.key, new Uint8Array(buf, IV));
  }
  return buf;
}

/**
 * A message kept as its envelopes (`putKept`), opened: its whole `msg` frame (the first
 * frame, then the payload of every chunk after it). Envelope i must open as frame i of the
 * first one's tag, and say so: it begins the message if first, ends it if last.
 */
async function openSent({ fk, room }, buf) {
  const envelopes = [];
  const view = new DataView(buf);
  for (let i = 0; i < buf.byteLength; ) {
    const len = i + 4 <= buf.byteLength ? view.getUint32(i, true) : Infinity;
    if (!fk || i + 4 + len > buf.byteLength) throw new Error("not a record");
    envelopes.push(new Uint8Array(buf, i + 4, len));
    i += 4 + len;
  }
  const name = utf8.encode(room);
  const base = new Uint8Array(39 + name.length);
  base.set(utf8.encode("framechat-e2e-v1"));
  new DataView(base.buffer).setUint16(37, name.length);
  base.set(name, 39);
  const last = envelopes.length - 1;
  const frames = await Promise.all(envelopes.map((e, i) => {
    const flags = (i === 0 ? 1 : 0) | (i === last ? 2 : 0);
    if (e.length < 46 || e[0] !== 0xfd || e[1] !== flags) throw new Error("not a record");
    const additionalData = base.slice();
    additionalData[16] = flags;
    additionalData.set(envelopes[0].subarray(2, 18), 17);
    new DataView(additionalData.buffer).setUint32(33, i);
    return crypto.subtle.decrypt({ name: "AES-GCM", iv: e.subarray(18, 30), additionalData }, fk, e.subarray(30));
  }));
  return concat(frames.map((f, i) => {
    const v = new Uint8Array(f);
    return i ? v.subarray(3 + ((v[1] << 8) | v[2])) : v;
  })).buffer;
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
  const tx = db.transaction(ALL, "readwrite");
  for (const name of ALL) tx.objectStore(name).delete(room(r));
  await committed(tx);
}
