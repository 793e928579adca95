//! Writing RFC 4180 CSV: CRLF line ends, fields quoted only when they hold
//! a separator, a quote or a line break, quotes doubled. Exports start with
//! [`BOM`] so spreadsheet software reads them as UTF-8.

/// The UTF-8 byte-order mark exports begin with.
pub const BOM: &str = "\u{feff}";

/// Appends one field, quoted when it needs to be.
pub fn push_field(out: &mut String, v: &str) {
    if v.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

/// Appends one record and its CRLF.
pub fn push_row<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, f.as_ref());
    }
    out.push_str("\r\n");
}
