//! Per-worker memos that let repeated requests for unchanged data skip work whose result is
//! already known: rendering a document, and hashing it for the `ETag`.
//!
//! Clients poll (`GET /api/instances` every few seconds is the typical Deltacloud client loop)
//! and the answer rarely changes; rendering and MD5 are most of this frontend's cost per
//! request. Both memos are keyed by *everything* their result depends on and compare the inputs
//! exactly, so a hit returns precisely what the computation would have: they can only make a
//! response faster, never different.
//!
//! They are registered as app data of the `/api` scope, which actix builds once per worker
//! thread: no locking, no sharing between threads, no global state. Each is bounded (a few
//! slots of at most 64 KiB each); bigger documents are simply not memoized.

use crate::negotiate::Format;
use crate::routes::Op;
use crate::view::Traits;
use actix_web::web::Bytes;
use md5::{Digest, Md5};
use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;

/// Largest body either memo keeps.
const MAX_BODY: usize = 64 * 1024;

/// Both memos of one worker.
#[derive(Default)]
pub(crate) struct Memos {
    pub etag: EtagMemo,
    pub render: RenderMemo,
}

/// `"<md5 hex>"`, as Rack::ETag computed it.
pub(crate) fn compute_etag(body: &[u8]) -> Option<[u8; 34]> {
    let mut etag = [b'"'; 34];
    hex::encode_to_slice(Md5::digest(body), &mut etag[1..33]).ok()?;
    Some(etag)
}

/// This worker's most recent bodies and their ETags.
///
/// Hashing dominates the cost of a cheap response (MD5 runs at ~600 MB/s, as long as rendering
/// a mid-sized XML document), and the same document is typically served again and again while
/// nothing changes. The memo is keyed by the *exact* body bytes (a length check, then a
/// comparison), so a hit returns precisely what hashing would. It is registered per worker
/// (actix builds the app once per worker thread), holds at most [`EtagMemo::SLOTS`] bodies of at
/// most [`EtagMemo::MAX_BODY`] bytes, and shares them with the responses (`Bytes` is
/// reference-counted), so it costs no copies.
#[derive(Default)]
pub(crate) struct EtagMemo {
    slots: RefCell<VecDeque<(Bytes, [u8; 34])>>,
}

impl EtagMemo {
    const SLOTS: usize = 16;
    const MAX_BODY: usize = MAX_BODY;

    pub(crate) fn etag(&self, body: &Bytes) -> Option<[u8; 34]> {
        if body.len() > Self::MAX_BODY {
            return compute_etag(body);
        }
        // A worker is single-threaded and never holds the borrow across an await; should that
        // ever change, a busy memo just means hashing.
        let Ok(mut slots) = self.slots.try_borrow_mut() else {
            return compute_etag(body);
        };
        if let Some(i) = slots
            .iter()
            .position(|(b, _)| b.len() == body.len() && b == body)
            && let Some(hit) = slots.remove(i)
        {
            let tag = hit.1;
            slots.push_front(hit);
            return Some(tag);
        }
        let tag = compute_etag(body)?;
        slots.push_front((body.clone(), tag));
        slots.truncate(Self::SLOTS);
        Some(tag)
    }
}

/// What a rendered document depends on besides the driver's data: the operation (which shape),
/// the format, the absolute base of every href, the driver (name and the traits that change
/// representations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RenderKey<'a> {
    pub op: Op,
    pub format: Format,
    pub base: &'a str,
    pub driver: &'a str,
    pub traits: Traits,
}

struct RenderEntry {
    op: Op,
    format: Format,
    base: String,
    driver: String,
    traits: Traits,
    /// The driver's answer the body was rendered from.
    data: Box<dyn Any>,
    body: Bytes,
    content_type: &'static str,
}

impl RenderEntry {
    fn matches(&self, k: &RenderKey<'_>) -> bool {
        self.op == k.op
            && self.format == k.format
            && self.base == k.base
            && self.driver == k.driver
            && self.traits == k.traits
    }
}

/// Recently rendered documents of this worker, with the data they were rendered from.
#[derive(Default)]
pub(crate) struct RenderMemo {
    slots: RefCell<VecDeque<RenderEntry>>,
}

impl RenderMemo {
    const SLOTS: usize = 8;

