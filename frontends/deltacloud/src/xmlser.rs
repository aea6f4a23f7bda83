//! A small serde `Serializer` for this frontend's XML documents, writing straight into one
//! `String`.
//!
//! Why not quick-xml's serializer, which the stack chose: the DTOs in `xml.rs` follow its
//! conventions exactly (`@name` fields are attributes, `$text` is text content, any other field
//! is a child element named after the field, a `Vec` repeats it, the root takes the struct's
//! `rename`), and quick-xml remains the reference: the tests render every document shape with
//! both and require byte-identical output. But quick-xml's serializer validates every element
//! and attribute name on every call and allocates per value, which made rendering four mock
//! instances cost ~17 µs, three quarters of the whole request; the
//! throughput target of `/api/instances` (≥ 60 % of a bare handler) cannot be met with it. This
//! writer supports only what the DTOs use (structs, sequences, options, strings, numbers,
//! booleans, `Display` values) and rejects the rest with an error.
//!
//! Output format (quick-xml's, with two-space indentation): `<x/>` for an element without
//! content, text inline (`<name>x</name>`), child elements on their own lines. Text escapes
//! `&`, `<`, `>` and `\r`; attribute values additionally `"`, `\t` and `\n`.

use serde::ser::{self, Impossible, Serialize};
use std::fmt::{self, Write as _};

#[derive(Debug)]
pub(crate) struct XmlError(String);

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for XmlError {}

impl ser::Error for XmlError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

fn unsupported<T>(what: &str) -> Result<T, XmlError> {
    Err(XmlError(format!(
        "{what} cannot be written as XML by this serializer"
    )))
}

/// Serialize `value` (a struct; its `rename` names the root element) into `out`.
pub(crate) fn to_string<T: Serialize + ?Sized>(
    out: &mut String,
    value: &T,
) -> Result<(), XmlError> {
    let mut w = Writer {
        out,
        depth: 0,
        open_tag: false,
    };
    value.serialize(Element {
        w: &mut w,
        name: None,
    })
}

struct Writer<'o> {
    out: &'o mut String,
    /// Nesting depth of the element being written (0 = root).
    depth: usize,
    /// The innermost start tag is still open (`<x a="1"`): content must close it with `>`,
    /// or the element ends as `<x a="1"/>`.
    open_tag: bool,
}

impl Writer<'_> {
    /// Close a pending start tag before content is written.
    fn content(&mut self) {
        if self.open_tag {
            self.out.push('>');
            self.open_tag = false;
        }
    }

    /// A new line and indentation for a start tag at `depth` (none for the root's).
    fn indent(&mut self, depth: usize) {
        if depth > 0 {
            self.newline(depth);
        }
    }

    fn newline(&mut self, depth: usize) {
        const SPACES: &str = "                                                                ";
        self.out.push('\n');
        let mut n = depth * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            self.out.push_str(SPACES.get(..k).unwrap_or_default());
            n -= k;
        }
    }
}

/// Bytes that need escaping: 1 in text and attributes, 2 in attributes only.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'&' as usize] = 1;
    t[b'<' as usize] = 1;
    t[b'>' as usize] = 1;
    t[b'\r' as usize] = 1;
    t[b'"' as usize] = 2;
    t[b'\n' as usize] = 2;
    t[b'\t' as usize] = 2;
    t
};

/// Append `s` escaped for text (`attr == false`) or a double-quoted attribute value.
fn escape(out: &mut String, s: &str, attr: bool) {
    let limit = if attr { 2 } else { 1 };
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(off) = bytes.get(from..).and_then(|rest| {
        rest.iter().position(|&b| {
            let e = ESCAPE[usize::from(b)];
            e != 0 && e <= limit
        })
    }) {
        let i = from + off;
        // `i` is at an ASCII byte, so both slice ends are character boundaries.
        out.push_str(s.get(from..i).unwrap_or_default());
        out.push_str(match bytes.get(i) {
            Some(b'&') => "&amp;",
            Some(b'<') => "&lt;",
            Some(b'>') => "&gt;",
            Some(b'\r') => "&#13;",
            Some(b'"') => "&quot;",
            Some(b'\n') => "&#10;",
            _ => "&#9;",
        });
        from = i + 1;
    }
    out.push_str(s.get(from..).unwrap_or_default());
}

