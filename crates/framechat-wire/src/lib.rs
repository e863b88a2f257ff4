//! Binary frame codec for framechat: layout, headers, chunking and reassembly.
