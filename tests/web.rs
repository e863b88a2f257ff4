//! Browser tests of the web glue: reading real Files through gloo-file, the object URL
//! lifecycle, and frames sent and received over a real WebSocket relay.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver FRAMECHAT_TEST_WS=ws://127.0.0.1:PORT/ws/chat/ \
//!       cargo test --target wasm32-unknown-unknown -p framechat`
//! (`cargo xtask test` starts the relay on a free port and sets both.)
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::rc::Rc;

use framechat::media::{self, DraftAction, Drafts, Picked, Prep};
use framechat::net::{Client, LinkKind, NetConfig, WATERMARK, WATERMARK_MAX};
use framechat::startup::rehearsal;
use framechat::state::{Action, ChatState, Conn};
use framechat_scrub::SNIFF_LEN;
use framechat_wire::{Attachment, MessageHeader, Uuid};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use yew::{Callback, Reducible};

wasm_bindgen_test_configure!(run_in_browser);

/// 16x12 JPEG with Orientation 6, GPS, Make/Model/SerialNumber and DateTimeOriginal (exiftool):
/// the picture the client warms its send and receive paths up with.
const GPS_JPEG: &[u8] = framechat::startup::WARM_UP_JPEG;

fn file(name: &str, bytes: &[u8], mime: &str) -> Picked {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::FilePropertyBag::new();
    opts.set_type(mime);
    Picked::from(
        web_sys::File::new_with_u8_array_sequence_and_options(&parts, name, &opts).unwrap(),
    )
}

