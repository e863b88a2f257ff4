//! Lossless removal of identifying metadata from image files.
