//! Asks for a display name once; the app remembers it in localStorage.

use yew::prelude::*;

use crate::platform::dom;

#[derive(Properties, PartialEq)]
pub struct NamePromptProps {
    pub on_submit: Callback<String>,
}

#[function_component(NamePrompt)]
pub fn name_prompt(props: &NamePromptProps) -> Html {
    let input = use_node_ref();
    {
        let input = input.clone();
        use_effect_with((), move |_| dom::focus(&input));
    }
    let onsubmit = {
        let input = input.clone();
        let on_submit = props.on_submit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let name = dom::field_value(&input).trim().to_string();
            if !name.is_empty() {
                on_submit.emit(name);
            }
        })
    };
    html! {
        <div class="fc-overlay">
            <form class="fc-name-form" {onsubmit} aria-labelledby="fc-name-title">
                <h2 id="fc-name-title">{ "What should others call you?" }</h2>
                <input ref={input} class="fc-input" type="text" maxlength="40" autocomplete="nickname"
                    placeholder="Your name" aria-label="Display name" required=true />
                <button class="fc-btn fc-btn-primary" type="submit">{ "Join chat" }</button>
            </form>
        </div>
    }
}
