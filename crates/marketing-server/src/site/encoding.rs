//! Encodings and ETags: each file as identity bytes plus the gzip and brotli encodings worth
//! having, each a [`Variant`] with a strong ETag and its complete header map.
//!
//! gzip is at best compression and brotli at quality 11 with the window fitted to the file; an
//! encoding is kept only when it is smaller. Precompressed siblings the site ships (`x.gz`,
//! `x.br`) take the place of computed ones. The compressed slots are filled once: at load from
//! siblings, or later by [`Resource::fill_gzip`] / [`Resource::fill_br`] (the background
//! compression); until then a resource is served in the encodings it already has.

use std::io::Write;
use std::sync::OnceLock;

use axum::http::header::{self, HeaderMap, HeaderValue};
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::policy::Policy;

/// One encoding of a resource, with everything needed to answer for it.
#[derive(Debug)]
pub struct Variant {
    pub body: Bytes,
    /// `identity`, `gzip` or `br`: the metrics count bytes sent by encoding.
    pub encoding: &'static str,
    pub etag: HeaderValue,
    /// Headers of a 200 (or 404) answer: content type/length/encoding, caching, security.
    pub headers: HeaderMap,
    /// Headers of a 304 answer for this variant.
    pub not_modified: HeaderMap,
}

/// The site's precompressed siblings of one file (`x.gz`, `x.br`), if it ships them.
#[derive(Debug, Default)]
pub struct Siblings {
    pub gzip: Option<Bytes>,
    pub br: Option<Bytes>,
}

/// A file as served: identity plus whichever compressed encodings are worth having.
#[derive(Debug)]
pub struct Resource {
    pub identity: Variant,
    /// The route label of its answers in the metrics ([`Policy::class`]).
    pub class: &'static str,
    gzip: OnceLock<Option<Variant>>,
    br: OnceLock<Option<Variant>>,
    spec: Spec,
}

impl Resource {
    /// The identity answer for `body`, plus the siblings' answers. Answers carry `security` and,
    /// when `with_etag` (not for the 404 page), an ETag.
    pub fn new(
        body: Bytes,
        siblings: Siblings,
        policy: Policy,
        with_etag: bool,
        security: &HeaderMap,
    ) -> Resource {
        let class = policy.class();
        let spec = Spec {
            content_type: policy.content_type,
            cache_control: policy.cache_control,
            with_etag,
            varies: policy.compressible || siblings.gzip.is_some() || siblings.br.is_some(),
        };
        // A sibling is the site's own choice, but one larger than the file is never worth
        // sending; without a sibling, an incompressible type gets no encoding at all.
        let slot = |sibling: Option<Bytes>, encoding: &'static str| {
            let slot = OnceLock::new();
            match sibling {
                Some(b) => {
                    let v =
                        (b.len() < body.len()).then(|| spec.variant(b, Some(encoding), security));
                    let _ = slot.set(v);
                }
                None if !policy.compressible => {
                    let _ = slot.set(None);
                }
                None => {}
            }
            slot
        };
        let gzip = slot(siblings.gzip, "gzip");
        let br = slot(siblings.br, "br");
        Resource {
            identity: spec.variant(body, None, security),
            class,
            gzip,
            br,
            spec,
        }
    }

    pub fn gzip(&self) -> Option<&Variant> {
        self.gzip.get().and_then(Option::as_ref)
    }

    pub fn br(&self) -> Option<&Variant> {
        self.br.get().and_then(Option::as_ref)
    }

    /// Computes the gzip encoding if still missing; returns its size (0: none worth having).
    pub fn fill_gzip(&self, security: &HeaderMap) -> usize {
        self.fill(&self.gzip, "gzip", gzip, security)
    }

    /// Computes the brotli encoding if still missing; returns its size (0: none worth having).
    pub fn fill_br(&self, security: &HeaderMap) -> usize {
        self.fill(&self.br, "br", brotli, security)
    }

    /// Fills an empty slot with `encode(identity)` if that is smaller. Returns its size.
    fn fill(
        &self,
        slot: &OnceLock<Option<Variant>>,
        encoding: &'static str,
        encode: fn(&[u8]) -> Vec<u8>,
        security: &HeaderMap,
    ) -> usize {
        if slot.get().is_none() {
            let encoded = encode(&self.identity.body);
            let variant = (encoded.len() < self.identity.body.len()).then(|| {
                // `into_boxed_slice` drops spare capacity: these buffers live as long as the process.
                let body = Bytes::from(encoded.into_boxed_slice());
                self.spec.variant(body, Some(encoding), security)
            });
            let _ = slot.set(variant);
        }
        slot.get()
            .and_then(Option::as_ref)
            .map_or(0, |v| v.body.len())
    }
}

/// What every variant of one resource shares; kept so late encodings get the same headers.
#[derive(Debug)]
struct Spec {
    content_type: HeaderValue,
    cache_control: &'static str,
    with_etag: bool,
    varies: bool,
}

impl Spec {
    fn variant(
        &self,
        body: Bytes,
        encoding: Option<&'static str>,
        security: &HeaderMap,
    ) -> Variant {
        // Large bodies are sent with sendfile from a sealed memfd, as nginx sends files.
        let body = service_runtime::server::sendfile::mirror(body);
        let etag = etag_of(&body);
        let mut not_modified = security.clone();
        not_modified.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(self.cache_control),
        );
        if self.with_etag {
            not_modified.insert(header::ETAG, etag.clone());
        }
        if self.varies {
            not_modified.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        let mut headers = not_modified.clone();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        Variant {
            body,
            encoding: encoding.unwrap_or("identity"),
            etag,
            headers,
            not_modified,
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::best(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: brotli_window(data.len()),
        size_hint: data.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(data.len() / 2);
    match brotli::BrotliCompress(&mut &data[..], &mut out, &params) {
        Ok(_) => out,
        Err(_) => Vec::new(),
    }
}

/// The smallest brotli window (log2 bytes, 10..=22) that covers the whole file: a larger one
/// compresses no better, and at quality 11 the encoder's memory grows with it (window 22 costs
/// tens of MiB while a site's files are kilobytes, and that memory stayed resident).
fn brotli_window(len: usize) -> i32 {
    let bits = usize::BITS - len.max(1).saturating_sub(1).leading_zeros();
    bits.clamp(10, 22) as i32
}

/// A strong ETag: the first 12 bytes of the SHA-256 of exactly the bytes sent.
fn etag_of(body: &[u8]) -> HeaderValue {
    use std::fmt::Write as _;
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(26);
    tag.push('"');
    for byte in &digest[..12] {
        let _ = write!(tag, "{byte:02x}");
    }
    tag.push('"');
    HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_window_covers_the_file_and_stays_in_range() {
        assert_eq!(brotli_window(0), 10);
        assert_eq!(brotli_window(1024), 10);
        assert_eq!(brotli_window(1025), 11);
        assert_eq!(brotli_window(126_553), 17);
        assert_eq!(brotli_window(1 << 30), 22);
        let data = b"marketing ".repeat(5000);
        let packed = brotli(&data);
        assert!(!packed.is_empty() && packed.len() < data.len() / 10);
        let mut unpacked = Vec::new();
        brotli::BrotliDecompress(&mut &packed[..], &mut unpacked).expect("valid brotli");
        assert_eq!(unpacked, data);
    }
}
