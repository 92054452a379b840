//! The public verification page a certificate's QR code opens: the certificate's standing in
//! Bahasa Indonesia (English with `?lang=en`), dates written the Indonesian way (3 Desember
//! 2017), and a form to check another number. It is plain server-rendered HTML with the
//! dashboard's style sheet, so it works on any phone without JavaScript.

use crate::credential::html::{MONTHS as MONTHS_ID, escape};
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

fn found(v: &PublicVerification, lang: Lang) -> String {
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
    let mut table = String::new();
    for (label, value) in rows {
        table.push_str(&format!(
            "<tr><th scope=\"row\">{label}</th><td>{}</td></tr>",
            escape(value)
        ));
    }
    table.push_str(&format!(
        "<tr><th scope=\"row\">{}</th><td>{} {} {}</td></tr>",
        lang.pick("Masa berlaku", "Valid"),
        escape(&long_date(&v.valid_from, lang)),
        lang.pick("s.d.", "to"),
        escape(&long_date(&v.valid_until, lang)),
    ));
    format!(
        "<section class=\"verdict verdict-{status}\" aria-live=\"polite\"><h2 id=\"verdict\">{text}</h2>\
         <p>{number_label} <b id=\"number\">{number}</b></p>\
         <table class=\"facts\"><caption>{caption}</caption>{table}</table></section>",
        status = escape(&v.status),
        text = status_text(&v.status, lang),
        number_label = lang.pick("Nomor", "Number"),
        number = escape(&v.number),
        caption = lang.pick("Data sertifikat", "Certificate details"),
    )
}

fn outcome_html(outcome: &Outcome<'_>, lang: Lang) -> String {
    match outcome {
        Outcome::Blank => String::new(),
        Outcome::Found(v) => found(v, lang),
        Outcome::Malformed => format!(
            "<section class=\"verdict verdict-invalid\" aria-live=\"polite\"><h2 id=\"verdict\">{}</h2><p>{}</p></section>",
            lang.pick(
                "Bukan nomor sertifikat yang sah",
                "Not a valid certificate number"
            ),
            lang.pick(
                "Periksa kembali nomor yang diketik: ada huruf atau angka yang salah atau tertukar.",
                "Check the number as typed: a letter or digit is wrong or two are swapped."
            ),
        ),
        Outcome::Validity(v) => format!(
            "<section class=\"verdict verdict-{status}\" aria-live=\"polite\"><h2 id=\"verdict\">{text}</h2>\
             <p>{number_label} <b id=\"number\">{number}</b></p><p>{hint}</p></section>",
            status = if v.valid { "valid" } else { "invalid" },
            text = if v.valid {
                lang.pick("Berlaku", "Valid")
            } else {
                lang.pick("Tidak berlaku", "Not valid")
            },
            number_label = lang.pick("Nomor", "Number"),
            number = escape(&v.number),
            hint = lang.pick(
                "Masukkan kode verifikasi yang tercetak di samping nomor untuk melihat rincian sertifikat.",
                "Enter the verification code printed beside the number to see the certificate's details."
            ),
        ),
        Outcome::WrongCode => format!(
            "<section class=\"verdict verdict-invalid\" aria-live=\"polite\"><h2 id=\"verdict\">{}</h2><p>{}</p></section>",
            lang.pick("Kode verifikasi tidak cocok", "The verification code does not match"),
            lang.pick(
                "Periksa kembali kode yang tercetak di samping nomor sertifikat.",
                "Check the code printed beside the certificate number."
            ),
        ),
        Outcome::NotFound => format!(
            "<section class=\"verdict verdict-invalid\" aria-live=\"polite\"><h2 id=\"verdict\">{}</h2><p>{}</p></section>",
            lang.pick("Sertifikat tidak ditemukan", "Certificate not found"),
            lang.pick(
                "Tidak ada sertifikat dengan nomor ini.",
                "No certificate has this number."
            ),
        ),
    }
}

/// The whole page: heading, language switch, the outcome, and a form for another number and
/// its verification code (`typed_code`, as typed).
pub fn render(outcome: &Outcome<'_>, typed: &str, typed_code: &str, lang: Lang) -> String {
    let other = match lang {
        Lang::Id => ("en", "English"),
        Lang::En => ("id", "Bahasa Indonesia"),
    };
    let link = if typed_code.is_empty() {
        query_value(typed)
    } else {
        format!(
            "{}&amp;code={}",
            query_value(typed),
            query_value(typed_code)
        )
    };
    let typed = escape(typed);
    let typed_code = escape(typed_code);
    format!(
        "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — kesos</title><link rel=\"stylesheet\" href=\"/assets/app.css\"></head>\
         <body class=\"verify\"><header class=\"top\"><p class=\"brand\">Kementerian Sosial RI · SDM Kesos</p>\
         <a class=\"lang\" lang=\"{other_code}\" href=\"/verify?number={link}&amp;lang={other_code}\">{other_name}</a></header>\
         <main id=\"main\"><h1>{title}</h1>{outcome}\
         <form method=\"get\" action=\"/verify\" class=\"verify-form\">\
         <label for=\"number-input\">{label}</label>\
         <input id=\"number-input\" name=\"number\" value=\"{typed}\" autocomplete=\"off\" spellcheck=\"false\" required>\
         <label for=\"code-input\">{code_label}</label>\
         <input id=\"code-input\" name=\"code\" value=\"{typed_code}\" autocomplete=\"off\" spellcheck=\"false\">\
         <input type=\"hidden\" name=\"lang\" value=\"{code}\">\
         <button type=\"submit\">{check}</button></form>\
         <p class=\"note\">{note}</p></main></body></html>",
        code = lang.code(),
        title = lang.pick("Verifikasi sertifikat", "Certificate verification"),
        other_code = other.0,
        other_name = other.1,
        outcome = outcome_html(outcome, lang),
        label = lang.pick("Nomor sertifikat", "Certificate number"),
        code_label = lang.pick(
            "Kode verifikasi (tercetak di samping nomor)",
            "Verification code (printed beside the number)"
        ),
        check = lang.pick("Periksa", "Check"),
        note = lang.pick(
            "Nama pemegang disamarkan. Untuk memastikan nama lengkap, gunakan pencocokan nama di API verifikasi.",
            "The holder's name is masked. To confirm a full name, use the name match of the verification API."
        ),
    )
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
}
