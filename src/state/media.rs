//! [`Media`]: a blob: URL as the pure state holds it, opaque, revoked when its last clone drops.

use std::any::Any;
use std::cell::LazyCell;
use std::fmt;
use std::rc::Rc;

/// A blob: URL and whatever keeps it alive (revoked when the last clone drops).
///
/// The URL may be made when it is first asked for ([`Media::lazy`]): a picture's preview
/// costs the browser a few round trips to make, which a picture sent as soon as it is
/// ready should not wait for.
#[derive(Clone)]
pub struct Media {
    /// true: a sniffed image format the browser renders (shown as `<img>`); false: download link.
    pub inline: bool,
    /// Inline as a `<video>` rather than an `<img>` (a movie the browser can play).
    pub video: bool,
    /// Shared by clones.
    url: Rc<LazyCell<Made, MakeUrl>>,
}

/// A URL and what keeps it alive.
type Made = (String, Rc<dyn Any>);
type MakeUrl = Box<dyn FnOnce() -> Made>;

impl Media {
    pub fn new(url: String, inline: bool, owner: Rc<dyn Any>) -> Self {
        Self::lazy(inline, move || (url, owner))
    }

    /// A media whose URL `make` makes when [`Media::url`] is first called, on any clone.
    pub fn lazy(inline: bool, make: impl FnOnce() -> Made + 'static) -> Self {
        Self {
            inline,
            video: false,
            url: Rc::new(LazyCell::new(Box::new(make))),
        }
    }

    /// The same media, shown as a `<video>` when inline.
    pub fn as_video(mut self) -> Self {
        self.video = true;
        self
    }

    /// The URL, made now if it was not yet.
    pub fn url(&self) -> &str {
        &LazyCell::force(&self.url).0
    }
}

/// Clones are equal; media made apart are not (each blob: URL is unique).
impl PartialEq for Media {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.url, &other.url)
            && self.inline == other.inline
            && self.video == other.video
    }
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: asking for it would make it.
        f.debug_struct("Media")
            .field("inline", &self.inline)
            .field("video", &self.video)
            .finish_non_exhaustive()
    }
}
