//! Content negotiation exactly as the original did it (`deltacloud-api.md` §2), which differs from
//! textbook HTTP negotiation in three ways clients rely on:
//!
//! * a missing or empty `Accept` means XML (not "anything");
//! * `*/*` means HTML, so `curl` without options gets the HTML explorer;
//! * a `format=` query parameter overrides `Accept` entirely, and an unknown value is a 406.
//!
//! Negotiation yields a *ranking* of acceptable formats; each route then takes the best one it
//! can render ([`Ranking::pick`]), so `Accept: application/json, text/html;q=0.5` on an HTML-only
//! route still gets HTML.

/// A representation a route can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Format {
    Xml,
    Json,
    Html,
    /// Graphviz rendering of the instance state machine (not produced by this frontend yet).
    Png,
    /// Graphviz source (not produced by this frontend yet).
    Gv,
}

impl Format {
    /// The `format=` parameter value.
    fn from_param(s: &str) -> Option<Self> {
        match s {
            "xml" => Some(Self::Xml),
            "json" => Some(Self::Json),
            "html" => Some(Self::Html),
            "png" => Some(Self::Png),
            "gv" => Some(Self::Gv),
            _ => None,
        }
    }

    /// The exact `Content-Type` the original sent: no `charset` parameter.
    pub(crate) const fn content_type(self) -> &'static str {
        match self {
            Self::Xml => "application/xml",
            Self::Json => "application/json",
            Self::Html => "text/html",
            Self::Png => "image/png",
            Self::Gv => "application/ghostscript",
        }
    }

    /// Which format a media range selects. The table is checked in the order of §2 step 3 and
    /// the first hit wins. Wildcards other than `*/*` (`application/*`, `text/*`) match nothing,
    /// as in the original.
    fn from_media_range(range: &str) -> Option<Self> {
        const TABLE: [(&str, Format); 8] = [
            ("application/xml", Format::Xml),
            ("text/xml", Format::Xml),
            ("application/json", Format::Json),
            ("application/xhtml+xml", Format::Html),
            ("text/html", Format::Html),
            ("*/*", Format::Html),
            ("image/png", Format::Png),
            ("application/ghostscript", Format::Gv),
        ];
        TABLE
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(range))
            .map(|&(_, f)| f)
    }
}

/// A set of formats, as a bit set (routes declare what they can render).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Formats(u8);

impl Formats {
    /// XML, JSON and HTML: what every resource route renders.
    pub(crate) const STANDARD: Self = Self::of(&[Format::Xml, Format::Json, Format::Html]);

    pub(crate) const fn of(list: &[Format]) -> Self {
        let mut bits = 0u8;
        let mut i = 0;
        while i < list.len() {
            bits |= Self::bit(list[i]);
            i += 1;
        }
        Self(bits)
    }

    const fn bit(f: Format) -> u8 {
        match f {
            Format::Xml => 1,
            Format::Json => 2,
            Format::Html => 4,
            Format::Png => 8,
            Format::Gv => 16,
        }
    }

    pub(crate) const fn contains(self, f: Format) -> bool {
        self.0 & Self::bit(f) != 0
    }
}

/// The acceptable formats of a request, best first. At most five entries (one per format), so it
/// lives on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ranking {
    items: [Option<Format>; 5],
}

/// The request accepts no format at all (unknown `format=` value, or an `Accept` header that
/// names nothing we know, or only with `q=0`): 406 with an empty body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NotAcceptable;

impl Ranking {
    fn single(f: Format) -> Self {
        Self {
            items: [Some(f), None, None, None, None],
        }
    }

    /// The formats, best first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Format> + '_ {
        self.items.iter().map_while(|f| *f)
    }

    /// The best-ranked format among those `renderable`, or 406.
    pub(crate) fn pick(&self, renderable: Formats) -> Result<Format, NotAcceptable> {
        self.iter()
            .find(|f| renderable.contains(*f))
            .ok_or(NotAcceptable)
    }
}

