//! CIMI collection query parameters (DSP0263 §4.1.6): `$filter`, `$select`, `$expand`,
//! `$orderby`, `$first`, `$last`.
//!
//! They operate on the JSON form of the entries (lowerCamelCase attribute names), so one
//! implementation serves every collection and both wire formats. Attribute names may also be
//! written in snake_case, as the original accepted (`machine_image` = `machineImage`).
//!
//! `$filter` grammar (DSP0263 1.1, with `/` or `.` for nested attributes):
//!
//! ```text
//! filter   := and ( 'or' and )*
//! and      := term ( 'and' term )*
//! term     := '(' filter ')' | operand op operand
//! operand  := attribute | property '[' string ']' | string | number | bool | date
//! op       := '=' | '!=' | '<' | '<=' | '>' | '>='
//! string   := '…' | "…"   (backslash escapes the quote and itself)
//! date     := yyyy-mm-dd[Thh:mm:ss[.frac](Z|±hh:mm)]   (unquoted)
//! ```
//!
//! Comparison rules (our choice where DSP0263 is silent): a number literal compares numerically
//! with numeric attribute values (JSON numbers or numeric strings); a date literal compares as an
//! instant with attribute values that parse as dates; `true`/`false` compare with JSON booleans
//! or the strings `"true"`/`"false"`; strings compare by code point; a reference attribute
//! (`{"href": …}`) compares as its href. When an attribute is missing or the two sides cannot be
//! compared, `!=` is true and every other operator false (so `name!='x'` keeps entries without a
//! name, as the original's single-condition filter did).

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A malformed query parameter: which one, where (character offset) and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    pub param: &'static str,
    pub position: Option<usize>,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(
                f,
                "Invalid {} at position {}: {}",
                self.param, p, self.message
            ),
            None => write!(f, "Invalid {}: {}", self.param, self.message),
        }
    }
}

fn ferr(pos: usize, msg: impl Into<String>) -> QueryError {
    QueryError {
        param: "$filter",
        position: Some(pos),
        message: msg.into(),
    }
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    fn holds(self, o: Ordering) -> bool {
        match self {
            Self::Eq => o == Ordering::Equal,
            Self::Ne => o != Ordering::Equal,
            Self::Lt => o == Ordering::Less,
            Self::Le => o != Ordering::Greater,
            Self::Gt => o == Ordering::Greater,
            Self::Ge => o != Ordering::Less,
        }
    }
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// An attribute path (already in lowerCamelCase), e.g. `["machineImage", "href"]`.
    Attr(Vec<String>),
    /// `property['key']`.
    Prop(String),
    Str(String),
    Num(f64),
    Bool(bool),
    /// A date literal, as nanoseconds since the epoch.
    Date(i128),
}

/// A parsed `$filter`.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Cmp(Operand, Op, Operand),
}

/// snake_case → lowerCamelCase (`machine_image` ⇒ `machineImage`); camelCase is unchanged.
#[must_use]
pub fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut up = false;
    for c in name.chars() {
        if c == '_' {
            up = !out.is_empty();
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Parse a date literal or attribute value: RFC 3339, or a bare date (midnight UTC).
#[must_use]
pub fn parse_date(s: &str) -> Option<i128> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp_nanos())
}

