//! The printable certificate: one self-contained HTML page (inline CSS, the QR code as inline
//! SVG), in Bahasa Indonesia. The QR code opens the public verification page of the number, so
//! a printed copy is checked against the registry, never trusted on its own.

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

/// Escapes text for HTML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

/// The page.
pub fn render(page: &Printable) -> Result<String, CredentialError> {
    let qr = qr_svg(&page.verify_url)?;
    let e = |text: &str| escape(text);
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="id">
<head>
<meta charset="utf-8">
<title>Sertifikat Kompetensi {number}</title>
<style>
  @page {{ size: A4 landscape; margin: 12mm; }}
  body {{ font-family: Georgia, "Times New Roman", serif; color: #1a1a1a; margin: 0; }}
  .sheet {{ border: 6px double #7a5c1e; padding: 28px 40px; max-width: 980px; margin: 16px auto; }}
  h1 {{ text-align: center; font-size: 30px; letter-spacing: 2px; margin: 4px 0; }}
  .issuer {{ text-align: center; font-size: 16px; text-transform: uppercase; }}
  .number {{ text-align: center; font-family: "Courier New", monospace; font-size: 20px; margin: 10px 0 22px; }}
  .holder {{ text-align: center; font-size: 28px; font-weight: bold; margin: 8px 0 18px; }}
  table {{ border-collapse: collapse; margin: 0 auto; font-size: 16px; }}
  td {{ padding: 4px 12px; vertical-align: top; }}
  td.label {{ color: #555; }}
  .foot {{ display: flex; justify-content: space-between; align-items: flex-end; margin-top: 24px; }}
  .qr svg {{ width: 150px; height: 150px; }}
  .note {{ font-size: 12px; color: #555; max-width: 560px; }}
</style>
</head>
<body>
<div class="sheet">
  <p class="issuer">{issuer}</p>
  <h1>SERTIFIKAT KOMPETENSI</h1>
  <p class="number">Nomor: {number}<br>Kode verifikasi: <span class="code">{code}</span></p>
  <p style="text-align:center">Diberikan kepada</p>
  <p class="holder">{holder}</p>
  <p style="text-align:center">yang telah dinyatakan <strong>KOMPETEN</strong> pada skema</p>
  <table>
    <tr><td class="label">Skema</td><td>{scheme}</td></tr>
    <tr><td class="label">Jenjang</td><td>{level}</td></tr>
    <tr><td class="label">Lembaga sertifikasi</td><td>{body}</td></tr>
    <tr><td class="label">Berlaku sejak</td><td>{from}</td></tr>
    <tr><td class="label">Berlaku sampai dengan</td><td>{until}</td></tr>
    <tr><td class="label">Status saat dicetak</td><td>{status}</td></tr>
  </table>
  <div class="foot">
    <p class="note">Keaslian dan status terkini sertifikat ini dapat diperiksa dengan memindai kode QR
    atau membuka <br><a href="{url}">{url}</a>.<br>Status di atas berlaku pada saat dokumen ini dicetak.</p>
    <div class="qr">{qr}</div>
  </div>
</div>
</body>
</html>
"#,
        number = e(&page.number),
        code = e(&page.verification_code),
        issuer = e(&page.issuer_name),
        holder = e(&page.holder_name),
        scheme = e(&page.scheme_name),
        level = e(&page.level),
        body = e(&page.issuing_body),
        from = tanggal(page.valid_from),
        until = tanggal(page.valid_until),
        status = status_text(&page.status),
        url = e(&page.verify_url),
        qr = qr,
    ))
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
}
