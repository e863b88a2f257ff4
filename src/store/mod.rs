//! The chat kept in the browser (IndexedDB), per room: the pending outbox, so nothing typed
//! or picked is lost on a reload, and the recent history, bounded by count and media bytes,
//! encrypted with the room's store key in private rooms.
//!
//! One database ([`DB_NAME`]) with two object stores, [`PENDING`] and [`MESSAGES`], keyed by
//! `[room, id]` (so a second write of an id replaces the first) and ordered per room by their
//! `order` index on `[room, seq or ts, id]`. The record layout and its sealing are in
//! `record`; which records to evict is a pure plan in `evict`. A private room's media are
//! read back still sealed ([`KeptBlob`]) and decrypted when shown, so the history paints at
//! once however much media it keeps.
//!
//! Nothing here panics or throws on what it reads: a record that is not one of ours, or does
//! not decrypt, is skipped and counted ([`Loaded::skipped`]); a kept attachment that does
//! not decrypt opens as `None`, like an evicted one. Failures are typed ([`AppError::StoreUnavailable`],
//! [`AppError::StoreFull`], [`AppError::Store`]) for a one-line notice, after which the app
//! keeps working in memory.

use framechat_wire::{Attachment, MessageHeader, Uuid};
use wasm_bindgen::JsValue;
use web_sys::{Blob, CryptoKey, IdbDatabase};

use crate::error::AppError;
use crate::platform::idb::{self, Mode, Tx};
use crate::platform::webcrypto::StoreKey;

mod evict;
mod record;

pub use evict::{Plan, plan};
pub use record::{KeptBlob, Sealed};

/// The database's name.
pub const DB_NAME: &str = "framechat";
/// Its schema version.
pub const DB_VERSION: u32 = 1;
/// The object store of messages not yet confirmed by the relay.
pub const PENDING: &str = "pending";
/// The object store of the recent history.
pub const MESSAGES: &str = "messages";
/// The index of both stores that orders a room's records: `[r, k, id]`.
pub const ORDER: &str = "order";

/// How much of each room's history is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The newest messages kept per room (default 200).
    pub max_messages: usize,
    /// The bytes of media kept per room (default 200 MiB); the oldest go first.
    pub max_media_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_messages: 200,
            max_media_bytes: 200 * 1024 * 1024,
        }
    }
}

/// An own message not yet confirmed by the relay, as the outbox re-sends it after a reload.
#[derive(Clone, Debug)]
pub struct PendingMessage {
    /// Its place in the order the user sent (the outbox's counter): re-sent in this order.
    pub seq: u64,
    /// Its `msg` header as first sent: id, sender, time, text, attachments.
    pub header: MessageHeader,
    /// One Blob per attachment of `header.files`: exactly the bytes to send (for a scrubbed
    /// image, a Blob of the file's slices around the scrubber's new bytes).
    pub blobs: Vec<Blob>,
}

/// One attachment of a kept message.
#[derive(Clone, Debug)]
pub struct StoredFile {
    /// Its header entry: name, type, size, dimensions, what was removed, placeholder.
    pub meta: Attachment,
    /// Its bytes, typed `meta.mime`; `None` once evicted ("no longer available"). Read back
    /// from a private room, still sealed: [`KeptBlob::open`] decrypts it when it is shown.
    pub blob: Option<KeptBlob>,
}

/// A message of the recent history.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub id: Uuid,
    /// Send time, unix milliseconds: the history's order.
    pub ts: u64,
    pub from: String,
    pub text: String,
    /// Sent from this browser.
    pub own: bool,
    pub files: Vec<StoredFile>,
}

/// What a read found: the records that read back, and how many did not.
#[derive(Clone, Debug)]
pub struct Loaded<T> {
    pub items: Vec<T>,
    /// Records skipped as unreadable (garbled, or sealed under another key).
    pub skipped: usize,
}

/// The open database.
#[derive(Clone, Debug)]
pub struct Store {
    db: IdbDatabase,
    limits: Limits,
}

