//! Sending plans and reassembly: budgets, interleaving, limits, restarts, cancels,
//! expiry, and the framing overhead.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use framechat_wire::{
    Attachment, DEFAULT_FRAME_BUDGET, EncodeError, Event, Frame, Header, Limits, MessageHeader,
    Reassembler, ReassemblyError, TransferKey, Uuid, plan, split_parts, stream_slices, write_frame,
};

fn attachment(name: &str, size: u64) -> Attachment {
    Attachment {
        name: name.into(),
        mime: "application/octet-stream".into(),
        size,
        width: None,
        height: None,
        removed: vec![],
        thumb: None,
    }
}

fn message(from: &str, id: u128, files: Vec<Attachment>) -> MessageHeader {
    MessageHeader {
        id: Uuid::from_u128(id),
        from: from.into(),
        ts: 1_763_766_000_123,
        text: if files.is_empty() {
            "hello".into()
        } else {
            String::new()
        },
        files,
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Encodes every planned frame of `header` over `files`.
fn encode_all(header: &MessageHeader, files: &[&[u8]], budget: usize) -> Vec<Vec<u8>> {
    plan(header, budget)
        .unwrap()
        .into_iter()
        .map(|p| {
            let mut out = Vec::new();
            write_frame(&p.header, &stream_slices(files, p.range), &mut out).unwrap();
            out
        })
        .collect()
}

/// Feeds encoded frames to a reassembler, returning the completed messages'
/// attachments.
fn receive(
    rx: &mut Reassembler<Vec<u8>>,
    frames: &[Vec<u8>],
) -> Vec<(MessageHeader, Vec<Vec<u8>>)> {
    let mut done = Vec::new();
    for bytes in frames {
        let frame = Frame::decode(bytes).unwrap();
        if let Event::Complete { header, parts } =
            rx.push(frame.header, frame.payload.to_vec(), 0).unwrap()
        {
            let lens: Vec<u64> = parts.iter().map(|p| p.len() as u64).collect();
            let files = split_parts(&header.sizes(), &lens)
                .into_iter()
                .map(|spans| {
                    spans
                        .iter()
                        .flat_map(|s| {
                            parts[s.part][s.start as usize..s.end as usize]
                                .iter()
                                .copied()
                        })
                        .collect()
                })
                .collect();
            done.push((header, files));
        }
    }
    done
}

#[test]
fn every_frame_fits_the_budget_and_the_stream_round_trips() {
    let a = pattern(1_000_000, 1);
    let b = pattern(3, 2);
    let c = pattern(600_000, 3);
    let header = message(
        "ann",
        1,
        vec![
            attachment("a", 1_000_000),
            attachment("b", 3),
            attachment("c", 600_000),
        ],
    );
    for budget in [1024, 4096, 65_536, DEFAULT_FRAME_BUDGET, 1 << 20] {
        let frames = encode_all(&header, &[&a, &b, &c], budget);
        assert!(frames.len() > 1);
        for f in &frames {
            assert!(
                f.len() <= budget,
                "frame of {} bytes over budget {budget}",
                f.len()
            );
        }
        // All but the last two frames are filled to the byte (the one before
        // the last may leave room for the last one's flag).
        for f in &frames[..frames.len().saturating_sub(2)] {
            assert_eq!(f.len(), budget, "budget {budget}");
        }
        let mut rx = Reassembler::new(Limits::default());
        let done = receive(&mut rx, &frames);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].0, header);
        assert_eq!(done[0].1, vec![a.clone(), b.clone(), c.clone()]);
        assert_eq!(rx.in_progress(), 0);
        assert_eq!(rx.buffered_bytes(), 0);
    }
}

#[test]
fn small_message_is_one_frame_and_completes_at_once() {
    let header = message("ann", 2, vec![attachment("a", 10)]);
    let frames = encode_all(&header, &[&pattern(10, 0)], DEFAULT_FRAME_BUDGET);
    assert_eq!(frames.len(), 1);
    let mut rx = Reassembler::new(Limits::default());
    assert_eq!(receive(&mut rx, &frames).len(), 1);
    let text = message("ann", 3, vec![]);
    assert_eq!(encode_all(&text, &[], 1024).len(), 1);
}

#[test]
fn interleaved_senders_reassemble_independently() {
    let ann_file = pattern(50_000, 7);
    let bob_file = pattern(30_000, 9);
    let ann = message("ann", 10, vec![attachment("a", 50_000)]);
    let bob = message("bob", 10, vec![attachment("b", 30_000)]); // same id, other sender
    let fa = encode_all(&ann, &[&ann_file], 4096);
    let fb = encode_all(&bob, &[&bob_file], 4096);
    let text = encode_all(&message("cat", 11, vec![]), &[], 4096);
    let mut mixed = Vec::new();
    let (mut ia, mut ib) = (fa.iter(), fb.iter());
    loop {
        let (x, y) = (ia.next(), ib.next());
        if x.is_none() && y.is_none() {
            break;
        }
        mixed.extend(x.cloned());
        mixed.extend(text.iter().take(usize::from(y.is_some())).cloned());
        mixed.extend(y.cloned());
    }
    let mut rx = Reassembler::new(Limits::default());
    let done = receive(&mut rx, &mixed);
    let files: Vec<_> = done.iter().filter(|(h, _)| !h.files.is_empty()).collect();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].0.from, "bob");
    assert_eq!(files[0].1, vec![bob_file]);
    assert_eq!(files[1].0.from, "ann");
    assert_eq!(files[1].1, vec![ann_file]);
}

