//! The dashboard's files, built into the binary so kesos needs no web server and no internet.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// One built-in file.
pub struct Asset {
    /// Its name under `/assets/` (`index.html` is served at `/`).
    pub name: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
    etag: OnceLock<String>,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static [u8]) -> Self {
        Self {
            name,
            content_type,
            body,
            etag: OnceLock::new(),
        }
    }

    /// A strong entity tag: the start of the body's SHA-256, computed once.
    pub fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let digest = Sha256::digest(self.body);
            format!("\"{}\"", hex::encode(&digest[..12]))
        })
    }
}

/// Every file of the dashboard.
pub static ASSETS: [Asset; 6] = [
    Asset::new(
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../assets/index.html"),
    ),
    Asset::new(
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    Asset::new(
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    Asset::new(
        "map.json",
        "application/json",
        include_bytes!("../assets/map.json"),
    ),
    Asset::new(
        "NOTICE.md",
        "text/markdown; charset=utf-8",
        include_bytes!("../assets/NOTICE.md"),
    ),
    Asset::new(
        "map-LICENSE.md",
        "text/markdown; charset=utf-8",
        include_bytes!("../assets/map-LICENSE.md"),
    ),
];

/// The asset named `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_by_its_name_and_nothing_else_is() {
        for asset in &ASSETS {
            assert!(find(asset.name).is_some_and(|found| found.body == asset.body));
        }
        assert!(find("../Cargo.toml").is_none());
        assert!(find("").is_none());
    }

    #[test]
    fn entity_tags_differ_between_files_and_are_quoted() {
        let tags: std::collections::BTreeSet<&str> = ASSETS.iter().map(Asset::etag).collect();
        assert_eq!(tags.len(), ASSETS.len());
        assert!(tags.iter().all(|t| t.starts_with('"') && t.ends_with('"')));
    }
}
