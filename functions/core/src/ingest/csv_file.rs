//! The partner CSV reader: the upload and the `csv_url` connector both read
//! files the way Russian partners export them — UTF-8 with or without a
//! byte-order mark, `,` or `;` between cells, decimal commas, dates as
//! `DD.MM.YYYY` — and turn every data row into a [`Parsed`].
//!
//! Problems of the whole file (encoding, no header, missing columns, a
//! broken quote) are a [`CsvError`]; a bad cell only refuses its own row.

use std::borrow::Cow;

use chrono_tz::Tz;
use csv::{ByteRecord, ReaderBuilder};

use super::{normalize, Customer, Parsed, Transaction};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};

/// Why a CSV file cannot be read at all. No row of it is processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// The bytes are not UTF-8; the message says what they look like and
    /// how to fix the export.
    #[error("{0}")]
    Encoding(String),
    /// There is no header row.
    #[error("the CSV file is empty: a header row is required")]
    Empty,
    /// The header lacks required columns.
    #[error("the CSV header lacks required columns: {}", missing.join(", "))]
    MissingColumns {
        /// What is missing, one entry per requirement.
        missing: Vec<String>,
    },
    /// The file breaks the CSV quoting rules.
    #[error("malformed CSV at row {row}: {reason}")]
    Malformed {
        /// The record where it happens (the header is row 0).
        row: usize,
        /// What is wrong.
        reason: String,
    },
}

impl UseCaseError for CsvError {
    fn code(&self) -> &'static str {
        match self {
            CsvError::Encoding(_) => "UNSUPPORTED_ENCODING",
            CsvError::Empty => "EMPTY_CSV",
            CsvError::MissingColumns { .. } => "MISSING_COLUMNS",
            CsvError::Malformed { .. } => "MALFORMED_CSV",
        }
    }

    fn class(&self) -> ErrorClass {
        ErrorClass::Invalid { field: None }
    }
}

const CUSTOMER_COLUMNS: &str = "customer_phone (or card_number, or customer_phone_sha256)";

/// Reads a partner CSV file. `tz` is the business's zone: dates and times
/// without an offset are its local time.
///
/// Each data record yields one [`Parsed`] numbered from 1 (the header is
/// row 0); empty lines are not records, and records whose cells are all
/// blank keep their number but yield nothing.
pub fn parse(bytes: &[u8], tz: Tz) -> Result<Vec<Parsed>, CsvError> {
    let text = decode(bytes)?;
    if text.trim().is_empty() {
        return Err(CsvError::Empty);
    }
    let sep = separator(text.as_bytes());
    let input = text.as_bytes();
    let mut reader = ReaderBuilder::new()
        .delimiter(sep)
        .has_headers(false)
        .flexible(true)
        .from_reader(input);

    let mut record = ByteRecord::new();
    let mut row = 0;
    let mut columns = None;
    let mut out = Vec::new();
    loop {
        let start = reader.position().byte() as usize;
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| CsvError::Malformed {
                row,
                reason: e.to_string(),
            })?;
        if !more {
            break;
        }
        let end = reader.position().byte() as usize;
        let raw = input.get(start..end).unwrap_or_default();
        if raw.contains(&b'"') {
            check_quotes(raw, sep).map_err(|reason| CsvError::Malformed { row, reason })?;
        }
        match &columns {
            None => columns = Some(Columns::from_header(&record)?),
            Some(cols) => {
                if !all_blank(&record) {
                    let (external_id, result) = cols.read(&record, tz);
                    out.push(Parsed {
                        row,
                        external_id,
                        result,
                    });
                }
            }
        }
        row += 1;
    }
    if columns.is_none() {
        return Err(CsvError::Empty);
    }
    Ok(out)
}

