#!/usr/bin/env python3
"""Writes the framechat v1 test vectors (*.vec) from an independent Python encoder.

Each file holds `key value` lines; `#` starts a comment.
  header  the JSON header, exactly as encoded
  payload the payload, hex
  frame   the whole frame, hex
  error   for frames that must not decode: the error class (snake_case of the Rust variant)
Run from this folder: python3 generate.py
"""
import base64
import json

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
