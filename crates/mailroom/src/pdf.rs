//! Letters as PDF: A4 pages laid out from [`Block`]s with one embedded TrueType font, subset
//! to the glyphs used (a CIDFontType2 with Identity-H encoding and a ToUnicode map, so the text
//! can be searched and copied; ISO 32000-1 §9.7). The font is given as bytes, e.g. IPAGothic
//! from Debian's `fonts-ipafont-gothic`; nothing here reads a file.

use crate::letter::{Block, Letter};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::BTreeMap;

/// A4 in points.
pub const PAGE: (f32, f32) = (595.28, 841.89);
const MARGIN: f32 = 56.7; // 20 mm
const BODY: f32 = 10.5;
/// Line height of body text, in font sizes.
const LINE: f32 = 1.5;

/// Rendering failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// The font could not be read.
    #[error("the font is not a usable TrueType/OpenType font: {0} (use e.g. /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf from fonts-ipafont-gothic)")]
    Font(String),
    /// The font has no glyph for a character of the letter.
    #[error("the font has no glyph for {0:?}: use a Japanese font (fonts-ipafont-gothic)")]
    MissingGlyph(char),
    /// Subsetting failed.
    #[error("could not subset the font: {0}")]
    Subset(String),
}

enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: f32,
    },
}

struct Metrics<'a> {
    face: ttf_parser::Face<'a>,
    upem: f32,
}

impl Metrics<'_> {
    fn glyph(&self, c: char) -> Result<u16, PdfError> {
        match self.face.glyph_index(c) {
            Some(g) => Ok(g.0),
            None if c.is_whitespace() => Ok(self.face.glyph_index(' ').map_or(0, |g| g.0)),
            None => Err(PdfError::MissingGlyph(c)),
        }
    }
    fn advance(&self, gid: u16) -> f32 {
        f32::from(
            self.face
                .glyph_hor_advance(ttf_parser::GlyphId(gid))
                .unwrap_or(0),
        ) / self.upem
    }
    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars()
            .map(|c| self.glyph(c).map_or(0.0, |g| self.advance(g)))
            .sum::<f32>()
            * size
    }
    /// Breaks `s` into lines at most `max` wide; any character may end a line (Japanese),
    /// except that closing punctuation never starts one (禁則).
    fn wrap(&self, s: &str, size: f32, max: f32) -> Vec<String> {
        const NO_START: &str = "、。，．）」』】〕！？・ーっゃゅょ";
        let mut lines = Vec::new();
        let mut cur = String::new();
        let mut w = 0.0;
        for c in s.chars() {
            let cw = self.glyph(c).map_or(0.0, |g| self.advance(g)) * size;
            if w + cw > max && !cur.is_empty() && !NO_START.contains(c) {
                lines.push(std::mem::take(&mut cur));
                w = 0.0;
            }
            cur.push(c);
            w += cw;
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }
}

struct Layout<'a> {
    m: &'a Metrics<'a>,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// The page laid out on, in points before the page's zoom ([`PAGE`] / zoom).
    page: (f32, f32),
}

