//! The PSKC pull parser (issue #14): quick-xml events, one `<KeyPackage>` at a time.
//!
//! The document is never held whole: the input is read into a window (up to [`WINDOW`] bytes
//! at a time) that quick-xml parses in place, its events borrowing the window's bytes (no copy
//! per event). The container's header children (`<EncryptionKey>`, `<MACMethod>`) and then
//! each `<KeyPackage>` are read into a small [`Tree`] whose buffers are reused for the next one
//! (no allocation per event or per package once warm). The parser is only given the window up
//! to its last `>`, so every event it sees is whole; a package that runs past the window is
//! parsed again once more input is read. Memory is bounded by the window and the largest
//! package ([`MAX_UNIT`]), whatever the number of packages.
//!
//! Hardening, every refusal named:
//! - a DTD (`<!DOCTYPE`) is refused, so neither entity expansion ("billion laughs") nor an
//!   external entity can happen; only the five predefined entities and character references
//!   are resolved, any other `&name;` is refused;
//! - element depth is at most [`MAX_DEPTH`], a package has at most [`MAX_ELEMENTS`] elements
//!   and [`MAX_UNIT`] bytes, and no run of text or markup between two `<` is longer than
//!   [`MAX_RUN`] bytes (so no single event can grow without bound); the input is otherwise not
//!   limited in size;
//! - the input is UTF-8 (a declared other encoding or a UTF-16 byte order mark is refused,
//!   naming what tokenline reads).

use std::io::{BufRead, Read};

use quick_xml::events::Event;
use quick_xml::Reader;
use quick_xml::XmlVersion;

use super::tree::NONE;
pub use super::tree::{Elem, Tree};
use super::NS;
use crate::{Error, Result};

/// Deepest element nesting accepted (RFC 6030 documents nest about 8 deep).
pub const MAX_DEPTH: usize = 32;
/// Most elements in one `<KeyPackage>` (or header child).
pub const MAX_ELEMENTS: usize = 10_000;
/// Longest run of bytes between two `<` (one text node or one tag): 1 MiB.
pub const MAX_RUN: usize = 1 << 20;
/// Longest child of `<KeyContainer>` (a `<KeyPackage>` or a header element), and longest
/// stretch of white space and comments between two: 4 MiB (a key package is about 1.5 KiB).
pub const MAX_UNIT: usize = 4 << 20;
/// Most bytes read from the input at a time (the first read is `FIRST_WINDOW`, each next one
/// twice the last): the window the parser works in, beside the unfinished package it carries.
pub const WINDOW: usize = 1 << 20;
/// The first read: small, so that a small document costs little.
const FIRST_WINDOW: usize = 16 << 10;

pub(super) fn xml_err(e: impl std::fmt::Display) -> Error {
    Error::Xml(e.to_string())
}

fn unit_err() -> Error {
    Error::Xml(format!(
        "a child of <KeyContainer> (or the white space and comments before it) is longer than \
         {MAX_UNIT} bytes: refused (a <KeyPackage> is a few KiB)"
    ))
}

fn run_err() -> Error {
    Error::Xml(format!(
        "a text or tag longer than {MAX_RUN} bytes: refused (no PSKC value is that long)"
    ))
}

/// What [`Stream::next_child`] found at depth 1 of the container.
pub enum Child {
    /// A child element, read whole into [`Stream::tree`].
    Elem,
    /// `</KeyContainer>`: nothing more.
    End,
}

/// What parsing the window gave.
enum Step<T> {
    /// The step is complete.
    Done(T),
    /// The window ends inside the step: read more input and parse it again. The error, if
    /// any, is what the parser said at the window's end, reported if no more input comes.
    More(Option<Error>),
}

/// The pull parser positioned inside `<KeyContainer>`.
pub struct Stream<R: BufRead> {
    input: R,
    /// Bytes read; those from `pos` on are not parsed yet.
    buf: Vec<u8>,
    pos: usize,
    /// End of what the parser is given: just after the last `>` read (every event before it
    /// is whole), or the end of `buf` once the input has ended.
    safe: usize,
    /// Size of the next read, and the most it grows to.
    window: usize,
    max_window: usize,
    eof: bool,
    tree: Tree,
    stack: Vec<u32>,
    /// The root element's qualified name, which its end tag repeats.
    root: Vec<u8>,
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

/// A quick-xml reader over `window`: events borrow it. Empty elements come as `Empty` (one
/// event, no allocation), end tags are checked against their start tags, and an end tag
/// without a start in the window is let through: it is `</KeyContainer>`, checked here.
fn reader(window: &[u8]) -> Reader<&[u8]> {
    let mut xml = Reader::from_reader(window);
    let cfg = xml.config_mut();
    cfg.expand_empty_elements = false;
    cfg.check_end_names = true;
    cfg.allow_unmatched_ends = true;
    xml
}

/// The next event, refusing one longer than [`MAX_RUN`]; a syntax error before the end of the
/// input may be an event cut by the window's end: [`Step::More`].
fn next_event<'a>(xml: &mut Reader<&'a [u8]>, eof: bool) -> Result<Step<Event<'a>>> {
    let before = xml.buffer_position();
    match xml.read_event() {
        Ok(ev) => {
            if xml.buffer_position() - before > MAX_RUN as u64 {
                return Err(run_err());
            }
            Ok(Step::Done(ev))
        }
        Err(e @ quick_xml::Error::Syntax(_)) if !eof => Ok(Step::More(Some(xml_err(e)))),
        Err(e) => Err(xml_err(e)),
    }
}