// ---- lexer ------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Op(Op),
    Str(String),
    Num(f64),
    Date(i128),
    Word(String),
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, QueryError> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Positions are reported as character offsets (what a user counts), not byte offsets.
    while i < chars.len() {
        let (_, c) = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            '[' => {
                out.push((start, Tok::LBracket));
                i += 1;
            }
            ']' => {
                out.push((start, Tok::RBracket));
                i += 1;
            }
            '=' => {
                out.push((start, Tok::Op(Op::Eq)));
                i += 1;
            }
            '!' => {
                if chars.get(i + 1).map(|x| x.1) == Some('=') {
                    out.push((start, Tok::Op(Op::Ne)));
                    i += 2;
                } else {
                    return Err(ferr(start, "'!' must be followed by '='"));
                }
            }
            '<' | '>' => {
                let eq = chars.get(i + 1).map(|x| x.1) == Some('=');
                let op = match (c, eq) {
                    ('<', true) => Op::Le,
                    ('<', false) => Op::Lt,
                    (_, true) => Op::Ge,
                    _ => Op::Gt,
                };
                out.push((start, Tok::Op(op)));
                i += if eq { 2 } else { 1 };
            }
            '\'' | '"' => {
                let q = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i).map(|x| x.1) {
                        None => return Err(ferr(start, "unterminated string")),
                        Some('\\') => match chars.get(i + 1).map(|x| x.1) {
                            Some(e) => {
                                s.push(e);
                                i += 2;
                            }
                            None => return Err(ferr(start, "unterminated string")),
                        },
                        Some(x) if x == q => {
                            i += 1;
                            break;
                        }
                        Some(x) => {
                            s.push(x);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Str(s)));
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].1.is_ascii_alphanumeric()
                        || matches!(chars[j].1, '-' | '+' | ':' | '.'))
                {
                    j += 1;
                }
                let text: String = chars[i..j].iter().map(|x| x.1).collect();
                let looks_like_date = text.len() >= 10
                    && text.as_bytes().get(4) == Some(&b'-')
                    && text.as_bytes()[..4].iter().all(u8::is_ascii_digit);
                if looks_like_date {
                    let d = parse_date(&text).ok_or_else(|| {
                        ferr(
                            start,
                            format!("'{text}' is not a valid date (use RFC 3339)"),
                        )
                    })?;
                    out.push((start, Tok::Date(d)));
                } else {
                    let n: f64 = text
                        .parse()
                        .ok()
                        .filter(|n: &f64| n.is_finite())
                        .ok_or_else(|| ferr(start, format!("'{text}' is not a number")))?;
                    out.push((start, Tok::Num(n)));
                }
                i = j;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].1.is_alphanumeric() || matches!(chars[j].1, '_' | '/' | '.' | '-'))
                {
                    j += 1;
                }
                out.push((start, Tok::Word(chars[i..j].iter().map(|x| x.1).collect())));
                i = j;
            }
            other => return Err(ferr(start, format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

// ---- parser -----------------------------------------------------------------------------------

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.1)
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |t| t.0)
    }
    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut e = self.and(depth)?;
        while self.keyword("or") {
            self.i += 1;
            let r = self.and(depth)?;
            e = Expr::Or(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut e = self.term(depth)?;
        while self.keyword("and") {
            self.i += 1;
            let r = self.term(depth)?;
            e = Expr::And(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn term(&mut self, depth: usize) -> Result<Expr, QueryError> {
        if depth > 64 {
            return Err(ferr(self.pos(), "parentheses nested too deeply"));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            let e = self.or(depth + 1)?;
            if self.peek() != Some(&Tok::RParen) {
                return Err(ferr(self.pos(), "expected ')'"));
            }
            self.i += 1;
            return Ok(e);
        }
        let l = self.operand()?;
        let op = match self.peek() {
            Some(Tok::Op(op)) => *op,
            _ => {
                return Err(ferr(
                    self.pos(),
                    "expected a comparison operator (=, !=, <, <=, >, >=)",
                ));
            }
        };
        self.i += 1;
        let r = self.operand()?;
        Ok(Expr::Cmp(l, op, r))
    }

    fn operand(&mut self) -> Result<Operand, QueryError> {
        let pos = self.pos();
        let Some(t) = self.peek().cloned() else {
            return Err(ferr(pos, "expected an attribute or a value, found the end"));
        };
        self.i += 1;
        Ok(match t {
            Tok::Str(s) => Operand::Str(s),
            Tok::Num(n) => Operand::Num(n),
            Tok::Date(d) => Operand::Date(d),
            Tok::Word(w) if w == "true" => Operand::Bool(true),
            Tok::Word(w) if w == "false" => Operand::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or") => {
                return Err(ferr(
                    pos,
                    format!("expected an attribute or a value, found '{w}'"),
                ));
            }
            Tok::Word(w) if w == "property" && self.peek() == Some(&Tok::LBracket) => {
                self.i += 1;
                let key = match self.peek().cloned() {
                    Some(Tok::Str(s)) => s,
                    _ => return Err(ferr(self.pos(), "expected a quoted property key")),
                };
                self.i += 1;
                if self.peek() != Some(&Tok::RBracket) {
                    return Err(ferr(self.pos(), "expected ']'"));
                }
                self.i += 1;
                Operand::Prop(key)
            }
            Tok::Word(w) => {
                let path: Vec<String> = w.split(['/', '.']).map(camel).collect();
                if path.iter().any(String::is_empty) {
                    return Err(ferr(pos, format!("'{w}' is not a valid attribute name")));
                }
                Operand::Attr(path)
            }
            Tok::LParen | Tok::RParen | Tok::LBracket | Tok::RBracket | Tok::Op(_) => {
                return Err(ferr(pos, "expected an attribute or a value"));
            }
        })
    }
}

/// Parse a `$filter` value.
///
/// # Errors
/// A [`QueryError`] giving the character position where parsing failed.
pub fn parse_filter(src: &str) -> Result<Expr, QueryError> {
    let toks = lex(src)?;
    if toks.is_empty() {
        return Err(ferr(0, "empty filter"));
    }
    let mut p = Parser {
        toks,
        i: 0,
        end: src.chars().count(),
    };
    let e = p.or(0)?;
    if p.i < p.toks.len() {
        return Err(ferr(
            p.pos(),
            "expected 'and', 'or' or the end of the filter",
        ));
    }
    Ok(e)
}

// ---- evaluation -------------------------------------------------------------------------------

/// A value resolved from a resource or a literal.
enum Val<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Date(i128),
}

/// Look an attribute path up in a resource (references compare as their href).
#[must_use]
pub fn lookup<'a>(v: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = v.get(first)?;
    for seg in rest {
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

fn resolve<'a>(o: &'a Operand, r: &'a Map<String, Value>) -> Option<Val<'a>> {
    let json = |v: &'a Value| -> Option<Val<'a>> {
        match v {
            Value::String(s) => Some(Val::Str(s)),
            Value::Number(n) => n.as_f64().map(Val::Num),
            Value::Bool(b) => Some(Val::Bool(*b)),
            Value::Object(m) => m.get("href").and_then(Value::as_str).map(Val::Str),
            _ => None,
        }
    };
    match o {
        Operand::Attr(p) => lookup(r, p).and_then(json),
        Operand::Prop(k) => r
            .get("properties")
            .and_then(|p| p.get(k))
            .and_then(Value::as_str)
            .map(Val::Str),
        Operand::Str(s) => Some(Val::Str(s)),
        Operand::Num(n) => Some(Val::Num(*n)),
        Operand::Bool(b) => Some(Val::Bool(*b)),
        Operand::Date(d) => Some(Val::Date(*d)),
    }
}

fn compare(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Num(x), Val::Str(y)) => y.trim().parse::<f64>().ok().and_then(|y| x.partial_cmp(&y)),
        (Val::Str(x), Val::Num(y)) => x.trim().parse::<f64>().ok().and_then(|x| x.partial_cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Str(y)) | (Val::Str(y), Val::Bool(x)) => {
            // Only equality is meaningful; order `false < true` as for two booleans.
            let y = match *y {
                "true" => true,
                "false" => false,
                _ => return None,
            };
            if matches!(a, Val::Bool(_)) {
                Some(x.cmp(&y))
            } else {
                Some(y.cmp(x))
            }
        }
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(y)),
        (Val::Date(x), Val::Str(y)) => parse_date(y).map(|y| x.cmp(&y)),
        (Val::Str(x), Val::Date(y)) => parse_date(x).map(|x| x.cmp(y)),
        _ => None,
    }
}

