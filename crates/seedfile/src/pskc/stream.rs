//! The PSKC pull parser (issue #14): quick-xml events, one `<KeyPackage>` at a time.
//!
//! The document is never held whole: the container's header children (`<EncryptionKey>`,
//! `<MACMethod>`) and then each `<KeyPackage>` are read into a small [`Tree`] whose buffers are
//! reused for the next one (no allocation per event or per package once warm). Memory is
//! bounded by the largest single package, whatever the number of packages.
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
use quick_xml::Reader;
use quick_xml::XmlVersion;

use super::NS;
use crate::{Error, Result};

/// Deepest element nesting accepted (RFC 6030 documents nest about 8 deep).
pub const MAX_DEPTH: usize = 32;
/// Most elements in one `<KeyPackage>` (or header child).
pub const MAX_ELEMENTS: usize = 10_000;
/// Longest run of bytes between two `<` (one text node or one tag): 1 MiB.
pub const MAX_RUN: usize = 1 << 20;

const NONE: u32 = u32::MAX;

/// One element of a [`Tree`]: ranges into the tree's shared buffers, links by index.
#[derive(Clone, Copy, Debug)]
struct Node {
    name: (u32, u32),
    attrs: (u32, u32),
    text: (u32, u32),
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
}

/// One subtree read from the stream (a `<KeyPackage>` or a header child), kept in flat
/// buffers that are cleared and reused for the next one: reading a package allocates nothing
/// once the buffers have grown to the largest package (issue #14).
#[derive(Default)]
pub struct Tree {
    nodes: Vec<Node>,
    /// Element names, attribute keys and values, concatenated.
    strs: String,
    /// Text of the elements, concatenated.
    text: String,
    /// Attributes: (key, value) ranges into `strs`.
    attrs: Vec<((u32, u32), (u32, u32))>,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the text: it may hold plaintext secrets.
        f.debug_struct("Tree")
            .field("elements", &self.nodes.len())
            .finish()
    }
}

/// A spent [`Tree`] keeps at most this many bytes of buffers for reuse: one unusually large
/// package does not keep its memory once it is read.
const KEEP_BYTES: usize = 16 << 10;

impl Tree {
    fn clear(&mut self) {
        self.nodes.clear();
        self.strs.clear();
        self.text.clear();
        self.attrs.clear();
    }

    /// Bytes held by the subtree read (names, attributes, text, elements).
    pub fn bytes(&self) -> usize {
        self.strs.len()
            + self.text.len()
            + self.nodes.len() * std::mem::size_of::<Node>()
            + self.attrs.len() * std::mem::size_of::<((u32, u32), (u32, u32))>()
    }

    /// Empties the tree for reuse, giving back buffers grown past [`KEEP_BYTES`].
    pub fn recycle(&mut self) {
        self.clear();
        if self.strs.capacity() > KEEP_BYTES {
            self.strs.shrink_to(KEEP_BYTES);
        }
        if self.text.capacity() > KEEP_BYTES {
            self.text.shrink_to(KEEP_BYTES);
        }
        let nodes = KEEP_BYTES / std::mem::size_of::<Node>();
        if self.nodes.capacity() > nodes {
            self.nodes.shrink_to(nodes);
        }
        let attrs = KEEP_BYTES / std::mem::size_of::<((u32, u32), (u32, u32))>();
        if self.attrs.capacity() > attrs {
            self.attrs.shrink_to(attrs);
        }
    }

    fn put(buf: &mut String, s: &str) -> (u32, u32) {
        let a = buf.len() as u32;
        buf.push_str(s);
        (a, buf.len() as u32)
    }