// The whole input is checked once, so every cell is valid UTF-8 later.
fn decode(bytes: &[u8]) -> Result<&str, CsvError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(CsvError::Encoding(
            "the file is UTF-16; save it as UTF-8".into(),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains('\0') => Err(CsvError::Encoding(
            "the file contains NUL bytes (UTF-16 or a binary file); save it as UTF-8 text".into(),
        )),
        Ok(text) => Ok(text),
        Err(e) => {
            let high = bytes.iter().filter(|b| **b >= 0x80).count();
            let cyrillic = bytes.iter().filter(|b| **b >= 0xC0).count();
            // Windows-1251 puts every Cyrillic letter except Ё/ё in
            // 0xC0–0xFF; in UTF-8 at most half the high bytes are there.
            if cyrillic * 4 >= high * 3 {
                Err(CsvError::Encoding(
                    "the file is not UTF-8: it looks like Windows-1251; save it as UTF-8".into(),
                ))
            } else {
                Err(CsvError::Encoding(format!(
                    "the file is not valid UTF-8 (invalid byte at offset {}); save it as UTF-8",
                    e.valid_up_to()
                )))
            }
        }
    }
}

// `;` when the header line has more semicolons than commas outside quotes.
fn separator(input: &[u8]) -> u8 {
    let (mut commas, mut semicolons) = (0usize, 0usize);
    let mut quoted = false;
    for &b in input.iter().skip_while(|b| matches!(b, b'\r' | b'\n')) {
        match b {
            b'"' => quoted = !quoted,
            b'\r' | b'\n' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas {
        b';'
    } else {
        b','
    }
}

// The CSV reader accepts any bytes without complaint: an unclosed quote would
// swallow the rest of the file into one cell and a stray quote would be
// dropped silently. One record's raw bytes are checked here instead.
fn check_quotes(raw: &[u8], sep: u8) -> Result<(), String> {
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        Closed,
    }
    let mut state = State::FieldStart;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        state = match state {
            State::FieldStart | State::Unquoted if b == sep || b == b'\r' || b == b'\n' => {
                State::FieldStart
            }
            State::FieldStart if b == b'"' => State::Quoted,
            State::FieldStart | State::Unquoted => State::Unquoted,
            State::Quoted if b == b'"' && raw.get(i + 1) == Some(&b'"') => {
                i += 1;
                State::Quoted
            }
            State::Quoted if b == b'"' => State::Closed,
            State::Quoted => State::Quoted,
            State::Closed if b == sep || b == b'\r' || b == b'\n' => State::FieldStart,
            State::Closed if b == b' ' || b == b'\t' => State::Closed,
            State::Closed => return Err(
                "text follows a closing quote; a quote inside a quoted cell must be doubled (\"\")"
                    .into(),
            ),
        };
        i += 1;
    }
    match state {
        State::Quoted => Err("a quoted cell is never closed".into()),
        _ => Ok(()),
    }
}

fn all_blank(record: &ByteRecord) -> bool {
    record.iter().all(|c| text(c).trim().is_empty())
}

fn text(cell: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(cell)
}

// Where each known column is, by index into the record.
struct Columns {
    width: usize,
    external_id: usize,
    date: usize,
    amount: usize,
    phone: Option<usize>,
    card: Option<usize>,
    sha256: Option<usize>,
    category: Option<usize>,
    description: Option<usize>,
    refund_of: Option<usize>,
}

impl Columns {
    // Names are matched trimmed and case-insensitively; the first of
    // duplicate names wins and unknown columns are ignored.
    fn from_header(header: &ByteRecord) -> Result<Self, CsvError> {
        let names: Vec<String> = header
            .iter()
            .map(|c| {
                text(c)
                    .trim_matches(|ch: char| ch.is_whitespace() || ch == '\u{feff}')
                    .to_lowercase()
            })
            .collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        let (external_id, date, amount) = (find("external_id"), find("date"), find("amount"));
        let (phone, card, sha256) = (
            find("customer_phone"),
            find("card_number"),
            find("customer_phone_sha256"),
        );
        let mut missing = Vec::new();
        for (name, at) in [
            ("external_id", external_id),
            ("date", date),
            ("amount", amount),
        ] {
            if at.is_none() {
                missing.push(name.to_string());
            }
        }
        if phone.is_none() && card.is_none() && sha256.is_none() {
            missing.push(CUSTOMER_COLUMNS.to_string());
        }
        match (external_id, date, amount) {
            (Some(external_id), Some(date), Some(amount)) if missing.is_empty() => Ok(Self {
                width: header.len(),
                external_id,
                date,
                amount,
                phone,
                card,
                sha256,
                category: find("category"),
                description: find("description"),
                refund_of: find("refund_of"),
            }),
            _ => Err(CsvError::MissingColumns { missing }),
        }
    }

