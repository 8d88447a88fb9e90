//! The route table: every file by its URL path, plus the aliases a static host is expected to
//! have: `/` and `/dir/` for `index.html`, `/about` for `about.html`, and `/dir` (a directory
//! with an index) as a redirect to `/dir/`, so relative links inside it keep working.

use std::collections::HashMap;
use std::sync::Arc;

use super::encoding::Resource;

/// What a normalised request path maps to.
#[derive(Debug, Clone)]
pub enum Route {
    File(Arc<Resource>),
    /// A directory with an index, asked for without the trailing slash.
    AddSlash,
}

/// Normalised request path → route.
pub type Routes = HashMap<Box<str>, Route>;

/// `/x/` for `/x/index.html`, `/x` for `/x.html`, and `/x` -> redirect for a directory index.
pub fn add_aliases(routes: &mut Routes) {
    let mut html = Vec::new();
    let mut dirs = Vec::new();
    for (path, route) in routes.iter() {
        let Route::File(res) = route else { continue };
        if let Some(dir) = path.strip_suffix("index.html") {
            if let Some(parent) = dir.strip_suffix('/') {
                html.push((Box::<str>::from(dir), res.clone()));
                if !parent.is_empty() {
                    dirs.push(Box::<str>::from(parent));
                }
                continue;
            }
        }
        if let Some(stem) = path.strip_suffix(".html") {
            if !stem.ends_with('/') {
                html.push((stem.into(), res.clone()));
            }
        }
    }
    // Real files win over aliases, `.html` aliases over directory redirects.
    for (alias, res) in html {
        routes.entry(alias).or_insert(Route::File(res));
    }
    for dir in dirs {
        routes.entry(dir).or_insert(Route::AddSlash);
    }
}
