//! A thin IndexedDB wrapper over `web_sys`: open and upgrade, transactions, requests and
//! cursors as futures, every failure an [`AppError`].
//!
//! IndexedDB commits a transaction as soon as no request of it is pending at the end of a
//! task. Awaiting a request here resumes in a microtask of its success event, while the
//! transaction is still active, so several requests can be awaited in one transaction; an
//! `await` on anything else (WebCrypto, a Blob read) inside one lets it commit. Callers do
//! such work before or after a transaction, never inside.
//!
//! Errors: a `QuotaExceededError` (from a request, thrown synchronously, or aborting the
//! transaction at commit) is [`AppError::StoreFull`]; no `indexedDB` or an `open()` that
//! fails is [`AppError::StoreUnavailable`]; anything else is [`AppError::Store`].

use js_sys::{Array, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DomException, IdbCursorDirection, IdbCursorWithValue, IdbDatabase, IdbFactory, IdbIndex,
    IdbKeyRange, IdbObjectStore, IdbObjectStoreParameters, IdbOpenDbRequest, IdbRequest,
    IdbTransaction, IdbTransactionMode,
};

use crate::error::AppError;

/// The error a failed request or transaction reports, by its DOMException name.
fn dom_error(e: Option<DomException>, what: &str) -> AppError {
    match e {
        Some(e) if e.name() == "QuotaExceededError" => AppError::StoreFull,
        Some(e) => AppError::Store(format!("{}: {}", e.name(), e.message())),
        None => AppError::Store(format!("{what} aborted")),
    }
}

/// A value an IndexedDB call threw (a DOMException, or anything a patched page throws).
#[must_use]
pub fn thrown(e: JsValue) -> AppError {
    match e.dyn_into::<DomException>() {
        Ok(d) => dom_error(Some(d), "request"),
        Err(e) => match AppError::from(e) {
            AppError::Js(m) => AppError::Store(m),
            other => other,
        },
    }
}

/// The window's `indexedDB`, if the browser offers one.
fn factory() -> Result<IdbFactory, AppError> {
    let unavailable = |m: &str| AppError::StoreUnavailable(m.to_owned());
    let window = web_sys::window().ok_or_else(|| unavailable("no window"))?;
    match window.indexed_db() {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(unavailable("no IndexedDB")),
        Err(e) => Err(AppError::StoreUnavailable(thrown(e).to_string())),
    }
}

/// Opens database `name` at `version`; `upgrade(db, old_version)` creates its stores when
/// the database is new or older (an error from it aborts the open).
///
/// # Errors
/// [`AppError::StoreUnavailable`] when there is no IndexedDB, or it refuses to open (private
/// windows of some browsers, a failed `upgrade`).
pub async fn open(
    name: &str,
    version: u32,
    upgrade: fn(&IdbDatabase, u32) -> Result<(), AppError>,
) -> Result<IdbDatabase, AppError> {
    let unavailable = |e: AppError| AppError::StoreUnavailable(e.to_string());
    let req: IdbOpenDbRequest = factory()?
        .open_with_u32(name, version)
        .map_err(|e| unavailable(thrown(e)))?;
    let on_upgrade = {
        let req = req.clone();
        Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(
            move |e: web_sys::IdbVersionChangeEvent| {
                let done = req.result().map_err(thrown).and_then(|db| {
                    // Versions are whole numbers below 2^32 (a new database reports 0).
                    upgrade(&db.unchecked_into(), e.old_version() as u32)
                });
                if done.is_err()
                    && let Some(tx) = req.transaction()
                {
                    // Aborting the version change fails the open with an AbortError.
                    let _ = tx.abort();
                }
            },
        )
    };
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    // A `blocked` upgrade (another tab holds an older version open) waits until that tab
    // closes its connection, which every connection opened here does when asked (below).
    let outcome = JsFuture::from(settle(&req)).await;
    req.set_onupgradeneeded(None);
    drop(on_upgrade);
    if outcome.is_err() {
        return Err(unavailable(dom_error(req.error().ok().flatten(), "open")));
    }
    let db: IdbDatabase = req.result().map_err(thrown)?.unchecked_into();
    // A newer version opened in another tab asks this connection to close: it does, once
    // (the closure is freed when it runs; it stays, a few bytes, if it never does).
    let close = db.clone();
    let on_version_change = Closure::once_into_js(move |_: web_sys::Event| close.close());
    db.set_onversionchange(Some(on_version_change.unchecked_ref()));
    Ok(db)
}

/// A promise settled by `req`'s success (resolved) or error (rejected) event.
fn settle(req: &IdbRequest) -> Promise {
    Promise::new(&mut |resolve, reject| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    })
}

/// Awaits `req`: its result, or its error.
///
/// # Errors
/// [`AppError::StoreFull`] for a quota error, [`AppError::Store`] otherwise.
pub async fn request(req: &IdbRequest) -> Result<JsValue, AppError> {
    let outcome = JsFuture::from(settle(req)).await;
    req.set_onsuccess(None);
    req.set_onerror(None);
    match outcome {
        Ok(_) => req.result().map_err(thrown),
        Err(_) => Err(dom_error(req.error().ok().flatten(), "request")),
    }
}

/// `createObjectStore(name, { keyPath })` with a compound key path, in an upgrade.
///
/// # Errors
/// What the browser threw.
pub fn create_store(
    db: &IdbDatabase,
    name: &str,
    key_path: &[&str],
) -> Result<IdbObjectStore, AppError> {
    let params = IdbObjectStoreParameters::new();
    params.set_key_path(&strings(key_path));
    db.create_object_store_with_optional_parameters(name, &params)
        .map_err(thrown)
}

