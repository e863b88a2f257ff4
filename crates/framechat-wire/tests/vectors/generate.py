#!/usr/bin/env python3
"""Writes the framechat v1 test vectors (*.vec) from an independent Python encoder.

Each file holds `key value` lines; `#` starts a comment.
  header  the JSON header, exactly as encoded
  payload the payload, hex
  frame   the whole frame, hex
  error   for frames that must not decode: the error class (snake_case of the Rust variant)

It also writes the private-room vectors (e2e/*.vec, envelope version 0xFD) with the
`cryptography` package's HKDF and AESGCM (pip install cryptography):
  room_key  the 32-byte room key, hex (the URL fragment holds it as base64url)
  key_b64   the same key as written after `#k=`
  frame_key HKDF-SHA256(room key, salt empty, info "framechat frame key v1", 32), hex
  room      the room name, UTF-8, the rest of the line
  flags     the envelope's flags byte, hex
  tag       the 16-byte message tag, hex
  index     the frame's index in its message, decimal
  nonce     the 12-byte nonce, hex
  inner     the plaintext: one whole v1 frame, hex
  ad        the additional data, hex
  envelope  the whole envelope as sent, hex
  error     for envelopes the receiver (room_key, room, index) must refuse: the error
            class (snake_case of the Rust EnvelopeError variant)
Run from this folder: python3 generate.py
"""
import base64
import json
import os

MAGIC = 0xFC


def frame(header: bytes, payload: bytes = b"", magic: int = MAGIC) -> bytes:
    return bytes([magic]) + len(header).to_bytes(2, "big") + header + payload