    /// The body rendered earlier for `key` from data equal to `data`.
    pub(crate) fn get<T: PartialEq + 'static>(
        &self,
        key: &RenderKey<'_>,
        data: &T,
    ) -> Option<(Bytes, &'static str)> {
        let mut slots = self.slots.try_borrow_mut().ok()?;
        let i = slots
            .iter()
            .position(|e| e.matches(key) && e.data.downcast_ref::<T>() == Some(data))?;
        let hit = slots.remove(i)?;
        let out = (hit.body.clone(), hit.content_type);
        slots.push_front(hit);
        Some(out)
    }

    /// Remember that `data` rendered to `body` under `key` (takes `data` over: no copy).
    pub(crate) fn put<T: 'static>(
        &self,
        key: &RenderKey<'_>,
        data: T,
        body: &Bytes,
        content_type: &'static str,
    ) {
        if body.len() > MAX_BODY {
            return;
        }
        let Ok(mut slots) = self.slots.try_borrow_mut() else {
            return;
        };
        slots.retain(|e| !e.matches(key));
        slots.push_front(RenderEntry {
            op: key.op,
            format: key.format,
            base: key.base.to_owned(),
            driver: key.driver.to_owned(),
            traits: key.traits,
            data: Box::new(data),
            body: body.clone(),
            content_type,
        });
        slots.truncate(Self::SLOTS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_returns_what_hashing_would() {
        let memo = EtagMemo::default();
        let a = Bytes::from_static(b"hello");
        let b = Bytes::from_static(b"world");
        assert_eq!(memo.etag(&a), compute_etag(&a));
        assert_eq!(
            memo.etag(&b),
            compute_etag(&b),
            "same length, different bytes"
        );
        assert_eq!(
            memo.etag(&Bytes::from(b"hello".to_vec())),
            compute_etag(&a),
            "a hit"
        );
        for i in 0..40u32 {
            let body = Bytes::from(i.to_string().into_bytes());
            assert_eq!(memo.etag(&body), compute_etag(&body));
        }
        assert!(memo.slots.borrow().len() <= EtagMemo::SLOTS);
        let big = Bytes::from(vec![b'x'; EtagMemo::MAX_BODY + 1]);
        assert_eq!(memo.etag(&big), compute_etag(&big));
    }

    #[test]
    fn render_memo_needs_every_input_to_match() {
        let memo = RenderMemo::default();
        let t = Traits {
            auth: None,
            run: true,
            destroy_image: false,
            destroy_key: false,
        };
        let key = RenderKey {
            op: Op::RealmsIndex,
            format: Format::Xml,
            base: "http://h/api",
            driver: "mock",
            traits: t,
        };
        let body = Bytes::from_static(b"<realms/>");
        assert_eq!(memo.get(&key, &vec![1, 2]), None);
        memo.put(&key, vec![1, 2], &body, "application/xml");
        assert_eq!(
            memo.get(&key, &vec![1, 2]),
            Some((body.clone(), "application/xml"))
        );
        assert_eq!(memo.get(&key, &vec![1, 3]), None, "different data");
        assert_eq!(memo.get(&key, &"other type"), None, "different data type");
        let other = [
            RenderKey {
                op: Op::ImagesIndex,
                ..key.clone()
            },
            RenderKey {
                format: Format::Json,
                ..key.clone()
            },
            RenderKey {
                base: "https://h/api",
                ..key.clone()
            },
            RenderKey {
                driver: "ec2",
                ..key.clone()
            },
            RenderKey {
                traits: Traits { run: false, ..t },
                ..key.clone()
            },
        ];
        for k in &other {
            assert_eq!(memo.get(k, &vec![1, 2]), None, "{k:?}");
        }
        // A new rendering for the same key replaces the old one; the memo stays bounded.
        memo.put(
            &key,
            vec![9],
            &Bytes::from_static(b"<x/>"),
            "application/xml",
        );
        assert_eq!(memo.get(&key, &vec![1, 2]), None);
        for (i, k) in other.iter().enumerate() {
            memo.put(k, i, &body, "application/xml");
        }
        for i in 0..20u8 {
            memo.put(
                &RenderKey {
                    base: "b",
                    ..key.clone()
                },
                i,
                &body,
                "application/xml",
            );
        }
        assert!(memo.slots.borrow().len() <= RenderMemo::SLOTS);
        memo.put(
            &key,
            7u8,
            &Bytes::from(vec![b'x'; MAX_BODY + 1]),
            "application/xml",
        );
        assert_eq!(memo.get(&key, &7u8), None, "big documents are not kept");
    }
}