/// What `p` sends, as one Blob: its body's parts (views of the file as read and the
/// scrubber's new bytes, or slices of the file).
fn sent_blob(p: &media::Prepared) -> web_sys::Blob {
    let body = p.to_send().expect("cleared to send").body().clone();
    let parts = js_sys::Array::new();
    body.push_slices(0, body.size(), &parts).unwrap();
    web_sys::Blob::new_with_blob_sequence(&parts).unwrap()
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, JsValue> {
    let window = web_sys::window().unwrap();
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await?
        .dyn_into()?;
    let buf = JsFuture::from(resp.array_buffer()?).await?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Wait (with a deadline, polling every 10 ms) until `cond` holds.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = js_sys::Date::now() + 30_000.0;
    while !cond() {
        assert!(
            js_sys::Date::now() < deadline,
            "timed out waiting for {what}"
        );
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
}

/// Records every action a client reports, batches unpacked in order.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<Action>>>);

impl Log {
    fn callback(&self) -> Callback<Action> {
        let log = self.0.clone();
        Callback::from(move |a| match a {
            Action::Batch(actions) => log.borrow_mut().extend(actions),
            a => log.borrow_mut().push(a),
        })
    }
    fn online(&self) -> bool {
        self.0
            .borrow()
            .iter()
            .any(|a| matches!(a, Action::Conn(Conn::Online)))
    }
    fn position(&self, f: impl Fn(&Action) -> bool) -> Option<usize> {
        self.0.borrow().iter().position(f)
    }
    fn count(&self, f: impl Fn(&Action) -> bool) -> usize {
        self.0.borrow().iter().filter(|a| f(a)).count()
    }
    fn started(&self, id: Uuid) -> Option<usize> {
        self.position(|a| matches!(a, Action::Started { header, .. } if header.id == id))
    }
    fn completed(&self, id: Uuid) -> Option<usize> {
        self.position(|a| matches!(a, Action::Complete { header, .. } if header.id == id))
    }
    fn media_urls(&self, id: Uuid) -> Vec<Option<String>> {
        self.0
            .borrow()
            .iter()
            .find_map(|a| match a {
                Action::Complete { header, media } if header.id == id => Some(
                    media
                        .iter()
                        .map(|m| m.as_ref().map(|m| m.url().to_string()))
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }
}

fn relay_url() -> String {
    // Compile-time, so the wasm test binary carries it; an unset variable is a failure, not a skip.
    let Some(base) = option_env!("FRAMECHAT_TEST_WS") else {
        panic!(
            "set FRAMECHAT_TEST_WS=ws://127.0.0.1:PORT/ws/chat/ at build time (cargo xtask test does)"
        )
    };
    let room = Uuid::from_u128(
        js_sys::Date::now() as u128 * 1_000_003 + (js_sys::Math::random() * 1e6) as u128,
    );
    format!("{base}{}/", room.simple())
}

/// The scrubber's JPEG scan has a WebAssembly SIMD version that only runs here: it must find
/// the end of the entropy-coded data at every offset within and across its 128-byte chunks,
/// and skip stuffed zeros and restart markers.
#[wasm_bindgen_test]
fn the_simd_scan_finds_the_end_of_the_image_at_every_offset() {
    let head: &[u8] = &[
        0xFF, 0xD8, // SOI
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, // SOF0
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, // SOS
    ];
    for len in 0..2 * 128 + 8usize {
        for at in 0..=len {
            for (special, ends) in [
                (&[0xFF, 0x00][..], false),
                (&[0xFF, 0xD3], false),
                (&[0xFF, 0xD9], true),
            ] {
                let mut ecs: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
                ecs.splice(at..at, special.iter().copied());
                let file = [head, &ecs, &[0xFF, 0xD9], b"TAIL"].concat();
                let planned = framechat_scrub::plan(&file).unwrap();
                // Everything up to the first real EOI, which is where the image ends.
                let end = if ends {
                    head.len() + at + 2
                } else {
                    file.len() - 4
                };
                assert_eq!(
                    planned.plan.apply(&file),
                    &file[..end],
                    "len {len}, {special:02X?} at {at}"
                );
            }
        }
    }
}

#[wasm_bindgen_test]
async fn gloo_file_reads_and_scrubs_a_real_jpeg() {
    let before = media::copy_stats();
    let picked = file("holiday.jpg", GPS_JPEG, "image/jpeg");
    // Declared a JPEG: read whole at once, as the app does when the file is picked.
    let early = media::read_early(&picked, 1 << 20, None);
    assert!(early.is_some());
    let p = media::prepare(picked, 1, 1 << 20, early).await;
    let Prep::Clean { removed, .. } = p.prep() else {
        panic!("not scrubbed: {:?}", p.prep())
    };
    assert!(removed.iter().any(|c| c == "location"), "{removed:?}");
    assert!(removed.iter().any(|c| c == "device"), "{removed:?}");
    assert!(p.sendable());
    assert_eq!(p.mime, "image/jpeg");
    // Orientation 6: 16x12 stored, shown (and reserved) as 12x16.
    assert_eq!((p.width, p.height), (Some(12), Some(16)));
    let att = p.attachment();
    assert_eq!(att.size, p.size());
    assert!(p.size() < GPS_JPEG.len() as u64);
    let sent = gloo_file::futures::read_as_bytes(&gloo_file::Blob::from(sent_blob(&p)))
        .await
        .unwrap();
    assert_eq!(&sent[..2], &[0xFF, 0xD8]);
    for secret in [&b"Canon"[..], b"123456789", b"2024:05:01"] {
        assert!(
            !contains(&sent, secret),
            "{:?} still in the bytes",
            String::from_utf8_lossy(secret)
        );
    }
    // The preview's URL is made when it is first asked for, not before: a picture sent as
    // soon as it is ready goes without waiting for it.
    assert_eq!(media::copy_stats().live_urls, before.live_urls);
    let preview = p.media.as_ref().unwrap();
    let url = preview.url().to_string();
    assert_eq!(media::copy_stats().live_urls, before.live_urls + 1);
    assert_eq!(preview.clone().url(), url, "clones share the one URL");
    // The preview shows exactly the bytes that will be sent.
    let shown = fetch_bytes(&url).await.unwrap();
    assert_eq!(shown, sent);
    // The file entered WASM once (plus its sniffed head); of the scrubbed file only what the
    // scrubber wrote anew left it, the rest is slices of the picked file.
    let after = media::copy_stats();
    assert_eq!(
        after.into_wasm - before.into_wasm,
        GPS_JPEG.len() as u64 + SNIFF_LEN as u64
    );
    let plan = framechat_scrub::plan(GPS_JPEG).unwrap().plan;
    let inserted = (plan.len() - plan.kept()) as u64;
    assert_eq!(after.out_of_wasm - before.out_of_wasm, inserted);
    assert!(inserted < 100, "{inserted} bytes written anew");

    // Without a declared type it is sniffed first, then read and scrubbed the same way.
    let unnamed = file("holiday", GPS_JPEG, "");
    assert!(media::read_early(&unnamed, 1 << 20, None).is_none());
    let q = media::prepare(unnamed, 5, 1 << 20, None).await;
    assert_eq!(q.prep(), p.prep());
    let resent = gloo_file::futures::read_as_bytes(&gloo_file::Blob::from(sent_blob(&q)))
        .await
        .unwrap();
    assert_eq!(resent, sent);
}

#[wasm_bindgen_test]
fn the_warm_up_sends_the_scrubbed_picture_through_frames_to_itself() {
    let limits = framechat_wire::Limits::default();
    let parts = framechat::startup::warm_up(limits).unwrap();
    let mut got = Vec::new();
    for part in &parts {
        got.extend(part.0.to_vec());
    }
    let clean = framechat_scrub::scrub(GPS_JPEG).unwrap();
    assert_eq!(got, clean.bytes, "reassembled payload = scrubbed picture");
    assert!(!contains(&got, b"Canon"), "EXIF gone");
    assert!(
        parts.len() > 1,
        "the smallest budget splits it into chunks: {} part(s)",
        parts.len()
    );
}

/// With a socket worker, a picked photo is read there (off the page's thread) and scrubbed the
/// same; without one, or once it is gone, on the page.
#[wasm_bindgen_test]
async fn a_picked_photo_is_read_by_the_socket_worker() {
    let cfg = NetConfig {
        url: relay_url(),
        frame_budget: 64 * 1024,
        max_message_bytes: 64 << 20,
        link: LinkKind::WebSocket { worker: true },
        private: None,
    };
    let log = Log::default();
    let c = Client::connect(cfg.clone(), log.callback(), None);
    wait_for("online", || log.online()).await;
    let early = media::read_early(
        &file("a.jpg", GPS_JPEG, "image/jpeg"),
        1 << 20,
        Some(&c as &dyn media::OffThreadReader),
    );
    assert!(early.as_ref().is_some_and(media::EarlyRead::off_thread));
    let p = media::prepare(file("a.jpg", GPS_JPEG, "image/jpeg"), 1, 1 << 20, early).await;
    assert!(matches!(p.prep(), Prep::Clean { .. }), "{:?}", p.prep());
    let clean = framechat_scrub::scrub(GPS_JPEG).unwrap();
    assert_eq!(
        fetch_bytes(p.media.as_ref().unwrap().url()).await.unwrap(),
        clean.bytes
    );

    // The worker goes with its connection before the bytes come back: read here instead.
    let early = media::read_early(
        &file("b.jpg", GPS_JPEG, "image/jpeg"),
        1 << 20,
        Some(&c as &dyn media::OffThreadReader),
    );
    assert!(early.as_ref().is_some_and(media::EarlyRead::off_thread));
    c.close();
    let p = media::prepare(file("b.jpg", GPS_JPEG, "image/jpeg"), 2, 1 << 20, early).await;
    assert!(matches!(p.prep(), Prep::Clean { .. }), "{:?}", p.prep());
    assert_eq!(
        fetch_bytes(p.media.as_ref().unwrap().url()).await.unwrap(),
        clean.bytes
    );

    // No worker: on this thread.
    let direct = Client::connect(
        NetConfig {
            link: LinkKind::WebSocket { worker: false },
            private: None,
            ..cfg
        },
        Log::default().callback(),
        None,
    );
    let early = media::read_early(
        &file("c.jpg", GPS_JPEG, "image/jpeg"),
        1 << 20,
        Some(&direct as &dyn media::OffThreadReader),
    );
    assert!(early.is_some_and(|e| !e.off_thread()));
    direct.close();
}

#[wasm_bindgen_test]
async fn a_plain_file_never_enters_wasm() {
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let before = media::copy_stats();
    let p = media::prepare(file("data.bin", &bytes, ""), 2, 1 << 20, None).await;
    assert_eq!(*p.prep(), Prep::Plain);
    assert_eq!(p.mime, "application/octet-stream");
    assert!(p.sendable());
    assert!(
        !p.media.as_ref().unwrap().inline,
        "a non-image is a download link"
    );
    let after = media::copy_stats();
    assert_eq!(
        after.into_wasm - before.into_wasm,
        SNIFF_LEN as u64,
        "only the sniffed head is copied"
    );
    assert_eq!(after.out_of_wasm - before.out_of_wasm, 0);
}

#[wasm_bindgen_test]
async fn unscrubbable_image_needs_consent_and_oversize_is_refused() {
    let broken = b"\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00garbage garbage garbage".to_vec();
    let p = media::prepare(file("broken.jpg", &broken, "image/jpeg"), 3, 1 << 20, None).await;
    assert!(
        matches!(p.prep(), Prep::Unscrubbable { allowed: false, .. }),
        "{:?}",
        p.prep()
    );
    assert!(!p.sendable(), "never sent silently");
    let drafts = Rc::new(Drafts::default()).reduce(DraftAction::Add(p));
    let drafts = drafts.reduce(DraftAction::AllowOriginal(3));
    assert!(drafts.items[0].sendable(), "sent after the user chose so");

    let big = vec![0u8; 2048];
    let p = media::prepare(file("big.bin", &big, ""), 4, 1024, None).await;
    assert!(
        matches!(p.prep(), Prep::Rejected(reason) if reason.contains("limit")),
        "{:?}",
        p.prep()
    );
    assert!(!p.sendable());
}

/// The send path takes only a `Sendable`. An image the scrubber could not clean gives none
/// until the user releases its original ("send original anyway"); then the original goes
/// out, unchanged, through a real relay.
#[wasm_bindgen_test]
async fn an_unscrubbable_image_reaches_the_socket_only_once_released() {
    let broken = b"\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00garbage: GPS 48.85N 2.35E".to_vec();
    let p = media::prepare(file("broken.jpg", &broken, "image/jpeg"), 21, 1 << 20, None).await;
    assert!(p.to_send().is_none(), "{:?}", p.prep());
    let drafts = Rc::new(Drafts::default()).reduce(DraftAction::Add(p));
    assert!(
        drafts.to_send().is_none(),
        "nothing of the draft may go out"
    );

    let cfg = NetConfig {
        url: relay_url(),
        frame_budget: 64 * 1024,
        max_message_bytes: 64 << 20,
        link: LinkKind::WebSocket { worker: true },
        private: None,
    };
    let (la, lb) = (Log::default(), Log::default());
    let a = Client::connect(cfg.clone(), la.callback(), None);
    let b = Client::connect(cfg, lb.callback(), None);
    wait_for("both online", || la.online() && lb.online()).await;
    let drafts = drafts.reduce(DraftAction::AllowOriginal(21));
    let files = drafts.to_send().expect("released by the user");
    assert_eq!(files.len(), 1);
    assert!(
        files[0].attachment().removed.is_empty(),
        "nothing claimed removed"
    );
    let id = a.send("ann", String::new(), &files).unwrap();
    wait_for("the original at B", || lb.completed(id).is_some()).await;
    let urls = lb.media_urls(id);
    let got = fetch_bytes(urls[0].as_deref().unwrap()).await.unwrap();
    assert_eq!(got, broken, "the released original, byte for byte");
    a.close();
    b.close();
}

#[wasm_bindgen_test]
async fn object_urls_are_revoked_when_dropped_and_bounded_in_state() {
    let base = media::copy_stats().live_urls;
    let m = media::media_for(gloo_file::Blob::new("hello"), false);
    assert_eq!(fetch_bytes(m.url()).await.unwrap(), b"hello");
    assert_eq!(media::copy_stats().live_urls, base + 1);
    let url = m.url().to_string();
    let copy = m.clone();
    drop(m);
    assert!(
        fetch_bytes(&url).await.is_ok(),
        "a clone keeps the URL alive"
    );
    drop(copy);
    assert!(fetch_bytes(&url).await.is_err(), "revoked on drop");
    assert_eq!(media::copy_stats().live_urls, base);

    // A long chat keeps at most `max_media` live URLs; evicted ones are revoked.
    let mut state = Rc::new(ChatState::new(50, 3));
    let mut urls = Vec::new();
    for n in 0..10u128 {
        let media = media::media_for(gloo_file::Blob::new(format!("image {n}").as_str()), true);
        urls.push(media.url().to_string());
        let header = MessageHeader {
            id: Uuid::from_u128(n + 1),
            from: "bob".into(),
            ts: 0,
            text: String::new(),
            files: vec![Attachment {
                name: format!("{n}.jpg"),
                mime: "image/jpeg".into(),
                size: 7,
                width: None,
                height: None,
                removed: vec![],
                thumb: None,
            }],
        };
        state = state.reduce(Action::Complete {
            header,
            media: vec![Some(media)],
        });
    }
    assert_eq!(state.live_media(), 3);
    assert_eq!(media::copy_stats().live_urls, base + 3);
    assert!(fetch_bytes(&urls[0]).await.is_err());
    assert_eq!(fetch_bytes(&urls[9]).await.unwrap(), b"image 9");
    drop(state);
    assert_eq!(media::copy_stats().live_urls, base);
    assert!(fetch_bytes(&urls[9]).await.is_err());
}

#[wasm_bindgen_test]
async fn the_rehearsal_draws_off_the_page_and_revokes_its_urls() {
    let document = web_sys::window().unwrap().document().unwrap();
    let drawn = || {
        document
            .query_selector_all(".fc-msg, .fc-pending")
            .unwrap()
            .length()
    };
    let (before, on_page) = (media::copy_stats(), drawn());
    let done = rehearsal::finished();
    rehearsal::rehearse().unwrap();
    // It ends as soon as its last step is drawn: too soon to catch its URLs alive by polling.
    wait_for("the rehearsal to end", || rehearsal::finished() > done).await;
    let after = media::copy_stats();
    assert!(
        after.made_urls >= before.made_urls + 2,
        "it made URLs for its pictures: {before:?} -> {after:?}"
    );
    assert_eq!(after.live_urls, before.live_urls, "its URLs revoked");
    assert_eq!(drawn(), on_page, "nothing of it on the page");
}

#[wasm_bindgen_test]
async fn mount_and_unmount() {
    let (base, done) = (media::copy_stats().live_urls, rehearsal::finished());
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let options =
        js_sys::JSON::parse(r#"{"ws":"ws://127.0.0.1:9/ws/chat/{room}/","room":"r","name":"Ann"}"#)
            .unwrap();
    let mut handle = framechat::embed::mount(host.clone(), options).unwrap();
    wait_for("the chat to render", || {
        host.query_selector(".framechat .fc-composer")
            .ok()
            .flatten()
            .is_some()
    })
    .await;
    assert_eq!(
        host.query_selector(".fc-room-name")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "r"
    );
    handle.unmount();
    wait_for("the chat to go", || host.child_element_count() == 0).await;
    // Its rehearsal ends on its own, app or no app, and revokes what it made.
    wait_for("the rehearsal to end", || rehearsal::finished() > done).await;
    assert_eq!(media::copy_stats().live_urls, base);
    let bad = js_sys::JSON::parse(r#"{"frameBudget":"big"}"#).unwrap();
    assert!(framechat::embed::mount(host, bad).is_err());
}

#[wasm_bindgen_test]
async fn frames_through_a_real_relay_from_socket_workers() {
    frames_through_a_real_relay(true).await;
}

#[wasm_bindgen_test]
async fn frames_through_a_real_relay_from_the_main_thread() {
    frames_through_a_real_relay(false).await;
}

/// A page that cannot run the socket worker (a Content Security Policy that forbids Blob
/// workers makes `new Worker` throw; a script that fails reports an error later) still chats,
/// with the socket on the main thread.
#[wasm_bindgen_test]
async fn without_workers_the_socket_lives_on_the_main_thread() {
    let window = web_sys::window().unwrap();
    let native = js_sys::Reflect::get(&window, &"Worker".into()).unwrap();
    let cfg = NetConfig {
        url: relay_url(),
        frame_budget: 64 * 1024,
        max_message_bytes: 64 << 20,
        link: LinkKind::WebSocket { worker: true },
        private: None,
    };
    let throwing = js_sys::Function::new_no_args("throw new Error('blocked by policy')");
    js_sys::Reflect::set(&window, &"fcNativeWorker".into(), &native).unwrap();
    let failing = js_sys::Function::new_with_args(
        "url",
        "return new window.fcNativeWorker(URL.createObjectURL(new Blob( \
         ['throw new Error(\"broken\")'], { type: 'text/javascript' })));",
    );
    for (what, replacement) in [("throws", throwing), ("fails later", failing)] {
        js_sys::Reflect::set(&window, &"Worker".into(), &replacement).unwrap();
        let log = Log::default();
        let c = Client::connect(cfg.clone(), log.callback(), None);
        wait_for(what, || log.online()).await;
        js_sys::Reflect::set(&window, &"Worker".into(), &native).unwrap();
        assert!(
            !c.in_worker(),
            "a worker that {what}: socket on the main thread"
        );
        c.close();
    }
    let log = Log::default();
    let c = Client::connect(cfg, log.callback(), None);
    wait_for("online", || log.online()).await;
    assert!(c.in_worker(), "workers again once they start");
    c.close();
}

async fn frames_through_a_real_relay(worker: bool) {
    let url = relay_url();
    let cfg = NetConfig {
        url: url.clone(),
        frame_budget: 64 * 1024,
        max_message_bytes: 64 << 20,
        link: LinkKind::WebSocket { worker },
        private: None,
    };
    let (la, lb) = (Log::default(), Log::default());
    let a = Client::connect(cfg.clone(), la.callback(), None);
    let b = Client::connect(cfg, lb.callback(), None);
    wait_for("both online", || la.online() && lb.online()).await;
    assert_eq!(a.in_worker(), worker);
    assert_eq!(b.in_worker(), worker);

    // A scrubbed photo and a 3 MB file, then a text typed while they go out.
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let photo =
        Rc::new(media::prepare(file("photo.jpg", GPS_JPEG, "image/jpeg"), 10, 1 << 30, None).await);
    let blob = Rc::new(media::prepare(file("data.bin", &big, ""), 11, 1 << 30, None).await);
    let scrubbed = fetch_bytes(photo.media.as_ref().unwrap().url())
        .await
        .unwrap();
    let before = media::copy_stats();
    let id = a
        .send(
            "ann",
            "two files".into(),
            &[photo.to_send().unwrap(), blob.to_send().unwrap()],
        )
        .unwrap();
    // Backpressure: the socket holds about a watermark, not the whole 3 MB.
    let buffered = a.buffered_amount();
    assert!(
        buffered <= WATERMARK + 64 * 1024,
        "{buffered} bytes buffered at once"
    );
    let text = a.send("ann", "typed meanwhile".into(), &[]).unwrap();

    wait_for("the files at B", || lb.completed(id).is_some()).await;
    wait_for("the text at B", || lb.completed(text).is_some()).await;
    assert!(
        lb.completed(text) < lb.completed(id),
        "the text is not stuck behind the transfer"
    );
    assert!(lb.started(id).is_some_and(|s| Some(s) < lb.completed(id)));
    // Receive progress is reported (rendered at most every 100 ms, so how often
    // depends on timing) before the message completes.
    let progress = lb.position(
        |x| matches!(x, Action::Progress { id: p, received, total } if *p == id && received < total),
    );
    assert!(
        progress.is_some() && progress < lb.completed(id),
        "receive progress before completion"
    );

    let urls = lb.media_urls(id);
    assert_eq!(urls.len(), 2);
    let got_photo = fetch_bytes(urls[0].as_deref().unwrap()).await.unwrap();
    assert_eq!(got_photo, scrubbed, "B got exactly the scrubbed bytes");
    let got_big = fetch_bytes(urls[1].as_deref().unwrap()).await.unwrap();
    assert!(got_big == big, "the 3 MB file arrived intact");

    // Only headers (and the sniffed head of each file) crossed into WASM; only headers left it.
    let after = media::copy_stats();
    let frames = 3_000_000 / (60 * 1024) + 4;
    assert!(
        after.into_wasm - before.into_wasm < frames * 512 + 2 * SNIFF_LEN as u64,
        "{:?} -> {:?}",
        before,
        after
    );
    assert!(
        after.out_of_wasm - before.out_of_wasm < frames * 512,
        "{:?} -> {:?}",
        before,
        after
    );

    // The relay echoes to the sender: A shows its messages once and confirms them.
    wait_for("A's confirmation", || {
        la.position(|x| matches!(x, Action::Sent { id: s } if *s == id))
            .is_some()
    })
    .await;
    assert_eq!(la.count(|x| matches!(x, Action::Local { .. })), 2);
    // A's progress says when every frame is with the socket: the Cancel button goes then.
    let handed: Vec<bool> =
        la.0.borrow()
            .iter()
            .filter_map(|x| match x {
                Action::SendProgress {
                    id: p, all_handed, ..
                } if *p == id => Some(*all_handed),
                _ => None,
            })
            .collect();
    assert_eq!(
        handed.first(),
        Some(&false),
        "more than the socket takes at once"
    );
    assert_eq!(handed.last(), Some(&true));

    // A cancel that comes after every frame is with the socket cannot stop the message, and
    // A says so instead of marking it cancelled.
    let small =
        Rc::new(media::prepare(file("small.bin", &big[..100_000], ""), 13, 1 << 30, None).await);
    let late = a
        .send("ann", String::new(), &[small.to_send().unwrap()])
        .unwrap();
    a.cancel(late);
    wait_for("the small file at B", || lb.completed(late).is_some()).await;
    wait_for("A's notice", || {
        la.position(|x| matches!(x, Action::Notice(n) if n.starts_with("too late to cancel")))
            .is_some()
    })
    .await;
    assert!(
        la.position(|x| matches!(x, Action::Cancelled { id } if *id == late))
            .is_none()
    );
    assert_eq!(
        la.count(|x| matches!(x, Action::Started { .. } | Action::Complete { .. })),
        0
    );

    // A frame that does not decode: B shows a notice and nothing else changes.
    let raw = web_sys::WebSocket::new(&url).unwrap();
    let opened = Rc::new(RefCell::new(false));
    let flag = opened.clone();
    let onopen =
        wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || *flag.borrow_mut() = true);
    raw.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    wait_for("raw socket", || *opened.borrow()).await;
    let seen = lb.0.borrow().len();
    raw.send_with_u8_array(&[0xFC, 0x00, 0x05, b'{', b'"', b'k', b'"', b'}'])
        .unwrap();
    raw.send_with_u8_array(&[1, 2, 3]).unwrap();
    wait_for("two notices", || {
        lb.count(|x| matches!(x, Action::Notice(_))) >= 2
    })
    .await;
    assert!(
        lb.0.borrow()[seen..]
            .iter()
            .all(|x| matches!(x, Action::Notice(_)))
    );

    // Cancel mid-transfer: B marks the message cancelled. The send hands the socket what its
    // buffer may hold at most, in this same turn; a file larger than that is still being sent
    // when the cancel comes, however fast this machine is. (Waiting for B to report the start
    // first let a fast relay deliver all of it before the cancel.)
    let huge = vec![7u8; WATERMARK_MAX as usize + (8 << 20)];
    let big2 = Rc::new(media::prepare(file("again.bin", &huge, ""), 12, 1 << 30, None).await);
    let id2 = a
        .send("ann", String::new(), &[big2.to_send().unwrap()])
        .unwrap();
    a.cancel(id2);
    let cancelled = |x: &Action| matches!(x, Action::Cancelled { id } if *id == id2);
    wait_for("A's cancel", || la.position(cancelled).is_some()).await;
    wait_for("B sees the cancel", || lb.position(cancelled).is_some()).await;
    assert!(
        lb.started(id2)
            .is_some_and(|s| Some(s) < lb.position(cancelled)),
        "B saw the message start before it was cancelled"
    );
    assert!(lb.completed(id2).is_none());
    raw.close().unwrap();
    a.close();
    b.close();
}

/// A private room through a real relay: pages with the room's key exchange a scrubbed photo
/// and a text, sealed and opened by WebCrypto (the worker's socket for one, the page's own for
/// the other); a page with another key and a page without one get one "cannot read" notice
/// per message and nothing else.
#[wasm_bindgen_test]
async fn a_private_room_through_a_real_relay() {
    use framechat::net::private::PrivateRoom;
    use framechat::platform::webcrypto::FrameKey;
    use framechat_wire::RoomKey;

    let url = relay_url();
    let room = "private";
    let private = |bytes: [u8; 32]| async move {
        Some(PrivateRoom {
            key: FrameKey::derive(&RoomKey::from_bytes(bytes)).await.unwrap(),
            room: room.into(),
        })
    };
    let cfg = |worker: bool, private: Option<PrivateRoom>| NetConfig {
        url: url.clone(),
        frame_budget: 64 * 1024,
        max_message_bytes: 64 << 20,
        link: LinkKind::WebSocket { worker },
        private,
    };
    let logs: Vec<Log> = (0..4).map(|_| Log::default()).collect();
    let a = Client::connect(cfg(true, private([7; 32]).await), logs[0].callback(), None);
    let b = Client::connect(cfg(false, private([7; 32]).await), logs[1].callback(), None);
    let other = Client::connect(cfg(true, private([8; 32]).await), logs[2].callback(), None);
    let keyless = Client::connect(cfg(true, None), logs[3].callback(), None);
    wait_for("all online", || logs.iter().all(Log::online)).await;

    let photo =
        Rc::new(media::prepare(file("photo.jpg", GPS_JPEG, "image/jpeg"), 30, 1 << 30, None).await);
    let scrubbed = fetch_bytes(photo.media.as_ref().unwrap().url())
        .await
        .unwrap();
    let id = a
        .send("ann", "the secret text".into(), &[photo.to_send().unwrap()])
        .unwrap();
    let text = b.send("bob", "a reply".into(), &[]).unwrap();
    wait_for("the photo at B", || logs[1].completed(id).is_some()).await;
    wait_for("the reply at A", || logs[0].completed(text).is_some()).await;
    let urls = logs[1].media_urls(id);
    assert_eq!(
        fetch_bytes(urls[0].as_deref().unwrap()).await.unwrap(),
        scrubbed,
        "B opened exactly the scrubbed bytes"
    );
    wait_for("A's photo confirmed", || {
        logs[0]
            .position(|x| matches!(x, Action::Sent { id: s } if *s == id))
            .is_some()
    })
    .await;

    let cannot =
        |log: &Log, what: &str| log.count(|x| matches!(x, Action::Notice(n) if n.contains(what)));
    wait_for("another key's notices", || {
        cannot(&logs[2], "cannot read") >= 2
    })
    .await;
    wait_for("no key's notices", || cannot(&logs[3], "cannot read") >= 2).await;
    // Give stragglers a moment: still one notice per message, and nothing shown.
    gloo_timers::future::TimeoutFuture::new(300).await;
    for log in &logs[2..] {
        assert_eq!(cannot(log, "cannot read"), 2);
        assert_eq!(
            log.count(|x| matches!(
                x,
                Action::Started { .. } | Action::Complete { .. } | Action::Failed { .. }
            )),
            0
        );
        assert_eq!(log.count(|x| matches!(x, Action::Notice(_))), 2);
    }
    for c in [a, b, other, keyless] {
        c.close();
    }
}