impl Layout<'_> {
    fn left(&self) -> f32 {
        MARGIN
    }
    fn width(&self) -> f32 {
        self.page.0 - 2.0 * MARGIN
    }
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.page.1 - MARGIN;
    }
    fn ensure(&mut self, h: f32) {
        if self.y - h < MARGIN {
            self.new_page();
        }
    }
    fn op(&mut self, op: Op) {
        if let Some(p) = self.pages.last_mut() {
            p.push(op);
        }
    }
    fn text(&mut self, x: f32, size: f32, text: &str) {
        let y = self.y - size;
        self.op(Op::Text {
            x,
            y,
            size,
            text: text.to_owned(),
        });
    }
    fn para(&mut self, x: f32, width: f32, size: f32, text: &str) {
        let lh = size * LINE;
        for line in self.m.wrap(text, size, width) {
            self.ensure(lh);
            self.text(x, size, &line);
            self.y -= lh;
        }
    }
    fn block(&mut self, b: &Block) {
        let (x0, w) = (self.left(), self.width());
        match b {
            Block::Title(t) => {
                self.y -= 10.0;
                for line in self.m.wrap(t, 15.0, w) {
                    self.ensure(24.0);
                    let tw = self.m.width(&line, 15.0);
                    self.text(x0 + (w - tw) / 2.0, 15.0, &line);
                    self.y -= 24.0;
                }
                self.y -= 8.0;
            }
            Block::Heading(t) => {
                self.ensure(40.0);
                self.y -= 8.0;
                self.text(x0, 12.0, t);
                self.y -= 16.0;
                let y = self.y;
                self.op(Op::Line {
                    x1: x0,
                    y1: y,
                    x2: x0 + w,
                    y2: y,
                    width: 0.6,
                });
                self.y -= 6.0;
            }
            Block::Para(t) => self.para(x0, w, BODY, t),
            Block::Bullet(t) => {
                let lh = BODY * LINE;
                self.ensure(lh);
                self.text(x0 + 4.0, BODY, "・");
                self.para(x0 + 4.0 + BODY, w - 4.0 - BODY, BODY, t);
            }
            Block::Right(t) => {
                self.ensure(BODY * LINE);
                let tw = self.m.width(t, BODY);
                self.text(x0 + w - tw, BODY, t);
                self.y -= BODY * LINE;
            }
            Block::Address(lines) => {
                self.y -= 6.0;
                for line in lines {
                    self.para(x0, w * 0.7, 11.5, line);
                }
                self.y -= 8.0;
            }
            Block::Table { head, rows } => self.table(head, rows),
            Block::Space => self.y -= 6.0,
            Block::PageBreak => self.new_page(),
        }
    }
    fn table(&mut self, head: &[String], rows: &[Vec<String>]) {
        let (x0, w) = (self.left(), self.width());
        let fractions = [0.36, 0.28, 0.36];
        let cols: Vec<f32> = (0..head.len())
            .map(|i| w * fractions.get(i).copied().unwrap_or(1.0 / head.len() as f32))
            .collect();
        let (size, pad) = (9.0, 4.0);
        let lh = size * 1.45;
        self.y -= 4.0;
        for (r, cells) in std::iter::once(head)
            .chain(rows.iter().map(Vec::as_slice))
            .enumerate()
        {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .zip(&cols)
                .map(|(c, cw)| self.m.wrap(c, size, cw - 2.0 * pad))
                .collect();
            let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = n as f32 * lh + 2.0 * pad;
            self.ensure(h);
            let top = self.y;
            if r == 0 {
                self.op(Op::Fill {
                    x: x0,
                    y: top - h,
                    w,
                    h,
                    gray: 0.9,
                });
            }
            let mut x = x0;
            for (lines, cw) in wrapped.iter().zip(&cols) {
                for (i, line) in lines.iter().enumerate() {
                    self.op(Op::Text {
                        x: x + pad,
                        y: top - pad - size - i as f32 * lh + 1.5,
                        size,
                        text: line.clone(),
                    });
                }
                self.op(Op::Line {
                    x1: x,
                    y1: top,
                    x2: x,
                    y2: top - h,
                    width: 0.5,
                });
                x += cw;
            }
            self.op(Op::Line {
                x1: x0 + w,
                y1: top,
                x2: x0 + w,
                y2: top - h,
                width: 0.5,
            });
            self.op(Op::Line {
                x1: x0,
                y1: top,
                x2: x0 + w,
                y2: top,
                width: 0.5,
            });
            self.op(Op::Line {
                x1: x0,
                y1: top - h,
                x2: x0 + w,
                y2: top - h,
                width: 0.5,
            });
            self.y -= h;
        }
        self.y -= 8.0;
    }
}

/// Renders letters into one PDF, each letter starting on a new page.
pub fn render(letters: &[&Letter], font: &[u8]) -> Result<Vec<u8>, PdfError> {
    let face = ttf_parser::Face::parse(font, 0).map_err(|e| PdfError::Font(e.to_string()))?;
    let m = Metrics {
        upem: f32::from(face.units_per_em()),
        face,
    };
    // Every character must have a glyph: refuse rather than print boxes.
    for l in letters {
        for b in &l.blocks {
            let texts: Vec<&str> = match b {
                Block::Title(t)
                | Block::Heading(t)
                | Block::Para(t)
                | Block::Bullet(t)
                | Block::Right(t) => vec![t],
                Block::Address(v) => v.iter().map(String::as_str).collect(),
                Block::Table { head, rows } => head
                    .iter()
                    .chain(rows.iter().flatten())
                    .map(String::as_str)
                    .collect(),
                Block::Space | Block::PageBreak => vec![],
            };
            for c in texts.iter().flat_map(|t| t.chars()) {
                m.glyph(c)?;
            }
        }
    }
    // Each letter on its own pages; a letter that would spill a little onto a second page is
    // zoomed out (down to 81 %: body text 8.5 pt) so it fits on one.
    let mut pages: Vec<(f32, Vec<Op>)> = Vec::new();
    for l in letters {
        let lay = |zoom: f32| {
            let mut layout = Layout {
                m: &m,
                pages: Vec::new(),
                y: 0.0,
                page: (PAGE.0 / zoom, PAGE.1 / zoom),
            };
            layout.new_page();
            for b in &l.blocks {
                layout.block(b);
            }
            layout.pages
        };
        let normal = lay(1.0);
        let chosen = if normal.len() == 2 && !l.blocks.contains(&Block::PageBreak) {
            ZOOMS
                .iter()
                .map(|&z| (z, lay(z)))
                .find(|(_, p)| p.len() == 1)
                .unwrap_or((1.0, normal))
        } else {
            (1.0, normal)
        };
        pages.extend(chosen.1.into_iter().map(|p| (chosen.0, p)));
    }
    write(
        &m,
        font,
        &pages,
        letters.first().map_or("", |l| l.title.as_str()),
    )
}