macro_rules! event {
    ($xml:expr, $eof:expr) => {
        match next_event($xml, $eof)? {
            Step::Done(ev) => ev,
            Step::More(e) => return Ok(Step::More(e)),
        }
    };
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
    pub fn open(input: R) -> Result<Stream<R>> {
        Self::open_with_window(input, WINDOW)
    }

    /// [`Stream::open`] reading at most `window` bytes at a time (at least 1; a package
    /// longer than the window is read in several): the same documents give the same trees
    /// and errors whatever the window, which tests and the fuzz target check with small ones.
    pub fn open_with_window(input: R, window: usize) -> Result<Stream<R>> {
        let window = window.clamp(1, WINDOW);
        let mut s = Stream {
            input,
            buf: Vec::new(),
            pos: 0,
            safe: 0,
            window: FIRST_WINDOW.min(window),
            max_window: window,
            eof: false,
            tree: Tree::default(),
            stack: Vec::new(),
            root: Vec::new(),
            version: String::new(),
            id: None,
            done: false,
        };
        while s.buf.len() < 3 && !s.eof {
            s.more(None)?;
        }
        // A UTF-8 byte order mark is allowed before the XML declaration (XML 1.0 §4.3.3):
        // drop it, so the parser sees the document from its first `<`.
        if s.buf.starts_with(b"\xEF\xBB\xBF") {
            s.buf.drain(..3);
            s.safe = s.safe.saturating_sub(3);
        }
        if s.buf.starts_with(b"\xFF\xFE") || s.buf.starts_with(b"\xFE\xFF") {
            return Err(Error::Xml(
                "the input is UTF-16 (byte order mark): tokenline reads PSKC in UTF-8, the XML \
                 default encoding (convert it, e.g. iconv -f UTF-16 -t UTF-8)"
                    .into(),
            ));
        }
        let empty_root = s.run(Self::prolog)?;
        if empty_root {
            s.done = true;
            s.run(Self::trailer)?;
        }
        Ok(s)
    }

    /// Runs `step` on the window until it is complete, reading more input each time the
    /// window ends inside it.
    fn run<T>(&mut self, step: fn(&mut Self) -> Result<Step<T>>) -> Result<T> {
        loop {
            match step(self)? {
                Step::Done(t) => return Ok(t),
                Step::More(e) => self.more(e)?,
            }
        }
    }

    /// Reads more input after the unparsed bytes (moved to the front of the buffer). `err`:
    /// what the parser said at the window's end, the error if the input has ended or the
    /// unparsed part is already [`MAX_UNIT`] long.
    fn more(&mut self, err: Option<Error>) -> Result<()> {
        let pending = &self.buf[self.pos..];
        let run = match pending.iter().rposition(|b| *b == b'<') {
            Some(i) => pending.len() - i - 1,
            None => pending.len(),
        };
        if run > MAX_RUN {
            return Err(run_err());
        }
        if self.eof {
            return Err(err.unwrap_or_else(|| {
                Error::Xml("the input ends inside <KeyContainer> (truncated file?)".into())
            }));
        }
        if pending.len() >= MAX_UNIT {
            return Err(err.unwrap_or_else(unit_err));
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        // Twice the unfinished part at least (each re-parse covers twice as much), never
        // past what a unit may hold.
        let want = self
            .window
            .max(self.buf.len())
            .min(MAX_UNIT + 1 - self.buf.len());
        self.window = (self.window * 2).min(self.max_window);
        let n = (&mut self.input)
            .take(want as u64)
            .read_to_end(&mut self.buf)
            .map_err(|e| Error::io("reading PSKC input", e))?;
        self.eof = n < want;
        self.safe = if self.eof {
            self.buf.len()
        } else {
            self.buf
                .iter()
                .rposition(|b| *b == b'>')
                .map_or(0, |i| i + 1)
        };
        Ok(())
    }

    /// The prolog and the root's start tag; true if the root is an empty element.
    fn prolog(&mut self) -> Result<Step<bool>> {
        let mut xml = reader(&self.buf[self.pos..self.safe]);
        loop {
            match event!(&mut xml, self.eof) {
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
                ev @ (Event::Start(_) | Event::Empty(_)) => {
                    let empty = matches!(ev, Event::Empty(_));
                    let (Event::Start(st) | Event::Empty(st)) = ev else {
                        unreachable!("matched above")
                    };
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
                            "Version" => self.version = v,
                            "Id" | "id" => self.id = Some(v),
                            _ => {}
                        }
                    }
                    self.root = st.name().as_ref().as_bytes().to_vec();
                    self.pos += xml.buffer_position() as usize;
                    return Ok(Step::Done(empty));
                }
                Event::Eof if self.eof => {
                    return Err(Error::Xml("the input has no root element".into()))
                }
                Event::Eof => return Ok(Step::More(None)),
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

    /// The subtree read by the last [`Stream::next_child`] that returned [`Child::Elem`]; its
    /// attributes are not parsed yet (see [`Stream::resolved_tree`]).
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// [`Stream::tree`] with its attributes parsed ([`Tree::resolve`]).
    pub fn resolved_tree(&mut self) -> Result<&Tree> {
        self.tree.resolve()?;
        Ok(&self.tree)
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
        let c = self.run(Self::child)?;
        if let Child::End = c {
            self.done = true;
            self.run(Self::trailer)?;
        }
        Ok(c)
    }

    /// One child element of `<KeyContainer>` (with the white space and comments before it),
    /// or its end tag.
    fn child(&mut self) -> Result<Step<Child>> {
        let mut xml = reader(&self.buf[self.pos..self.safe]);
        loop {
            match event!(&mut xml, self.eof) {
                ev @ (Event::Start(_) | Event::Empty(_)) => {
                    let empty = matches!(ev, Event::Empty(_));
                    let (Event::Start(st) | Event::Empty(st)) = ev else {
                        unreachable!("matched above")
                    };
                    self.tree.clear();
                    self.tree.open(NONE, &st)?;
                    if !empty {
                        match read_subtree(&mut xml, &mut self.tree, &mut self.stack, self.eof)? {
                            Step::Done(()) => {}
                            Step::More(e) => return Ok(Step::More(e)),
                        }
                    }
                    let used = xml.buffer_position() as usize;
                    if used > MAX_UNIT {
                        return Err(unit_err());
                    }
                    self.pos += used;
                    return Ok(Step::Done(Child::Elem));
                }
                Event::End(e) => {
                    if e.name().as_ref().as_bytes() != self.root.as_slice() {
                        return Err(Error::Xml(format!(
                            "</{}> where </{}> was expected",
                            e.name().as_ref(),
                            String::from_utf8_lossy(&self.root)
                        )));
                    }
                    self.pos += xml.buffer_position() as usize;
                    return Ok(Step::Done(Child::End));
                }
                Event::Text(t) if t.trim().is_empty() => {}
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(Error::DtdRefused),
                Event::Eof if self.eof => {
                    return Err(Error::Xml(
                        "the input ends inside <KeyContainer> (truncated file?)".into(),
                    ))
                }
                Event::Eof => return Ok(Step::More(None)),
                other => {
                    return Err(Error::Xml(format!(
                        "unexpected content in <KeyContainer>: {other:?}"
                    )))
                }
            }
        }
    }

    /// After `</KeyContainer>`: only white space, comments and processing instructions.
    fn trailer(&mut self) -> Result<Step<()>> {
        let mut xml = reader(&self.buf[self.pos..self.safe]);
        loop {
            match event!(&mut xml, self.eof) {
                Event::Eof if self.eof => return Ok(Step::Done(())),
                Event::Eof => {
                    self.pos += xml.buffer_position() as usize;
                    return Ok(Step::More(None));
                }
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
}

/// Reads the rest of the element whose start (node 0 of `tree`) was just read.
fn read_subtree(
    xml: &mut Reader<&[u8]>,
    tree: &mut Tree,
    stack: &mut Vec<u32>,
    eof: bool,
) -> Result<Step<()>> {
    stack.clear();
    stack.push(0);
    let root = |t: &Tree| t.root().name().to_string();
    loop {
        let ev = event!(xml, eof);
        let top = stack.last().copied().unwrap_or(NONE);
        match ev {
            ev @ (Event::Start(_) | Event::Empty(_)) => {
                if stack.len() + 1 >= MAX_DEPTH {
                    return Err(Error::Xml(format!(
                        "elements nested deeper than {MAX_DEPTH}: refused"
                    )));
                }
                if tree.len() + 1 > MAX_ELEMENTS {
                    return Err(Error::Xml(format!(
                        "<{}> has more than {MAX_ELEMENTS} elements: refused",
                        root(tree)
                    )));
                }
                match ev {
                    Event::Start(st) => {
                        let i = tree.open(top, &st)?;
                        stack.push(i);
                    }
                    Event::Empty(st) => {
                        tree.open(top, &st)?;
                    }
                    _ => unreachable!("matched above"),
                }
            }
            Event::End(_) => {
                stack.pop();
                if stack.is_empty() {
                    return Ok(Step::Done(()));
                }
            }
            Event::Text(t) => tree.push_text(top, &t)?,
            Event::CData(c) => tree.push_text(top, &c)?,
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
                tree.push_text(top, c.encode_utf8(&mut b))?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(_) => return Err(Error::DtdRefused),
            Event::Decl(_) => {
                return Err(Error::Xml("an XML declaration inside the document".into()))
            }
            Event::Eof if eof => {
                return Err(Error::Xml(format!(
                    "the input ends inside <{}> (truncated file?)",
                    root(tree)
                )))
            }
            Event::Eof => return Ok(Step::More(None)),
        }
    }
}