/// Rank the formats a request accepts from its `format=` query value and its `Accept` header.
pub(crate) fn negotiate(
    format_param: Option<&str>,
    accept: Option<&str>,
) -> Result<Ranking, NotAcceptable> {
    if let Some(p) = format_param {
        // `format=` leaves exactly one candidate; an unknown value is a 406, not "ignored".
        return Format::from_param(p)
            .map(Ranking::single)
            .ok_or(NotAcceptable);
    }
    let accept = accept.map(str::trim).unwrap_or_default();
    if accept.is_empty() {
        return Ok(Ranking::single(Format::Xml));
    }
    // (format, q in thousandths, position). A format keeps the q of the first media range that
    // selects it, not the best one (the original looked the format up in order and stopped at
    // the first hit); a later `*/*` therefore cannot revive an HTML excluded with `q=0`.
    let mut seen: [(Option<Format>, u16); 5] = [(None, 0); 5];
    let mut n = 0usize;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let Some(fmt) = Format::from_media_range(media) else {
            continue;
        };
        if seen[..n].iter().any(|(f, _)| *f == Some(fmt)) {
            continue;
        }
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1000, |(_, v)| parse_q(v.trim()));
        if n < seen.len() {
            seen[n] = (Some(fmt), q);
            n += 1;
        }
    }
    // Stable sort by q, descending: equal q keeps the order the client listed (our SHOULD for
    // ties, which the original left undefined).
    let list = &mut seen[..n];
    list.sort_by_key(|e| std::cmp::Reverse(e.1));
    let mut out = Ranking { items: [None; 5] };
    let mut k = 0;
    for (f, q) in list.iter() {
        if *q > 0 {
            out.items[k] = *f;
            k += 1;
        }
    }
    if k == 0 { Err(NotAcceptable) } else { Ok(out) }
}

/// A q-value as thousandths (`0.5` ⇒ 500). Malformed values count as 1, the default, the lenient
/// reading Rack used.
fn parse_q(v: &str) -> u16 {
    match v.parse::<f32>() {
        Ok(q) if q.is_finite() => {
            // Clamped to [0, 1] first, so the cast cannot overflow or go negative.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let t = (q.clamp(0.0, 1.0) * 1000.0).round() as u16;
            t
        }
        _ => 1000,
    }
}

#[cfg(test)]
mod tests {
    use super::Format::*;
    use super::*;

    fn rank(fp: Option<&str>, accept: Option<&str>) -> Result<Vec<Format>, NotAcceptable> {
        negotiate(fp, accept).map(|r| r.iter().collect())
    }

    #[test]
    fn missing_or_empty_accept_is_xml() {
        assert_eq!(rank(None, None), Ok(vec![Xml]));
        assert_eq!(rank(None, Some("")), Ok(vec![Xml]));
        assert_eq!(rank(None, Some("   ")), Ok(vec![Xml]));
    }

    #[test]
    fn wildcard_means_html() {
        assert_eq!(rank(None, Some("*/*")), Ok(vec![Html]));
    }

    #[test]
    fn simple_types() {
        assert_eq!(rank(None, Some("application/xml")), Ok(vec![Xml]));
        assert_eq!(rank(None, Some("text/xml")), Ok(vec![Xml]));
        assert_eq!(rank(None, Some("application/json")), Ok(vec![Json]));
        assert_eq!(rank(None, Some("text/html")), Ok(vec![Html]));
        assert_eq!(rank(None, Some("application/xhtml+xml")), Ok(vec![Html]));
        assert_eq!(rank(None, Some("image/png")), Ok(vec![Png]));
        assert_eq!(rank(None, Some("application/ghostscript")), Ok(vec![Gv]));
        assert_eq!(
            rank(None, Some("APPLICATION/JSON")),
            Ok(vec![Json]),
            "media types are case-insensitive"
        );
    }

    #[test]
    fn browser_accept_gets_html() {
        let a = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(rank(None, Some(a)), Ok(vec![Html, Xml]));
    }