/// `fmt::Write` that escapes as it goes, so `Display` values need no intermediate `String`.
struct Escaping<'a> {
    out: &'a mut String,
    attr: bool,
}

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape(self.out, s, self.attr);
        Ok(())
    }
}

/// A small stack buffer for `Display` values.
struct StackBuf {
    bytes: [u8; 256],
    len: usize,
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        let end = self.len + piece.len();
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(piece.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Append `v`'s text, escaped. Values are usually written in many small pieces (an href is
/// base, collection, id, …), so they are gathered on the stack and escaped in one pass; values
/// longer than the buffer are escaped piece by piece.
fn escape_display<T: fmt::Display + ?Sized>(out: &mut String, v: &T, attr: bool) {
    let mut buf = StackBuf {
        bytes: [0; 256],
        len: 0,
    };
    if write!(buf, "{v}").is_ok()
        && let Some(text) = buf
            .bytes
            .get(..buf.len)
            .and_then(|b| std::str::from_utf8(b).ok())
    {
        escape(out, text, attr);
    } else {
        // Writing into a String cannot fail.
        let _ = write!(Escaping { out, attr }, "{v}");
    }
}

macro_rules! reject {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ret, XmlError> {
            unsupported(stringify!($method))
        }
    )*};
}

/// Writes a value as the element `name` (or, at the root, as the struct's own name).
struct Element<'a, 'o> {
    w: &'a mut Writer<'o>,
    name: Option<&'static str>,
}

impl<'a, 'o> Element<'a, 'o> {
    fn require_name(&self) -> Result<&'static str, XmlError> {
        self.name
            .ok_or_else(|| XmlError("a document root must be a struct".to_owned()))
    }

    /// `<name>text</name>`, or `<name/>` when the text is empty.
    fn text_element(self, write: impl FnOnce(&mut String)) -> Result<(), XmlError> {
        let name = self.require_name()?;
        let w = self.w;
        w.content();
        w.indent(w.depth);
        w.out.push('<');
        w.out.push_str(name);
        let mark = w.out.len();
        w.out.push('>');
        write(w.out);
        if w.out.len() == mark + 1 {
            w.out.truncate(mark);
            w.out.push_str("/>");
        } else {
            w.out.push_str("</");
            w.out.push_str(name);
            w.out.push('>');
        }
        Ok(())
    }

    fn display(self, v: &dyn fmt::Display) -> Result<(), XmlError> {
        self.text_element(|out| escape_display(out, v, false))
    }
}

macro_rules! display_values {
    ($($method:ident($t:ty);)*) => {$(
        fn $method(self, v: $t) -> Result<(), XmlError> {
            self.display(&v)
        }
    )*};
}

impl<'a, 'o> ser::Serializer for Element<'a, 'o> {
    type Ok = ();
    type Error = XmlError;
    type SerializeSeq = Seq<'a, 'o>;
    type SerializeTuple = Seq<'a, 'o>;
    type SerializeTupleStruct = Impossible<(), XmlError>;
    type SerializeTupleVariant = Impossible<(), XmlError>;
    type SerializeMap = Impossible<(), XmlError>;
    type SerializeStruct = Struct<'a, 'o>;
    type SerializeStructVariant = Impossible<(), XmlError>;

