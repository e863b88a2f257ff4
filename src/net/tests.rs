//! Native tests of the outbox and inbox logic, through [`Exchange`] with a sink that records
//! the frames it is handed (real frames, built by the wire crate) and buffers them until the
//! test lets them drain.

use std::collections::HashSet;

use framechat_wire::{
    Attachment, CancelHeader, Frame, Header, Limits, MessageHeader, PlannedFrame, Uuid, plan,
    write_frame,
};

use super::outbox::{OutMsg, Pump, RESUME_GRACE_MS, Sink};
use super::pacing::WATERMARK;
use super::{Exchange, Inbox};
use crate::error::AppError;
use crate::state::{Action, Media};

const BUDGET: usize = 64 * 1024;

/// Hands frames over, as bytes, and holds them as "buffered" until [`Recorder::drain`].
#[derive(Default)]
struct Recorder {
    frames: Vec<Vec<u8>>,
    buffered: u32,
}

impl Recorder {
    fn drain(&mut self) {
        self.buffered = 0;
    }

    /// (kind, id, offset) of every frame handed over, in order.
    fn log(&self) -> Vec<(&'static str, Uuid, u64)> {
        self.frames
            .iter()
            .map(|f| match Frame::decode(f).expect("a valid frame").header {
                Header::Msg(m) => ("msg", m.id, 0),
                Header::Chunk(c) => ("chunk", c.id, c.offset),
                Header::Cancel(c) => ("cancel", c.id, 0),
            })
            .collect()
    }

    fn record(&mut self, bytes: Vec<u8>) -> u64 {
        let len = bytes.len() as u64;
        self.buffered += len as u32;
        self.frames.push(bytes);
        len
    }
}

impl Sink<Vec<u8>> for Recorder {
    fn buffered(&self) -> u32 {
        self.buffered
    }

    fn send_frame(
        &mut self,
        frame: &PlannedFrame,
        bodies: &[Vec<u8>],
        _sizes: &[u64],
    ) -> Result<u64, AppError> {
        let stream: Vec<u8> = bodies.concat();
        let payload = &stream[frame.range.start as usize..frame.range.end as usize];
        let mut bytes = Vec::new();
        write_frame(&frame.header, &[payload], &mut bytes)?;
        Ok(self.record(bytes))
    }

    fn send_cancel(&mut self, cancel: &CancelHeader) -> Result<u64, AppError> {
        let mut bytes = Vec::new();
        write_frame(&Header::Cancel(cancel.clone()), &[], &mut bytes)?;
        Ok(self.record(bytes))
    }
}

fn no_media(files: &[Attachment], _parts: &[Vec<u8>]) -> Vec<Option<Media>> {
    vec![None; files.len()]
}

fn exchange() -> Exchange<Vec<u8>, Vec<u8>> {
    Exchange::new(Inbox::new(Limits::default(), HashSet::new(), no_media))
}

fn header(n: u128, from: &str, text: &str, sizes: &[usize]) -> MessageHeader {
    MessageHeader {
        id: Uuid::from_u128(n),
        from: from.into(),
        ts: 0,
        text: text.into(),
        files: sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| Attachment {
                name: format!("{i}.bin"),
                mime: "application/octet-stream".into(),
                size: size as u64,
                width: None,
                height: None,
                removed: vec![],
                thumb: None,
            })
            .collect(),
    }
}

/// An own message of one attachment of `size` bytes (or a text, for 0), planned at `BUDGET`.
fn message(n: u128, size: usize) -> (MessageHeader, OutMsg<Vec<u8>>) {
    let sizes: &[usize] = if size == 0 { &[] } else { &[size] };
    let h = header(n, "ann", &format!("message {n}"), sizes);
    let frames = plan(&h, BUDGET).unwrap();
    let bodies = sizes
        .iter()
        .map(|&s| ((0..s).map(|i| (i % 251) as u8).collect(), s as u64))
        .collect();
    (
        h,
        OutMsg::new(Uuid::from_u128(n), "ann".into(), frames, bodies),
    )
}