/// Does resource `r` pass `e`?
#[must_use]
pub fn eval(e: &Expr, r: &Map<String, Value>) -> bool {
    match e {
        Expr::Or(a, b) => eval(a, r) || eval(b, r),
        Expr::And(a, b) => eval(a, r) && eval(b, r),
        Expr::Cmp(l, op, rt) => {
            let ord = match (resolve(l, r), resolve(rt, r)) {
                (Some(a), Some(b)) => compare(&a, &b),
                _ => None,
            };
            match ord {
                Some(o) => op.holds(o),
                None => *op == Op::Ne,
            }
        }
    }
}

// ---- $select, $expand, $orderby, $first/$last -------------------------------------------------

/// One `$select` item: an attribute, optionally restricted to array elements `[n]` / `[n-m]`
/// (0-based, inclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectItem {
    pub name: String,
    pub range: Option<(usize, usize)>,
}

/// One `$orderby` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderKey {
    pub path: Vec<String>,
    pub descending: bool,
}

/// Which attributes to expand.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Expand {
    #[default]
    None,
    All,
    Some(Vec<String>),
}

impl Expand {
    #[must_use]
    pub fn wants(&self, attr: &str) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Some(v) => v.iter().any(|a| a == attr),
        }
    }
}

/// The parsed query parameters of a collection request.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub filter: Option<Expr>,
    pub select: Option<Vec<SelectItem>>,
    pub expand: Expand,
    pub orderby: Vec<OrderKey>,
    pub first: Option<usize>,
    pub last: Option<usize>,
}