    display_values! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
    }

    fn serialize_str(self, v: &str) -> Result<(), XmlError> {
        self.text_element(|out| escape(out, v, false))
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, v: &T) -> Result<(), XmlError> {
        self.text_element(|out| escape_display(out, v, false))
    }

    fn serialize_none(self) -> Result<(), XmlError> {
        self.text_element(|_| {})
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), XmlError> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), XmlError> {
        self.text_element(|_| {})
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), XmlError> {
        self.text_element(|_| {})
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), XmlError> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), XmlError> {
        v.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a, 'o>, XmlError> {
        let name = self.require_name()?;
        Ok(Seq { w: self.w, name })
    }

    fn serialize_tuple(self, _: usize) -> Result<Seq<'a, 'o>, XmlError> {
        let name = self.require_name()?;
        Ok(Seq { w: self.w, name })
    }

    fn serialize_struct(
        self,
        struct_name: &'static str,
        _: usize,
    ) -> Result<Struct<'a, 'o>, XmlError> {
        let name = self.name.unwrap_or(struct_name);
        let w = self.w;
        w.content();
        w.indent(w.depth);
        w.out.push('<');
        w.out.push_str(name);
        w.open_tag = true;
        w.depth += 1;
        Ok(Struct {
            w,
            name,
            children: false,
            text: false,
            content: false,
        })
    }

    reject! {
        serialize_bytes(&[u8]) -> ();
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), XmlError> {
        unsupported("newtype variant")
    }
}

/// A sequence field: every item is an element named like the field.
struct Seq<'a, 'o> {
    w: &'a mut Writer<'o>,
    name: &'static str,
}

impl ser::SerializeSeq for Seq<'_, '_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), XmlError> {
        v.serialize(Element {
            w: self.w,
            name: Some(self.name),
        })
    }

    fn end(self) -> Result<(), XmlError> {
        Ok(())
    }
}

impl ser::SerializeTuple for Seq<'_, '_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), XmlError> {
        ser::SerializeSeq::serialize_element(self, v)
    }

    fn end(self) -> Result<(), XmlError> {
        Ok(())
    }
}

/// The fields of one element.
struct Struct<'a, 'o> {
    w: &'a mut Writer<'o>,
    name: &'static str,
    /// Child elements were written (the end tag goes on its own line).
    children: bool,
    /// Text content was written.
    text: bool,
    /// Anything after the start tag was written (attributes are no longer possible).
    content: bool,
}

impl ser::SerializeStruct for Struct<'_, '_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), XmlError> {
        if let Some(attr) = key.strip_prefix('@') {
            if self.content {
                return Err(XmlError(format!(
                    "attribute `{attr}` of `{}` follows its content",
                    self.name
                )));
            }
            return v.serialize(Attr {
                out: self.w.out,
                name: attr,
            });
        }
        let before = self.w.out.len();
        if key == "$text" {
            v.serialize(Text { w: self.w })?;
            if self.w.out.len() > before {
                self.text = true;
            }
        } else {
            v.serialize(Element {
                w: self.w,
                name: Some(key),
            })?;
            if self.w.out.len() > before {
                self.children = true;
            }
        }
        if self.w.out.len() > before {
            self.content = true;
        }
        if self.text && self.children {
            // No document mixes them, and quick-xml's layout for it is irregular.
            return Err(XmlError(format!(
                "`{}` mixes text and child elements",
                self.name
            )));
        }
        Ok(())
    }

    fn end(self) -> Result<(), XmlError> {
        let w = self.w;
        w.depth -= 1;
        if w.open_tag {
            w.out.push_str("/>");
            w.open_tag = false;
            return Ok(());
        }
        if self.children {
            w.newline(w.depth);
        }
        w.out.push_str("</");
        w.out.push_str(self.name);
        w.out.push('>');
        Ok(())
    }
}

/// An attribute value: ` name="value"`, nothing at all for `None`/unit.
struct Attr<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl Attr<'_> {
    fn write(self, f: impl FnOnce(&mut String)) -> Result<(), XmlError> {
        self.out.push(' ');
        self.out.push_str(self.name);
        self.out.push_str("=\"");
        f(self.out);
        self.out.push('"');
        Ok(())
    }

    fn display(self, v: &dyn fmt::Display) -> Result<(), XmlError> {
        self.write(|out| escape_display(out, v, true))
    }
}

