//! HTTP JSON API over lifecycle