fn perr(param: &'static str, msg: impl Into<String>) -> QueryError {
    QueryError {
        param,
        position: None,
        message: msg.into(),
    }
}

fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.'))
}

fn parse_select(v: &str) -> Result<Vec<SelectItem>, QueryError> {
    let mut out = Vec::new();
    for item in names(v) {
        let (name, range) = match item.split_once('[') {
            None => (item, None),
            Some((n, rest)) => {
                let inner = rest
                    .strip_suffix(']')
                    .ok_or_else(|| perr("$select", format!("'{item}': missing ']'")))?;
                let bad = || perr("$select", format!("'{item}': expected [n] or [n-m]"));
                let (a, b) = match inner.split_once('-') {
                    Some((a, b)) => (a, b),
                    None => (inner, inner),
                };
                let a: usize = a.trim().parse().map_err(|_| bad())?;
                let b: usize = b.trim().parse().map_err(|_| bad())?;
                if a > b {
                    return Err(bad());
                }
                (n, Some((a, b)))
            }
        };
        if !valid_name(name) {
            return Err(perr(
                "$select",
                format!("'{item}' is not an attribute name"),
            ));
        }
        out.push(SelectItem {
            name: camel(name),
            range,
        });
    }
    if out.is_empty() {
        return Err(perr("$select", "no attribute named"));
    }
    Ok(out)
}

fn parse_orderby(v: &str) -> Result<Vec<OrderKey>, QueryError> {
    let mut out = Vec::new();
    for item in names(v) {
        let (attr, dir) = match item.split_once(':') {
            Some((a, d)) => (a.trim(), Some(d.trim())),
            None => match item.split_once(char::is_whitespace) {
                Some((a, d)) => (a.trim(), Some(d.trim())),
                None => (item, None),
            },
        };
        let descending = match dir.map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(d) => {
                return Err(perr(
                    "$orderby",
                    format!("'{d}' is not a sort direction (asc or desc)"),
                ));
            }
        };
        if !valid_name(attr) {
            return Err(perr(
                "$orderby",
                format!("'{attr}' is not an attribute name"),
            ));
        }
        out.push(OrderKey {
            path: attr.split(['/', '.']).map(camel).collect(),
            descending,
        });
    }
    if out.is_empty() {
        return Err(perr("$orderby", "no attribute named"));
    }
    Ok(out)
}

fn parse_index(param: &'static str, v: &str) -> Result<usize, QueryError> {
    match v.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(perr(
            param,
            format!("'{v}' is not a positive integer (entries are numbered from 1)"),
        )),
    }
}