/// `createIndex(name, keyPath)` with a compound key path, in an upgrade.
///
/// # Errors
/// What the browser threw.
pub fn create_index(store: &IdbObjectStore, name: &str, key_path: &[&str]) -> Result<(), AppError> {
    store
        .create_index_with_str_sequence(name, &strings(key_path))
        .map(drop)
        .map_err(thrown)
}

fn strings(names: &[&str]) -> Array {
    names.iter().map(|n| JsValue::from_str(n)).collect()
}

/// Read-only or read-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Read,
    Write,
}

/// A transaction over some object stores, with its completion already listened to.
pub struct Tx {
    tx: IdbTransaction,
    done: JsFuture,
}

impl Tx {
    /// Starts a transaction over `stores`.
    ///
    /// # Errors
    /// [`AppError::Store`] for an unknown store or a closed database.
    pub fn new(db: &IdbDatabase, stores: &[&str], mode: Mode) -> Result<Self, AppError> {
        let mode = match mode {
            Mode::Read => IdbTransactionMode::Readonly,
            Mode::Write => IdbTransactionMode::Readwrite,
        };
        let tx = db
            .transaction_with_str_sequence_and_mode(&strings(stores), mode)
            .map_err(thrown)?;
        // Listen to `abort`, not `error`: the transaction's error is set only once it aborts.
        let done = JsFuture::from(Promise::new(&mut |resolve, reject| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onabort(Some(&reject));
        }));
        Ok(Self { tx, done })
    }

    /// One of its object stores.
    ///
    /// # Errors
    /// [`AppError::Store`] for a store not in the transaction.
    pub fn store(&self, name: &str) -> Result<IdbObjectStore, AppError> {
        self.tx.object_store(name).map_err(thrown)
    }

    /// Waits until the transaction is committed (IndexedDB commits it by itself once no
    /// request of it is pending).
    ///
    /// # Errors
    /// [`AppError::StoreFull`] when the commit ran out of quota, [`AppError::Store`] when it
    /// aborted for another reason (a failed request of it included).
    pub async fn commit(self) -> Result<(), AppError> {
        self.finish().await
    }

    /// Gives up the transaction: nothing it wrote is kept.
    pub async fn abort(self) {
        let _ = self.tx.abort();
        let _ = self.finish().await;
    }

    async fn finish(self) -> Result<(), AppError> {
        let outcome = self.done.await;
        self.tx.set_oncomplete(None);
        self.tx.set_onabort(None);
        outcome
            .map(drop)
            .map_err(|_| dom_error(self.tx.error(), "transaction"))
    }
}

/// `store.put(value)` (the key is in the value, by the store's key path).
///
/// # Errors
/// As [`request`], and what `put` threw (a value that cannot be cloned, a quota error).
pub async fn put(store: &IdbObjectStore, value: &JsValue) -> Result<(), AppError> {
    request(&store.put(value).map_err(thrown)?).await.map(drop)
}

/// `store.get(key)`: the value, or `None`.
///
/// # Errors
/// As [`request`].
pub async fn get(store: &IdbObjectStore, key: &JsValue) -> Result<Option<JsValue>, AppError> {
    let value = request(&store.get(key).map_err(thrown)?).await?;
    Ok((!value.is_undefined()).then_some(value))
}

/// `store.delete(key_or_range)`.
///
/// # Errors
/// As [`request`].
pub async fn delete(store: &IdbObjectStore, key: &JsValue) -> Result<(), AppError> {
    request(&store.delete(key).map_err(thrown)?).await.map(drop)
}

/// Every value of `index` within `range`, in index order.
///
/// # Errors
/// As [`request`].
pub async fn get_all(index: &IdbIndex, range: &IdbKeyRange) -> Result<Array, AppError> {
    let all = request(&index.get_all_with_key(range).map_err(thrown)?).await?;
    Ok(all.unchecked_into())
}

/// `store.index(name)`.
///
/// # Errors
/// [`AppError::Store`] for an unknown index.
pub fn index(store: &IdbObjectStore, name: &str) -> Result<IdbIndex, AppError> {
    store.index(name).map_err(thrown)
}

/// The keys from `lower` to `upper`, both included.
///
/// # Errors
/// [`AppError::Store`] for keys IndexedDB does not accept or `lower > upper`.
pub fn range(lower: &JsValue, upper: &JsValue) -> Result<IdbKeyRange, AppError> {
    IdbKeyRange::bound(lower, upper).map_err(thrown)
}

/// Up to `limit` values of `index` within `range`, walked with a cursor from the highest
/// key down (`newest_first`) or from the lowest up.
///
/// # Errors
/// As [`request`].
pub async fn take(
    index: &IdbIndex,
    range: &IdbKeyRange,
    newest_first: bool,
    limit: usize,
) -> Result<Vec<JsValue>, AppError> {
    let direction = if newest_first {
        IdbCursorDirection::Prev
    } else {
        IdbCursorDirection::Next
    };
    let req = index
        .open_cursor_with_range_and_direction(range, direction)
        .map_err(thrown)?;
    let mut out = Vec::new();
    while out.len() < limit {
        let cursor = request(&req).await?;
        let Some(cursor) = cursor.dyn_ref::<IdbCursorWithValue>() else {
            break; // null: walked past the end
        };
        out.push(cursor.value().map_err(thrown)?);
        if out.len() < limit {
            cursor.continue_().map_err(thrown)?;
        }
    }
    Ok(out)
}