    #[test]
    fn q_values_order() {
        assert_eq!(
            rank(None, Some("application/xml;q=0.5, application/json")),
            Ok(vec![Json, Xml])
        );
        assert_eq!(
            rank(None, Some("application/json;q=0.1, application/xml;q=0.2")),
            Ok(vec![Xml, Json])
        );
        assert_eq!(
            rank(
                None,
                Some("application/json; charset=utf-8; q=0.3, text/html")
            ),
            Ok(vec![Html, Json])
        );
        assert_eq!(
            rank(None, Some("application/json;Q=0.3,text/xml;q=1.0")),
            Ok(vec![Xml, Json])
        );
    }

    #[test]
    fn ties_keep_client_order() {
        assert_eq!(
            rank(None, Some("application/json, application/xml")),
            Ok(vec![Json, Xml])
        );
        assert_eq!(
            rank(None, Some("application/xml, application/json")),
            Ok(vec![Xml, Json])
        );
        assert_eq!(
            rank(None, Some("text/html;q=0.5,application/json;q=0.5")),
            Ok(vec![Html, Json])
        );
    }

    #[test]
    fn first_hit_wins_not_best_q() {
        // HTML is first seen with q=0.1; the later */* does not raise it to 0.9.
        assert_eq!(
            rank(
                None,
                Some("text/html;q=0.1, application/json;q=0.5, */*;q=0.9")
            ),
            Ok(vec![Json, Html])
        );
        // q=0 excludes, and a later */* does not bring HTML back.
        assert_eq!(rank(None, Some("text/html;q=0, */*")), Err(NotAcceptable));
        assert_eq!(
            rank(None, Some("application/json;q=0, application/xml")),
            Ok(vec![Xml])
        );
    }

    #[test]
    fn other_wildcards_match_nothing() {
        assert_eq!(rank(None, Some("application/*")), Err(NotAcceptable));
        assert_eq!(rank(None, Some("text/*")), Err(NotAcceptable));
        assert_eq!(
            rank(None, Some("text/*, application/json;q=0.2")),
            Ok(vec![Json])
        );
    }

    #[test]
    fn unknown_types_are_not_acceptable() {
        assert_eq!(rank(None, Some("application/pdf")), Err(NotAcceptable));
        assert_eq!(rank(None, Some("foo")), Err(NotAcceptable));
        assert_eq!(rank(None, Some(",,,")), Err(NotAcceptable));
    }

    #[test]
    fn malformed_q_is_default() {
        assert_eq!(
            rank(None, Some("application/json;q=abc, application/xml;q=0.9")),
            Ok(vec![Json, Xml])
        );
        assert_eq!(
            rank(None, Some("application/json;q=7")),
            Ok(vec![Json]),
            "q is clamped to 1"
        );
        assert_eq!(
            rank(None, Some("application/json;q=-1")),
            Err(NotAcceptable),
            "negative q clamps to 0"
        );
    }

    #[test]
    fn format_param_overrides_accept() {
        assert_eq!(rank(Some("json"), Some("text/html")), Ok(vec![Json]));
        assert_eq!(rank(Some("xml"), None), Ok(vec![Xml]));
        assert_eq!(rank(Some("html"), Some("application/xml")), Ok(vec![Html]));
        assert_eq!(rank(Some("png"), None), Ok(vec![Png]));
        assert_eq!(
            rank(Some("yaml"), Some("application/xml")),
            Err(NotAcceptable)
        );
        assert_eq!(rank(Some(""), None), Err(NotAcceptable));
    }

    #[test]
    fn route_picks_best_renderable() {
        let r = negotiate(None, Some("application/json, text/html;q=0.5")).unwrap();
        assert_eq!(r.pick(Formats::of(&[Html])), Ok(Html));
        assert_eq!(r.pick(Formats::STANDARD), Ok(Json));
        let png = negotiate(Some("png"), None).unwrap();
        assert_eq!(png.pick(Formats::STANDARD), Err(NotAcceptable));
        let img = negotiate(None, Some("image/png")).unwrap();
        assert_eq!(img.pick(Formats::STANDARD), Err(NotAcceptable));
    }

    #[test]
    fn content_types_are_exact() {
        assert_eq!(Xml.content_type(), "application/xml");
        assert_eq!(Json.content_type(), "application/json");
        assert_eq!(Html.content_type(), "text/html");
    }
}
