//! Whether the room is private, in the header: a lock and "Copy invite link" for a private
//! room; "Not encrypted" and, on the standalone page, "New private room" otherwise.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PrivacyProps {
    pub private: bool,
    /// The standalone page may start a new private room; a host's mount decides its own.
    pub standalone: bool,
    /// The invite link was just copied.
    pub copied: bool,
    pub on_new_private: Callback<()>,
    pub on_copy_invite: Callback<()>,
}

#[function_component(Privacy)]
pub fn privacy(props: &PrivacyProps) -> Html {
    if props.private {
        let onclick = props.on_copy_invite.reform(|_: MouseEvent| ());
        let label = if props.copied {
            "Link copied"
        } else {
            "Copy invite link"
        };
        html! {
            <>
                <span class="fc-lock" title="End-to-end encrypted: the server relays ciphertext it cannot read. Anyone with this page's link can read and post.">
                    <svg class="fc-icon" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true">
                        <rect x="5" y="10.5" width="14" height="10" rx="2" fill="currentColor" />
                        <path d="M8 10.5V7.5a4 4 0 0 1 8 0v3" fill="none" stroke="currentColor" stroke-width="2" />
                    </svg>{ " Private" }
                </span>
                <button type="button" class="fc-invite" {onclick}
                    title="The link carries the room's key after #, which browsers never send to a server">{ label }</button>
            </>
        }
    } else {
        let onclick = props.on_new_private.reform(|_: MouseEvent| ());
        html! {
            <>
                <span class="fc-unlocked" title="Not end-to-end encrypted: the server can read this room's messages and pictures">{ "Not encrypted" }</span>
                if props.standalone {
                    <button type="button" class="fc-new-private" {onclick}
                        title="A new room whose key stays in its link: the server sees only ciphertext">{ "New private room" }</button>
                }
            </>
        }
    }
}