/// Attribute values and text content accept the same scalars and differ only in how they are
/// escaped (`$attr`) and where they are written (each type's `write`), so one macro writes both
/// serializers.
macro_rules! scalar_serializer {
    ($ty:ty, $attr:literal) => {
        impl ser::Serializer for $ty {
            type Ok = ();
            type Error = XmlError;
            type SerializeSeq = Impossible<(), XmlError>;
            type SerializeTuple = Impossible<(), XmlError>;
            type SerializeTupleStruct = Impossible<(), XmlError>;
            type SerializeTupleVariant = Impossible<(), XmlError>;
            type SerializeMap = Impossible<(), XmlError>;
            type SerializeStruct = Impossible<(), XmlError>;
            type SerializeStructVariant = Impossible<(), XmlError>;

            display_values! {
                serialize_bool(bool);
                serialize_i8(i8);
                serialize_i16(i16);
                serialize_i32(i32);
                serialize_i64(i64);
                serialize_u8(u8);
                serialize_u16(u16);
                serialize_u32(u32);
                serialize_u64(u64);
                serialize_f32(f32);
                serialize_f64(f64);
                serialize_char(char);
            }

            fn serialize_str(self, v: &str) -> Result<(), XmlError> {
                self.write(|out| escape(out, v, $attr))
            }

            fn collect_str<T: fmt::Display + ?Sized>(self, v: &T) -> Result<(), XmlError> {
                self.write(|out| escape_display(out, v, $attr))
            }

            fn serialize_none(self) -> Result<(), XmlError> {
                Ok(())
            }

            fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), XmlError> {
                v.serialize(self)
            }

            fn serialize_unit(self) -> Result<(), XmlError> {
                Ok(())
            }

            fn serialize_unit_struct(self, _: &'static str) -> Result<(), XmlError> {
                Ok(())
            }

            fn serialize_unit_variant(
                self,
                _: &'static str,
                _: u32,
                variant: &'static str,
            ) -> Result<(), XmlError> {
                self.serialize_str(variant)
            }

            fn serialize_newtype_struct<T: Serialize + ?Sized>(
                self,
                _: &'static str,
                v: &T,
            ) -> Result<(), XmlError> {
                v.serialize(self)
            }

            reject! {
                serialize_bytes(&[u8]) -> ();
                serialize_seq(Option<usize>) -> Self::SerializeSeq;
                serialize_tuple(usize) -> Self::SerializeTuple;
                serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
                serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
                serialize_map(Option<usize>) -> Self::SerializeMap;
                serialize_struct(&'static str, usize) -> Self::SerializeStruct;
                serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
            }

            fn serialize_newtype_variant<T: Serialize + ?Sized>(
                self,
                _: &'static str,
                _: u32,
                _: &'static str,
                _: &T,
            ) -> Result<(), XmlError> {
                unsupported("newtype variant")
            }
        }
    };
}

scalar_serializer!(Attr<'_>, true);

/// `$text` content of the enclosing element.
struct Text<'a, 'o> {
    w: &'a mut Writer<'o>,
}

impl Text<'_, '_> {
    fn write(self, f: impl FnOnce(&mut String)) -> Result<(), XmlError> {
        let w = self.w;
        let was_open = w.open_tag;
        w.content();
        let mark = w.out.len();
        f(w.out);
        if w.out.len() == mark && was_open {
            // Empty text: the element stays content-less (`<x a="1"/>`).
            w.out.pop();
            w.open_tag = true;
        }
        Ok(())
    }

    fn display(self, v: &dyn fmt::Display) -> Result<(), XmlError> {
        self.write(|out| escape_display(out, v, false))
    }
}

scalar_serializer!(Text<'_, '_>, false);
