//! The text log format: one line per event, in the layout of `tracing_subscriber::fmt`'s default
//! ("full") format with ANSI off, written by a layer of our own.
//!
//! ```text
//! 2026-12-06T18:04:55.629500Z  INFO request{request_id=d127ea7d-…}: deltacloud_server::logging: request method=GET path="/ec2" status=200
//! ```
//!
//! Why not `fmt` itself: at one access-log line per request, `fmt`'s generic machinery (its
//! `Writer` with per-field style painting even with ANSI off, the timestamp formatted from
//! scratch for every line, a `String` per span field set in an extension map keyed by
//! formatter type) was about a tenth of the CPU of a cheap request (`bench/run.sh`,
//! `/robots.txt` at `RUST_LOG=info` against `warn`: 1.3 µs of 3.3 µs user time per request).
//! This layer formats each line into a per-thread buffer with a timestamp prefix cached per
//! second, then hands it to the writer in one piece. The JSON format stays with `fmt`.
//!
//! One difference on purpose: control characters in messages and `%`-formatted (Display)
//! values are escaped (`\n`, `\u{1b}`), so nothing a client sends can forge a log line or
//! drive a terminal. `fmt` escapes only ANSI sequences; string values (`path = …`) are
//! written in `Debug` form, quoted and escaped, by both.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as text lines and writes each through `W` in one `write_all`.
pub struct TextLayer<W> {
    make_writer: W,
}

impl<W> TextLayer<W> {
    pub const fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// The largest line buffer a thread keeps between events.
const MAX_KEPT_LINE: usize = 64 * 1024;

/// A span's fields, formatted once when it is created (and extended by `record`).
struct SpanFields(String);

thread_local! {
    /// The line being formatted; kept between events so its capacity is reused.
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
    /// The `YYYY-MM-DDTHH:MM:SS` of the last second this thread formatted.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl<S, W> Layer<S> for TextLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = String::new();
        attrs.record(&mut FieldWriter::new(&mut fields, false));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            let started = !fields.is_empty();
            values.record(&mut FieldWriter::new(fields, started));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let write = |line: &mut String| {
            line.clear();
            format_line(line, event, &ctx);
            let _ = self
                .make_writer
                .make_writer_for(event.metadata())
                .write_all(line.as_bytes());
        };
        LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => {
                write(&mut line);
                // One huge event (a long error body, say) should not pin its buffer for good.
                if line.capacity() > MAX_KEPT_LINE {
                    *line = String::with_capacity(512);
                }
            }
            // An event logged while this thread formats another (from inside a `Display`).
            Err(_) => write(&mut String::new()),
        });
    }
}

fn format_line<S>(line: &mut String, event: &Event<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    // Events bridged from the `log` crate (actix-server logs that way) carry their real target
    // in fields; `fmt` shows that one too.
    let normalized = event.normalized_metadata();
    let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
    push_timestamp(line, SystemTime::now());
    line.push(' ');
    line.push_str(level_padded(*meta.level()));
    line.push(' ');
    if let Some(scope) = ctx.event_scope(event) {
        let mut any = false;
        for span in scope.from_root() {
            line.push_str(span.metadata().name());
            if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>()
                && !fields.is_empty()
            {
                line.push('{');
                line.push_str(fields);
                line.push('}');
            }
            line.push(':');
            any = true;
        }
        if any {
            line.push(' ');
        }
    }
    line.push_str(meta.target());
    line.push_str(": ");
    event.record(&mut FieldWriter::new(line, false));
    line.push('\n');
}

/// The level as `fmt` pads it (`{:>5}`).
const fn level_padded(level: Level) -> &'static str {
    match level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

/// `2026-12-06T18:04:55.629500Z`: RFC 3339 in UTC with microseconds, like `fmt`'s default
/// timer. The part up to the second is formatted once per second per thread.
fn push_timestamp(line: &mut String, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let (y, mo, d, h, mi, s) = civil(secs);
            cached.1.clear();
            let _ = write!(cached.1, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            cached.0 = secs;
        }
        line.push_str(&cached.1);
    });
    let _ = write!(line, ".{:06}Z", since.subsec_micros());
}

/// Unix seconds ⇒ (year, month, day, hour, minute, second) in UTC, by the days-to-civil
/// algorithm of Howard Hinnant's `chrono`-compatible date library (proleptic Gregorian).
fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (
        year,
        month as u32,
        day as u32,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}

/// Writes fields as `fmt` does: the message first as text, then ` name=value` with values in
/// `Debug` form (strings quoted); `log.*` bookkeeping fields of bridged `log` records skipped.
struct FieldWriter<'a> {
    out: &'a mut String,
    /// Whether anything is written yet (a separating space goes before every later field).
    started: bool,
}

impl<'a> FieldWriter<'a> {
    /// `started`: whether `out` already holds fields of the same set (a span's `record`).
    const fn new(out: &'a mut String, started: bool) -> Self {
        Self { out, started }
    }