def js(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# The ThumbHash of framechat-thumbhash's "gradient 64x48" vector, made by the reference
# implementation, as the `thumb` field carries it: base64url without padding.
THUMB = base64.urlsafe_b64encode(bytes.fromhex("de170a359a7075787178786858778787718007f787")).rstrip(b"=").decode()

ID1 = "00000000000000000000000000000001"
ID2 = "018f3c2a7b1e7c3d9a4b5c6d7e8f9a0b"

valid = {
    "msg-text": ("A text-only message: no attachments, no payload.",
                 {"kind": "msg", "id": ID1, "from": "ann", "ts": 0, "text": "hi"}, b""),
    "msg-unicode": ("UTF-8 is written as is, not escaped; newlines are escaped by JSON.",
                    {"kind": "msg", "id": ID2, "from": "zoë", "ts": 1763766000123,
                     "text": "héllo 👋\nsecond line"}, b""),
    "msg-inline-file": ("One attachment small enough to ride in the msg frame.",
                        {"kind": "msg", "id": ID2, "from": "ann", "ts": 1763766000123, "text": "look",
                         "files": [{"name": "dot.png", "mime": "image/png", "size": 8, "width": 1,
                                    "height": 1, "removed": ["location", "date_time"]}]},
                        bytes.fromhex("89504e470d0a1a0a")),
    "msg-two-files": ("Two attachments: the payload is their concatenation, sizes split it.",
                      {"kind": "msg", "id": ID2, "from": "ann", "ts": 5,
                       "files": [{"name": "a.txt", "mime": "text/plain", "size": 3},
                                 {"name": "b.txt", "mime": "text/plain", "size": 2}]},
                      b"abcde"),
    "msg-thumb": ("A picture with its ThumbHash placeholder; old receivers ignore the field.",
                  {"kind": "msg", "id": ID2, "from": "ann", "ts": 5,
                   "files": [{"name": "p.jpg", "mime": "image/jpeg", "size": 4, "width": 64,
                              "height": 48, "thumb": THUMB}]},
                  bytes.fromhex("ffd8ffd9")),
    "msg-chunked-first": ("First frame of a chunked message: 4 of 10 stream bytes.",
                          {"kind": "msg", "id": ID2, "from": "ann", "ts": 5,
                           "files": [{"name": "x.bin", "mime": "application/octet-stream", "size": 10}]},
                          bytes(range(4))),
    "chunk-middle": ("A middle chunk: bytes 4..7 of 10.",
                     {"kind": "chunk", "id": ID2, "from": "ann", "offset": 4, "total": 10}, bytes(range(4, 7))),
    "chunk-last": ("The last chunk: bytes 7..10 of 10.",
                   {"kind": "chunk", "id": ID2, "from": "ann", "offset": 7, "total": 10,
                    "last": True}, bytes(range(7, 10))),
    "cancel": ("The sender gave up on a message.",
               {"kind": "cancel", "id": ID2, "from": "ann"}, b""),
}

invalid = {
    "err-empty": ("An empty message.", b"", "empty"),
    "err-json-text": ("A foreign message: JSON text sent as binary.", b'{"kind":"msg"}', "not_a_frame"),
    "err-future-version": ("A later version's magic byte.", frame(b"{}", magic=0xFD), "unsupported_version"),
    "err-truncated-prefix": ("Only two bytes.", bytes([MAGIC, 0]), "truncated"),
    "err-truncated-header": ("Header length 16, one byte present.", bytes([MAGIC, 0, 16]) + b"{", "truncated"),
    "err-bad-json": ("Header is not JSON.", frame(b"{{"), "invalid_json"),
    "err-not-utf8": ("Header is not UTF-8.", frame(b'{"kind":"\xff"}'), "invalid_json"),
    "err-unknown-kind": ("A kind this version does not know.", frame(js({"kind": "ping"})), "unknown_kind"),
    "err-dashed-id": ("Ids are written as 32 hex digits, without dashes.",
                      frame(js({"kind": "cancel", "id": "00000000-0000-0000-0000-000000000001", "from": "ann"})),
                      "invalid_json"),
    "err-missing-field": ("A msg without id.", frame(js({"kind": "msg", "from": "ann", "ts": 0, "text": "x"})),
                          "invalid_json"),
    "err-negative-size": ("A negative size.",
                          frame(js({"kind": "msg", "id": ID1, "from": "ann", "ts": 0,
                                    "files": [{"name": "a", "mime": "b", "size": -1}]})), "invalid_json"),
    "err-payload-too-long": ("Attachment declares 2 bytes, payload has 3.",
                             frame(js({"kind": "msg", "id": ID1, "from": "ann", "ts": 0,
                                       "files": [{"name": "a", "mime": "text/plain", "size": 2}]}), b"abc"),
                             "payload_too_long"),
    "err-chunk-out-of-range": ("Chunk runs past the total.",
                               frame(js({"kind": "chunk", "id": ID1, "from": "ann", "offset": 8,
                                         "total": 10, "last": True}), b"abc"), "chunk_out_of_range"),
    "err-chunk-last-flag": ("Chunk ends the stream but is not flagged last.",
                            frame(js({"kind": "chunk", "id": ID1, "from": "ann", "offset": 7,
                                      "total": 10}), b"abc"), "last_flag_mismatch"),
    "err-chunk-empty": ("An empty chunk would stall a transfer.",
                        frame(js({"kind": "chunk", "id": ID1, "from": "ann", "offset": 7,
                                  "total": 10})), "last_flag_mismatch"),
    "err-cancel-payload": ("A cancel frame carries no payload.",
                           frame(js({"kind": "cancel", "id": ID1, "from": "ann"}), b"x"), "unexpected_payload"),
    "err-empty-message": ("A msg with neither text nor files.",
                          frame(js({"kind": "msg", "id": ID1, "from": "ann", "ts": 0})), "invalid_header"),
    "err-from-too-long": ("Sender name over 64 bytes.",
                          frame(js({"kind": "msg", "id": ID1, "from": "a" * 65, "ts": 0, "text": "x"})),
                          "invalid_header"),
    "err-control-in-name": ("A control character in a file name.",
                            frame(js({"kind": "msg", "id": ID1, "from": "ann", "ts": 0,
                                      "files": [{"name": "a\u0007", "mime": "text/plain", "size": 0}]})),
                            "invalid_header"),
    "err-thumb-padded": ("thumb is base64url without padding: '=' is refused.",
                         frame(js({"kind": "msg", "id": ID1, "from": "ann", "ts": 0,
                                   "files": [{"name": "a", "mime": "b", "size": 0, "thumb": "3hcKNQ=="}]})),
                         "invalid_header"),
    "err-thumb-too-long": ("thumb longer than 64 characters.",
                           frame(js({"kind": "msg", "id": ID1, "from": "ann", "ts": 0,
                                     "files": [{"name": "a", "mime": "b", "size": 0, "thumb": "A" * 68}]})),
                           "invalid_header"),
    "err-size-overflow": ("Sizes that add up past 2^53 - 1.",
                          frame(js({"kind": "msg", "id": ID1, "from": "ann", "ts": 0,
                                    "files": [{"name": "a", "mime": "b", "size": 2 ** 53 - 1},
                                              {"name": "c", "mime": "d", "size": 1}]})), "invalid_header"),
}

for name, (desc, header, payload) in valid.items():
    h = js(header)
    with open(f"{name}.vec", "w", encoding="utf-8") as f:
        f.write(f"# {desc}\nheader {h.decode()}\npayload {payload.hex()}\nframe {frame(h, payload).hex()}\n")

for name, (desc, data, error) in invalid.items():
    with open(f"{name}.vec", "w", encoding="utf-8") as f:
        f.write(f"# {desc}\nframe {data.hex()}\nerror {error}\n")


# ---- private rooms: the encrypted envelope (version byte 0xFD) ----
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: E402

ENVELOPE = 0xFD
AD_LABEL = b"framechat-e2e-v1"
ROOM_KEY = bytes.fromhex("8c3f1a92d04e5b6f7a81c2d3e4f50617283940a1b2c3d4e5f60718293a4b5c6d")
OTHER_KEY = bytes.fromhex("8c3f1a92d04e5b6f7a81c2d3e4f50617283940a1b2c3d4e5f60718293a4b5c6e")
TAG_A = bytes(range(0xA0, 0xB0))
TAG_B = bytes.fromhex("5e1f0c9d2a3b4c5d6e7f8091a2b3c4d5")


def frame_key(room_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"",
                info=b"framechat frame key v1").derive(room_key)


def ad(flags: int, tag: bytes, index: int, room: str) -> bytes:
    r = room.encode()
    return AD_LABEL + bytes([flags]) + tag + index.to_bytes(4, "big") + len(r).to_bytes(2, "big") + r


def seal(room_key: bytes, flags: int, tag: bytes, index: int, room: str, nonce: bytes, inner: bytes) -> bytes:
    ct = AESGCM(frame_key(room_key)).encrypt(nonce, inner, ad(flags, tag, index, room))
    return bytes([ENVELOPE, flags]) + tag + nonce + ct


def b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()


TEXT = frame(js(valid["msg-text"][1]))
FIRST = frame(js(valid["msg-chunked-first"][1]), bytes(range(4)))
LAST = frame(js({"kind": "chunk", "id": ID2, "from": "ann", "offset": 4, "total": 10, "last": True}),
             bytes(range(4, 10)))
MIDDLE = frame(js(valid["chunk-middle"][1]), bytes(range(4, 7)))
CANCEL = frame(js(valid["cancel"][1]))

# name: (description, flags, tag, index, room, nonce, inner)
sealed = {
    "single-text": ("A text message complete in one frame: flags 0x03, index 0.",
                    0x03, TAG_A, 0, "lobby", bytes(range(0xB0, 0xBC)), TEXT),
    "two-frame-0": ("Frame 0 of a two-frame message: the msg frame with 4 of 10 stream bytes, flags 0x01 (begins).",
                    0x01, TAG_B, 0, "café", bytes.fromhex("000102030405060708090a0b"), FIRST),
    "two-frame-1": ("Frame 1 of the same message (same tag): the last chunk, bytes 4..10, flags 0x02 (ends).",
                    0x02, TAG_B, 1, "café", bytes.fromhex("f0e1d2c3b4a5968778695a4b"), LAST),
    "middle-chunk": ("A middle chunk (flags 0x00) sent as frame 1 of its message.",
                     0x00, TAG_B, 1, "café", bytes.fromhex("1111111111111111111111aa"), MIDDLE),
    "cancel": ("A cancel ends its message (flags 0x02); here frame 2 after the msg and a middle chunk.",
               0x02, TAG_B, 2, "café", bytes.fromhex("2222222222222222222222bb"), CANCEL),
}

os.makedirs("e2e", exist_ok=True)
env = {}
for name, (desc, flags, tag, index, room, nonce, inner) in sealed.items():
    env[name] = seal(ROOM_KEY, flags, tag, index, room, nonce, inner)
    with open(f"e2e/{name}.vec", "w", encoding="utf-8") as f:
        f.write(f"# {desc}\nroom_key {ROOM_KEY.hex()}\nkey_b64 {b64(ROOM_KEY)}\n"
                f"frame_key {frame_key(ROOM_KEY).hex()}\nroom {room}\nflags {flags:02x}\n"
                f"tag {tag.hex()}\nindex {index}\nnonce {nonce.hex()}\ninner {inner.hex()}\n"
                f"ad {ad(flags, tag, index, room).hex()}\nenvelope {env[name].hex()}\n")


def flip(data: bytes, at: int, mask: int = 0x01) -> bytes:
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1:]


