//! framechat: the Yew chat client.
