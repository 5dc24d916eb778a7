//! The PSKC pull parser (issue #14): quick-xml events, one `<KeyPackage>` at a time.
//!
//! The document is never held whole: the container's header children (`<EncryptionKey>`,
//! `<MACMethod>`) and then each `<KeyPackage>` are read into a small [`Elem`] tree, handed
//! out, and dropped. Memory is bounded by the largest single package, whatever the number of
//! packages.
//!
//! Hardening, every refusal named:
//! - a DTD (`<!DOCTYPE`) is refused, so neither entity expansion ("billion laughs") nor an
//!   external entity can happen; only the five predefined entities and character references
//!   are resolved, any other `&name;` is refused;
//! - element depth is at most [`MAX_DEPTH`], a package has at most [`MAX_ELEMENTS`] elements,
//!   and no run of text or markup between two `<` is longer than [`MAX_RUN`] bytes (so no
//!   single event can grow without bound); the input is otherwise not limited in size;
//! - the input is UTF-8 (a declared other encoding or a UTF-16 byte order mark is refused,
//!   naming what tokenline reads).

use std::io::{BufRead, Read};

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use quick_xml::XmlVersion;

use super::NS;
use crate::{Error, Result};

/// Deepest element nesting accepted (RFC 6030 documents nest about 8 deep).
pub const MAX_DEPTH: usize = 32;
/// Most elements in one `<KeyPackage>` (or header child).
pub const MAX_ELEMENTS: usize = 10_000;
/// Longest run of bytes between two `<` (one text node or one tag): 1 MiB.
pub const MAX_RUN: usize = 1 << 20;

/// One element with its local name, attributes (local names) and text, read from the stream.
#[derive(Debug, Default)]
pub struct Elem {
    /// Local name (`KeyPackage`, `SerialNo`, …).
    pub name: String,
    /// Attributes, local names.
    pub attrs: Vec<(String, String)>,
    /// The concatenated text children.
    pub text: String,
    /// Element children in document order.
    pub children: Vec<Elem>,
}

impl Elem {
    /// The first child element named `name`.
    pub fn child(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }
    /// Every child element named `name`.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Elem> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// An attribute by local name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The trimmed text, `None` when empty.
    pub fn text(&self) -> Option<String> {
        let t = self.text.trim();
        (!t.is_empty()).then(|| t.to_string())
    }
}

/// Refuses a run of more than [`MAX_RUN`] bytes without a `<`, before quick-xml buffers it.
pub struct RunGuard<R> {
    inner: R,
    run: usize,
}

impl<R: BufRead> RunGuard<R> {
    fn new(inner: R) -> Self {
        RunGuard { inner, run: 0 }
    }
}

impl<R: BufRead> Read for RunGuard<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for RunGuard<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        // Count the bytes since the last '<' in what is consumed.
        let buf = match self.inner.fill_buf() {
            Ok(b) => b,
            Err(_) => {
                self.inner.consume(amt);
                return;
            }
        };
        let part = &buf[..amt.min(buf.len())];
        match part.iter().rposition(|b| *b == b'<') {
            Some(i) => self.run = part.len() - i - 1,
            None => self.run = self.run.saturating_add(part.len()),
        }
        self.inner.consume(amt);
    }
}

fn xml_err(e: impl std::fmt::Display) -> Error {
    Error::Xml(e.to_string())
}

/// What [`Stream::next_child`] found at depth 1 of the container.
pub enum Child {
    /// A child element, read whole.
    Elem(Elem),
    /// `</KeyContainer>`: nothing more.
    End,
}

/// The pull parser positioned inside `<KeyContainer>`.
pub struct Stream<R: BufRead> {
    xml: NsReader<RunGuard<R>>,
    buf: Vec<u8>,
    /// `Version` attribute of the container.
    pub version: String,
    /// `Id` attribute of the container.
    pub id: Option<String>,
    done: bool,
}