impl Store {
    /// Opens (and on first use creates) the database.
    ///
    /// # Errors
    /// [`AppError::StoreUnavailable`] without IndexedDB, or when it refuses to open.
    pub async fn open(limits: Limits) -> Result<Self, AppError> {
        let db = idb::open(DB_NAME, DB_VERSION, upgrade).await?;
        Ok(Self { db, limits })
    }

    /// Room `room`'s part of the store. `key` is its store key when the room is private
    /// ([`derive_store_key`](crate::platform::webcrypto::derive_store_key)): every record is
    /// then sealed with it and filed under the key's pseudonym, not the room's name.
    #[must_use]
    pub fn room(&self, room: &str, key: Option<StoreKey>) -> RoomStore {
        let (room, key) = match key {
            Some(k) => (k.label().to_owned(), Some(k.crypto_key().clone())),
            None => (room.to_owned(), None),
        };
        RoomStore {
            db: self.db.clone(),
            limits: self.limits,
            room,
            key,
        }
    }

    /// Closes the connection (another tab may then upgrade the database).
    pub fn close(&self) {
        self.db.close();
    }
}

/// Version 1: both stores keyed by `[r, id]`, each with its `order` index.
fn upgrade(db: &IdbDatabase, old: u32) -> Result<(), AppError> {
    if old < 1 {
        for name in [PENDING, MESSAGES] {
            let store = idb::create_store(db, name, &["r", "id"])?;
            idb::create_index(&store, ORDER, &["r", "k", "id"])?;
        }
    }
    Ok(())
}

/// One room's kept chat.
#[derive(Clone, Debug)]
pub struct RoomStore {
    db: IdbDatabase,
    limits: Limits,
    /// The room's name, or its pseudonym when sealed.
    room: String,
    key: Option<CryptoKey>,
}

/// A record read back: what [`RoomStore::pending`] and [`RoomStore::recent`] make their items
/// of.
struct Read {
    own: bool,
    order: u64,
    header: MessageHeader,
    /// One per attachment of `header.files`; `None` when evicted or unreadable.
    blobs: Vec<Option<KeptBlob>>,
}

impl RoomStore {
    /// Keeps `msg` as pending (replacing a record of the same id).
    ///
    /// # Errors
    /// [`AppError::StoreFull`] over quota; [`AppError::Store`] otherwise.
    pub async fn put_pending(&self, msg: &PendingMessage) -> Result<(), AppError> {
        if msg.blobs.len() != msg.header.files.len() {
            return Err(AppError::Store(format!(
                "{} attachments but {} blobs",
                msg.header.files.len(),
                msg.blobs.len()
            )));
        }
        let blobs = msg.blobs.iter().map(|b| Some(b.clone().into())).collect();
        let value = self
            .seal(PENDING, false, &msg.header, msg.seq, blobs)
            .await?;
        self.write(PENDING, &[value]).await
    }

