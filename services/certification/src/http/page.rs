//! The public verification page a certificate's QR code opens: the certificate's standing in
//! Bahasa Indonesia (English with `?lang=en`), dates written the Indonesian way (3 Desember
//! 2017), and a form to check another number. It is plain server-rendered HTML with the
//! dashboard's style sheet, so it works on any phone without JavaScript. The page is a `maud`
//! template: everything inserted, what was typed included, is escaped by the engine.

use maud::{DOCTYPE, Markup, html};

use crate::credential::html::MONTHS as MONTHS_ID;
use crate::service::{PublicValidity, PublicVerification};

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Bahasa Indonesia, the default.
    Id,
    /// English.
    En,
}

impl Lang {
    /// The language a `lang` query parameter asks for; anything but `en` is Bahasa Indonesia.
    pub fn from_query(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Id,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    fn pick(self, id: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Id => id,
            Lang::En => en,
        }
    }
}

/// What the page shows under the form.
pub enum Outcome<'a> {
    /// Nothing asked yet.
    Blank,
    /// The certificate found.
    Found(&'a PublicVerification),
    /// Asked without the verification code: valid or not, nothing more.
    Validity(&'a PublicValidity),
    /// The verification code is not the certificate's.
    WrongCode,
    /// The text is not a well-formed number (a mistyped or swapped character).
    Malformed,
    /// No certificate has this number.
    NotFound,
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2017-12-03` written as `3 Desember 2017` (or `3 December 2017`); other text unchanged.
pub fn long_date(iso: &str, lang: Lang) -> String {
    let mut parts = iso.splitn(3, '-');
    let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next()) else {
        return iso.to_owned();
    };
    let month = month.parse::<usize>().ok().filter(|m| (1..=12).contains(m));
    let day = day.parse::<u32>().ok();
    match (month, day) {
        (Some(month), Some(day)) => {
            let names = match lang {
                Lang::Id => &MONTHS_ID,
                Lang::En => &MONTHS_EN,
            };
            format!("{day} {} {year}", names[month - 1])
        }
        _ => iso.to_owned(),
    }
}

fn status_text(status: &str, lang: Lang) -> &'static str {
    match status {
        "valid" => lang.pick("Berlaku", "Valid"),
        "suspended" => lang.pick("Dibekukan sementara", "Suspended"),
        "revoked" => lang.pick("Dicabut", "Revoked"),
        "expired" => lang.pick("Kedaluwarsa", "Expired"),
        "superseded" => lang.pick(
            "Digantikan oleh sertifikat baru",
            "Superseded by a new certificate",
        ),
        _ => lang.pick("Tidak diketahui", "Unknown"),
    }
}

fn found(v: &PublicVerification, lang: Lang) -> Markup {
    let rows = [
        (
            lang.pick("Pemegang", "Holder"),
            v.holder.as_deref().unwrap_or("-"),
        ),
        (
            lang.pick("Skema", "Scheme"),
            v.scheme_name.as_deref().unwrap_or(&v.scheme_code),
        ),
        (lang.pick("Jenjang", "Level"), v.level.as_str()),
        (
            lang.pick("Lembaga sertifikasi", "Certification body"),
            v.issuing_body.as_str(),
        ),
        (lang.pick("Penerbit", "Issuer"), v.issuer.as_str()),
    ];
    html! {
        section class={ "verdict verdict-" (v.status) } aria-live="polite" {
            h2 id="verdict" { (status_text(&v.status, lang)) }
            p { (lang.pick("Nomor", "Number")) " " b id="number" { (v.number) } }
            table class="facts" {
                caption { (lang.pick("Data sertifikat", "Certificate details")) }
                @for (label, value) in rows {
                    tr { th scope="row" { (label) } td { (value) } }
                }
                tr {
                    th scope="row" { (lang.pick("Masa berlaku", "Valid")) }
                    td {
                        (long_date(&v.valid_from, lang)) " " (lang.pick("s.d.", "to")) " "
                        (long_date(&v.valid_until, lang))
                    }
                }
            }
        }
    }
}

/// A verdict that is not a certificate's standing: a heading and one sentence.
fn refusal(heading: &str, sentence: &str) -> Markup {
    html! {
        section class="verdict verdict-invalid" aria-live="polite" {
            h2 id="verdict" { (heading) }
            p { (sentence) }
        }
    }
}

fn outcome_html(outcome: &Outcome<'_>, lang: Lang) -> Markup {
    match outcome {
        Outcome::Blank => html! {},
        Outcome::Found(v) => found(v, lang),
        Outcome::Malformed => refusal(
            lang.pick(
                "Bukan nomor sertifikat yang sah",
                "Not a valid certificate number",
            ),
            lang.pick(
                "Periksa kembali nomor yang diketik: ada huruf atau angka yang salah atau tertukar.",
                "Check the number as typed: a letter or digit is wrong or two are swapped.",
            ),
        ),
        Outcome::Validity(v) => {
            let (status, text) = if v.valid {
                ("valid", lang.pick("Berlaku", "Valid"))
            } else {
                ("invalid", lang.pick("Tidak berlaku", "Not valid"))
            };
            html! {
                section class={ "verdict verdict-" (status) } aria-live="polite" {
                    h2 id="verdict" { (text) }
                    p { (lang.pick("Nomor", "Number")) " " b id="number" { (v.number) } }
                    p {
                        (lang.pick(
                            "Masukkan kode verifikasi yang tercetak di samping nomor untuk melihat rincian sertifikat.",
                            "Enter the verification code printed beside the number to see the certificate's details.",
                        ))
                    }
                }
            }
        }
        Outcome::WrongCode => refusal(
            lang.pick(
                "Kode verifikasi tidak cocok",
                "The verification code does not match",
            ),
            lang.pick(
                "Periksa kembali kode yang tercetak di samping nomor sertifikat.",
                "Check the code printed beside the certificate number.",
            ),
        ),
        Outcome::NotFound => refusal(
            lang.pick("Sertifikat tidak ditemukan", "Certificate not found"),
            lang.pick(
                "Tidak ada sertifikat dengan nomor ini.",
                "No certificate has this number.",
            ),
        ),
    }
}

/// The whole page: heading, language switch, the outcome, and a form for another number and
/// its verification code (`typed_code`, as typed).
pub fn render(outcome: &Outcome<'_>, typed: &str, typed_code: &str, lang: Lang) -> String {
    let (other_code, other_name) = match lang {
        Lang::Id => ("en", "English"),
        Lang::En => ("id", "Bahasa Indonesia"),
    };
    let mut switch = format!("/verify?number={}", query_value(typed));
    if !typed_code.is_empty() {
        switch.push_str(&format!("&code={}", query_value(typed_code)));
    }
    switch.push_str(&format!("&lang={other_code}"));
    let title = lang.pick("Verifikasi sertifikat", "Certificate verification");
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — kesos" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body class="verify" {
                header class="top" {
                    p class="brand" { "Kementerian Sosial RI · SDM Kesos" }
                    a class="lang" lang=(other_code) href=(switch) { (other_name) }
                }
                main id="main" {
                    h1 { (title) }
                    (outcome_html(outcome, lang))
                    form method="get" action="/verify" class="verify-form" {
                        label for="number-input" {
                            (lang.pick("Nomor sertifikat", "Certificate number"))
                        }
                        input id="number-input" name="number" value=(typed) autocomplete="off"
                            spellcheck="false" required;
                        label for="code-input" {
                            (lang.pick(
                                "Kode verifikasi (tercetak di samping nomor)",
                                "Verification code (printed beside the number)",
                            ))
                        }
                        input id="code-input" name="code" value=(typed_code) autocomplete="off"
                            spellcheck="false";
                        input type="hidden" name="lang" value=(lang.code());
                        button type="submit" { (lang.pick("Periksa", "Check")) }
                    }
                    p class="note" {
                        (lang.pick(
                            "Nama pemegang disamarkan. Untuk memastikan nama lengkap, gunakan pencocokan nama di API verifikasi.",
                            "The holder's name is masked. To confirm a full name, use the name match of the verification API.",
                        ))
                    }
                }
            }
        }
    }
    .into_string()
}

/// `text` percent-encoded for a query string (letters, digits, `-` and `.` kept).
fn query_value(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_with_the_month_name_of_the_language() {
        assert_eq!(long_date("2017-12-03", Lang::Id), "3 Desember 2017");
        assert_eq!(long_date("2029-02-28", Lang::En), "28 February 2029");
        assert_eq!(long_date("not a date", Lang::Id), "not a date");
        assert_eq!(long_date("2017-13-03", Lang::Id), "2017-13-03");
    }

    #[test]
    fn the_page_escapes_what_was_typed_and_names_its_language() {
        let page = render(&Outcome::NotFound, "<script>", "", Lang::En);
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"en\">"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("Certificate not found"));
        assert!(page.contains("number=%3Cscript%3E&amp;lang=id"));
    }

    fn verification(holder: &str) -> PublicVerification {
        PublicVerification {
            number: "KSS-PSG-2026-000001-X".into(),
            status: "valid".into(),
            holder: Some(holder.into()),
            scheme_code: "PSG".into(),
            scheme_name: Some(holder.into()),
            category: "pekerja_sosial".into(),
            level: holder.into(),
            issuing_body: holder.into(),
            issuer: holder.into(),
            valid_from: "2026-03-01".into(),
            valid_until: "2029-02-28".into(),
        }
    }

    #[test]
    fn a_hostile_holder_name_is_escaped_on_the_page() {
        let hostile = r#"<script>alert(1)</script> & "x""#;
        let found = verification(hostile);
        let page = render(&Outcome::Found(&found), hostile, hostile, Lang::Id);
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
        assert!(page.contains("<h2 id=\"verdict\">Berlaku</h2>"));
        assert!(page.contains("1 Maret 2026 s.d. 28 Februari 2029"));
    }

    #[test]
    fn the_language_switch_keeps_the_number_and_the_code() {
        let page = render(&Outcome::Blank, "KSS-1", "7KQ2 M9XD", Lang::Id);
        assert!(page.contains(
            r#"href="/verify?number=KSS-1&amp;code=7KQ2%20M9XD&amp;lang=en">English</a>"#
        ));
    }
}