/// Frames of someone else's message, as a relay would deliver them.
fn incoming(n: u128, size: usize) -> Vec<Vec<u8>> {
    let h = header(n, "bob", "hello", &[size]);
    let stream: Vec<u8> = (0..size).map(|i| (i % 13) as u8).collect();
    plan(&h, BUDGET)
        .unwrap()
        .iter()
        .map(|f| {
            let mut out = Vec::new();
            let payload = &stream[f.range.start as usize..f.range.end as usize];
            write_frame(&f.header, &[payload], &mut out).unwrap();
            out
        })
        .collect()
}

fn deliver(x: &mut Exchange<Vec<u8>, Vec<u8>>, frame: &[u8], actions: &mut Vec<Action>) {
    let d = Frame::decode(frame).unwrap();
    x.on_frame(d.header, d.payload.to_vec(), 0, actions);
}

fn pump(x: &mut Exchange<Vec<u8>, Vec<u8>>, sink: &mut Recorder, now: u64) -> Vec<Action> {
    let mut actions = Vec::new();
    x.outbox.pump(sink, now, now as f64, &mut actions);
    actions
}

fn count(actions: &[Action], f: impl Fn(&Action) -> bool) -> usize {
    actions.iter().filter(|a| f(a)).count()
}

#[test]
fn text_jumps_ahead_of_a_transfer_waiting_on_the_buffer() {
    let mut x = exchange();
    let mut sink = Recorder::default();
    let (_, file) = message(1, 3 << 20);
    x.outbox.push(file);
    let actions = pump(&mut x, &mut sink, 0);
    let handed = sink.frames.len();
    // The buffer holds about the allowance, not the whole 3 MiB.
    assert!(sink.buffered >= WATERMARK && sink.buffered < WATERMARK + BUDGET as u32);
    assert!(handed < 48, "{handed} frames handed at once");
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::SendProgress {
            all_handed: false,
            ..
        }
    )));

    let (_, text) = message(2, 0);
    x.outbox.push(text);
    pump(&mut x, &mut sink, 1);
    assert_eq!(
        sink.log().get(handed),
        Some(&("msg", Uuid::from_u128(2), 0)),
        "the text goes next, before the transfer's next chunk"
    );
    // Draining lets the transfer finish, in order, then confirms both once drained.
    let mut now = 2;
    let mut actions = Vec::new();
    while x.outbox.pump(&mut sink, now, now as f64, &mut actions) != Pump::Idle {
        sink.drain();
        now += 5;
    }
    let offsets: Vec<u64> = sink
        .log()
        .iter()
        .filter(|(_, id, _)| *id == Uuid::from_u128(1))
        .map(|f| f.2)
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "chunks in order");
    let sent: Vec<Uuid> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Sent { id } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(x.outbox.take_confirmed().len(), 2);
}

#[test]
fn a_reconnect_resends_what_was_not_confirmed_in_order_from_the_first_frame() {
    let mut x = exchange();
    let mut sink = Recorder::default();
    let (_, t1) = message(1, 0);
    let (_, file) = message(2, 2 << 20);
    let (_, queued) = message(3, 1 << 20);
    x.outbox.push(t1);
    x.outbox.push(file);
    x.outbox.push(queued);
    pump(&mut x, &mut sink, 0);
    let first = sink.log();
    assert_eq!(first[0], ("msg", Uuid::from_u128(1), 0));
    assert_eq!(first[1], ("msg", Uuid::from_u128(2), 0));
    assert!(
        first.iter().all(|f| f.1 != Uuid::from_u128(3)),
        "the second file waits behind the first"
    );

    // The connection is lost half-way through the first file.
    let mut actions = Vec::new();
    x.outbox.requeue(&mut actions);
    let requeued: Vec<Uuid> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Requeued { id } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(
        requeued,
        [1, 2, 3].map(Uuid::from_u128),
        "everything unconfirmed waits again, in order"
    );

    // Back: nothing goes during the grace period, then all of it, from the first frame.
    let mut again = Recorder::default();
    x.outbox.reconnected(1_000);
    let mut actions = Vec::new();
    let wait = x.outbox.pump(&mut again, 1_000, 1_000.0, &mut actions);
    assert_eq!(wait, Pump::RetryIn(RESUME_GRACE_MS as u32));
    assert!(again.frames.is_empty());
    let mut now = 1_000 + RESUME_GRACE_MS;
    while x.outbox.pump(&mut again, now, now as f64, &mut actions) != Pump::Idle {
        again.drain();
        now += 5;
    }
    let log = again.log();
    let msgs: Vec<Uuid> = log.iter().filter(|f| f.0 == "msg").map(|f| f.1).collect();
    assert_eq!(msgs, [1, 2, 3].map(Uuid::from_u128), "same ids, same order");
    let file_frames: Vec<u64> = log
        .iter()
        .filter(|f| f.1 == Uuid::from_u128(2))
        .map(|f| f.2)
        .collect();
    assert_eq!(
        file_frames[0], 0,
        "the half-sent file restarts from its msg frame"
    );
    assert_eq!(
        file_frames.len(),
        plan_len(2 << 20),
        "and is sent whole, once"
    );
    assert_eq!(count(&actions, |a| matches!(a, Action::Sent { .. })), 3);
}

