//! The root component: owns the chat state, the composer's attachments and the connection.

use std::rc::Rc;

use framechat_wire::Uuid;
use yew::prelude::*;

use crate::components::{Badge, Composer, MessageList, NamePrompt, Privacy, ViewRequest, Viewer};
use crate::media::{self, DraftAction, Drafts, OffThreadReader, Picked, Prep, Prepared};
use crate::net::host::HostTransport;
use crate::platform::{clock, dom, storage, webcrypto};
use crate::state::{Action, ChatState, Config, human_size};
use crate::store;

mod connection;

use connection::use_connection;

/// Attachments per message; the receiver's limit is this many maximum-size files.
pub const MAX_FILES: usize = 10;

#[derive(Properties, PartialEq)]
pub struct AppProps {
    pub config: Config,
    /// The host page's own connection, when it gives one (`mount(el, { transport })`).
    pub host: Option<HostTransport>,
}

/// Why the composer cannot send, if it cannot: something only the user can resolve.
fn problem(drafts: &[Rc<Prepared>], name: Option<&str>) -> Option<String> {
    if name.is_none() {
        return Some("Choose a display name first.".into());
    }
    if drafts.len() > MAX_FILES {
        return Some(format!("At most {MAX_FILES} attachments per message."));
    }
    for p in drafts {
        match p.prep() {
            Prep::Unscrubbable { allowed: false, .. } => {
                return Some(format!(
                    "{}: its metadata could not be removed. Remove it, or choose “Send original anyway”.",
                    p.name
                ));
            }
            Prep::Rejected(reason) => {
                return Some(format!("{}: {reason}. Remove it to send.", p.name));
            }
            _ => {}
        }
    }
    None
}

/// What the composer still waits for before the message can go (Send then waits too).
fn preparing(drafts: &[Rc<Prepared>]) -> Option<String> {
    drafts
        .iter()
        .find(|p| matches!(p.prep(), Prep::Reading))
        .map(|p| format!("Removing metadata from {}…", p.name))
}