impl<R: BufRead> std::fmt::Debug for Stream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("pskc::Stream")
            .field("version", &self.version)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> Stream<R> {
    /// Reads up to and including the `<KeyContainer>` start tag.
    pub fn open(mut input: R) -> Result<Stream<R>> {
        let head = input
            .fill_buf()
            .map_err(|e| Error::io("reading PSKC input", e))?;
        if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            return Err(Error::Xml(
                "the input is UTF-16 (byte order mark): tokenline reads PSKC in UTF-8, the XML \
                 default encoding (convert it, e.g. iconv -f UTF-16 -t UTF-8)"
                    .into(),
            ));
        }
        let mut xml = NsReader::from_reader(RunGuard::new(input));
        let cfg = xml.config_mut();
        cfg.expand_empty_elements = true;
        cfg.check_end_names = true;
        let mut s = Stream {
            xml,
            buf: Vec::new(),
            version: String::new(),
            id: None,
            done: false,
        };
        loop {
            s.buf.clear();
            s.check_run()?;
            let (ns, ev) = s
                .xml
                .read_resolved_event_into(&mut s.buf)
                .map_err(xml_err)?;
            match ev {
                Event::Decl(d) => {
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(xml_err)?;
                        let e = enc.to_ascii_lowercase();
                        if !matches!(e.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                            return Err(Error::Xml(format!(
                                "the XML declaration says encoding {e:?}: tokenline reads PSKC in \
                                 UTF-8 (convert it, e.g. iconv -f {e} -t UTF-8)"
                            )));
                        }
                    }
                }
                Event::DocType(_) => return Err(Error::DtdRefused),
                Event::Start(st) => {
                    let local = st.local_name().as_ref().to_string();
                    let ns_ok = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == NS);
                    if local != "KeyContainer" || !ns_ok {
                        let nsname = match ns {
                            ResolveResult::Bound(n) => n.as_ref().to_string(),
                            _ => "none".into(),
                        };
                        return Err(Error::Pskc(format!(
                            "the root element is <{local}> (namespace {nsname:?}), expected <KeyContainer> in {NS}"
                        )));
                    }
                    for a in st.attributes() {
                        let a = a.map_err(xml_err)?;
                        let k = a.key.local_name().as_ref().to_string();
                        let v = a
                            .normalized_value(XmlVersion::Implicit1_0)
                            .map_err(xml_err)?
                            .into_owned();
                        match k.as_str() {
                            "Version" => s.version = v,
                            "Id" | "id" => s.id = Some(v),
                            _ => {}
                        }
                    }
                    return Ok(s);
                }
                Event::Eof => return Err(Error::Xml("the input has no root element".into())),
                Event::Text(t) if t.trim().is_empty() => {}
                Event::Comment(_) | Event::PI(_) => {}
                other => {
                    return Err(Error::Xml(format!(
                        "unexpected content before the root element: {other:?}"
                    )))
                }
            }
        }
    }

    fn check_run(&self) -> Result<()> {
        if self.xml.get_ref().run > MAX_RUN {
            return Err(Error::Xml(format!(
                "a text or tag longer than {MAX_RUN} bytes: refused (no PSKC value is that long)"
            )));
        }
        Ok(())
    }

    /// The next child element of `<KeyContainer>`, read whole, or the container's end.
    pub fn next_child(&mut self) -> Result<Child> {
        if self.done {
            return Ok(Child::End);
        }
        loop {
            self.buf.clear();
            self.check_run()?;
            let ev = self.xml.read_event_into(&mut self.buf).map_err(xml_err)?;
            match ev {
                Event::Start(st) => {
                    let first = start_elem(&st)?;
                    return self.read_subtree(first).map(Child::Elem);
                }
                Event::End(_) => {
                    self.done = true;
                    self.finish()?;
                    return Ok(Child::End);
                }
                Event::Text(t) if t.trim().is_empty() => {}
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(Error::DtdRefused),
                Event::Eof => {
                    return Err(Error::Xml(
                        "the input ends inside <KeyContainer> (truncated file?)".into(),
                    ))
                }
                other => {
                    return Err(Error::Xml(format!(
                        "unexpected content in <KeyContainer>: {other:?}"
                    )))
                }
            }
        }
    }

    /// After `</KeyContainer>`: only white space, comments and processing instructions.
    fn finish(&mut self) -> Result<()> {
        loop {
            self.buf.clear();
            self.check_run()?;
            match self.xml.read_event_into(&mut self.buf).map_err(xml_err)? {
                Event::Eof => return Ok(()),
                Event::Text(t) if t.trim().is_empty() => {}
                Event::Comment(_) | Event::PI(_) => {}
                other => {
                    return Err(Error::Xml(format!(
                        "content after </KeyContainer>: {other:?}"
                    )))
                }
            }
        }
    }

    /// Reads the rest of the element started by `root` (depth 1) into a tree.
    fn read_subtree(&mut self, root: Elem) -> Result<Elem> {
        let mut stack = vec![root];
        let mut count = 1usize;
        loop {
            self.buf.clear();
            self.check_run()?;
            let ev = self.xml.read_event_into(&mut self.buf).map_err(xml_err)?;
            match ev {
                Event::Start(st) => {
                    count += 1;
                    if stack.len() + 1 >= MAX_DEPTH {
                        return Err(Error::Xml(format!(
                            "elements nested deeper than {MAX_DEPTH}: refused"
                        )));
                    }
                    if count > MAX_ELEMENTS {
                        return Err(Error::Xml(format!(
                            "<{}> has more than {MAX_ELEMENTS} elements: refused",
                            stack[0].name
                        )));
                    }
                    stack.push(start_elem(&st)?);
                }
                Event::End(_) => {
                    let Some(done) = stack.pop() else {
                        return Err(Error::Xml("unbalanced end tag".into()));
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Text(t) => push_text(&mut stack, &t)?,
                Event::CData(c) => push_text(&mut stack, &c)?,
                Event::GeneralRef(r) => {
                    let c = match r.resolve_char_ref().map_err(xml_err)? {
                        Some(c) => c,
                        None => match &*r {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            other => {
                                return Err(Error::Xml(format!(
                                    "entity &{other}; refused: only the five predefined entities and character references are read"
                                )))
                            }
                        },
                    };
                    let mut b = [0u8; 4];
                    push_text(&mut stack, c.encode_utf8(&mut b))?;
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(Error::DtdRefused),
                Event::Decl(_) => {
                    return Err(Error::Xml("an XML declaration inside the document".into()))
                }
                Event::Empty(_) => {}
                Event::Eof => {
                    return Err(Error::Xml(format!(
                        "the input ends inside <{}> (truncated file?)",
                        stack[0].name
                    )))
                }
            }
        }
    }
}

fn push_text(stack: &mut [Elem], s: &str) -> Result<()> {
    if let Some(top) = stack.last_mut() {
        if top.text.len() + s.len() > MAX_RUN {
            return Err(Error::Xml(format!(
                "<{}> holds more than {MAX_RUN} bytes of text: refused",
                top.name
            )));
        }
        top.text.push_str(s);
    }
    Ok(())
}

fn start_elem(st: &quick_xml::events::BytesStart<'_>) -> Result<Elem> {
    let name = st.local_name().as_ref().to_string();
    let mut attrs = Vec::new();
    for a in st.attributes() {
        let a = a.map_err(xml_err)?;
        if a.key.as_ref().starts_with("xmlns") {
            continue;
        }
        let k = a.key.local_name().as_ref().to_string();
        let v = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| Error::Xml(format!("attribute {k} of <{name}>: {e}")))?
            .into_owned();
        attrs.push((k, v));
    }
    Ok(Elem {
        name,
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}