    /// The pending messages, in the order they were sent.
    ///
    /// # Errors
    /// [`AppError::Store`] when the store cannot be read.
    pub async fn pending(&self) -> Result<Loaded<PendingMessage>, AppError> {
        let values = self.all(PENDING).await?;
        let read = self.load(PENDING, &values, Some).await?;
        let mut out = Loaded {
            items: Vec::with_capacity(read.items.len()),
            skipped: read.skipped,
        };
        // Opened now: the outbox sends them. One that lost an attachment cannot be re-sent.
        'records: for r in read.items {
            let mut blobs = Vec::with_capacity(r.blobs.len());
            for kept in &r.blobs {
                let Some(blob) = open(kept.as_ref()).await else {
                    out.skipped += 1;
                    continue 'records;
                };
                blobs.push(blob);
            }
            out.items.push(PendingMessage {
                seq: r.order,
                header: r.header,
                blobs,
            });
        }
        Ok(out)
    }

    /// Forgets pending message `id` (the relay has it, or the user cancelled it).
    ///
    /// # Errors
    /// [`AppError::Store`] when the store cannot be written.
    pub async fn remove_pending(&self, id: Uuid) -> Result<(), AppError> {
        let tx = Tx::new(&self.db, &[PENDING], Mode::Write)?;
        let key = record::primary_key(&self.room, &id.simple().to_string());
        idb::delete(&tx.store(PENDING)?, &key).await?;
        tx.commit().await
    }

    /// Keeps `msg` in the history (replacing a record of the same id), then evicts past the
    /// room's limits.
    ///
    /// # Errors
    /// As [`RoomStore::put_messages`].
    pub async fn put_message(&self, msg: &StoredMessage) -> Result<(), AppError> {
        self.put_messages(std::slice::from_ref(msg)).await
    }

    /// Keeps `msgs` (a history replay, say) in one transaction, then evicts past the room's
    /// limits: the messages past the newest `max_messages` go, then the oldest media until
    /// the rest fits `max_media_bytes` (their text and metadata stay).
    ///
    /// # Errors
    /// [`AppError::StoreFull`] over quota (nothing of `msgs` is kept); [`AppError::Store`]
    /// otherwise.
    pub async fn put_messages(&self, msgs: &[StoredMessage]) -> Result<(), AppError> {
        let mut values = Vec::with_capacity(msgs.len());
        for msg in msgs {
            let header = MessageHeader {
                id: msg.id,
                from: msg.from.clone(),
                ts: msg.ts,
                text: msg.text.clone(),
                files: msg.files.iter().map(|f| f.meta.clone()).collect(),
            };
            let blobs = msg.files.iter().map(|f| f.blob.clone()).collect();
            values.push(self.seal(MESSAGES, msg.own, &header, msg.ts, blobs).await?);
        }
        self.write(MESSAGES, &values).await
    }

    /// The newest `n` messages of the history, oldest first.
    ///
    /// # Errors
    /// [`AppError::Store`] when the store cannot be read.
    pub async fn recent(&self, n: usize) -> Result<Loaded<StoredMessage>, AppError> {
        let mut values = {
            let tx = Tx::new(&self.db, &[MESSAGES], Mode::Read)?;
            let index = idb::index(&tx.store(MESSAGES)?, ORDER)?;
            let (lower, upper) = record::room_bounds(&self.room);
            let values = idb::take(&index, &idb::range(&lower, &upper)?, true, n).await?;
            tx.commit().await?;
            values
        };
        values.reverse();
        self.load(MESSAGES, &values, |r| {
            let h = r.header;
            let files = h.files.into_iter().zip(r.blobs);
            Some(StoredMessage {
                id: h.id,
                ts: h.ts,
                from: h.from,
                text: h.text,
                own: r.own,
                files: files
                    .map(|(meta, blob)| StoredFile { meta, blob })
                    .collect(),
            })
        })
        .await
    }

    /// The bytes this room keeps (pending and history, text and media, as stored).
    ///
    /// # Errors
    /// [`AppError::Store`] when the store cannot be read.
    pub async fn usage(&self) -> Result<u64, AppError> {
        let mut total = 0u64;
        for name in [PENDING, MESSAGES] {
            for value in self.all(name).await? {
                total = total
                    .saturating_add(record::meta_bytes(&value))
                    .saturating_add(record::media_bytes(&value));
            }
        }
        Ok(total)
    }

    /// Forgets everything this room keeps, pending messages included.
    ///
    /// # Errors
    /// [`AppError::Store`] when the store cannot be written.
    pub async fn clear(&self) -> Result<(), AppError> {
        let tx = Tx::new(&self.db, &[PENDING, MESSAGES], Mode::Write)?;
        let (lower, upper) = record::room_bounds(&self.room);
        let range: JsValue = idb::range(&lower, &upper)?.into();
        for name in [PENDING, MESSAGES] {
            idb::delete(&tx.store(name)?, &range).await?;
        }
        tx.commit().await
    }

    /// A record of store `name` for `header`, sealed when the room has a key. Before the
    /// transaction: an await on WebCrypto inside one would commit it.
    async fn seal(
        &self,
        name: &str,
        own: bool,
        header: &MessageHeader,
        order: u64,
        blobs: Vec<Option<KeptBlob>>,
    ) -> Result<js_sys::Object, AppError> {
        let id = header.id.simple().to_string();
        let meta = record::encode_meta(own, header)?;
        let key = self.key.as_ref();
        record::build(key, name, &self.room, &id, order, &meta, &blobs).await
    }

    /// Writes `values` into store `name` in one transaction, all or nothing (a failed put,
    /// over quota say, must not leave some of them); in the history, then evicts.
    async fn write(&self, name: &str, values: &[js_sys::Object]) -> Result<(), AppError> {
        let tx = Tx::new(&self.db, &[name], Mode::Write)?;
        match self.write_in(&tx, name, values).await {
            Ok(()) => tx.commit().await,
            Err(e) => {
                tx.abort().await;
                Err(e)
            }
        }
    }

    async fn write_in(
        &self,
        tx: &Tx,
        name: &str,
        values: &[js_sys::Object],
    ) -> Result<(), AppError> {
        let store = tx.store(name)?;
        for value in values {
            idb::put(&store, value).await?;
        }
        if name != MESSAGES {
            return Ok(());
        }
        let (lower, upper) = record::room_bounds(&self.room);
        let kept = idb::get_all(&idb::index(&store, ORDER)?, &idb::range(&lower, &upper)?).await?;
        let kept: Vec<JsValue> = kept.iter().collect();
        let bytes: Vec<u64> = kept.iter().map(record::media_bytes).collect();
        let plan = plan(&bytes, &self.limits);
        for value in kept.iter().take(plan.delete) {
            idb::delete(&store, &idb_key(value)).await?;
        }
        for value in plan.strip.iter().filter_map(|i| kept.get(*i)) {
            idb::put(&store, &record::stripped(value)?).await?;
        }
        Ok(())
    }

    /// Reads `values` of store `name` back into items by `make`, counting the records that
    /// do not read back (or that `make` refuses) as skipped.
    async fn load<T>(
        &self,
        name: &str,
        values: &[JsValue],
        make: impl Fn(Read) -> Option<T>,
    ) -> Result<Loaded<T>, AppError> {
        let mut out = Loaded {
            items: Vec::with_capacity(values.len()),
            skipped: 0,
        };
        for value in values {
            match self.read(name, value).await.and_then(&make) {
                Some(item) => out.items.push(item),
                None => out.skipped += 1,
            }
        }
        Ok(out)
    }

    /// One record of store `name` read back, its parts opened.
    async fn read(&self, name: &str, value: &JsValue) -> Option<Read> {
        let key = self.key.as_ref();
        let opened = record::open(key, name, &self.room, value).await?;
        let (own, header) = record::decode_meta(&opened.meta, &opened.id)?;
        let mut blobs = Vec::with_capacity(header.files.len());
        for (i, file) in header.files.iter().enumerate() {
            let stored = opened.blobs.get(i);
            let blob = record::kept_blob(key, name, &self.room, &opened.id, i, stored, &file.mime);
            blobs.push(blob);
        }
        Some(Read {
            own,
            order: opened.order,
            header,
            blobs,
        })
    }

    /// Every record of this room in store `name`, in order.
    async fn all(&self, name: &str) -> Result<Vec<JsValue>, AppError> {
        let tx = Tx::new(&self.db, &[name], Mode::Read)?;
        let index = idb::index(&tx.store(name)?, ORDER)?;
        let (lower, upper) = record::room_bounds(&self.room);
        let all = idb::get_all(&index, &idb::range(&lower, &upper)?).await?;
        tx.commit().await?;
        Ok(all.iter().collect())
    }
}

/// `kept` opened, if there is one and it opens.
async fn open(kept: Option<&KeptBlob>) -> Option<Blob> {
    kept?.open().await
}

/// The primary key of a record as read: `[r, id]`.
fn idb_key(value: &JsValue) -> JsValue {
    let get = |k| crate::platform::get(value, k);
    js_sys::Array::of2(&get("r"), &get("id")).into()
}
