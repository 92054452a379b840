//! The printable certificate: one self-contained HTML page (inline CSS, the QR code as inline
//! SVG), in Bahasa Indonesia. The QR code opens the public verification page of the number, so
//! a printed copy is checked against the registry, never trusted on its own. The page is a
//! `maud` template: every value inserted is escaped by the engine; only the style sheet and the
//! QR code's SVG, both made here, go in as they are.

use maud::{DOCTYPE, PreEscaped, html};
use qrcode::QrCode;
use qrcode::render::svg;
use time::Date;

use crate::credential::CredentialError;

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printable {
    /// Certificate number.
    pub number: String,
    /// The holder's name (or `(data erased)`).
    pub holder_name: String,
    /// Scheme name.
    pub scheme_name: String,
    /// Level.
    pub level: String,
    /// First valid day.
    pub valid_from: Date,
    /// Last valid day.
    pub valid_until: Date,
    /// Status code today.
    pub status: String,
    /// The certification body.
    pub issuing_body: String,
    /// The issuer.
    pub issuer_name: String,
    /// The verification page the QR code opens.
    pub verify_url: String,
    /// The verification code, as printed (`7KQ2-M9XD`): public verification shows the
    /// certificate's details only with it.
    pub verification_code: String,
}

/// The months' names in Bahasa Indonesia.
pub const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// A date as Indonesian text: `1 Maret 2026`.
pub fn tanggal(date: Date) -> String {
    let month = MONTHS[usize::from(u8::from(date.month())) - 1];
    format!("{} {month} {}", date.day(), date.year())
}

/// The status in Indonesian.
pub fn status_text(status: &str) -> &'static str {
    match status {
        "valid" => "Berlaku",
        "suspended" => "Dibekukan sementara",
        "revoked" => "Dicabut",
        "expired" => "Kedaluwarsa",
        "superseded" => "Digantikan oleh sertifikat baru",
        _ => "Tidak diketahui",
    }
}

/// The QR code of `url` as inline SVG.
pub fn qr_svg(url: &str) -> Result<String, CredentialError> {
    let code = QrCode::new(url.as_bytes()).map_err(|e| {
        CredentialError::Malformed(format!("the verification URL does not fit a QR code: {e}"))
    })?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(180, 180)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline SVG in HTML needs no XML declaration.
    Ok(match image.find("<svg") {
        Some(start) => image[start..].to_owned(),
        None => image,
    })
}

/// The page's style sheet: A4 landscape, one sheet with a double border.
const STYLE: &str = r#"
  @page { size: A4 landscape; margin: 12mm; }
  body { font-family: Georgia, "Times New Roman", serif; color: #1a1a1a; margin: 0; }
  .sheet { border: 6px double #7a5c1e; padding: 28px 40px; max-width: 980px; margin: 16px auto; }
  h1 { text-align: center; font-size: 30px; letter-spacing: 2px; margin: 4px 0; }
  .issuer { text-align: center; font-size: 16px; text-transform: uppercase; }
  .number { text-align: center; font-family: "Courier New", monospace; font-size: 20px; margin: 10px 0 22px; }
  .holder { text-align: center; font-size: 28px; font-weight: bold; margin: 8px 0 18px; }
  table { border-collapse: collapse; margin: 0 auto; font-size: 16px; }
  td { padding: 4px 12px; vertical-align: top; }
  td.label { color: #555; }
  .foot { display: flex; justify-content: space-between; align-items: flex-end; margin-top: 24px; }
  .qr svg { width: 150px; height: 150px; }
  .note { font-size: 12px; color: #555; max-width: 560px; }
"#;

/// The page.
pub fn render(page: &Printable) -> Result<String, CredentialError> {
    let qr = qr_svg(&page.verify_url)?;
    let (from, until) = (tanggal(page.valid_from), tanggal(page.valid_until));
    let facts = [
        ("Skema", page.scheme_name.as_str()),
        ("Jenjang", page.level.as_str()),
        ("Lembaga sertifikasi", page.issuing_body.as_str()),
        ("Berlaku sejak", from.as_str()),
        ("Berlaku sampai dengan", until.as_str()),
        ("Status saat dicetak", status_text(&page.status)),
    ];
    let centred = "text-align:center";
    Ok(html! {
        (DOCTYPE)
        html lang="id" {
            head {
                meta charset="utf-8";
                title { "Sertifikat Kompetensi " (page.number) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                div class="sheet" {
                    p class="issuer" { (page.issuer_name) }
                    h1 { "SERTIFIKAT KOMPETENSI" }
                    p class="number" {
                        "Nomor: " (page.number) br;
                        "Kode verifikasi: " span class="code" { (page.verification_code) }
                    }
                    p style=(centred) { "Diberikan kepada" }
                    p class="holder" { (page.holder_name) }
                    p style=(centred) {
                        "yang telah dinyatakan " strong { "KOMPETEN" } " pada skema"
                    }
                    table {
                        @for (label, value) in facts {
                            tr { td class="label" { (label) } td { (value) } }
                        }
                    }
                    div class="foot" {
                        p class="note" {
                            "Keaslian dan status terkini sertifikat ini dapat diperiksa dengan \
                             memindai kode QR atau membuka "
                            br;
                            a href=(page.verify_url) { (page.verify_url) }
                            "."
                            br;
                            "Status di atas berlaku pada saat dokumen ini dicetak."
                        }
                        // The SVG is the qrcode crate's, of a URL it encoded: no text of a user's.
                        div class="qr" { (PreEscaped(qr)) }
                    }
                }
            }
        }
    }
    .into_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use time::macros::date;

    use super::*;

    #[test]
    fn the_page_is_self_contained_indonesian_and_escapes_the_name() {
        let page = render(&Printable {
            number: "KSS-PSG-2026-000001-X".into(),
            holder_name: "Siti <Aminah>".into(),
            scheme_name: "Pekerja Sosial Generalis".into(),
            level: "GENERALIS".into(),
            valid_from: date!(2026 - 03 - 01),
            valid_until: date!(2029 - 02 - 28),
            status: "valid".into(),
            issuing_body: "LSPS Pekerjaan Sosial".into(),
            issuer_name: "Kementerian Sosial Republik Indonesia".into(),
            verify_url: "https://kesos.example/verify/KSS-PSG-2026-000001-X?code=7KQ2M9XD".into(),
            verification_code: "7KQ2-M9XD".into(),
        })
        .unwrap();
        assert!(page.contains("Siti &lt;Aminah&gt;"));
        assert!(page.contains("1 Maret 2026") && page.contains("28 Februari 2029"));
        assert!(page.contains("<svg") && !page.contains("<?xml"));
        assert!(!page.contains("<script") && !page.contains("<link"));
    }

    #[test]
    fn every_text_on_the_page_is_escaped_by_the_template() {
        let hostile = r#"<script>alert(1)</script> & "x""#;
        let page = render(&Printable {
            number: hostile.into(),
            holder_name: hostile.into(),
            scheme_name: hostile.into(),
            level: hostile.into(),
            valid_from: date!(2026 - 03 - 01),
            valid_until: date!(2029 - 02 - 28),
            status: hostile.into(),
            issuing_body: hostile.into(),
            issuer_name: hostile.into(),
            verify_url: format!("https://kesos.example/verify/x?\"><script>{hostile}"),
            verification_code: hostile.into(),
        })
        .unwrap();
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
        assert!(page.contains(r#"href="https://kesos.example/verify/x?&quot;&gt;&lt;script&gt;"#));
        assert!(page.contains("Tidak diketahui"));
    }
}