/// Zooms tried, in order, to fit a letter of a page and a bit on one page.
const ZOOMS: [f32; 5] = [0.95, 0.91, 0.87, 0.84, 0.81];

fn write(
    m: &Metrics<'_>,
    font: &[u8],
    pages: &[(f32, Vec<Op>)],
    title: &str,
) -> Result<Vec<u8>, PdfError> {
    // The glyphs used, remapped to the subset's glyph IDs (which are also the CIDs).
    let mut remapper = subsetter::GlyphRemapper::new();
    let mut unicode: BTreeMap<u16, char> = BTreeMap::new();
    for op in pages.iter().flat_map(|(_, ops)| ops) {
        if let Op::Text { text, .. } = op {
            for c in text.chars() {
                let g = m.glyph(c)?;
                let new = remapper.remap(g);
                unicode.entry(new).or_insert(c);
            }
        }
    }
    let subset =
        subsetter::subset(font, 0, &remapper).map_err(|e| PdfError::Subset(format!("{e:?}")))?;

    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog = alloc();
    let tree = alloc();
    let info = alloc();
    let type0 = alloc();
    let cid = alloc();
    let descriptor = alloc();
    let cmap_ref = alloc();
    let file = alloc();
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();
    let font_name = Name(b"F1");
    let base = format!(
        "TLMAIL+{}",
        m.face
            .names()
            .into_iter()
            .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .and_then(|n| n.to_string())
            .unwrap_or_else(|| "Font".into())
    );

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(p, _)| *p))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("tokenline mailroom"));

    let sys = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    pdf.type0_font(type0)
        .base_font(Name(base.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap_ref);
    let widths: Vec<f32> = remapper
        .remapped_gids()
        .map(|old| m.advance(old) * 1000.0)
        .collect();
    let mut c = pdf.cid_font(cid);
    c.subtype(CidFontType::Type2)
        .base_font(Name(base.as_bytes()))
        .system_info(sys)
        .font_descriptor(descriptor)
        .default_width(1000.0);
    c.cid_to_gid_map_predefined(Name(b"Identity"));
    c.widths().consecutive(0, widths);
    c.finish();
    let bb = m.face.global_bounding_box();
    let s = 1000.0 / m.upem;
    pdf.font_descriptor(descriptor)
        .name(Name(base.as_bytes()))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bb.x_min) * s,
            f32::from(bb.y_min) * s,
            f32::from(bb.x_max) * s,
            f32::from(bb.y_max) * s,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(m.face.ascender()) * s)
        .descent(f32::from(m.face.descender()) * s)
        .cap_height(f32::from(m.face.capital_height().unwrap_or(m.face.ascender())) * s)
        .stem_v(80.0)
        .font_file2(file);
    let mut cmap = UnicodeCmap::new(Name(b"Custom"), sys);
    for (g, ch) in &unicode {
        cmap.pair(*g, *ch);
    }
    pdf.cmap(cmap_ref, &cmap.finish());
    pdf.stream(file, &subset).pair(
        Name(b"Length1"),
        i32::try_from(subset.len()).unwrap_or(i32::MAX),
    );

    for ((zoom, ops), (page_ref, content_ref)) in pages.iter().zip(&page_refs) {
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .parent(tree)
            .contents(*content_ref);
        page.resources().fonts().pair(font_name, type0);
        page.finish();
        let mut content = Content::new();
        if *zoom != 1.0 {
            content.transform([*zoom, 0.0, 0.0, *zoom, 0.0, 0.0]);
        }
        for op in ops {
            match op {
                Op::Fill { x, y, w, h, gray } => {
                    content
                        .save_state()
                        .set_fill_gray(*gray)
                        .rect(*x, *y, *w, *h)
                        .fill_nonzero()
                        .restore_state();
                }
                Op::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    width,
                } => {
                    content
                        .set_line_width(*width)
                        .move_to(*x1, *y1)
                        .line_to(*x2, *y2)
                        .stroke();
                }
                Op::Text { x, y, size, text } => {
                    let mut bytes = Vec::with_capacity(text.len() * 2);
                    for ch in text.chars() {
                        let g = remapper.get(m.glyph(ch)?).unwrap_or(0);
                        bytes.extend_from_slice(&g.to_be_bytes());
                    }
                    content
                        .begin_text()
                        .set_font(font_name, *size)
                        .set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y])
                        .show(Str(&bytes))
                        .end_text();
                }
            }
        }
        pdf.stream(*content_ref, &content.finish());
    }
    Ok(pdf.finish())
}