fn plan_len(size: usize) -> usize {
    plan(&header(0, "ann", "message 2", &[size]), BUDGET)
        .unwrap()
        .len()
}

#[test]
fn cancel_before_during_and_after_the_last_frame_is_handed_over() {
    let mut x = exchange();
    let mut sink = Recorder::default();
    let (_, a) = message(1, 3 << 20);
    let (_, b) = message(2, 1 << 20);
    x.outbox.push(a);
    x.outbox.push(b);
    pump(&mut x, &mut sink, 0);

    // Not started yet: cancelled without a word to the room.
    let mut actions = Vec::new();
    assert!(x.outbox.cancel(Uuid::from_u128(2), &mut actions));
    assert!(matches!(actions[..], [Action::Cancelled { id }] if id == Uuid::from_u128(2)));

    // Half-way: cancelled, and receivers that saw part of it are told.
    let mut actions = Vec::new();
    assert!(x.outbox.cancel(Uuid::from_u128(1), &mut actions));
    assert!(matches!(actions[..], [Action::Cancelled { id }] if id == Uuid::from_u128(1)));
    let before = sink.frames.len();
    sink.drain();
    pump(&mut x, &mut sink, 1);
    assert_eq!(
        sink.log()[before..],
        [("cancel", Uuid::from_u128(1), 0)],
        "one cancel frame, and no more of either message"
    );

    // Every frame with the socket: too late, said so, nothing sent.
    let (_, c) = message(3, 100_000);
    x.outbox.push(c);
    pump(&mut x, &mut sink, 2);
    let before = sink.frames.len();
    let mut actions = Vec::new();
    assert!(!x.outbox.cancel(Uuid::from_u128(3), &mut actions));
    assert!(
        matches!(&actions[..], [Action::Notice(n)] if n.starts_with("too late to cancel")),
        "{actions:?}"
    );
    sink.drain();
    let actions = pump(&mut x, &mut sink, 3);
    assert_eq!(sink.frames.len(), before);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Sent { id } if *id == Uuid::from_u128(3)))
    );
}