#[test]
fn progress_events_count_up_to_the_total() {
    let header = message("ann", 4, vec![attachment("a", 10_000)]);
    let frames = encode_all(&header, &[&pattern(10_000, 0)], 2048);
    let mut rx = Reassembler::new(Limits::default());
    let mut seen = Vec::new();
    for bytes in &frames {
        let f = Frame::decode(bytes).unwrap();
        match rx.push(f.header, f.payload.to_vec(), 0).unwrap() {
            Event::Started {
                received, total, ..
            }
            | Event::Progress {
                received, total, ..
            } => {
                assert_eq!(total, 10_000);
                seen.push(received);
            }
            Event::Complete { .. } => seen.push(10_000),
            Event::Cancelled { .. } => panic!("no cancel sent"),
        }
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&10_000));
}

fn key(from: &str, id: u128) -> TransferKey {
    TransferKey {
        from: from.into(),
        id: Uuid::from_u128(id),
    }
}

fn push(rx: &mut Reassembler<Vec<u8>>, bytes: &[u8]) -> Result<Event<Vec<u8>>, ReassemblyError> {
    let f = Frame::decode(bytes).unwrap();
    rx.push(f.header, f.payload.to_vec(), 0)
}

#[test]
fn violations_fail_the_transfer_with_a_typed_error() {
    let header = message("ann", 5, vec![attachment("a", 5000)]);
    let frames = encode_all(&header, &[&pattern(5000, 0)], 1024);
    assert!(frames.len() >= 4);

    // A chunk without its msg frame.
    let mut rx = Reassembler::new(Limits::default());
    assert_eq!(
        push(&mut rx, &frames[1]),
        Err(ReassemblyError::UnknownTransfer(key("ann", 5)))
    );

    // A skipped chunk fails the transfer; later chunks are then unknown.
    let mut rx = Reassembler::new(Limits::default());
    push(&mut rx, &frames[0]).unwrap();
    let err = push(&mut rx, &frames[2]).unwrap_err();
    assert!(
        matches!(err, ReassemblyError::OffsetMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.key(), Some(&key("ann", 5)));
    assert_eq!(rx.in_progress(), 0);
    assert_eq!(rx.buffered_bytes(), 0);
    assert!(matches!(
        push(&mut rx, &frames[3]),
        Err(ReassemblyError::UnknownTransfer(_))
    ));

    // A duplicated chunk.
    let mut rx = Reassembler::new(Limits::default());
    push(&mut rx, &frames[0]).unwrap();
    push(&mut rx, &frames[1]).unwrap();
    assert!(matches!(
        push(&mut rx, &frames[1]),
        Err(ReassemblyError::OffsetMismatch { .. })
    ));

    // A chunk whose total disagrees with the msg header.
    let mut rx = Reassembler::new(Limits::default());
    push(&mut rx, &frames[0]).unwrap();
    let Header::Chunk(mut c) = Frame::decode(&frames[1]).unwrap().header else {
        panic!()
    };
    c.total += 1;
    let err = rx.push(Header::Chunk(c), vec![0; 10], 0).unwrap_err();
    assert!(
        matches!(err, ReassemblyError::TotalMismatch { .. }),
        "{err}"
    );
}

#[test]
fn limits_bound_what_is_held() {
    let limits = Limits {
        max_message_bytes: 10_000,
        max_transfers: 3,
        max_transfers_per_sender: 2,
        max_buffered_bytes: 5_000,
        stale_after_ms: 1_000,
    };
    let big = message("ann", 1, vec![attachment("a", 10_001)]);
    let frames = encode_all(&big, &[&pattern(10_001, 0)], 4096);
    let mut rx = Reassembler::new(limits);
    let err = push(&mut rx, &frames[0]).unwrap_err();
    assert!(
        matches!(
            err,
            ReassemblyError::TooLarge {
                total: 10_001,
                max: 10_000,
                ..
            }
        ),
        "{err}"
    );

    let start = |rx: &mut Reassembler<Vec<u8>>, from: &str, id: u128| {
        let h = message(from, id, vec![attachment("a", 9_000)]);
        let f = encode_all(&h, &[&pattern(9_000, 0)], 1024);
        push(rx, &f[0])
    };
    assert!(matches!(
        start(&mut rx, "ann", 1),
        Ok(Event::Started { .. })
    ));
    assert!(matches!(
        start(&mut rx, "ann", 2),
        Ok(Event::Started { .. })
    ));
    // Per-sender cap.
    assert!(matches!(
        start(&mut rx, "ann", 3),
        Err(ReassemblyError::TooManyTransfers { max: 2, .. })
    ));
    assert!(matches!(
        start(&mut rx, "bob", 1),
        Ok(Event::Started { .. })
    ));
    // Overall cap.
    assert!(matches!(
        start(&mut rx, "cat", 1),
        Err(ReassemblyError::TooManyTransfers { max: 3, .. })
    ));
    assert_eq!(rx.in_progress(), 3);
    assert!(rx.buffered_bytes() <= 5_000);

    // Buffered bytes cap: chunks until it is hit.
    let h = message("bob", 1, vec![attachment("a", 9_000)]);
    let f = encode_all(&h, &[&pattern(9_000, 0)], 1024);
    let mut failed = None;
    for bytes in &f[1..] {
        if let Err(e) = push(&mut rx, bytes) {
            failed = Some(e);
            break;
        }
    }
    assert!(
        matches!(failed, Some(ReassemblyError::BufferFull { max: 5_000, .. })),
        "{failed:?}"
    );
    assert!(rx.buffered_bytes() <= 5_000);
}

#[test]
fn stale_transfers_expire() {
    let mut rx = Reassembler::new(Limits {
        stale_after_ms: 1_000,
        ..Limits::default()
    });
    let h = message("ann", 1, vec![attachment("a", 9_000)]);
    let f = encode_all(&h, &[&pattern(9_000, 0)], 1024);
    let first = Frame::decode(&f[0]).unwrap();
    rx.push(first.header, first.payload.to_vec(), 10_000)
        .unwrap();
    let second = Frame::decode(&f[1]).unwrap();
    rx.push(second.header, second.payload.to_vec(), 10_500)
        .unwrap();
    assert!(
        rx.expire(11_500).is_empty(),
        "1000 ms idle is not stale yet"
    );
    assert_eq!(rx.expire(11_501), vec![key("ann", 1)]);
    assert_eq!(rx.in_progress(), 0);
    assert_eq!(rx.buffered_bytes(), 0);
}

#[test]
fn cancel_and_restart() {
    let h = message("ann", 1, vec![attachment("a", 9_000)]);
    let file = pattern(9_000, 0);
    let f = encode_all(&h, &[&file], 1024);
    let mut rx = Reassembler::new(Limits::default());
    push(&mut rx, &f[0]).unwrap();
    push(&mut rx, &f[1]).unwrap();
    let cancel = Header::Cancel(framechat_wire::CancelHeader {
        id: h.id,
        from: "ann".into(),
    });
    assert_eq!(
        rx.push(cancel, Vec::new(), 0),
        Ok(Event::Cancelled { key: key("ann", 1) })
    );
    assert_eq!(rx.buffered_bytes(), 0);

    // Interrupted after two frames, then resent whole: one complete message.
    push(&mut rx, &f[0]).unwrap();
    push(&mut rx, &f[1]).unwrap();
    let done = receive(&mut rx, &f);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1, vec![file]);
}

