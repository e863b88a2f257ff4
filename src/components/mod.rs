//! UI components, one per file: props in, callbacks out.

pub mod attachment;
pub mod badge;
pub mod composer;
pub mod message;
pub mod message_list;
pub mod name_prompt;
pub mod pending;
pub mod privacy;
pub mod viewer;

pub use attachment::AttachmentView;
pub use badge::Badge;
pub use composer::Composer;
pub use message::MessageView;
pub use message_list::MessageList;
pub use name_prompt::NamePrompt;
pub use pending::PendingCard;
pub use privacy::Privacy;
pub use viewer::Viewer;

/// What the list asks the app to open in the full-size viewer.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewRequest {
    pub url: String,
    pub alt: String,
}