#[test]
fn own_echoes_confirm_once_and_never_show_as_received() {
    let mut x = exchange();
    let mut sink = Recorder::default();
    let (_, file) = message(1, 200_000);
    x.outbox.push(file);
    pump(&mut x, &mut sink, 0);
    // The relay echoes every frame; the socket has not drained yet.
    let mut actions = Vec::new();
    for frame in sink.frames.clone() {
        deliver(&mut x, &frame, &mut actions);
    }
    assert_eq!(
        count(&actions, |a| matches!(a, Action::Sent { .. })),
        1,
        "the last chunk's echo confirms: {actions:?}"
    );
    assert_eq!(
        count(&actions, |a| matches!(
            a,
            Action::Started { .. } | Action::Complete { .. } | Action::Notice(_)
        )),
        0
    );
    // The echo again (a history replay): nothing.
    let mut again = Vec::new();
    for frame in sink.frames.clone() {
        deliver(&mut x, &frame, &mut again);
    }
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn history_replays_and_resends_of_incoming_messages_show_once() {
    let mut x = exchange();
    let frames = incoming(7, 300_000);
    let mut actions = Vec::new();
    // Half of it, then the sender reconnects and resends from the start.
    for f in &frames[..2] {
        deliver(&mut x, f, &mut actions);
    }
    for f in &frames {
        deliver(&mut x, f, &mut actions);
    }
    // Then the relay's history replays it whole, twice.
    for _ in 0..2 {
        for f in &frames {
            deliver(&mut x, f, &mut actions);
        }
    }
    assert_eq!(count(&actions, |a| matches!(a, Action::Complete { .. })), 1);
    assert_eq!(count(&actions, |a| matches!(a, Action::Failed { .. })), 0);
    assert_eq!(count(&actions, |a| matches!(a, Action::Notice(_))), 0);
    let text = incoming(8, 10);
    let mut actions = Vec::new();
    deliver(&mut x, &text[0], &mut actions);
    deliver(&mut x, &text[0], &mut actions);
    assert_eq!(count(&actions, |a| matches!(a, Action::Complete { .. })), 1);
}

#[test]
fn stray_chunks_give_one_notice_per_message() {
    let mut x = exchange();
    let frames = incoming(9, 400_000);
    let mut actions = Vec::new();
    for f in &frames[1..] {
        deliver(&mut x, f, &mut actions);
    }
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert!(matches!(&actions[0], Action::Notice(n) if n.contains("bob")));
}

#[test]
fn a_frame_that_cannot_be_sent_fails_its_message_and_the_queue_goes_on() {
    struct Refusing(Recorder);
    impl Sink<Vec<u8>> for Refusing {
        fn buffered(&self) -> u32 {
            self.0.buffered
        }
        fn send_frame(
            &mut self,
            frame: &PlannedFrame,
            bodies: &[Vec<u8>],
            sizes: &[u64],
        ) -> Result<u64, AppError> {
            if frame.header.id() == Uuid::from_u128(1) {
                return Err(AppError::NotOpen);
            }
            self.0.send_frame(frame, bodies, sizes)
        }
        fn send_cancel(&mut self, cancel: &CancelHeader) -> Result<u64, AppError> {
            self.0.send_cancel(cancel)
        }
    }
    let mut x = exchange();
    let mut sink = Refusing(Recorder::default());
    x.outbox.push(message(1, 100_000).1);
    x.outbox.push(message(2, 0).1);
    let mut actions = Vec::new();
    x.outbox.pump(&mut sink, 0, 0.0, &mut actions);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Failed { id, .. } if *id == Uuid::from_u128(1)))
    );
    assert_eq!(sink.0.log(), [("msg", Uuid::from_u128(2), 0)]);
}

/// Pumps and drains until the outbox has handed everything over.
fn pump_all(x: &mut Exchange<Vec<u8>, Vec<u8>>, sink: &mut Recorder) -> Vec<Action> {
    let mut actions = Vec::new();
    for _ in 0..20 {
        actions.extend(pump(x, sink, 0));
        sink.drain();
    }
    actions
}

/// The frames `sink` was handed of message `n`.
fn frames_of(sink: &Recorder, n: u128) -> Vec<Vec<u8>> {
    let log = sink.log();
    let of_n = |(i, _): &(usize, &Vec<u8>)| log.get(*i).is_some_and(|l| l.1 == Uuid::from_u128(n));
    sink.frames
        .iter()
        .enumerate()
        .filter(of_n)
        .map(|(_, f)| f.clone())
        .collect()
}

#[test]
fn delivery_is_the_relays_echo_or_position_not_a_drained_buffer() {
    let mut x = exchange();
    let mut sink = Recorder::default();
    for (n, size) in [(1, 0), (2, 0), (3, 200_000)] {
        x.outbox.push(message(n, size).1);
    }
    let actions = pump_all(&mut x, &mut sink);
    assert_eq!(count(&actions, |a| matches!(a, Action::Sent { .. })), 3);
    assert_eq!(
        x.outbox.take_delivered(),
        Vec::<Uuid>::new(),
        "a drained buffer is no delivery"
    );
    // The echo of 2 (its one frame), and of every frame of 3 but the last: 2 only.
    let mut actions = Vec::new();
    deliver(&mut x, &frames_of(&sink, 2)[0], &mut actions);
    let three = frames_of(&sink, 3);
    for frame in &three[..three.len() - 1] {
        deliver(&mut x, frame, &mut actions);
    }
    assert_eq!(x.outbox.take_delivered(), [Uuid::from_u128(2)]);
    // Positions of messages whose echo this page did not see: the oldest handed over first.
    x.outbox.on_pos();
    assert_eq!(x.outbox.take_delivered(), [Uuid::from_u128(1)]);
    x.outbox.on_pos();
    assert_eq!(x.outbox.take_delivered(), [Uuid::from_u128(3)]);
    x.outbox.on_pos();
    assert_eq!(
        x.outbox.take_delivered(),
        Vec::<Uuid>::new(),
        "someone else's message's position"
    );
}

