//! Standalone entry point: renders the chat into the page's `#framechat-app` element
//! (a page without that element — an embedding host — calls `mount` itself).
fn main() {
    framechat::embed::start_standalone();
}
