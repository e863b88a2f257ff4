//! WebSocket relay for framechat rooms.