impl Query {
    /// Parse the query parameters of a request (others are ignored).
    ///
    /// # Errors
    /// The first malformed parameter.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, QueryError> {
        let mut q = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "$filter" => {
                    let e = parse_filter(v)?;
                    // Several $filter parameters all apply (DSP0263: they are and-ed).
                    q.filter = Some(match q.filter.take() {
                        Some(prev) => Expr::And(Box::new(prev), Box::new(e)),
                        None => e,
                    });
                }
                "$select" => q.select = Some(parse_select(v)?),
                "$expand" => {
                    q.expand = if v.trim() == "*" {
                        Expand::All
                    } else {
                        let list: Vec<String> = names(v).map(camel).collect();
                        if list.iter().any(|n| !valid_name(n)) {
                            return Err(perr(
                                "$expand",
                                format!("'{v}' is not a list of attribute names"),
                            ));
                        }
                        Expand::Some(list)
                    }
                }
                "$orderby" => q.orderby = parse_orderby(v)?,
                "$first" => q.first = Some(parse_index("$first", v)?),
                "$last" => q.last = Some(parse_index("$last", v)?),
                _ => {}
            }
        }
        Ok(q)
    }

    /// Filter, sort and page `entries`. Returns the entries and the count after filtering
    /// (before paging), which is what the collection's `count` reports.
    #[must_use]
    pub fn apply(&self, mut entries: Vec<Map<String, Value>>) -> (Vec<Map<String, Value>>, usize) {
        if let Some(f) = &self.filter {
            entries.retain(|e| eval(f, e));
        }
        if !self.orderby.is_empty() {
            entries.sort_by(|a, b| {
                for k in &self.orderby {
                    let o = order_values(lookup(a, &k.path), lookup(b, &k.path));
                    let o = if k.descending { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
        }
        let count = entries.len();
        if self.first.is_some() || self.last.is_some() {
            let first = self.first.unwrap_or(1);
            let last = self.last.unwrap_or(usize::MAX).min(count);
            entries = if first > last {
                Vec::new()
            } else {
                entries
                    .into_iter()
                    .skip(first - 1)
                    .take(last + 1 - first)
                    .collect()
            };
        }
        (entries, count)
    }

    /// Keep only the selected attributes of one entry.
    #[must_use]
    pub fn select(&self, entry: Map<String, Value>) -> Map<String, Value> {
        let Some(sel) = &self.select else {
            return entry;
        };
        let mut out = Map::new();
        for (k, v) in entry {
            let Some(item) = sel.iter().find(|s| s.name == k) else {
                continue;
            };
            let v = match (item.range, v) {
                (Some((a, b)), Value::Array(items)) => {
                    Value::Array(items.into_iter().skip(a).take(b + 1 - a).collect())
                }
                (_, v) => v,
            };
            out.insert(k, v);
        }
        out
    }
}

/// Sort order of two attribute values: numbers numerically, strings (and hrefs) by code point,
/// numeric strings numerically against each other; missing values last.
fn order_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn key(v: &Value) -> Option<(Option<f64>, String)> {
        match v {
            Value::Number(n) => Some((n.as_f64(), n.to_string())),
            Value::String(s) => Some((s.trim().parse().ok(), s.clone())),
            Value::Bool(b) => Some((None, b.to_string())),
            Value::Object(m) => m
                .get("href")
                .and_then(Value::as_str)
                .map(|s| (None, s.to_owned())),
            _ => None,
        }
    }
    match (a.and_then(key), b.and_then(key)) {
        (Some((Some(x), _)), Some((Some(y), _))) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some((_, x)), Some((_, y))) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn pass(f: &str, r: &Value) -> bool {
        eval(&parse_filter(f).unwrap(), &obj(r.clone()))
    }

    #[test]
    fn grammar_and_semantics() {
        let r = json!({"name": "MockUserInstance", "memory": 1024, "cpu": "2",
            "created": "2012-10-25T14:27:53+02:00", "flag": true,
            "machineImage": {"href": "http://h/cimi/machine_images/img1"},
            "properties": {"foo": "bar"}});
        assert!(pass("name='MockUserInstance'", &r));
        assert!(pass("name = \"MockUserInstance\"", &r));
        assert!(!pass("name!='MockUserInstance'", &r));
        assert!(pass("memory > 1000 and memory <= 1024", &r));
        assert!(pass("cpu >= 2", &r), "numeric strings compare numerically");
        assert!(pass("1024 = memory", &r), "value on the left");
        assert!(pass("created < 2012-10-25T13:00:00Z", &r));
        assert!(!pass("created < 2012-10-25T12:00:00Z", &r));
        assert!(pass("created > 2012-10-25", &r));
        assert!(pass("flag = true and not_there != 'x'", &r));
        assert!(!pass("not_there = 'x'", &r));
        assert!(pass("property['foo'] = 'bar'", &r));
        assert!(pass(
            "machineImage = 'http://h/cimi/machine_images/img1'",
            &r
        ));
        assert!(pass(
            "machine_image/href = 'http://h/cimi/machine_images/img1'",
            &r
        ));
        assert!(pass(
            "(name='x' or name='MockUserInstance') and (memory=1024)",
            &r
        ));
        assert!(pass("name='x' or name='y' or memory=1024", &r));
        assert!(
            !pass("name='x' or name='y' and memory=1024", &r),
            "and binds tighter"
        );
        assert!(pass("name='it\\'s' or 1=1", &r));
    }

    #[test]
    fn malformed_filters_say_where() {
        for (f, pos) in [
            ("name=", 5),
            ("name 'x'", 5),
            ("(name='x'", 9),
            ("name='x' nand x=1", 9),
            ("name='x", 5),
            ("name ! 'x'", 5),
            ("", 0),
            ("name=2012-13-45", 5),
            ("=3", 0),
            ("property[foo]='x'", 9),
            ("name='a' and", 12),
        ] {
            let e = parse_filter(f).unwrap_err();
            assert_eq!(e.position, Some(pos), "{f}: {e}");
            assert!(
                e.to_string().starts_with("Invalid $filter at position"),
                "{e}"
            );
        }
    }

    #[test]
    fn other_params() {
        let q = Query::parse(&[
            ("$orderby".into(), "memory:desc,name".into()),
            ("$first".into(), "2".into()),
            ("$last".into(), "3".into()),
            ("$select".into(), "name,machine_image,ops[0-1]".into()),
        ])
        .unwrap();
        let es: Vec<_> = [("a", 1), ("b", 3), ("c", 2), ("d", 3)]
            .iter()
            .map(|(n, m)| obj(json!({"name": n, "memory": m, "ops": [1, 2, 3]})))
            .collect();
        let (out, count) = q.apply(es);
        assert_eq!(count, 4);
        let names: Vec<_> = out.iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["d", "c"]);
        let s = q.select(out[0].clone());
        assert_eq!(Value::Object(s), json!({"name": "d", "ops": [1, 2]}));
        for bad in [
            ("$first", "0"),
            ("$last", "x"),
            ("$orderby", "name:up"),
            ("$select", "a[2-1]"),
            ("$select", ""),
        ] {
            assert!(
                Query::parse(&[(bad.0.into(), bad.1.into())]).is_err(),
                "{bad:?}"
            );
        }
    }

    /// A reference model for the property test: resources as plain Rust values and filters as
    /// a tiny AST, evaluated directly without JSON, the lexer or the parser.
    mod reference {
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        #[derive(Clone, Debug)]
        pub struct Res {
            pub name: String,
            pub cpu: i64,
            pub flag: bool,
            pub created: i64,
            pub props: BTreeMap<String, String>,
        }

        #[derive(Clone, Debug)]
        pub enum Lit {
            Name(String),
            Cpu(i64),
            Flag(bool),
            Created(i64),
            Prop(String, String),
        }

        #[derive(Clone, Copy, Debug)]
        pub enum Cmp {
            Eq,
            Ne,
            Lt,
            Le,
            Gt,
            Ge,
        }

        #[derive(Clone, Debug)]
        pub enum F {
            And(Box<F>, Box<F>),
            Or(Box<F>, Box<F>),
            /// attribute op literal, or literal op attribute when `flip`.
            Cmp(Lit, Cmp, bool),
        }

        fn holds<T: Ord>(c: Cmp, a: &T, b: &T) -> bool {
            match c {
                Cmp::Eq => a == b,
                Cmp::Ne => a != b,
                Cmp::Lt => a < b,
                Cmp::Le => a <= b,
                Cmp::Gt => a > b,
                Cmp::Ge => a >= b,
            }
        }

        pub fn eval(f: &F, r: &Res) -> bool {
            match f {
                F::And(a, b) => eval(a, r) && eval(b, r),
                F::Or(a, b) => eval(a, r) || eval(b, r),
                F::Cmp(l, c, flip) => {
                    fn go<T: Ord>(c: Cmp, flip: bool, a: &T, b: &T) -> bool {
                        if flip { holds(c, b, a) } else { holds(c, a, b) }
                    }
                    match l {
                        Lit::Name(v) => go(*c, *flip, &r.name.as_str(), &v.as_str()),
                        Lit::Cpu(v) => go(*c, *flip, &r.cpu, v),
                        Lit::Flag(v) => go(*c, *flip, &r.flag, v),
                        Lit::Created(v) => go(*c, *flip, &r.created, v),
                        Lit::Prop(k, v) => match r.props.get(k) {
                            Some(x) => go(*c, *flip, &x.as_str(), &v.as_str()),
                            None => matches!(c, Cmp::Ne),
                        },
                    }
                }
            }
        }

        fn date(secs: i64) -> String {
            let t = time::OffsetDateTime::from_unix_timestamp(secs)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            crate::resources::xmlschema(t)
        }

        fn quote(s: &str, dq: bool) -> String {
            let q = if dq { '"' } else { '\'' };
            let mut o = String::from(q);
            for c in s.chars() {
                if c == q || c == '\\' {
                    o.push('\\');
                }
                o.push(c);
            }
            o.push(q);
            o
        }

        /// Print a filter in the wire syntax, with varying quotes, spacing and redundant
        /// parentheses.
        pub fn print(f: &F, style: u32) -> String {
            let sp = if style.is_multiple_of(2) { " " } else { "  " };
            match f {
                F::And(a, b) => format!(
                    "({}){sp}and{sp}({})",
                    print(a, style / 2),
                    print(b, style / 3)
                ),
                F::Or(a, b) => format!(
                    "({}){sp}or{sp}({})",
                    print(a, style / 2),
                    print(b, style / 3)
                ),
                F::Cmp(l, c, flip) => {
                    let op = match c {
                        Cmp::Eq => "=",
                        Cmp::Ne => "!=",
                        Cmp::Lt => "<",
                        Cmp::Le => "<=",
                        Cmp::Gt => ">",
                        Cmp::Ge => ">=",
                    };
                    let dq = style.is_multiple_of(3);
                    let (attr, lit) = match l {
                        Lit::Name(v) => ("name".to_owned(), quote(v, dq)),
                        Lit::Cpu(v) => ("cpu".to_owned(), v.to_string()),
                        Lit::Flag(v) => ("flag".to_owned(), v.to_string()),
                        Lit::Created(v) => ("created".to_owned(), date(*v)),
                        Lit::Prop(k, v) => (format!("property[{}]", quote(k, !dq)), quote(v, dq)),
                    };
                    if *flip {
                        format!("{lit}{sp}{op}{sp}{attr}")
                    } else {
                        format!("{attr}{op}{lit}")
                    }
                }
            }
        }

        pub fn to_json(r: &Res) -> serde_json::Map<String, serde_json::Value> {
            let v = serde_json::json!({
                "name": r.name, "cpu": r.cpu, "flag": r.flag, "created": date(r.created),
                "properties": r.props,
            });
            v.as_object().cloned().unwrap_or_default()
        }

        fn word() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("a".to_owned()),
                Just("b".to_owned()),
                Just("it's".to_owned()),
                Just("q\"x".to_owned()),
                "[a-c ]{0,3}",
            ]
        }

        pub fn res() -> impl Strategy<Value = Res> {
            (
                word(),
                -3i64..4,
                any::<bool>(),
                0i64..5,
                proptest::collection::btree_map(
                    prop_oneof![Just("k".to_owned()), Just("l".to_owned())],
                    word(),
                    0..2,
                ),
            )
                .prop_map(|(name, cpu, flag, c, props)| Res {
                    name,
                    cpu,
                    flag,
                    created: 1_300_000_000 + c * 3600,
                    props,
                })
        }

        fn cmp() -> impl Strategy<Value = Cmp> {
            prop_oneof![
                Just(Cmp::Eq),
                Just(Cmp::Ne),
                Just(Cmp::Lt),
                Just(Cmp::Le),
                Just(Cmp::Gt),
                Just(Cmp::Ge)
            ]
        }

        pub fn filter() -> impl Strategy<Value = F> {
            let lit = prop_oneof![
                word().prop_map(Lit::Name),
                (-3i64..4).prop_map(Lit::Cpu),
                any::<bool>().prop_map(Lit::Flag),
                (0i64..5).prop_map(|c| Lit::Created(1_300_000_000 + c * 3600)),
                (
                    prop_oneof![Just("k".to_owned()), Just("l".to_owned())],
                    word()
                )
                    .prop_map(|(k, v)| Lit::Prop(k, v)),
            ];
            let leaf = (lit, cmp(), any::<bool>()).prop_map(|(l, c, f)| F::Cmp(l, c, f));
            leaf.prop_recursive(4, 16, 2, |inner| {
                prop_oneof![
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| F::And(Box::new(a), Box::new(b))),
                    (inner.clone(), inner).prop_map(|(a, b)| F::Or(Box::new(a), Box::new(b))),
                ]
            })
        }
    }

    proptest::proptest! {
        /// Parsing the printed filter and evaluating it on the JSON form agrees with the
        /// reference evaluation, for every resource.
        #[test]
        fn filter_agrees_with_reference(
            f in reference::filter(),
            rs in proptest::collection::vec(reference::res(), 1..6),
            style in 0u32..1000,
        ) {
            let src = reference::print(&f, style);
            let parsed = parse_filter(&src).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{src}: {e}")))?;
            for r in &rs {
                let want = reference::eval(&f, r);
                let got = eval(&parsed, &reference::to_json(r));
                proptest::prop_assert_eq!(got, want, "filter {} on {:?}", src, r);
            }
        }
    }
}
