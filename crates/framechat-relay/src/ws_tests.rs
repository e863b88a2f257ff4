//! Unit tests of the WebSocket reader and writer over in-memory pipes.

use super::*;

/// A client frame: FIN, opcode, masked with `mask`.
fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut v = vec![if fin { 0x80 } else { 0 } | opcode];
    let len = payload.len();
    if len < 126 {
        v.push(0x80 | u8::try_from(len).unwrap_or(0));
    } else if let Ok(short) = u16::try_from(len) {
        v.push(0x80 | 126);
        v.extend_from_slice(&short.to_be_bytes());
    } else {
        v.push(0x80 | 127);
        v.extend_from_slice(&(len as u64).to_be_bytes());
    }
    v.extend_from_slice(&mask);
    v.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    v
}

async fn read_all(bytes: Vec<u8>, max: usize) -> Vec<Result<Message, String>> {
    let mut reader = Reader::new(&bytes[..], max);
    let mut out = Vec::new();
    while let Some(next) = reader.next().await {
        let stop = next.is_err();
        out.push(next.map_err(|e| e.to_string()));
        if stop {
            break;
        }
    }
    out
}

#[tokio::test]
async fn reads_masked_frames_of_every_length_class_and_fragments() {
    let big: Vec<u8> = (0..70_000_u32).map(|i| (i % 251) as u8).collect();
    let mut wire = client_frame(true, 0x2, b"hi", [1, 2, 3, 4]);
    wire.extend(client_frame(true, 0x2, &big[..300], [9, 8, 7, 6]));
    wire.extend(client_frame(true, 0x2, &big, [5, 5, 5, 5]));
    wire.extend(client_frame(false, 0x1, "hé".as_bytes(), [1, 1, 1, 1]));
    wire.extend(client_frame(true, 0x9, b"p", [0, 0, 0, 1]));
    wire.extend(client_frame(true, 0x0, "llo".as_bytes(), [2, 2, 2, 2]));
    wire.extend(client_frame(
        true,
        0x8,
        &[0x03, 0xE8, b'b', b'y', b'e'],
        [3, 3, 3, 3],
    ));
    let got = read_all(wire, 1 << 20).await;
    let expected: Vec<Result<Message, String>> = vec![
        Ok(Message::Binary(Bytes::from_static(b"hi"))),
        Ok(Message::Binary(Bytes::copy_from_slice(&big[..300]))),
        Ok(Message::Binary(Bytes::from(big))),
        Ok(Message::Ping(Bytes::from_static(b"p"))),
        Ok(Message::Text("héllo".into())),
        Ok(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "bye".into(),
        }))),
    ];
    assert_eq!(got, expected);
}

#[tokio::test]
async fn rejects_what_rfc_6455_forbids() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0x82, 0x02, b'h', b'i'], "unmasked"),
        (client_frame(true, 0x2 | 0x40, b"x", [1; 4]), "reserved"),
        (client_frame(false, 0x9, b"x", [1; 4]), "control"),
        (client_frame(true, 0x0, b"x", [1; 4]), "continuation"),
        (client_frame(true, 0x3, b"x", [1; 4]), "opcode"),
        (client_frame(true, 0x1, &[0xFF, 0xFE], [1; 4]), "UTF-8"),
        (client_frame(true, 0x2, &[0; 11], [1; 4]), "too big"),
    ];
    for (wire, what) in cases {
        let got = read_all(wire, 10).await;
        match got.last() {
            Some(Err(e)) => assert!(e.contains(what), "{what}: {e}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    // A clean end between frames is the end of the stream, mid-frame an error.
    assert!(read_all(Vec::new(), 10).await.is_empty());
    let cut = client_frame(true, 0x2, b"hello", [1; 4]);
    let got = read_all(cut[..cut.len() - 1].to_vec(), 10).await;
    assert!(matches!(got.last(), Some(Err(_))), "{got:?}");
}

#[tokio::test]
async fn writes_unmasked_frames_in_one_vectored_write_per_burst() {
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let mut w = Writer::new(a);
    let big = Bytes::from(vec![7_u8; 70_000]);
    w.feed(Message::Binary(Bytes::from_static(b"hi")));
    w.feed(Message::Binary(Bytes::from(vec![1_u8; 300])));
    w.feed(Message::Binary(big.clone()));
    w.feed(Message::Close(Some(CloseFrame {
        code: 4000,
        reason: "slow".into(),
    })));
    w.close().await.expect("written");
    let mut out = Vec::new();
    b.read_to_end(&mut out).await.expect("read");
    let mut expected = vec![0x82, 2, b'h', b'i', 0x82, 126, 0x01, 0x2C];
    expected.extend(vec![1_u8; 300]);
    expected.extend([0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    expected.extend(big.iter());
    expected.extend([0x88, 6, 0x0F, 0xA0, b's', b'l', b'o', b'w']);
    assert_eq!(out, expected);
}
