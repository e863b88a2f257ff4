//! Unit tests of whole-message history: grouping, positions, eviction, replay.

use super::*;

fn v1(json: &str, payload: &[u8]) -> Message {
    let mut v = vec![0xFC];
    v.extend_from_slice(&u16::try_from(json.len()).unwrap_or(0).to_be_bytes());
    v.extend_from_slice(json.as_bytes());
    v.extend_from_slice(payload);
    Message::Binary(v.into())
}

const ID: &str = "018f3c2a7b1e7c3d9a4b5c6d7e8f9a0b";

fn msg_with(size: u64, inline: &[u8]) -> Message {
    v1(
        &format!(
            r#"{{"kind":"msg","id":"{ID}","from":"ann","ts":0,"files":[{{"name":"a","mime":"image/png","size":{size}}}]}}"#
        ),
        inline,
    )
}

fn chunk(offset: u64, total: u64, last: bool, payload: &[u8]) -> Message {
    let last = if last { r#","last":true"# } else { "" };
    v1(
        &format!(
            r#"{{"kind":"chunk","id":"{ID}","from":"ann","offset":{offset},"total":{total}{last}}}"#
        ),
        payload,
    )
}

fn sealed(flags: u8) -> Message {
    let mut v = vec![SEALED, flags];
    v.extend_from_slice(&[9; 16]);
    v.extend_from_slice(&[0; 28]);
    Message::Binary(v.into())
}

fn key() -> Key {
    Key::Plain {
        from: "ann".into(),
        id: 0x018f_3c2a_7b1e_7c3d_9a4b_5c6d_7e8f_9a0b,
    }
}

#[test]
fn classify_frames() {
    assert_eq!(classify(&msg_with(2, &[1, 2])), Part::Begin(key(), true));
    assert_eq!(classify(&msg_with(4, &[1, 2])), Part::Begin(key(), false));
    assert_eq!(classify(&chunk(2, 4, false, &[3])), Part::Middle(key()));
    assert_eq!(classify(&chunk(3, 4, true, &[4])), Part::End(key()));
    let cancel = v1(
        &format!(r#"{{"kind":"cancel","id":"{ID}","from":"ann"}}"#),
        &[],
    );
    assert_eq!(classify(&cancel), Part::End(key()));
    let tag = Key::Sealed([9; 16]);
    assert_eq!(classify(&sealed(0x03)), Part::Begin(tag.clone(), true));
    assert_eq!(classify(&sealed(0x01)), Part::Begin(tag.clone(), false));
    assert_eq!(classify(&sealed(0x00)), Part::Middle(tag.clone()));
    assert_eq!(classify(&sealed(0x02)), Part::End(tag));
    // Bad flags, short envelopes, broken v1 headers, text: messages on their own.
    assert_eq!(classify(&sealed(0x04)), Part::Whole);
    assert_eq!(
        classify(&Message::Binary(vec![SEALED, 3].into())),
        Part::Whole
    );
    assert_eq!(classify(&v1("{", &[])), Part::Whole);
    assert_eq!(classify(&Message::Text("hi".into())), Part::Whole);
}

const LIM: Limits = Limits {
    messages: 2,
    bytes: 1 << 20,
    open_messages: 4,
};

#[test]
fn positions_count_finished_messages_and_eviction_is_whole() {
    let mut log = Log::new("e".into());
    let one = Message::Text("1".into());
    assert_eq!(log.push(Part::Whole, &one, LIM).finished, Some(1));
    let m = msg_with(4, &[1, 2]);
    let (c1, c2) = (chunk(2, 4, false, &[3]), chunk(3, 4, true, &[4]));
    assert_eq!(log.push(classify(&m), &m, LIM).finished, None);
    assert_eq!(log.push(classify(&c1), &c1, LIM).finished, None);
    // A chunk of a message never begun is not kept and gets no position.
    let stray = chunk(9, 10, true, &[1]);
    let other = Key::Plain {
        from: "zed".into(),
        id: 1,
    };
    assert_eq!(log.push(Part::End(other), &stray, LIM).finished, None);
    assert_eq!(log.push(classify(&c2), &c2, LIM).finished, Some(2));
    let three = Message::Text("3".into());
    assert_eq!(log.push(Part::Whole, &three, LIM).finished, Some(3));
    // Two messages kept: the three-frame one whole, then "3".
    let replay = log.snapshot().replay(None, 10);
    assert_eq!(
        replay,
        vec![m, c1, c2, control::pos(2), three.clone(), control::pos(3)]
    );
    let after2 = log.snapshot().replay(
        Some(&Request::After {
            epoch: "e".into(),
            offset: 2,
        }),
        10,
    );
    assert_eq!(after2, vec![three, control::pos(3)]);
    let lost = log.snapshot().replay(
        Some(&Request::After {
            epoch: "e".into(),
            offset: 0,
        }),
        10,
    );
    assert_eq!(lost.first(), Some(&control::lost("e", 2)));
    assert_eq!(log.bytes(), log.done_bytes);
}

#[test]
fn open_messages_are_bounded_in_count_and_bytes() {
    let lim = Limits {
        messages: 10,
        bytes: 100,
        open_messages: 1,
    };
    let mut log = Log::new("e".into());
    log.push(Part::Begin(Key::Sealed([1; 16]), false), &sealed(1), lim);
    // A second open message pushes the first out (count 1).
    log.push(Part::Begin(Key::Sealed([2; 16]), false), &sealed(1), lim);
    assert_eq!(
        log.push(Part::End(Key::Sealed([1; 16])), &sealed(2), lim)
            .finished,
        None
    );
    // Past the byte limit the open message's frames are dropped, but it
    // still gets a position when it ends: a hole, which cannot be replayed.
    log.push(Part::Middle(Key::Sealed([2; 16])), &sealed(0), lim);
    assert_eq!(log.bytes(), 92);
    log.push(Part::Middle(Key::Sealed([2; 16])), &sealed(0), lim);
    assert_eq!(log.bytes(), 0);
    assert_eq!(
        log.push(Part::End(Key::Sealed([2; 16])), &sealed(2), lim)
            .finished,
        Some(1)
    );
    let replay = log.snapshot().replay(
        Some(&Request::After {
            epoch: "e".into(),
            offset: 0,
        }),
        10,
    );
    assert_eq!(replay, vec![control::lost("e", 2)]);
}

#[test]
fn clients_that_joined_after_a_message_lost_its_start_do_not_get_its_rest() {
    let lim = Limits {
        messages: 10,
        bytes: 100,
        open_messages: 4,
    };
    let mut log = Log::new("e".into());
    let early = log.join();
    let tag = Key::Sealed([1; 16]);
    log.push(Part::Begin(tag.clone(), false), &sealed(1), lim);
    let during = log.join();
    // The third frame passes 100 bytes: the message's frames are dropped.
    log.push(Part::Middle(tag.clone()), &sealed(0), lim);
    let pushed = log.push(Part::Middle(tag.clone()), &sealed(0), lim);
    assert_eq!(pushed.upto, Some(during));
    let late = log.join();
    let end = log.push(Part::End(tag), &sealed(2), lim);
    assert_eq!(end.finished, Some(1));
    // Who joined before the drop got the start (live or replayed); the late one did not.
    assert!(
        end.upto
            .is_some_and(|upto| early <= upto && during <= upto && late > upto)
    );
}