    /// Adds an element (its local name and attributes) under `parent` (`NONE` for the root).
    fn open(&mut self, parent: u32, st: &quick_xml::events::BytesStart<'_>) -> Result<u32> {
        let name = Self::put(&mut self.strs, st.local_name().into_inner());
        let a0 = self.attrs.len() as u32;
        for a in st.attributes() {
            let a = a.map_err(xml_err)?;
            if a.key.as_ref().starts_with("xmlns") {
                continue;
            }
            let k = Self::put(&mut self.strs, a.key.local_name().into_inner());
            let v = a.normalized_value(XmlVersion::Implicit1_0).map_err(|e| {
                Error::Xml(format!(
                    "attribute {} of <{}>: {e}",
                    self.str_at(k),
                    self.str_at(name)
                ))
            })?;
            let v = Self::put(&mut self.strs, &v);
            self.attrs.push((k, v));
        }
        let idx = self.nodes.len() as u32;
        let t = self.text.len() as u32;
        self.nodes.push(Node {
            name,
            attrs: (a0, self.attrs.len() as u32),
            text: (t, t),
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
        });
        if parent != NONE {
            let p = &mut self.nodes[parent as usize];
            let last = p.last_child;
            p.last_child = idx;
            if last == NONE {
                p.first_child = idx;
            } else {
                self.nodes[last as usize].next_sibling = idx;
            }
        }
        Ok(idx)
    }

    fn str_at(&self, r: (u32, u32)) -> &str {
        &self.strs[r.0 as usize..r.1 as usize]
    }

    /// Appends text to element `i`. A node's text stays one contiguous range: text that comes
    /// after a child element's text is moved to the end first (white space between child
    /// elements is dropped: it never matters once trimmed).
    fn push_text(&mut self, i: u32, s: &str) -> Result<()> {
        let n = self.nodes[i as usize];
        if n.first_child != NONE && s.trim().is_empty() {
            return Ok(());
        }
        let len = (n.text.1 - n.text.0) as usize;
        if len + s.len() > MAX_RUN {
            return Err(Error::Xml(format!(
                "<{}> holds more than {MAX_RUN} bytes of text: refused",
                self.str_at(n.name)
            )));
        }
        let start = if n.text.1 as usize == self.text.len() {
            n.text.0
        } else {
            let start = self.text.len();
            self.text
                .extend_from_within(n.text.0 as usize..n.text.1 as usize);
            start as u32
        };
        self.text.push_str(s);
        self.nodes[i as usize].text = (start, self.text.len() as u32);
        Ok(())
    }

    /// The root element (the subtree's first element).
    pub fn root(&self) -> Elem<'_> {
        Elem { tree: self, i: 0 }
    }
}

/// An element of a [`Tree`]: its local name, attributes (local names), text and children.
#[derive(Clone, Copy)]
pub struct Elem<'a> {
    tree: &'a Tree,
    i: u32,
}

impl std::fmt::Debug for Elem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.name())
    }
}

impl<'a> Elem<'a> {
    fn node(&self) -> &'a Node {
        &self.tree.nodes[self.i as usize]
    }
    /// Local name (`KeyPackage`, `SerialNo`, …).
    pub fn name(&self) -> &'a str {
        self.tree.str_at(self.node().name)
    }
    /// Element children in document order.
    pub fn all_children(&self) -> impl Iterator<Item = Elem<'a>> + 'a {
        let tree = self.tree;
        let mut next = self.node().first_child;
        std::iter::from_fn(move || {
            if next == NONE {
                return None;
            }
            let e = Elem { tree, i: next };
            next = tree.nodes[next as usize].next_sibling;
            Some(e)
        })
    }
    /// The first child element named `name`.
    pub fn child(&self, name: &str) -> Option<Elem<'a>> {
        self.all_children().find(|c| c.name() == name)
    }
    /// Every child element named `name`.
    pub fn children(&self, name: &'a str) -> impl Iterator<Item = Elem<'a>> + 'a {
        self.all_children().filter(move |c| c.name() == name)
    }
    /// An attribute by local name.
    pub fn attribute(&self, name: &str) -> Option<&'a str> {
        let (a, b) = self.node().attrs;
        self.tree.attrs[a as usize..b as usize]
            .iter()
            .find(|(k, _)| self.tree.str_at(*k) == name)
            .map(|(_, v)| self.tree.str_at(*v))
    }
    /// The trimmed text, `None` when empty.
    pub fn text(&self) -> Option<&'a str> {
        let (a, b) = self.node().text;
        let t = self.tree.text[a as usize..b as usize].trim();
        (!t.is_empty()).then_some(t)
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
    /// A child element, read whole into [`Stream::tree`].
    Elem,
    /// `</KeyContainer>`: nothing more.
    End,
}