#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let config = &props.config;
    let chat = use_reducer(ChatState::default);
    let drafts = use_reducer(Drafts::default);
    let name = use_state(|| config.name.clone());
    let viewing = use_state(|| None::<ViewRequest>);
    let dragging = use_state(|| false);
    let offset = use_memo((), |_| clock::local_offset_minutes());

    let connection = {
        let dispatcher = chat.dispatcher();
        use_connection(
            config,
            props.host.clone(),
            Callback::from(move |a: Action| dispatcher.dispatch(a)),
        )
    };
    let client = connection.client.clone();
    let copied = use_state(|| false);
    let store = client.as_ref().and_then(|c| c.store());
    let usage = use_state(|| None::<u64>);
    // The menu counts what is kept when it opens, and clears it on demand.
    let on_menu = {
        let (store, usage, chat) = (store.clone(), usage.clone(), chat.dispatcher());
        Callback::from(move |clear: bool| {
            let Some(store) = store.clone() else { return };
            let (usage, chat) = (usage.clone(), chat.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if clear && let Err(e) = store::finish(store.clear()).await {
                    chat.dispatch(Action::Notice(e.to_string()));
                }
                match store::finish(store.usage()).await {
                    // Bytes as a JS number: whole, below 2^53.
                    Ok(n) => usage.set(n.as_f64().map(|n| n as u64)),
                    Err(e) => chat.dispatch(Action::Notice(e.to_string())),
                }
            });
        })
    };

    let on_files = {
        let drafts = drafts.clone();
        let client = client.clone();
        let max = config.max_file_size;
        Callback::from(move |files: Vec<Picked>| {
            for file in files {
                // Before the placeholder renders: the read runs meanwhile.
                let reader = client.as_ref().map(|c| c as &dyn OffThreadReader);
                let early = media::read_early(&file, max, reader);
                let placeholder = media::placeholder(&file);
                let key = placeholder.key;
                drafts.dispatch(DraftAction::Add(placeholder));
                let drafts = drafts.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let ready = media::prepare(file, key, max, early).await;
                    drafts.dispatch(DraftAction::Ready(ready));
                });
            }
        })
    };
    let on_remove = {
        let drafts = drafts.clone();
        Callback::from(move |key: u32| drafts.dispatch(DraftAction::Remove(key)))
    };
    let on_allow = {
        let drafts = drafts.clone();
        Callback::from(move |key: u32| drafts.dispatch(DraftAction::AllowOriginal(key)))
    };
    let on_send = {
        let drafts = drafts.clone();
        let client = client.clone();
        let name = name.clone();
        let chat = chat.dispatcher();
        Callback::from(move |text: String| {
            let (Some(c), Some(from)) = (client.as_ref(), name.as_deref()) else {
                return;
            };
            // The composer sends only when nothing is in the way (`problem`, `preparing`).
            let Some(files) = drafts.to_send() else {
                chat.dispatch(Action::Notice(
                    "not sent: an attachment is not ready to go out".into(),
                ));
                return;
            };
            match c.send(from, text, &files) {
                Ok(_) => drafts.dispatch(DraftAction::Clear),
                Err(e) => chat.dispatch(Action::Notice(format!("not sent: {e}"))),
            }
        })
    };
    let on_cancel = {
        let client = client.clone();
        Callback::from(move |id: Uuid| {
            if let Some(c) = client.as_ref() {
                c.cancel(id);
            }
        })
    };
    let on_name = {
        let name = name.clone();
        Callback::from(move |n: String| {
            storage::store_name(&n);
            name.set(Some(n));
        })
    };
    let on_open = {
        let viewing = viewing.clone();
        Callback::from(move |r: ViewRequest| viewing.set(Some(r)))
    };
    let on_close_viewer = {
        let viewing = viewing.clone();
        Callback::from(move |()| viewing.set(None))
    };

    // Drag and drop anywhere on the chat.
    let ondragover = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            if media::drag_has_files(&e) {
                e.prevent_default();
                if !*dragging {
                    dragging.set(true);
                }
            }
        })
    };
    let ondragleave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let ondrop = {
        let dragging = dragging.clone();
        let on_files = on_files.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            let files = media::files_from_drop(&e);
            if !files.is_empty() {
                on_files.emit(files);
            }
        })
    };

    let on_copy_invite = {
        let (copied, chat) = (copied.clone(), chat.dispatcher());
        Callback::from(move |()| {
            let Some(link) = dom::page_href() else {
                return;
            };
            let (copied, chat) = (copied.clone(), chat.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match dom::copy_text(&link).await {
                    Ok(()) => {
                        copied.set(true);
                        let copied = copied.clone();
                        gloo::timers::callback::Timeout::new(2_000, move || copied.set(false))
                            .forget();
                    }
                    Err(e) => chat.dispatch(Action::Notice(format!(
                        "could not copy the link: {e}; copy it from the address bar"
                    ))),
                }
            });
        })
    };
    let on_new_private = {
        let chat = chat.dispatcher();
        Callback::from(move |()| {
            let opened = webcrypto::generate_room_key()
                .map_err(|e| e.to_string())
                .and_then(|key| {
                    let room = clock::random_room_name().map_err(|e| e.to_string())?;
                    dom::open_room(&room, &key.to_fragment_param()).map_err(|e| e.to_string())
                });
            if let Err(e) = opened {
                chat.dispatch(Action::Notice(format!(
                    "could not make a private room: {e}"
                )));
            }
        })
    };

    let problem = match &connection.blocked {
        Some(_) => Some("This room cannot open on this page (see above).".to_string()),
        None => problem(&drafts.items, name.as_deref()),
    };
    let preparing = preparing(&drafts.items);
    html! {
        <div class={classes!("framechat", dragging.then_some("fc-dragging"))} {ondragover} {ondragleave} {ondrop}>
            <header class="fc-header">
                <div class="fc-room">
                    <span class="fc-hash" aria-hidden="true">{ "#" }</span>
                    <h1 class="fc-room-name">{ &config.room }</h1>
                </div>
                <Privacy private={config.key.is_some()} standalone={config.standalone} copied={*copied}
                    {on_new_private} {on_copy_invite} />
                <Badge conn={chat.conn} />
                // The room's menu: what this browser keeps of it (counted when it opens), and Clear.
                if store.is_some() {
                    <details class="fc-menu" ontoggle={on_menu.reform(|_: Event| false)}>
                        <summary title="This room in this browser">{ "⋯" }</summary>
                        <div class="fc-menu-body">
                            { "Kept in this browser: " }{ usage.map_or_else(|| "…".into(), human_size) }
                            <button type="button" class="fc-clear" onclick={on_menu.reform(|_: MouseEvent| true)}
                                title="Forget what this browser keeps of this room, unsent messages included">{ "Clear" }</button>
                        </div>
                    </details>
                }
                if let Some(n) = name.as_ref() { <span class="fc-me" title="your display name">{ n }</span> }
            </header>
            if let Some(reason) = &connection.blocked { <div class="fc-blocked" role="alert">{ reason }</div> }
            <MessageList entries={chat.entries.clone()} offset={*offset} {on_open} {on_cancel} />
            if *dragging { <div class="fc-dropzone" aria-hidden="true">{ "Drop files to attach — metadata is removed before sending" }</div> }
            <Composer drafts={drafts.items.clone()} {problem} {preparing} max_file_size={config.max_file_size}
                {on_send} {on_files} {on_remove} {on_allow} />
            if name.is_none() { <NamePrompt on_submit={on_name} /> }
            if let Some(req) = (*viewing).clone() { <Viewer request={req} on_close={on_close_viewer} /> }
        </div>
    }
}