    // The row's external id (when readable) and its transaction.
    fn read(
        &self,
        record: &ByteRecord,
        tz: Tz,
    ) -> (Option<String>, Result<Transaction, InvalidValue>) {
        let external_id = record
            .get(self.external_id)
            .and_then(|c| normalize::external_id(&text(c), "external_id").ok());
        if record.len() != self.width {
            let err = InvalidValue::new(
                "INVALID_ROW",
                "row",
                format!(
                    "the row has {} cells but the header has {}",
                    record.len(),
                    self.width
                ),
            );
            return (external_id, Err(err));
        }
        (external_id, self.transaction(record, tz))
    }

    fn transaction(&self, record: &ByteRecord, tz: Tz) -> Result<Transaction, InvalidValue> {
        let cell = |at: usize| text(record.get(at).unwrap_or_default());
        Ok(Transaction {
            external_id: normalize::external_id(&cell(self.external_id), "external_id")?,
            occurred_at: normalize::occurred_at(&cell(self.date), tz, "date")?,
            amount: normalize::rubles(&cell(self.amount), "amount")?,
            customer: self.customer(record)?,
            category: match filled(record, self.category) {
                Some(c) => normalize::category(&c, "category")?,
                None => None,
            },
            description: filled(record, self.description).and_then(|d| normalize::description(&d)),
            items: Vec::new(),
            refund_of: filled(record, self.refund_of)
                .map(|r| normalize::external_id(&r, "refund_of"))
                .transpose()?,
        })
    }

    // The first filled customer cell, in the order phone, card, hash.
    fn customer(&self, record: &ByteRecord) -> Result<Customer, InvalidValue> {
        if let Some(p) = filled(record, self.phone) {
            return normalize::phone_customer(&p, "customer_phone");
        }
        if let Some(c) = filled(record, self.card) {
            return card(&c, "card_number");
        }
        if let Some(h) = filled(record, self.sha256) {
            return normalize::phone_sha256(&h, "customer_phone_sha256").map(Customer::PhoneSha256);
        }
        let present: Vec<(&str, &'static str)> = [
            (self.phone, "customer_phone", "INVALID_PHONE"),
            (self.card, "card_number", "INVALID_CARD_NUMBER"),
            (self.sha256, "customer_phone_sha256", "INVALID_PHONE_HASH"),
        ]
        .into_iter()
        .filter(|(at, _, _)| at.is_some())
        .map(|(_, name, code)| (name, code))
        .collect();
        let (field, code) = present
            .first()
            .copied()
            .unwrap_or(("customer_phone", "INVALID_PHONE"));
        let names: Vec<&str> = present.iter().map(|(name, _)| *name).collect();
        Err(InvalidValue::new(
            code,
            field,
            format!("the row names no customer: fill {}", names.join(" or ")),
        ))
    }
}

// A cell of an optional column, when it is there and not blank.
fn filled(record: &ByteRecord, at: Option<usize>) -> Option<Cow<'_, str>> {
    at.and_then(|i| record.get(i))
        .map(text)
        .filter(|c| !c.trim().is_empty())
}