/// The pull parser positioned inside `<KeyContainer>`.
pub struct Stream<R: BufRead> {
    xml: Reader<RunGuard<R>>,
    buf: Vec<u8>,
    tree: Tree,
    stack: Vec<u32>,
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

/// The namespace the root element's name is in: its prefix's `xmlns:p` (or the default
/// `xmlns`) attribute on the root itself, the only place a root can bind it.
fn root_namespace(st: &quick_xml::events::BytesStart<'_>) -> Result<Option<String>> {
    let name = st.name();
    let want = match name.prefix() {
        Some(p) => format!("xmlns:{}", p.as_ref()),
        None => "xmlns".to_string(),
    };
    for a in st.attributes() {
        let a = a.map_err(xml_err)?;
        if a.key.as_ref() == want {
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(xml_err)?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
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
        let mut xml = Reader::from_reader(RunGuard::new(input));
        let cfg = xml.config_mut();
        cfg.expand_empty_elements = true;
        cfg.check_end_names = true;
        let mut s = Stream {
            xml,
            buf: Vec::new(),
            tree: Tree::default(),
            stack: Vec::new(),
            version: String::new(),
            id: None,
            done: false,
        };
        loop {
            s.buf.clear();
            s.check_run()?;
            let ev = s.xml.read_event_into(&mut s.buf).map_err(xml_err)?;
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
                    let ns = root_namespace(&st)?;
                    if local != "KeyContainer" || ns.as_deref() != Some(NS) {
                        return Err(Error::Pskc(format!(
                            "the root element is <{local}> (namespace {:?}), expected <KeyContainer> in {NS}",
                            ns.as_deref().unwrap_or("none")
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

    /// The subtree read by the last [`Stream::next_child`] that returned [`Child::Elem`].
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Exchanges the tree read last for `other` (an empty or spent tree, whose buffers are
    /// reused): hands a package to another thread without copying it.
    pub fn swap_tree(&mut self, other: &mut Tree) {
        std::mem::swap(&mut self.tree, other);
    }

    /// Reads the next child element of `<KeyContainer>` whole into [`Stream::tree`], or finds
    /// the container's end.
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
                    self.tree.clear();
                    self.tree.open(NONE, &st)?;
                    self.read_subtree()?;
                    return Ok(Child::Elem);
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

    /// Reads the rest of the element whose start (node 0 of the tree) was just read.
    fn read_subtree(&mut self) -> Result<()> {
        self.stack.clear();
        self.stack.push(0);
        let root = |t: &Tree| t.root().name().to_string();
        loop {
            self.buf.clear();
            self.check_run()?;
            let ev = self.xml.read_event_into(&mut self.buf).map_err(xml_err)?;
            let top = self.stack.last().copied().unwrap_or(NONE);
            match ev {
                Event::Start(st) => {
                    if self.stack.len() + 1 >= MAX_DEPTH {
                        return Err(Error::Xml(format!(
                            "elements nested deeper than {MAX_DEPTH}: refused"
                        )));
                    }
                    if self.tree.nodes.len() + 1 > MAX_ELEMENTS {
                        return Err(Error::Xml(format!(
                            "<{}> has more than {MAX_ELEMENTS} elements: refused",
                            root(&self.tree)
                        )));
                    }
                    let i = self.tree.open(top, &st)?;
                    self.stack.push(i);
                }
                Event::End(_) => {
                    self.stack.pop();
                    if self.stack.is_empty() {
                        return Ok(());
                    }
                }
                Event::Text(t) => self.tree.push_text(top, &t)?,
                Event::CData(c) => self.tree.push_text(top, &c)?,
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
                    self.tree.push_text(top, c.encode_utf8(&mut b))?;
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
                        root(&self.tree)
                    )))
                }
            }
        }
    }
}