S, F0, F1 = env["single-text"], env["two-frame-0"], env["two-frame-1"]
# name: (description, receiver's key, room, index, envelope, error)
refused = {
    "err-wrong-room": ("The single-text envelope replayed into another room.",
                       ROOM_KEY, "lobby2", 0, S, "authentication"),
    "err-wrong-key": ("The single-text envelope opened with another room key (last bit differs).",
                      OTHER_KEY, "lobby", 0, S, "authentication"),
    "err-wrong-index": ("Frame 1 of the two-frame message taken as frame 0 (reordered or frame 0 dropped).",
                        ROOM_KEY, "café", 0, F1, "authentication"),
    "err-flipped-begin": ("The single-text envelope with its flags byte changed from 0x03 to 0x02.",
                          ROOM_KEY, "lobby", 0, flip(S, 1), "authentication"),
    "err-flipped-end": ("Frame 0 of the two-frame message flagged as ending it (0x01 -> 0x03): a cut message.",
                        ROOM_KEY, "café", 0, flip(F0, 1, 0x02), "authentication"),
    "err-spliced-tag": ("Frame 1 of the two-frame message moved to another message's tag.",
                        ROOM_KEY, "café", 1, F1[:2] + TAG_A + F1[18:], "authentication"),
    "err-nonce-bit": ("One nonce bit changed.", ROOM_KEY, "lobby", 0, flip(S, 18), "authentication"),
    "err-ciphertext-bit": ("One ciphertext bit changed.", ROOM_KEY, "lobby", 0, flip(S, 30), "authentication"),
    "err-gcm-tag-bit": ("One bit of the GCM tag changed.", ROOM_KEY, "lobby", 0, flip(S, len(S) - 1, 0x80),
                        "authentication"),
    "err-cut-short": ("The single-text envelope without its last byte.", ROOM_KEY, "lobby", 0, S[:-1],
                      "authentication"),
    "err-truncated": ("45 bytes: shorter than any envelope (46).", ROOM_KEY, "lobby", 0, S[:45], "truncated"),
    "err-unknown-flags": ("Flags 0x07: bit 2 is not defined.", ROOM_KEY, "lobby", 0, S[:1] + b"\x07" + S[2:],
                          "unknown_flags"),
    "err-not-an-envelope": ("A plaintext v1 frame where an envelope is expected.", ROOM_KEY, "lobby", 0, TEXT,
                            "not_an_envelope"),
    "err-flags-mismatch": ("Authentic, but flags 0x03 on a middle chunk: the sender lied about its role.",
                           ROOM_KEY, "café", 0,
                           seal(ROOM_KEY, 0x03, TAG_B, 0, "café", bytes(12), MIDDLE), "flags_mismatch"),
    "err-inner-invalid": ("Authentic, but the plaintext is not a valid v1 frame.",
                          ROOM_KEY, "lobby", 0,
                          seal(ROOM_KEY, 0x03, TAG_A, 0, "lobby", bytes(range(12)), frame(b"{}")), "inner"),
}

for name, (desc, key, room, index, data, error) in refused.items():
    with open(f"e2e/{name}.vec", "w", encoding="utf-8") as f:
        f.write(f"# {desc}\nroom_key {key.hex()}\nroom {room}\nindex {index}\nenvelope {data.hex()}\n"
                f"error {error}\n")