// A card number as printed: 1–32 characters, compared upper-case.
fn card(input: &str, field: &str) -> Result<Customer, InvalidValue> {
    let s = input.trim();
    if s.is_empty() || s.chars().count() > 32 || s.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "INVALID_CARD_NUMBER",
            field,
            "card_number must be 1-32 printable characters",
        ));
    }
    Ok(Customer::Card(s.to_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Phone;
    use crate::wallet::Category;

    const MSK: Tz = chrono_tz::Europe::Moscow;

    fn read(input: &str) -> Vec<Parsed> {
        parse(input.as_bytes(), MSK).unwrap()
    }

    fn ok(p: &Parsed) -> &Transaction {
        p.result
            .as_ref()
            .unwrap_or_else(|e| panic!("row {}: {e}", p.row))
    }

    fn err(p: &Parsed) -> &InvalidValue {
        p.result
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("row {} parsed", p.row))
    }

    fn phone(s: &str) -> Customer {
        Customer::Phone(Phone::parse(s).unwrap())
    }

    #[test]
    fn bom_and_no_bom_read_alike() {
        let body = "external_id,date,customer_phone,amount\nA-1,2026-11-30,+7 999 123-45-67,3000\n";
        let plain = read(body);
        let with_bom = read(&format!("\u{feff}{body}"));
        assert_eq!(plain, with_bom);
        assert_eq!(plain.len(), 1);
        let t = ok(&plain[0]);
        assert_eq!(plain[0].row, 1);
        assert_eq!(plain[0].external_id.as_deref(), Some("A-1"));
        assert_eq!(t.external_id, "A-1");
        assert_eq!(t.amount, 300_000);
        assert_eq!(t.customer, phone("+79991234567"));
        assert_eq!(t.occurred_at.to_rfc3339(), "2026-11-30T09:00:00+00:00");
        assert_eq!(
            (t.category, t.description.as_deref(), t.refund_of.as_deref()),
            (None, None, None)
        );
        assert!(t.items.is_empty());
    }

    #[test]
    fn semicolon_files_take_the_decimal_comma() {
        let rows = read(
            "external_id;date;customer_phone;amount;category;description\n\
             1;30.11.2026 14:05;89991234567;3000,50;Beauty;Стрижка, укладка\n\
             2;30.11.2026;9991234567;3 000,5;;\n",
        );
        assert_eq!(rows.len(), 2);
        let t = ok(&rows[0]);
        assert_eq!(t.amount, 300_050);
        assert_eq!(t.occurred_at.to_rfc3339(), "2026-11-30T11:05:00+00:00");
        assert_eq!(t.category, Some(Category::Beauty));
        assert_eq!(t.description.as_deref(), Some("Стрижка, укладка"));
        assert_eq!(ok(&rows[1]).amount, 300_050);
        assert_eq!(ok(&rows[1]).category, None);
        assert_eq!(ok(&rows[1]).description, None);
    }

    #[test]
    fn separator_is_detected_outside_quotes() {
        assert_eq!(separator(b"a;b;c"), b';');
        assert_eq!(separator(b"a,b,c"), b',');
        assert_eq!(separator(b"\"x;y;z\",b,c"), b',');
        assert_eq!(separator(b"\"x,y,z\";b;c"), b';');
        assert_eq!(separator(b"\r\n\na;b\n1,2,3,4,5"), b';');
        assert_eq!(separator(b"single"), b',');
    }

    #[test]
    fn comma_files_quote_the_decimal_comma() {
        let rows = read(
            "external_id,date,customer_phone,amount\n\
             1,2026-11-30,+79991234567,\"3000,50\"\n\
             2,2026-11-30,+79991234567,3000.50\n",
        );
        assert_eq!(ok(&rows[0]).amount, 300_050);
        assert_eq!(ok(&rows[1]).amount, 300_050);
    }

    #[test]
    fn quoted_cells_keep_newlines_separators_and_doubled_quotes() {
        let rows = read(
            "external_id;date;customer_phone;amount;description\n\
             1;2026-11-30;+79991234567;100;\"Салон \"\"Лилия\"\";\nвторая строка\"\n\
             2;2026-11-30;+79991234567;200;plain\n",
        );
        assert_eq!(rows.len(), 2);
        // The line break is a control character, so it becomes a space.
        assert_eq!(
            ok(&rows[0]).description.as_deref(),
            Some("Салон \"Лилия\"; вторая строка")
        );
        assert_eq!((rows[1].row, ok(&rows[1]).amount), (2, 20_000));
    }

    #[test]
    fn crlf_line_ends() {
        let rows = read(
            "external_id,date,customer_phone,amount\r\n\
             1,2026-11-30,+79991234567,10\r\n\
             2,2026-12-01 10:00,+79991234567,20\r\n",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(ok(&rows[0]).amount, 1_000);
        assert_eq!(
            ok(&rows[1]).occurred_at.to_rfc3339(),
            "2026-12-01T07:00:00+00:00"
        );
        assert_eq!(rows[1].external_id.as_deref(), Some("2"));
    }

    #[test]
    fn empty_lines_and_blank_rows_are_skipped() {
        let rows = read(
            "\n\nexternal_id;date;customer_phone;amount\n\
             \n\
             1;2026-11-30;+79991234567;10\n\
             ;;;\n\
             \r\n\
             \x20; ;\t; \n\
             2;2026-11-30;+79991234567;20\n\n",
        );
        let ids: Vec<_> = rows.iter().map(|p| ok(p).external_id.as_str()).collect();
        assert_eq!(ids, ["1", "2"]);
        // Empty lines are no records; the blank rows keep their numbers.
        assert_eq!(rows.iter().map(|p| p.row).collect::<Vec<_>>(), [1, 4]);
    }

    #[test]
    fn header_names_ignore_case_order_and_unknown_columns() {
        let rows = read(
            " AMOUNT ;Comment;Customer_Phone;DATE;External_ID;Category\n\
             1500;ignored;+79991234567;2026-11-30T14:05:00+03:00;X7;DENTISTRY\n",
        );
        let t = ok(&rows[0]);
        assert_eq!(t.external_id, "X7");
        assert_eq!(t.amount, 150_000);
        assert_eq!(t.occurred_at.to_rfc3339(), "2026-11-30T11:05:00+00:00");
        assert_eq!(t.category, Some(Category::Dentistry));
    }

    #[test]
    fn missing_required_columns_fail_the_file() {
        let e = parse(
            b"external_id;customer_phone;comment\n1;+79991234567;x\n",
            MSK,
        )
        .unwrap_err();
        assert_eq!(
            e,
            CsvError::MissingColumns {
                missing: vec!["date".into(), "amount".into()]
            }
        );
        assert_eq!(e.code(), "MISSING_COLUMNS");
        assert!(e.to_string().contains("date, amount"), "{e}");
        let e = parse(b"external_id,date,amount\n1,2026-11-30,10\n", MSK).unwrap_err();
        assert_eq!(
            e,
            CsvError::MissingColumns {
                missing: vec![CUSTOMER_COLUMNS.into()]
            }
        );
        for only in ["customer_phone", "card_number", "customer_phone_sha256"] {
            let header = format!("external_id,date,amount,{only}\n");
            assert_eq!(parse(header.as_bytes(), MSK), Ok(vec![]), "{only}");
        }
    }

    #[test]
    fn empty_files_have_no_header() {
        for input in [&b""[..], b"\xEF\xBB\xBF", b"\r\n\n", b"  \n "] {
            let e = parse(input, MSK).unwrap_err();
            assert_eq!(e, CsvError::Empty, "{input:?}");
            assert_eq!(e.code(), "EMPTY_CSV");
        }
    }

    #[test]
    fn windows_1251_is_refused_with_a_hint() {
        let mut body =
            b"external_id;date;customer_phone;amount;description\n1;2026-11-30;+79991234567;10;"
                .to_vec();
        // "Иванов" in Windows-1251.
        body.extend_from_slice(&[0xC8, 0xE2, 0xE0, 0xED, 0xEE, 0xE2, b'\n']);
        let e = parse(&body, MSK).unwrap_err();
        assert!(
            matches!(&e, CsvError::Encoding(m) if m.contains("Windows-1251")),
            "{e}"
        );
        assert_eq!(e.code(), "UNSUPPORTED_ENCODING");
        assert_eq!(e.class(), ErrorClass::Invalid { field: None });

        // Broken UTF-8 that is not Cyrillic gets the plain message.
        let e = parse(b"external_id\x80\x80\x80;date\n", MSK).unwrap_err();
        assert!(
            matches!(&e, CsvError::Encoding(m) if m.contains("offset 11") && !m.contains("1251")),
            "{e}"
        );
    }

    #[test]
    fn utf16_is_refused() {
        let mut le = vec![0xFF, 0xFE];
        for unit in "external_id,date\n".encode_utf16() {
            le.extend_from_slice(&unit.to_le_bytes());
        }
        let e = parse(&le, MSK).unwrap_err();
        assert!(
            matches!(&e, CsvError::Encoding(m) if m.contains("UTF-16")),
            "{e}"
        );
        let e = parse(&[0xFE, 0xFF, 0x00, b'a'], MSK).unwrap_err();
        assert!(
            matches!(&e, CsvError::Encoding(m) if m.contains("UTF-16")),
            "{e}"
        );
        // Without its mark, UTF-16 shows as NUL bytes.
        let e = parse(&le[2..], MSK).unwrap_err();
        assert!(
            matches!(&e, CsvError::Encoding(m) if m.contains("NUL")),
            "{e}"
        );
    }

    #[test]
    fn a_row_with_the_wrong_cell_count_is_an_error_row() {
        let rows = read(
            "external_id,date,customer_phone,amount\n\
             1,2026-11-30,+79991234567,3000,50\n\
             2,2026-11-30\n\
             3,2026-11-30,+79991234567,10\n",
        );
        assert_eq!(rows.len(), 3);
        let e = err(&rows[0]);
        assert_eq!((e.code, e.field.as_str()), ("INVALID_ROW", "row"));
        assert!(
            e.reason.contains("5 cells") && e.reason.contains("has 4"),
            "{}",
            e.reason
        );
        assert_eq!(rows[0].external_id.as_deref(), Some("1"));
        assert_eq!((rows[1].row, err(&rows[1]).code), (2, "INVALID_ROW"));
        assert_eq!(rows[1].external_id.as_deref(), Some("2"));
        assert_eq!(ok(&rows[2]).amount, 1_000);
    }

    #[test]
    fn bad_cells_refuse_only_their_rows() {
        let rows = read(
            "external_id;date;customer_phone;amount;category;refund_of\n\
             1;2026-11-30;+79991234567;100;;\n\
             2;2026-11-30;+79991234567;сто;;\n\
             3;31.02.2026;+79991234567;100;;\n\
             4;2026-11-30;12345;100;;\n\
             5;2026-11-30;+79991234567;100;bakery;\n\
             ;2026-11-30;+79991234567;100;;\n\
             7;2026-11-30;;100;;\n\
             8;2026-11-30;+79991234567;100;;1\n",
        );
        let expect = [
            (2, Some("2"), "INVALID_AMOUNT", "amount"),
            (3, Some("3"), "INVALID_DATE", "date"),
            (4, Some("4"), "INVALID_PHONE", "customer_phone"),
            (5, Some("5"), "INVALID_CATEGORY", "category"),
            (6, None, "INVALID_EXTERNAL_ID", "external_id"),
            (7, Some("7"), "INVALID_PHONE", "customer_phone"),
        ];
        assert_eq!(rows.len(), 8);
        for (p, (row, id, code, field)) in rows[1..7].iter().zip(expect) {
            let e = err(p);
            assert_eq!(
                (p.row, p.external_id.as_deref(), e.code, e.field.as_str()),
                (row, id, code, field)
            );
        }
        assert_eq!((rows[0].row, ok(&rows[0]).amount), (1, 10_000));
        assert_eq!(
            (rows[7].row, ok(&rows[7]).refund_of.as_deref()),
            (8, Some("1"))
        );
        assert!(err(&rows[6]).reason.contains("names no customer"));
    }

    #[test]
    fn hash_and_card_customers() {
        let hash = "AB".repeat(32);
        let rows = read(&format!(
            "external_id,date,amount,customer_phone,card_number,customer_phone_sha256\n\
             1,2026-11-30,10,,,{hash}\n\
             2,2026-11-30,10,, kr-0042 ,{hash}\n\
             3,2026-11-30,10,+79991234567,KR-0042,{hash}\n\
             4,2026-11-30,10,,,abc\n\
             5,2026-11-30,10,,{},\n\
             6,2026-11-30,10,,,\n",
            "9".repeat(33)
        ));
        assert_eq!(
            ok(&rows[0]).customer,
            Customer::PhoneSha256("ab".repeat(32))
        );
        assert_eq!(ok(&rows[1]).customer, Customer::Card("KR-0042".into()));
        assert_eq!(ok(&rows[2]).customer, phone("+79991234567"));
        assert_eq!(err(&rows[3]).field, "customer_phone_sha256");
        assert_eq!(err(&rows[4]).code, "INVALID_CARD_NUMBER");
        let e = err(&rows[5]);
        assert_eq!(
            (e.code, e.field.as_str()),
            ("INVALID_PHONE", "customer_phone")
        );
        assert!(
            e.reason
                .contains("customer_phone or card_number or customer_phone_sha256"),
            "{}",
            e.reason
        );

        // A medical partner's file names patients by hash only.
        let rows = read(&format!("external_id;date;amount;customer_phone_sha256\n1;2026-11-30;10;\n2;2026-11-30;10;{hash}\n"));
        assert_eq!(
            (err(&rows[0]).code, err(&rows[0]).field.as_str()),
            ("INVALID_PHONE_HASH", "customer_phone_sha256")
        );
        assert!(ok(&rows[1]).customer == Customer::PhoneSha256("ab".repeat(32)));
    }

    #[test]
    fn broken_quotes_fail_the_file() {
        let e = parse(
            b"external_id,date,customer_phone,amount,description\n\
              1,2026-11-30,+79991234567,10,ok\n\
              2,2026-11-30,+79991234567,10,\"never closed\n\
              3,2026-11-30,+79991234567,10,x\n",
            MSK,
        )
        .unwrap_err();
        assert!(
            matches!(&e, CsvError::Malformed { row: 2, reason } if reason.contains("never closed")),
            "{e}"
        );
        assert_eq!(e.code(), "MALFORMED_CSV");

        let e = parse(
            b"external_id;date;customer_phone;amount;description\n\
              1;2026-11-30;+79991234567;10;\"Salon \"Lily\"\"\n",
            MSK,
        )
        .unwrap_err();
        assert!(
            matches!(&e, CsvError::Malformed { row: 1, reason } if reason.contains("doubled")),
            "{e}"
        );

        // A quote inside an unquoted cell, or spaces after a closing one,
        // are fine.
        let rows = read(
            "external_id;date;customer_phone;amount;description\n\
             1;2026-11-30;+79991234567;10;5\" screen\n\
             \"2\" ;2026-11-30;+79991234567;\"10\"  ;\"\"\n",
        );
        assert_eq!(ok(&rows[0]).description.as_deref(), Some("5\" screen"));
        assert_eq!(
            (
                ok(&rows[1]).external_id.as_str(),
                ok(&rows[1]).description.as_deref()
            ),
            ("2", None)
        );
    }

    #[test]
    fn a_ten_mebibyte_file_with_100_000_rows() {
        let rows = 100_000;
        let mut body =
            String::from("\u{feff}external_id;date;customer_phone;amount;category;description\r\n");
        let filler = "Комплексная процедура, уход; консультация специалиста".to_string();
        for i in 1..=rows {
            body.push_str(&format!(
                "SALE-{i:06};{:02}.11.2026 {:02}:{:02};+7 999 {:03}-{:02}-{:02};{},{:02};beauty;\"{filler} №{i}\"\r\n",
                i % 28 + 1,
                i % 24,
                i % 60,
                i % 1000,
                i / 1000 % 100,
                i % 100,
                i % 5000 + 1,
                i % 100,
            ));
        }
        assert!(body.len() >= 10 * 1024 * 1024, "{} bytes", body.len());
        let parsed = parse(body.as_bytes(), MSK).unwrap();
        assert_eq!(parsed.len(), rows);
        assert!(parsed.iter().all(|p| p.result.is_ok()));
        let last = &parsed[rows - 1];
        assert_eq!(last.row, rows);
        let t = ok(last);
        assert_eq!(t.external_id, "SALE-100000");
        assert_eq!(t.amount, 100);
        assert_eq!(t.customer, phone("+79990000000"));
        let t = ok(&parsed[12_344]);
        assert_eq!(t.external_id, "SALE-012345");
        assert_eq!(t.amount, 234_645);
        assert_eq!(t.occurred_at.to_rfc3339(), "2026-11-26T06:45:00+00:00");
        assert_eq!(t.customer, phone("+79993451245"));
        assert_eq!(
            t.description.as_deref(),
            Some(format!("{filler} №12345").as_str())
        );
    }
}
