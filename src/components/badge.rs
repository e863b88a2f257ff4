//! Connection badge: connecting / online / reconnecting / offline.

use yew::prelude::*;

use crate::state::Conn;

#[derive(Properties, PartialEq)]
pub struct BadgeProps {
    pub conn: Conn,
}

#[function_component(Badge)]
pub fn badge(props: &BadgeProps) -> Html {
    let label = props.conn.label();
    let class = classes!("fc-badge", format!("fc-badge-{label}"));
    html! {
        <span class={class} role="status" aria-live="polite" title={format!("connection: {label}")}>
            <span class="fc-dot" aria-hidden="true"></span>{ label }
        </span>
    }
}