#[test]
fn a_link_without_echoes_or_positions_delivers_when_drained() {
    let mut x = exchange();
    x.outbox.drain_delivers = true;
    let mut sink = Recorder::default();
    x.outbox.push(message(1, 0).1);
    pump(&mut x, &mut sink, 0);
    assert_eq!(
        x.outbox.take_delivered(),
        Vec::<Uuid>::new(),
        "still in the socket's buffer"
    );
    sink.drain();
    pump(&mut x, &mut sink, 0);
    assert_eq!(x.outbox.take_delivered(), [Uuid::from_u128(1)]);
}

#[test]
fn positions_of_a_lost_connection_deliver_nothing_and_a_replayed_pending_message_is_not_sent_again()
{
    let mut x = exchange();
    let mut sink = Recorder::default();
    x.outbox.push(message(1, 0).1);
    pump(&mut x, &mut sink, 0);
    x.outbox.requeue(&mut Vec::new());
    x.outbox.on_pos();
    assert_eq!(
        x.outbox.take_delivered(),
        Vec::<Uuid>::new(),
        "a position on the next connection"
    );

    // After a reload, a pending message queued again (not sent yet) that the relay already
    // had: its replay delivers it, and it does not go out twice.
    let mut y = exchange();
    y.outbox.push(message(1, 0).1);
    let mut actions = Vec::new();
    deliver(&mut y, &sink.frames[0], &mut actions);
    assert_eq!(y.outbox.take_delivered(), [Uuid::from_u128(1)]);
    assert_eq!(count(&actions, |a| matches!(a, Action::Sent { .. })), 1);
    let mut again = Recorder::default();
    pump_all(&mut y, &mut again);
    assert!(again.frames.is_empty(), "sent again: {:?}", again.log());
}

#[test]
fn a_lost_connection_resends_what_drained_but_was_never_delivered_in_order() {
    let mut x = exchange();
    let mut sink = Recorder::default();
    for (n, size) in [(1, 0), (2, 200_000), (3, 0)] {
        x.outbox.push(message(n, size).1);
    }
    let actions = pump_all(&mut x, &mut sink);
    assert_eq!(count(&actions, |a| matches!(a, Action::Sent { .. })), 3);
    // The relay echoed 3 only, then went down (1 and 2 were in its socket).
    let mut actions = Vec::new();
    deliver(&mut x, &frames_of(&sink, 3)[0], &mut actions);
    assert_eq!(x.outbox.take_delivered(), [Uuid::from_u128(3)]);

    let mut actions = Vec::new();
    x.outbox.requeue(&mut actions);
    assert_eq!(
        count(&actions, |a| matches!(a, Action::Requeued { .. })),
        2,
        "{actions:?}"
    );
    let mut again = Recorder::default();
    pump_all(&mut x, &mut again);
    let ids: Vec<Uuid> = again.log().iter().map(|l| l.1).collect();
    let mut order = ids.clone();
    order.dedup();
    assert_eq!(
        order,
        [Uuid::from_u128(1), Uuid::from_u128(2)],
        "{:?}",
        again.log()
    );
    assert_eq!(again.frames.len(), 1 + frames_of(&sink, 2).len());

    // Delivered now (their echoes): a further lost connection re-sends nothing.
    let mut actions = Vec::new();
    deliver(&mut x, &frames_of(&again, 1)[0], &mut actions);
    let last = frames_of(&again, 2).pop().expect("frames of 2");
    deliver(&mut x, &last, &mut actions);
    x.outbox.requeue(&mut Vec::new());
    let mut third = Recorder::default();
    pump_all(&mut x, &mut third);
    assert!(third.frames.is_empty(), "sent again: {:?}", third.log());

    // A link whose drained buffer is delivery keeps nothing to re-send.
    let mut y = exchange();
    y.outbox.drain_delivers = true;
    let mut sink = Recorder::default();
    y.outbox.push(message(1, 0).1);
    pump_all(&mut y, &mut sink);
    y.outbox.requeue(&mut Vec::new());
    let mut again = Recorder::default();
    pump_all(&mut y, &mut again);
    assert!(again.frames.is_empty(), "sent again: {:?}", again.log());
}
