//! One subtree of a PSKC document (a `<KeyPackage>` or a header child of `<KeyContainer>`)
//! in flat, reused buffers (issue #14): what [`super::stream::Stream`] reads and the field
//! readers of [`super::read`] walk.

use quick_xml::events::attributes::Attributes;
use quick_xml::XmlVersion;

use super::stream::MAX_RUN;
use crate::{Error, Result};

pub(super) const NONE: u32 = u32::MAX;

/// One element of a [`Tree`]: ranges into the tree's shared buffers, links by index.
#[derive(Clone, Copy, Debug)]
struct Node {
    name: (u32, u32),
    /// The start tag's attributes as written, a range into `strs` (parsed by
    /// [`Tree::resolve`]).
    raw_attrs: (u32, u32),
    /// The parsed attributes: a range of `attrs`.
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
    /// Element names and the attributes as written, concatenated.
    strs: String,
    /// Text of the elements, concatenated.
    text: String,
    /// Parsed attributes: (key, value) ranges into `astrs`.
    attrs: Vec<((u32, u32), (u32, u32))>,
    /// Attribute local names and normalized values, concatenated.
    astrs: String,
    /// Whether the attributes are parsed ([`Tree::resolve`]).
    resolved: bool,
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
    pub(super) fn clear(&mut self) {
        self.nodes.clear();
        self.strs.clear();
        self.text.clear();
        self.attrs.clear();
        self.astrs.clear();
        self.resolved = false;
    }

    /// Number of elements.
    pub(super) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes held by the subtree read (names, attributes, text, elements).
    pub fn bytes(&self) -> usize {
        self.strs.len()
            + self.text.len()
            + self.astrs.len()
            + self.nodes.len() * std::mem::size_of::<Node>()
            + self.attrs.len() * std::mem::size_of::<((u32, u32), (u32, u32))>()
    }

    /// Empties the tree for reuse, giving back buffers grown past `KEEP_BYTES`.
    pub fn recycle(&mut self) {
        self.clear();
        if self.strs.capacity() > KEEP_BYTES {
            self.strs.shrink_to(KEEP_BYTES);
        }
        if self.text.capacity() > KEEP_BYTES {
            self.text.shrink_to(KEEP_BYTES);
        }
        if self.astrs.capacity() > KEEP_BYTES {
            self.astrs.shrink_to(KEEP_BYTES);
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

    /// Adds an element under `parent` (`NONE` for the root): its local name, and its
    /// attributes as written, parsed later by [`Tree::resolve`] (on the thread that reads the
    /// tree, not the one that parses the XML).
    pub(super) fn open(
        &mut self,
        parent: u32,
        st: &quick_xml::events::BytesStart<'_>,
    ) -> Result<u32> {
        let name = Self::put(&mut self.strs, st.local_name().into_inner());
        let raw = st.attributes_raw();
        let raw_attrs = if raw.bytes().all(|b| b.is_ascii_whitespace()) {
            (0, 0)
        } else {
            Self::put(&mut self.strs, raw)
        };
        let idx = self.nodes.len() as u32;
        let t = self.text.len() as u32;
        self.nodes.push(Node {
            name,
            raw_attrs,
            attrs: (0, 0),
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

    /// Parses the attributes of every element (local names, normalized values; `xmlns`
    /// declarations left out), refusing a malformed or repeated one by name. Needed before
    /// [`Elem::attribute`]; a second call does nothing.
    pub fn resolve(&mut self) -> Result<()> {
        if self.resolved {
            return Ok(());
        }
        self.attrs.clear();
        self.astrs.clear();
        for i in 0..self.nodes.len() {
            let n = self.nodes[i];
            let a0 = self.attrs.len() as u32;
            if n.raw_attrs.0 != n.raw_attrs.1 {
                let raw = &self.strs[n.raw_attrs.0 as usize..n.raw_attrs.1 as usize];
                let elem = || &self.strs[n.name.0 as usize..n.name.1 as usize];
                for a in Attributes::new(raw, 0) {
                    let a =
                        a.map_err(|e| Error::Xml(format!("attributes of <{}>: {e}", elem())))?;
                    if a.key.as_ref().starts_with("xmlns") {
                        continue;
                    }
                    let k = Self::put(&mut self.astrs, a.key.local_name().into_inner());
                    let v = a.normalized_value(XmlVersion::Implicit1_0).map_err(|e| {
                        Error::Xml(format!(
                            "attribute {} of <{}>: {e}",
                            a.key.local_name().into_inner(),
                            elem()
                        ))
                    })?;
                    let v = Self::put(&mut self.astrs, &v);
                    self.attrs.push((k, v));
                }
            }
            self.nodes[i].attrs = (a0, self.attrs.len() as u32);
        }
        self.resolved = true;
        Ok(())
    }

    fn str_at(&self, r: (u32, u32)) -> &str {
        &self.strs[r.0 as usize..r.1 as usize]
    }

    /// Appends text to element `i`. A node's text stays one contiguous range: text that comes
    /// after a child element's text is moved to the end first (white space between child
    /// elements is dropped: it never matters once trimmed).
    pub(super) fn push_text(&mut self, i: u32, s: &str) -> Result<()> {
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
    /// An attribute by local name (the tree must be [`Tree::resolve`]d).
    pub fn attribute(&self, name: &str) -> Option<&'a str> {
        debug_assert!(self.tree.resolved, "Elem::attribute before Tree::resolve");
        let (a, b) = self.node().attrs;
        let at = |r: (u32, u32)| &self.tree.astrs[r.0 as usize..r.1 as usize];
        self.tree.attrs[a as usize..b as usize]
            .iter()
            .find(|(k, _)| at(*k) == name)
            .map(|(_, v)| at(*v))
    }
    /// The trimmed text, `None` when empty.
    pub fn text(&self) -> Option<&'a str> {
        let (a, b) = self.node().text;
        let t = self.tree.text[a as usize..b as usize].trim();
        (!t.is_empty()).then_some(t)
    }
}
