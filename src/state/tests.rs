//! Reducer tests: every action on its own, in batches, and the bounds of the list.

use super::*;
use std::cell::Cell;

fn id(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn att(name: &str, size: u64) -> Attachment {
    Attachment {
        name: name.into(),
        mime: "image/jpeg".into(),
        size,
        width: Some(4),
        height: Some(3),
        removed: vec!["location".into()],
        thumb: None,
    }
}

fn header(n: u8, files: Vec<Attachment>) -> MessageHeader {
    MessageHeader {
        id: id(n),
        from: "ann".into(),
        ts: 1_700_000_000_000,
        text: format!("m{n}"),
        files,
    }
}

/// Media whose owner counts drops, standing in for an ObjectUrl.
struct Counted(Rc<Cell<u32>>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

fn media(n: u32, drops: &Rc<Cell<u32>>) -> Media {
    Media::new(
        format!("blob:test/{n}"),
        true,
        Rc::new(Counted(drops.clone())),
    )
}

fn reduce(state: Rc<ChatState>, action: Action) -> Rc<ChatState> {
    state.reduce(action)
}

#[test]
fn coalesce_keeps_the_last_progress_per_message_and_the_order_of_the_rest() {
    let actions = vec![
        Action::SendProgress {
            id: id(1),
            sent: 1,
            total: 9,
            all_handed: false,
        },
        Action::Progress {
            id: id(1),
            received: 2,
            total: 9,
        },
        Action::SendProgress {
            id: id(2),
            sent: 5,
            total: 9,
            all_handed: false,
        },
        Action::Notice("n".into()),
        Action::SendProgress {
            id: id(1),
            sent: 3,
            total: 9,
            all_handed: false,
        },
        Action::Sent { id: id(2) },
        Action::SendProgress {
            id: id(1),
            sent: 9,
            total: 9,
            all_handed: true,
        },
    ];
    let Some(Action::Batch(kept)) = coalesce(actions) else {
        panic!("a batch");
    };
    let shape: Vec<String> = kept
        .iter()
        .map(|a| match a {
            Action::SendProgress { id, sent, .. } => {
                format!("send {} {sent}", id.as_bytes()[0])
            }
            Action::Progress { id, received, .. } => {
                format!("recv {} {received}", id.as_bytes()[0])
            }
            Action::Notice(n) => format!("notice {n}"),
            Action::Sent { id } => format!("sent {}", id.as_bytes()[0]),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shape,
        ["recv 1 2", "send 2 5", "notice n", "sent 2", "send 1 9"]
    );
    assert!(coalesce(Vec::new()).is_none());
    assert!(matches!(
        coalesce(vec![Action::Sent { id: id(3) }]),
        Some(Action::Sent { .. })
    ));
}

#[test]
fn a_batch_is_the_same_as_its_actions_one_by_one() {
    let actions = || {
        vec![
            Action::Local {
                header: header(1, vec![att("a.jpg", 10)]),
                media: vec![None],
                queued: false,
            },
            Action::SendProgress {
                id: id(1),
                sent: 4,
                total: 10,
                all_handed: false,
            },
            Action::Complete {
                header: header(2, vec![]),
                media: vec![],
            },
            Action::SendProgress {
                id: id(1),
                sent: 10,
                total: 10,
                all_handed: true,
            },
            Action::Sent { id: id(1) },
        ]
    };
    let mut one_by_one = ChatState::default();
    for a in actions() {
        one_by_one.apply(a);
    }
    let mut batched = ChatState::default();
    batched.apply(Action::Batch(actions()));
    let view = |s: &ChatState| -> Vec<String> {
        s.messages()
            .map(|m| format!("{:?} {:?}", m.id, m.status))
            .collect()
    };
    assert_eq!(view(&batched), view(&one_by_one));
    assert_eq!(batched.messages().count(), 2);
}

#[test]
fn text_message_arrives_once_even_when_repeated() {
    let mut s = ChatState::default();
    s.apply(Action::Complete {
        header: header(1, vec![]),
        media: vec![],
    });
    s.apply(Action::Complete {
        header: header(1, vec![]),
        media: vec![],
    });
    assert_eq!(s.messages().count(), 1);
    assert_eq!(
        s.message(id(1)).map(|m| m.status.clone()),
        Some(Status::Received)
    );
}

#[test]
fn own_echo_does_not_duplicate_or_overwrite() {
    let mut s = ChatState::default();
    s.apply(Action::Local {
        header: header(1, vec![]),
        media: vec![],
        queued: false,
    });
    s.apply(Action::Complete {
        header: header(1, vec![]),
        media: vec![],
    });
    s.apply(Action::Started {
        header: header(1, vec![att("a.jpg", 10)]),
        received: 1,
        total: 10,
    });
    assert_eq!(s.messages().count(), 1);
    let m = s.message(id(1)).cloned();
    assert!(m.as_ref().is_some_and(|m| m.mine));
    assert_eq!(
        m.map(|m| m.status),
        Some(Status::Sending {
            sent: 0,
            total: 0,
            cancellable: true
        })
    );
}

#[test]
fn chunked_message_progresses_then_completes() {
    let drops = Rc::new(Cell::new(0));
    let mut s = ChatState::default();
    let h = header(2, vec![att("a.jpg", 100), att("b.jpg", 50)]);
    s.apply(Action::Started {
        header: h.clone(),
        received: 40,
        total: 150,
    });
    s.apply(Action::Progress {
        id: id(2),
        received: 120,
        total: 150,
    });
    let m = s.message(id(2)).cloned();
    assert_eq!(
        m.as_ref().and_then(|m| m.file_progress(0)),
        Some((100, 100))
    );
    assert_eq!(m.as_ref().and_then(|m| m.file_progress(1)), Some((20, 50)));
    s.apply(Action::Complete {
        header: h,
        media: vec![Some(media(1, &drops)), Some(media(2, &drops))],
    });
    let m = s.message(id(2)).cloned();
    assert_eq!(m.as_ref().map(|m| m.status.clone()), Some(Status::Received));
    assert_eq!(s.live_media(), 2);
    assert_eq!(s.messages().count(), 1);
}

#[test]
fn each_frame_is_its_own_action_and_neighbours_survive() {
    let mut s = ChatState::default();
    s.apply(Action::Started {
        header: header(1, vec![att("a", 10)]),
        received: 0,
        total: 10,
    });
    s.apply(Action::Complete {
        header: header(2, vec![]),
        media: vec![],
    });
    s.apply(Action::Notice("a frame could not be decoded".into()));
    s.apply(Action::Progress {
        id: id(1),
        received: 5,
        total: 10,
    });
    assert_eq!(s.entries.len(), 3);
    assert_eq!(s.message(id(2)).map(|m| m.text.as_str()), Some("m2"));
    assert_eq!(
        s.message(id(1)).map(|m| m.status.clone()),
        Some(Status::Receiving {
            received: 5,
            total: 10
        })
    );
}

#[test]
fn restart_after_reconnect_resets_progress_without_duplicate() {
    let mut s = ChatState::default();
    let h = header(3, vec![att("a", 10)]);
    s.apply(Action::Started {
        header: h.clone(),
        received: 0,
        total: 10,
    });
    s.apply(Action::Progress {
        id: id(3),
        received: 8,
        total: 10,
    });
    s.apply(Action::Started {
        header: h,
        received: 2,
        total: 10,
    });
    assert_eq!(s.messages().count(), 1);
    assert_eq!(
        s.message(id(3)).map(|m| m.status.clone()),
        Some(Status::Receiving {
            received: 2,
            total: 10
        })
    );
}

#[test]
fn failure_and_cancel_mark_only_that_message() {
    let mut s = ChatState::default();
    s.apply(Action::Started {
        header: header(1, vec![att("a", 10)]),
        received: 0,
        total: 10,
    });
    s.apply(Action::Started {
        header: header(2, vec![att("b", 10)]),
        received: 0,
        total: 10,
    });
    s.apply(Action::Complete {
        header: header(3, vec![]),
        media: vec![],
    });
    s.apply(Action::Failed {
        id: id(1),
        reason: "stalled".into(),
    });
    s.apply(Action::Cancelled { id: id(2) });
    s.apply(Action::Failed {
        id: id(3),
        reason: "late".into(),
    });
    assert_eq!(
        s.message(id(1)).map(|m| m.status.clone()),
        Some(Status::Failed("stalled".into()))
    );
    assert_eq!(
        s.message(id(2)).map(|m| m.status.clone()),
        Some(Status::Failed("cancelled by the sender".into()))
    );
    assert_eq!(
        s.message(id(3)).map(|m| m.status.clone()),
        Some(Status::Received)
    );
}

#[test]
fn own_message_lifecycle() {
    let mut s = ChatState::default();
    s.apply(Action::Local {
        header: header(1, vec![att("a", 100)]),
        media: vec![None],
        queued: true,
    });
    assert_eq!(
        s.message(id(1)).map(|m| m.status.clone()),
        Some(Status::Queued)
    );
    s.apply(Action::SendProgress {
        id: id(1),
        sent: 60,
        total: 100,
        all_handed: false,
    });
    s.apply(Action::Requeued { id: id(1) });
    assert_eq!(
        s.message(id(1)).map(|m| m.status.clone()),
        Some(Status::Queued)
    );
    s.apply(Action::SendProgress {
        id: id(1),
        sent: 40,
        total: 100,
        all_handed: false,
    });
    assert_eq!(
        s.message(id(1)).map(|m| m.status.clone()),
        Some(Status::Sending {
            sent: 40,
            total: 100,
            cancellable: true
        })
    );
    // Every frame with the socket, the rest of it still in its buffer: sending, for good.
    s.apply(Action::SendProgress {
        id: id(1),
        sent: 70,
        total: 100,
        all_handed: true,
    });
    assert_eq!(
        s.message(id(1)).map(|m| m.status.clone()),
        Some(Status::Sending {
            sent: 70,
            total: 100,
            cancellable: false
        })
    );
    s.apply(Action::SendProgress {
        id: id(1),
        sent: 100,
        total: 100,
        all_handed: true,
    });
    s.apply(Action::Sent { id: id(1) });
    s.apply(Action::Cancelled { id: id(1) });
    assert_eq!(
        s.message(id(1)).map(|m| m.status.clone()),
        Some(Status::Sent)
    );
}

#[test]
fn own_cancel_while_sending() {
    let mut s = ChatState::default();
    s.apply(Action::Local {
        header: header(1, vec![att("a", 100)]),
        media: vec![None],
        queued: false,
    });
    s.apply(Action::SendProgress {
        id: id(1),
        sent: 30,
        total: 100,
        all_handed: false,
    });
    s.apply(Action::Cancelled { id: id(1) });
    s.apply(Action::Sent { id: id(1) });
    assert_eq!(
        s.message(id(1)).map(|m| m.status.clone()),
        Some(Status::Cancelled)
    );
}

#[test]
fn list_is_bounded_and_evicted_media_is_released() {
    let drops = Rc::new(Cell::new(0));
    let mut state = Rc::new(ChatState::new(10, 4));
    for n in 0..30u8 {
        let h = header(n, vec![att("a.jpg", 1)]);
        state = reduce(
            state,
            Action::Complete {
                header: h,
                media: vec![Some(media(u32::from(n), &drops))],
            },
        );
    }
    assert_eq!(state.messages().count(), 10);
    assert_eq!(state.live_media(), 4);
    // 30 created, 4 alive: the other 26 owners were dropped (their URLs revoked).
    assert_eq!(drops.get(), 26);
    let newest: Vec<bool> = state
        .messages()
        .map(|m| m.files.iter().all(|f| f.media.is_some()))
        .collect();
    assert_eq!(
        newest,
        [
            false, false, false, false, false, false, true, true, true, true
        ]
    );
    assert!(
        state
            .messages()
            .take(6)
            .all(|m| m.files.iter().all(|f| f.evicted))
    );
    drop(state);
    assert_eq!(drops.get(), 30);
}

#[test]
fn notices_are_bounded_too() {
    let mut s = ChatState::new(5, 5);
    for n in 0..8 {
        s.apply(Action::Notice(format!("bad frame {n}")));
    }
    assert_eq!(s.entries.len(), 5);
    assert!(matches!(s.entries.first(), Some(Entry::Notice { text, .. }) if text == "bad frame 3"));
}

#[test]
fn conn_badge() {
    let mut s = ChatState::default();
    assert_eq!(s.conn.label(), "connecting");
    s.apply(Action::Conn(Conn::Reconnecting { attempt: 2 }));
    assert_eq!(s.conn.label(), "reconnecting");
}

#[test]
fn helpers() {
    assert_eq!(human_size(812), "812 B");
    assert_eq!(human_size(4300), "4.2 KB");
    assert_eq!(human_size(12_500_000), "12 MB");
    assert_eq!(human_size(50 * 1024 * 1024), "50 MB");
    assert_eq!(human_size(1024), "1.0 KB");
    assert_eq!(human_size(1024 * 1024 - 1), "1024 KB");
    assert_eq!(human_size(10 * 1024 - 1), "10.0 KB");
    assert_eq!(human_size(10 * 1024), "10 KB");
    assert_eq!(human_size(1023 * 1024 * 1024 * 1024 * 1024), "1023 TB");
    assert_eq!(human_size(u64::MAX), "16777216 TB");
    assert_eq!(clock(0, 0), "00:00");
    assert_eq!(clock(3_600_000 * 13 + 60_000 * 5, 60), "14:05");
    assert_eq!(clock(0, -30), "23:30");
    assert_eq!(
        category_label("device"),
        "camera make, model and serial number"
    );
    assert_eq!(category_label("no-such-code"), "other metadata");
    let codes = [
        "location".to_string(),
        "other".to_string(),
        "xmp".to_string(),
        "other".to_string(),
    ];
    assert_eq!(
        removed_labels(&codes),
        ["location", "other metadata", "XMP metadata"]
    );
    assert_eq!(file_tag("report.pdf"), "PDF");
    assert_eq!(file_tag("archive.tar.gz"), "GZ");
    assert_eq!(file_tag("README"), "FILE");
    assert_eq!(fit_field("  ann\u{7}  ", 64, "x"), "ann");
    assert_eq!(fit_field("ééé", 5, "x"), "éé");
    assert_eq!(fit_field("\n", 5, "x"), "x");
}
