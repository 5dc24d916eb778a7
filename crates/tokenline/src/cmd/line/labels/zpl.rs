//! ZPL II labels for thermal printers (Zebra Programming Guide): one `^XA…^XZ` block per
//! token at 203 dpi (8 dots/mm): the serial as a Code 128 barcode (`^BC`, the printer encodes
//! it) with the serial and `EXP MM/DD/YY` as text beneath.

use provision::journal::Label;

use super::LabelSize;

const DOTS_PER_MM: f32 = 8.0;

/// The ZPL of `labels`, one label each.
pub(super) fn labels(labels: &[Label], size: LabelSize) -> anyhow::Result<String> {
    let w = (size.w_mm * DOTS_PER_MM).round() as u32;
    let h = (size.h_mm * DOTS_PER_MM).round() as u32;
    let margin = 16; // 2 mm
    let text = (h / 6).clamp(16, 60);
    let bar_h = h.saturating_sub(2 * margin + text + 8).max(24);
    let mut out = String::new();
    for l in labels {
        // ^BY module width: the widest that fits (start + data + check + stop modules + quiet zones).
        let modules = super::code128_modules(&l.serial)?.len() as u32 + 20;
        let by = ((w - 2 * margin) / modules).clamp(1, 4);
        out.push_str(&format!(
            "^XA^CI28^PW{w}^LL{h}^LH0,0\
             ^FO{margin},{margin}^BY{by}^BCN,{bar_h},N,N,N^FD{serial}^FS\
             ^FO{margin},{ty}^A0N,{text},{text}^FD{serial}  EXP {expiry}^FS^XZ\n",
            serial = l.serial,
            expiry = l.expiry,
            ty = margin + bar_h + 8,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn zpl_label_golden() {
        let l = Label {
            serial: "10000001".into(),
            expiry: "01/31/31".into(),
        };
        let z = labels(
            &[l],
            LabelSize {
                w_mm: 50.0,
                h_mm: 25.0,
            },
        )
        .unwrap();
        assert_eq!(
            z,
            "^XA^CI28^PW400^LL200^LH0,0^FO16,16^BY2^BCN,127,N,N,N^FD10000001^FS\
             ^FO16,151^A0N,33,33^FD10000001  EXP 01/31/31^FS^XZ\n"
        );
    }
}
