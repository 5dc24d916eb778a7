//! Labels as a PDF for an office printer: A4 sheets (ISO 216, 210 × 297 mm) filled with a grid
//! of `--label-size` labels, 10 mm page margins. Each label: the serial as a Code 128 barcode
//! (modules from barcoders, drawn as filled rectangles, 10-module quiet zones), and beneath it
//! the serial and `EXP MM/DD/YY` in Helvetica (one of the PDF standard 14 fonts: nothing to
//! embed for digits and Latin letters). A thin grey frame marks each label for cutting.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use provision::journal::Label;

use super::LabelSize;

const MM: f32 = 72.0 / 25.4;
const PAGE: (f32, f32) = (210.0 * MM, 297.0 * MM);
const MARGIN: f32 = 10.0 * MM;
/// Narrowest module that office laser printers and hand scanners handle (about 7.5 mil).
const MIN_MODULE: f32 = 0.19 * MM;
const MAX_MODULE: f32 = 0.5 * MM;

/// The PDF bytes of the label sheets.
pub(super) fn sheet(labels: &[Label], size: LabelSize) -> anyhow::Result<Vec<u8>> {
    let (lw, lh) = (size.w_mm * MM, size.h_mm * MM);
    let cols = ((PAGE.0 - 2.0 * MARGIN) / lw).floor().max(0.0) as usize;
    let rows = ((PAGE.1 - 2.0 * MARGIN) / lh).floor().max(0.0) as usize;
    if cols == 0 || rows == 0 {
        anyhow::bail!(
            "--label-size {}x{} mm does not fit on an A4 sheet",
            size.w_mm,
            size.h_mm
        );
    }
    let per_page = cols * rows;
    let chunks: Vec<&[Label]> = if labels.is_empty() {
        vec![&[]]
    } else {
        labels.chunks(per_page).collect()
    };

    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog = alloc();
    let tree = alloc();
    let font = alloc();
    let pages: Vec<(Ref, Ref)> = chunks.iter().map(|_| (alloc(), alloc())).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(pages.iter().map(|(p, _)| *p))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    pdf.type1_font(font).base_font(Name(b"Helvetica"));
    let font_name = Name(b"F1");

    for (chunk, (page_ref, content_ref)) in chunks.iter().zip(&pages) {
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .parent(tree)
            .contents(*content_ref);
        page.resources().fonts().pair(font_name, font);
        page.finish();
        let mut c = Content::new();
        for (i, label) in chunk.iter().enumerate() {
            let (col, row) = (i % cols, i / cols);
            let x0 = MARGIN + col as f32 * lw;
            let y0 = PAGE.1 - MARGIN - (row + 1) as f32 * lh;
            draw_label(&mut c, label, x0, y0, lw, lh, font_name)?;
        }
        pdf.stream(*content_ref, &c.finish());
    }
    Ok(pdf.finish())
}

fn draw_label(
    c: &mut Content,
    label: &Label,
    x0: f32,
    y0: f32,
    lw: f32,
    lh: f32,
    font: Name,
) -> anyhow::Result<()> {
    c.save_state()
        .set_stroke_gray(0.75)
        .set_line_width(0.3)
        .rect(x0, y0, lw, lh)
        .stroke()
        .restore_state();
    let modules = super::code128_modules(&label.serial)?;
    let pad = 2.0 * MM;
    let module = ((lw - 2.0 * pad) / (modules.len() + 20) as f32).min(MAX_MODULE);
    if module < MIN_MODULE {
        anyhow::bail!(
            "a {:.0} mm wide label is too narrow for a readable barcode of serial {}: use a wider --label-size",
            lw / MM,
            label.serial
        );
    }
    let text_size = (lh * 0.16).clamp(6.0, 12.0);
    let bar_h = lh - 2.0 * pad - text_size * 1.4;
    if bar_h < 5.0 * MM {
        anyhow::bail!(
            "a {:.0} mm high label leaves no room for the barcode: use a higher --label-size",
            lh / MM
        );
    }
    let bar_w = module * modules.len() as f32;
    let bx = x0 + (lw - bar_w) / 2.0;
    let by = y0 + pad + text_size * 1.4;
    c.save_state().set_fill_gray(0.0);
    let mut i = 0;
    while i < modules.len() {
        if modules[i] == 1 {
            let start = i;
            while i < modules.len() && modules[i] == 1 {
                i += 1;
            }
            c.rect(
                bx + start as f32 * module,
                by,
                (i - start) as f32 * module,
                bar_h,
            );
        } else {
            i += 1;
        }
    }
    c.fill_nonzero().restore_state();
    let text = format!("{}   EXP {}", label.serial, label.expiry);
    // Helvetica digits are 0.556 em wide; centre the line approximately.
    let tw = text.len() as f32 * 0.556 * text_size;
    c.begin_text()
        .set_font(font, text_size)
        .set_text_matrix([
            1.0,
            0.0,
            0.0,
            1.0,
            x0 + ((lw - tw) / 2.0).max(pad),
            y0 + pad,
        ])
        .show(Str(text.as_bytes()))
        .end_text();
    Ok(())
}
