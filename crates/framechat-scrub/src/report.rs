//! What a scrub found and removed, in categories a person understands.

use serde::Serialize;

use crate::{Format, Plan, Planned};

/// A kind of identifying information found in, and removed from, a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// GPS position, altitude, direction, speed.
    Location,
    /// Camera or phone make, model, serial numbers, lens, software, maker notes.
    Device,
    /// When the picture was taken, digitised or changed.
    DateTime,
    /// Artist, owner, copyright.
    Author,
    /// Comments, descriptions, titles, free text.
    Comment,
    /// A smaller copy of the picture stored inside it, which may show what was cropped.
    Thumbnail,
    /// Bytes after the end of the image: motion-photo video, secondary images, gain maps.
    TrailingData,
    /// An XMP packet (which may hold any of the above).
    Xmp,
    /// IPTC or Photoshop resources (captions, keywords, bylines, places).
    Iptc,
    /// Anything else that was not kept: camera settings, unknown segments or chunks.
    Other,
}

impl Category {
    /// Every category, in order.
    pub const ALL: [Category; 10] = [
        Category::Location,
        Category::Device,
        Category::DateTime,
        Category::Author,
        Category::Comment,
        Category::Thumbnail,
        Category::TrailingData,
        Category::Xmp,
        Category::Iptc,
        Category::Other,
    ];

    /// A stable machine code in `snake_case`, the same as its serde form, e.g. `"date_time"`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Category::Location => "location",
            Category::Device => "device",
            Category::DateTime => "date_time",
            Category::Author => "author",
            Category::Comment => "comment",
            Category::Thumbnail => "thumbnail",
            Category::TrailingData => "trailing_data",
            Category::Xmp => "xmp",
            Category::Iptc => "iptc",
            Category::Other => "other",
        }
    }

    /// What a person understands, e.g. `"camera make, model and serial number"`.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Category::Location => "location",
            Category::Device => "camera make, model and serial number",
            Category::DateTime => "date and time",
            Category::Author => "author and copyright",
            Category::Comment => "comments",
            Category::Thumbnail => "embedded thumbnail",
            Category::TrailingData => "extra images or video after the end",
            Category::Xmp => "XMP metadata",
            Category::Iptc => "IPTC/Photoshop metadata",
            Category::Other => "other metadata",
        }
    }
}

/// What [`scrub`](crate::scrub) found in a file and what it removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The format, from the magic bytes; the output has the same format.
    pub format: Format,
    /// Width in pixels as stored in the file, before any orientation is applied (movies:
    /// the first video track's `tkhd` width).
    pub width: Option<u32>,
    /// Height in pixels as stored in the file, before any orientation is applied.
    pub height: Option<u32>,
    /// EXIF Orientation (1..=8) when the input had one; kept in the output when not 1.
    /// For HEIC and AVIF, the EXIF orientation equivalent to the primary image's `irot`
    /// and `imir` properties, which is what HEIF readers apply. For movies, the one
    /// equivalent to the first video track's `tkhd` matrix (an iPhone portrait video: 6),
    /// `None` for the identity.
    pub orientation: Option<u8>,
    /// What was removed: sorted, without duplicates, empty when the file was clean.
    pub removed: Vec<Category>,
    /// How many bytes of metadata went: the output is this much smaller than the input
    /// (net of the few bytes a kept Orientation takes). For HEIC and AVIF, whose size does
    /// not change, the number of bytes overwritten with zeros; for movies, the bytes of the
    /// boxes turned into `free` boxes, of the zeroed dates and of dropped samples.
    pub removed_bytes: u64,
}

impl Report {
    /// Width and height as the picture is shown: swapped when the orientation turns it
    /// by 90° (EXIF orientations 5 to 8).
    ///
    /// ```
    /// use framechat_scrub::{Format, Report};
    /// let report = Report {
    ///     format: Format::Jpeg,
    ///     width: Some(4000),
    ///     height: Some(3000),
    ///     orientation: Some(6),
    ///     removed: vec![],
    ///     removed_bytes: 0,
    /// };
    /// assert_eq!(report.display_size(), Some((3000, 4000)));
    /// ```
    #[must_use]
    pub fn display_size(&self) -> Option<(u32, u32)> {
        let (w, h) = (self.width?, self.height?);
        Some(match self.orientation {
            Some(5..=8) => (h, w),
            _ => (w, h),
        })
    }
}

/// Collects what was found while a file is walked.
#[derive(Debug, Default)]
pub(crate) struct Found {
    seen: [bool; 10],
}

impl Found {
    pub(crate) fn add(&mut self, category: Category) {
        if let Some(slot) = self.seen.get_mut(category as usize) {
            *slot = true;
        }
    }

    pub(crate) fn extend(&mut self, categories: impl IntoIterator<Item = Category>) {
        for category in categories {
            self.add(category);
        }
    }

    /// The plan of a format that drops what it removes, and its report: `removed_bytes` is
    /// how much shorter the output is than the input.
    pub(crate) fn into_planned(
        self,
        format: Format,
        (width, height): (Option<u32>, Option<u32>),
        orientation: Option<u8>,
        input_len: usize,
        plan: Plan,
    ) -> Planned {
        Planned {
            report: Report {
                format,
                width,
                height,
                orientation,
                removed: self.into_sorted(),
                removed_bytes: (input_len as u64).saturating_sub(plan.len() as u64),
            },
            plan,
        }
    }

    /// The categories seen, sorted and without duplicates.
    pub(crate) fn into_sorted(self) -> Vec<Category> {
        Category::ALL
            .into_iter()
            .zip(self.seen)
            .filter_map(|(category, seen)| seen.then_some(category))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_serde_and_labels_read_well() {
        for category in Category::ALL {
            let json = serde_json::to_string(&category).unwrap();
            assert_eq!(json, format!("\"{}\"", category.code()));
            assert!(!category.label().is_empty());
        }
        assert_eq!(Category::DateTime.code(), "date_time");
        assert_eq!(
            Category::Device.label(),
            "camera make, model and serial number"
        );
        let mut sorted = Category::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Category::ALL);
    }

    #[test]
    fn found_sorts_and_deduplicates() {
        let mut found = Found::default();
        found.extend([
            Category::Other,
            Category::Location,
            Category::Other,
            Category::Xmp,
        ]);
        assert_eq!(
            found.into_sorted(),
            vec![Category::Location, Category::Xmp, Category::Other]
        );
    }

    #[test]
    fn display_size_turns_for_orientations_5_to_8() {
        let mut report = Report {
            format: Format::Jpeg,
            width: Some(4),
            height: Some(3),
            orientation: None,
            removed: vec![],
            removed_bytes: 0,
        };
        for (orientation, size) in [
            (None, (4, 3)),
            (Some(1), (4, 3)),
            (Some(4), (4, 3)),
            (Some(5), (3, 4)),
            (Some(8), (3, 4)),
        ] {
            report.orientation = orientation;
            assert_eq!(report.display_size(), Some(size));
        }
        report.height = None;
        assert_eq!(report.display_size(), None);
    }
}