    /// Start a field: the separator and, unless it is the message, `name=`.
    fn begin(&mut self, field: &Field) -> bool {
        let name = field.name();
        if name.starts_with("log.") {
            return false;
        }
        if self.started {
            self.out.push(' ');
        }
        self.started = true;
        if name != "message" {
            self.out.push_str(name.strip_prefix("r#").unwrap_or(name));
            self.out.push('=');
        }
        true
    }
}

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.begin(field) {
            if field.name() == "message" {
                push_escaped(self.out, value);
            } else {
                // `Debug` of a `str` quotes it and escapes quotes and control characters.
                let _ = write!(self.out, "{value:?}");
            }
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.begin(field) {
            let _ = write!(self.out, "{value}");
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.begin(field) {
            let _ = write!(self.out, "{value}");
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.begin(field) {
            self.out.push_str(if value { "true" } else { "false" });
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.begin(field) {
            let _ = write!(Escaping(self.out), "{value}");
            let mut source = value.source();
            while let Some(s) = source {
                let _ = write!(Escaping(self.out), ": {s}");
                source = s.source();
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.begin(field) {
            let _ = write!(Escaping(self.out), "{value:?}");
        }
    }
}

/// Append `s` with control characters escaped.
fn push_escaped(out: &mut String, s: &str) {
    let _ = Escaping(out).write_str(s);
}

/// A `fmt::Write` that escapes control characters (C0, DEL, C1) as Rust escapes do.
struct Escaping<'a>(&'a mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            self.0.push_str(s);
            return Ok(());
        }
        for c in s.chars() {
            if c.is_control() {
                let _ = write!(self.0, "{}", c.escape_default());
            } else {
                self.0.push(c);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt as _;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Sink {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    fn lines_of(f: impl FnOnce()) -> Vec<String> {
        let sink = Sink::default();
        let subscriber = tracing_subscriber::registry().with(TextLayer::new(sink.clone()));
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    /// The part after the timestamp, which the tests cannot predict.
    fn rest(line: &str) -> &str {
        let (ts, rest) = line.split_at(27);
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{line}");
        rest
    }

    #[test]
    fn lines_have_the_layout_of_fmt() {
        let lines = lines_of(|| {
            tracing::info!(driver = "mock", port = 3001_u16, "deltacloudd started");
            let span = tracing::info_span!("request", request_id = %"abc-1");
            let _in = span.enter();
            tracing::warn!(
                method = %"GET",
                path = "/ec2",
                status = 503_u16,
                ok = false,
                elapsed_ms = 0.25_f64,
                missing = Option::<&str>::None,
                "request failed"
            );
            let inner = tracing::debug_span!("inner");
            let _in2 = inner.enter();
            tracing::error!(delta = -3_i64, "nested");
        });
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(
            rest(&lines[0]),
            "  INFO deltacloud_server::textlog::tests: deltacloudd started driver=\"mock\" port=3001"
        );
        assert_eq!(
            rest(&lines[1]),
            "  WARN request{request_id=abc-1}: deltacloud_server::textlog::tests: request failed \
             method=GET path=\"/ec2\" status=503 ok=false elapsed_ms=0.25"
        );
        assert_eq!(
            rest(&lines[2]),
            " ERROR request{request_id=abc-1}:inner: deltacloud_server::textlog::tests: nested delta=-3"
        );
    }

    #[test]
    fn recorded_span_fields_are_appended() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("job", id = 7_u64, state = tracing::field::Empty);
            span.record("state", "done");
            let _in = span.enter();
            tracing::info!("finished");
        });
        assert_eq!(
            rest(&lines[0]),
            "  INFO job{id=7 state=\"done\"}: deltacloud_server::textlog::tests: finished"
        );
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        let lines = lines_of(|| {
            let evil = "x\n2026-01-01T00:00:00.000000Z  INFO forged\u{1b}[31m";
            tracing::info!(path = evil, error = %evil, "{evil}");
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = &lines[0];
        assert!(!line.contains('\u{1b}'), "{line}");
        assert!(
            line.contains(r#"path="x\n2026-01-01T00:00:00.000000Z  INFO forged\u{1b}[31m""#),
            "{line}"
        );
        assert!(line.contains(r"error=x\n2026"), "{line}");
        assert!(line.contains(r": x\n2026"), "{line}");
    }

    #[test]
    fn errors_show_their_sources() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("cannot open the database")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("disk full"));
        let lines = lines_of(|| {
            tracing::error!(
                error = &e as &(dyn std::error::Error + 'static),
                "start failed"
            );
        });
        assert!(
            lines[0].ends_with("start failed error=cannot open the database: disk full"),
            "{lines:?}"
        );
    }

    #[test]
    fn timestamps_are_utc_rfc3339_with_microseconds() {
        let mut s = String::new();
        let at = UNIX_EPOCH + std::time::Duration::from_micros(1_765_044_295_629_500);
        push_timestamp(&mut s, at);
        assert_eq!(s, "2025-12-06T18:04:55.629500Z");
        // The cached second is not reused for another one.
        s.clear();
        push_timestamp(
            &mut s,
            UNIX_EPOCH + std::time::Duration::from_secs(951_782_400),
        );
        assert_eq!(s, "2000-02-29T00:00:00.000000Z");
        // Across the whole range the days-to-date arithmetic agrees with `time`'s.
        for days in (0..200_000_u64).step_by(37) {
            let secs = days * 86_400 + 3_723;
            let (y, mo, d, h, mi, sec) = civil(secs);
            let t =
                time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap()).unwrap();
            assert_eq!(
                (y, mo, d, h, mi, sec),
                (
                    i64::from(t.year()),
                    u32::from(u8::from(t.month())),
                    u32::from(t.day()),
                    u64::from(t.hour()),
                    u64::from(t.minute()),
                    u64::from(t.second())
                ),
                "{secs}"
            );
        }
    }
}