#[test]
fn bad_budgets_and_oversized_headers_are_refused() {
    let h = message("ann", 1, vec![attachment("a", 10)]);
    assert!(matches!(plan(&h, 1023), Err(EncodeError::BadBudget { .. })));
    assert!(matches!(
        plan(&h, 17 << 20),
        Err(EncodeError::BadBudget { .. })
    ));
    let mut long = message("ann", 1, vec![attachment("a", 10)]);
    long.text = "x".repeat(2000);
    assert!(matches!(
        plan(&long, 1024),
        Err(EncodeError::HeaderExceedsBudget { .. })
    ));
}

/// Framing overhead for a 4 MB photo at the default budget: every byte that is
/// not payload, over all frames. The goal is at most 0.05 % (base64: 33.3 %).
#[test]
fn overhead_of_a_4_mb_image_is_under_half_a_per_mille() {
    let size: u64 = 4_000_000;
    let mut file = attachment("IMG_20261121_184512.jpg", size);
    file.mime = "image/jpeg".into();
    file.width = Some(4000);
    file.height = Some(3000);
    file.removed = vec![
        "location".into(),
        "device".into(),
        "date_time".into(),
        "thumbnail".into(),
    ];
    let header = MessageHeader {
        id: Uuid::parse_str("019aa4c2-5e31-7b0c-8d2f-3a4b5c6d7e8f").unwrap(),
        from: "Alexandra".into(),
        ts: 1_763_766_000_123,
        text: String::new(),
        files: vec![file],
    };
    let planned = plan(&header, DEFAULT_FRAME_BUDGET).unwrap();
    let mut wire_bytes: u64 = 0;
    for p in &planned {
        wire_bytes += (3 + framechat_wire::header_len(&p.header).unwrap()) as u64
            + (p.range.end - p.range.start);
    }
    let overhead = wire_bytes - size;
    let ratio = overhead as f64 / size as f64;
    println!(
        "4 MB image: {} frames, {overhead} framing bytes, {:.4} % of the payload (base64 would add {} bytes, 33.3 %)",
        planned.len(),
        ratio * 100.0,
        size.div_ceil(3) * 4 - size
    );
    assert!(
        ratio <= 0.0005,
        "overhead {overhead} bytes = {:.4} %",
        ratio * 100.0
    );
}
