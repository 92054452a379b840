// kesos dashboard: regional progress for people who look rather than read.
// No framework and no build step: the DOM is built with h(), the charts are SVG, the data
// comes from the kesos HTTP API with the bearer token the user signed in with, and the API's
// access rules decide what each role sees. Routes live in the location hash:
//   #/            the nation (provinces)          #/r/32      a province (its kabupaten/kota)
//   #/r/32.77     a kabupaten/kota and the sessions, candidates, workers and certificates
// with ?as_of=YYYY-MM-DD for "as it stood on that date" (the API's ISO 8601 date; people type
// and read dates the Indonesian way, 03/12/2017 and 3 Desember 2017, whatever the browser's
// language, and times in WIB, which the page says).
"use strict";

const TEXT = {
  id: {
    skip: "Lewati ke isi", brand: "Kementerian Sosial RI · Dasbor SDM Kesos",
    downloadCsv: "Unduh tabel (CSV)", downloadXlsx: "Unduh tabel (Excel)", downloaded: "Tabel diunduh: {name}",
    trendCsv: "Unduh tren bulanan (CSV)", trendXlsx: "Unduh tren bulanan (Excel)",
    listCsv: "Unduh daftar {what} (CSV)", listXlsx: "Unduh daftar {what} (Excel)", preparing: "Menyiapkan unduhan…",
    print: "Cetak laporan", zone: "WIB",
    asOf: "Per tanggal", asOfFormat: "(hh/bb/tttt)", apply: "Terapkan", today: "Hari ini", signOut: "Keluar",
    verifyLink: "Verifikasi sertifikat", mapCredit: "Peta provinsi: MapSVG / svg-maps, CC BY 4.0",
    crumbs: "Jejak wilayah", nation: "Indonesia", loading: "Memuat…",
    loaded: "Data dimuat.", failed: "Data tidak dapat dimuat", denied: "Peran Anda tidak berwenang melihat data ini.",
    now: "keadaan terkini", asOfDate: "keadaan per {date}",
    registered: "Pekerja terdaftar", nominated: "Diusulkan", verified: "Terverifikasi", rejected: "Ditolak",
    seated: "Mendapat kursi uji", assessed: "Telah diases", kompeten: "Kompeten", belum_kompeten: "Belum kompeten",
    certified: "Pernah tersertifikasi", valid: "Sertifikat berlaku", suspended: "Dibekukan", revoked: "Dicabut", expired: "Kedaluwarsa",
    rate: "Tingkat sertifikasi", target: "Target {year}", targetProgress: "Capaian target", region: "Wilayah",
    provinces: "Provinsi", kabkota: "Kabupaten/kota", noChildren: "Belum ada pekerja terdaftar di wilayah ini.",
    mapTitle: "Peta tingkat sertifikasi per provinsi",
    mapNote: "Peta memakai garis batas 34 provinsi sebelum pemekaran 2022: bidang Papua juga mencakup Papua Selatan, Papua Tengah dan Papua Pegunungan, dan bidang Papua Barat juga mencakup Papua Barat Daya. Warna kedua bidang itu menurut angka gabungan provinsi yang dicakupnya.",
    noData: "tanpa data", chartTitle: "Pekerja terdaftar dan tersertifikasi", trendTitle: "Tren bulanan",
    trendRegistered: "Registrasi", trendAssessed: "Keputusan asesmen", trendCertified: "Sertifikat terbit",
    month: "Bulan", showTable: "Tampilkan sebagai tabel", noTrend: "Belum ada perubahan bulanan.",
    sessions: "Sesi uji kompetensi", candidates: "Kandidat", workers: "Pekerja", certificates: "Sertifikat",
    listsNote: "Daftar di bawah menunjukkan keadaan terkini, juga saat tanggal lain dipilih.",
    shown: "{shown} dari {total} ditampilkan", none: "Tidak ada.",
    starts: "Mulai", scheme: "Skema", site: "Tempat", seats: "Kursi", status: "Status", lsps: "LSPS",
    candidate: "Kandidat", worker: "Pekerja", verifiedAt: "Terverifikasi", name: "Nama", category: "Kategori",
    role: "Peran", posting: "Penempatan", number: "Nomor", holder: "Pemegang", validUntil: "Berlaku s.d.",
    signInTitle: "Masuk ke dasbor", tokenLabel: "Token akses",
    tokenHint: "Tempel token dari `kesos token issue` (atau buka tautan yang berisi #token=…). Token hanya disimpan di tab ini.",
    signIn: "Masuk", tokenRejected: "Token ditolak atau sudah kedaluwarsa. Masuk lagi.",
    badDate: "Tanggal tidak sah: tulis hari/bulan/tahun, misalnya 03/12/2017.", sortBy: "Urutkan menurut {column}",
  },
  en: {
    skip: "Skip to content", brand: "Ministry of Social Affairs · SDM Kesos dashboard",
    downloadCsv: "Download the table (CSV)", downloadXlsx: "Download the table (Excel)", downloaded: "Table downloaded: {name}",
    trendCsv: "Download the monthly trend (CSV)", trendXlsx: "Download the monthly trend (Excel)",
    listCsv: "Download the list of {what} (CSV)", listXlsx: "Download the list of {what} (Excel)", preparing: "Preparing the download…",
    print: "Print the report", zone: "WIB (UTC+7)",
    asOf: "As of", asOfFormat: "(dd/mm/yyyy)", apply: "Apply", today: "Today", signOut: "Sign out",
    verifyLink: "Verify a certificate", mapCredit: "Province map: MapSVG / svg-maps, CC BY 4.0",
    crumbs: "Region trail", nation: "Indonesia", loading: "Loading…",
    loaded: "Data loaded.", failed: "The data could not be loaded", denied: "Your role may not see this data.",
    now: "as it stands now", asOfDate: "as it stood on {date}",
    registered: "Registered workers", nominated: "Nominated", verified: "Verified", rejected: "Rejected",
    seated: "Seated", assessed: "Assessed", kompeten: "Kompeten", belum_kompeten: "Belum kompeten",
    certified: "Ever certified", valid: "Valid certificates", suspended: "Suspended", revoked: "Revoked", expired: "Expired",
    rate: "Certification rate", target: "Target {year}", targetProgress: "Progress to target", region: "Region",
    provinces: "Provinces", kabkota: "Regencies/cities", noChildren: "No workers are registered in this region yet.",
    mapTitle: "Certification rate by province",
    mapNote: "The map has the outlines of the 34 provinces before the 2022 splits: the Papua outline also covers Papua Selatan, Papua Tengah and Papua Pegunungan, and the Papua Barat outline also covers Papua Barat Daya. Each of the two is shaded by the combined figures of the provinces it covers.",
    noData: "no data", chartTitle: "Registered and certified workers", trendTitle: "Monthly trend",
    trendRegistered: "Registrations", trendAssessed: "Assessment decisions", trendCertified: "Certificates issued",
    month: "Month", showTable: "Show as a table", noTrend: "No monthly changes yet.",
    sessions: "Competency test sessions", candidates: "Candidates", workers: "Workers", certificates: "Certificates",
    listsNote: "The lists below show the present state, also when another date is chosen.",
    shown: "{shown} of {total} shown", none: "None.",
    starts: "Starts", scheme: "Scheme", site: "Site", seats: "Seats", status: "Status", lsps: "LSPS",
    candidate: "Candidate", worker: "Worker", verifiedAt: "Verified", name: "Name", category: "Category",
    role: "Role", posting: "Posting", number: "Number", holder: "Holder", validUntil: "Valid until",
    signInTitle: "Sign in to the dashboard", tokenLabel: "Access token",
    tokenHint: "Paste a token from `kesos token issue` (or open a link that carries #token=…). It is kept in this tab only.",
    signIn: "Sign in", tokenRejected: "The token was refused or has expired. Sign in again.",
    badDate: "Not a date: write day/month/year, e.g. 03/12/2017.", sortBy: "Sort by {column}",
  },
};

const state = {
  lang: localStorage.getItem("kesos.lang") === "en" ? "en" : "id",
  token: sessionStorage.getItem("kesos.token") || "",
  redraw: null,
  sort: { key: "registered", dir: "descending" },
  map: null,
};

// ---- words, numbers and dates -------------------------------------------------------------

function t(key, values) {
  let text = TEXT[state.lang][key] ?? key;
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return text;
}

/** 16920 → "16.920" (Bahasa Indonesia) or "16,920" (English). */
function number(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const sign = value < 0 ? "-" : "";
  const digits = String(Math.trunc(Math.abs(value)));
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, state.lang === "id" ? "." : ",");
  return sign + grouped;
}

/** 0.3611 → "36,1%" or "36.1%". */
function percent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "–";
  const tenths = Math.round(ratio * 1000);
  const whole = number(Math.trunc(tenths / 10));
  return `${whole}${state.lang === "id" ? "," : "."}${Math.abs(tenths % 10)}%`;
}

/** The locale each language's dates are written in. */
const LOCALES = { id: "id-ID", en: "en-GB" };

/** Western Indonesian Time (UTC+7, no daylight saving): the zone times are shown in. */
const WIB = "Asia/Jakarta";

function dateFormat(options) {
  return new Intl.DateTimeFormat(LOCALES[state.lang], options);
}

/** A calendar day `YYYY-MM-DD` as the instant of its midnight in UTC (so formatting in UTC
 * shows that day whatever the browser's zone), or `null`. */
function calendarDay(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  return match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : null;
}

/** An RFC 3339 instant, or `null`. */
function instant(iso) {
  if (!/^\d{4}-\d{2}-\d{2}T/.test(iso || "")) return null;
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? null : at;
}

/** "2017-12-03" → "3 Desember 2017" or "3 December 2017"; an instant → its day in WIB. */
function longDate(iso) {
  const day = calendarDay(iso);
  if (day) return dateFormat({ day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }).format(day);
  const at = instant(iso);
  return at ? dateFormat({ day: "numeric", month: "long", year: "numeric", timeZone: WIB }).format(at) : (iso || "");
}

/** An instant → "3 Desember 2017, 09.00 WIB" (the day and time in WIB, the zone said). */
function dateTime(iso) {
  const at = instant(iso);
  if (!at) return longDate(iso);
  const time = dateFormat({ hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: WIB }).format(at);
  return `${longDate(iso)}, ${time} ${t("zone")}`;
}

/** "2017-12" → "Des 2017" or "Dec 2017". */
function shortMonth(yearMonth) {
  const day = calendarDay(`${yearMonth}-01`);
  return day ? dateFormat({ month: "short", year: "numeric", timeZone: "UTC" }).format(day) : yearMonth;
}

/** "2017-12-03" → "03/12/2017": how the as-of field shows the date it holds. */
function dayMonthYear(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  return match ? `${match[3]}/${match[2]}/${match[1]}` : "";
}

/**
 * What a person typed in the as-of field, as the API's `YYYY-MM-DD`: day/month/year with "/",
 * "-" or "." between (03/12/2017, 3-12-2017), or the ISO form itself (2017-12-03); "" when
 * empty (today); `null` when it is not a day of the calendar from 1945 on.
 */
function parseDay(text) {
  const value = (text || "").trim();
  if (!value) return "";
  let parts = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(value);
  let day, month, year;
  if (parts) [day, month, year] = [parts[1], parts[2], parts[3]].map(Number);
  else if ((parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value))) [year, month, day] = [parts[1], parts[2], parts[3]].map(Number);
  else return null;
  const date = new Date(Date.UTC(year, month - 1, day));
  const real = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  if (!real || year < 1945) return null;
  return `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** An instant as RFC 3339 in WIB: 2017-12-03T09:00:00+07:00 (what a downloaded file says). */
function wibInstant(at) {
  return `${new Date(at.getTime() + 7 * 3600 * 1000).toISOString().slice(0, 19)}+07:00`;
}

// ---- the DOM ------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function h(tag, attributes, ...children) {
  const svg = tag.startsWith("svg:");
  const element = svg ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function setStatus(text, error) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(error));
}

// ---- routes and the API -------------------------------------------------------------------

function route() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query || "");
  const match = /^\/r\/(\d{2}(?:\.\d{2})?)$/.exec(path || "");
  return { region: match ? match[1] : "", asOf: params.get("as_of") || "" };
}

function link(region, asOf) {
  const path = region ? `#/r/${region}` : "#/";
  return asOf ? `${path}?as_of=${asOf}` : path;
}

class Refused extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" } });
  if (response.status === 401) {
    signOut(t("tokenRejected"));
    throw new Refused(401, t("tokenRejected"));
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Refused(response.status, body.detail || body.title || String(response.status));
  return body;
}

/** The body, or `null` when the role may not see it (the page says so instead). */
async function optional(path) {
  try {
    return await api(path);
  } catch (error) {
    if (error instanceof Refused && error.status === 403) return null;
    throw error;
  }
}

async function mapShapes() {
  if (!state.map) state.map = fetch("/assets/map.json").then((r) => r.json());
  return state.map;
}

// ---- pieces of a page ---------------------------------------------------------------------

function crumbs(region, asOf) {
  const nav = document.getElementById("crumbs");
  nav.setAttribute("aria-label", t("crumbs"));
  const trail = [{ code: "", name: t("nation") }];
  if (region.code.length >= 2 && region.province) trail.push({ code: region.code.slice(0, 2), name: region.province });
  if (region.code.length === 5) trail.push({ code: region.code, name: region.name });
  const items = trail.map((step, index) =>
    h("li", {}, index === trail.length - 1
      ? h("span", { "aria-current": "page" }, step.name)
      : h("a", { href: link(step.code, asOf) }, step.name)));
  nav.replaceChildren(h("ol", {}, items));
}

function bar(ratio, label) {
  const fill = h("span", { class: "fill" });
  fill.style.width = `${Math.max(0, Math.min(1, ratio || 0)) * 100}%`;
  return h("span", { class: "bar" },
    h("span", { class: "track", role: "img", "aria-label": `${label}: ${percent(ratio)}` }, fill),
    h("span", { class: "figure" }, percent(ratio)));
}

function cards(figures, year) {
  const counts = figures.counts || {};
  const card = (key, label, value) =>
    h("li", { "data-measure": key }, h("span", { class: "label" }, label), h("span", { class: "value" }, value));
  return h("ul", { class: "cards", id: "summary" },
    card("registered", t("registered"), number(counts.registered || 0)),
    card("certified", t("certified"), number(counts.certified || 0)),
    card("valid", t("valid"), number(counts.valid || 0)),
    card("rate", t("rate"), percent(figures.certification_rate)),
    card("target", t("target", { year }), figures.target ? number(figures.target.count) : "–"),
    card("target_progress", t("targetProgress"), percent(figures.target_progress)),
    card("verified", t("verified"), number(counts.verified || 0)),
    card("kompeten", t("kompeten"), number(counts.kompeten || 0)),
    card("suspended", t("suspended"), number(counts.suspended || 0)),
    card("revoked", t("revoked"), number(counts.revoked || 0)),
    card("expired", t("expired"), number(counts.expired || 0)));
}

const COLUMNS = [
  { key: "name", label: () => t("region"), value: (c) => c.name || c.code, text: true },
  { key: "registered", label: () => t("registered"), value: (c) => c.figures.counts.registered || 0 },
  { key: "certified", label: () => t("certified"), value: (c) => c.figures.counts.certified || 0 },
  { key: "valid", label: () => t("valid"), value: (c) => c.figures.counts.valid || 0 },
  { key: "rate", label: () => t("rate"), value: (c) => c.figures.certification_rate ?? -1, ratio: true },
  { key: "target", label: (year) => t("target", { year }), value: (c) => (c.figures.target ? c.figures.target.count : -1) },
  { key: "target_progress", label: () => t("targetProgress"), value: (c) => c.figures.target_progress ?? -1, ratio: true },
];

function childTable(report, asOf, level) {
  const rows = [...report.children];
  const column = COLUMNS.find((c) => c.key === state.sort.key) || COLUMNS[1];
  const direction = state.sort.dir === "ascending" ? 1 : -1;
  rows.sort((a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    const order = column.text ? String(x).localeCompare(String(y), state.lang) : x - y;
    return order * direction || a.code.localeCompare(b.code);
  });
  const head = COLUMNS.map((c) => {
    const label = c.label(report.year);
    const sorted = c.key === state.sort.key ? state.sort.dir : "none";
    return h("th", { scope: "col", class: c.text ? null : "num", "aria-sort": sorted, "data-key": c.key },
      h("button", {
        type: "button", title: t("sortBy", { column: label }),
        onclick: () => {
          const same = state.sort.key === c.key;
          state.sort = { key: c.key, dir: same && state.sort.dir === "descending" ? "ascending" : "descending" };
          if (c.text && !same) state.sort.dir = "ascending";
          state.redraw();
          document.querySelector(`#children th[data-key="${c.key}"] button`)?.focus();
        },
      }, label));
  });
  const body = rows.map((child) => {
    const f = child.figures;
    const counts = f.counts || {};
    return h("tr", { "data-code": child.code },
      h("th", { scope: "row" }, h("a", { href: link(child.code, asOf) }, child.name || child.code)),
      h("td", { class: "num registered" }, number(counts.registered || 0)),
      h("td", { class: "num certified" }, number(counts.certified || 0)),
      h("td", { class: "num valid" }, number(counts.valid || 0)),
      h("td", { class: "rate" }, bar(f.certification_rate, t("rate"))),
      h("td", { class: "num target" }, f.target ? number(f.target.count) : "–"),
      h("td", { class: "target-progress" }, f.target_progress === null || f.target_progress === undefined
        ? "–" : bar(f.target_progress, t("targetProgress"))));
  });
  return h("table", { id: "children" },
    h("caption", {}, level),
    h("thead", {}, h("tr", {}, head)),
    h("tbody", {}, body));
}

// ---- tables to take away ------------------------------------------------------------------

/** Hands `blob` to the browser as the file `name` and says so. */
function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const anchor = h("a", { href: url, download: name, hidden: "" });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  setStatus(t("downloaded", { name }));
}

/**
 * Downloads one of the region's tables as the API writes it (`GET /v1/progress/table`):
 * `children` (the region and each child, every measure) or `months` (the monthly trend), in
 * `format`, csv or xlsx, with the as-of date and the filters on every row, under the name the
 * API gives. The token goes in the header, so the file is fetched and handed to the browser
 * rather than linked.
 */
async function download(code, asOf, format, table) {
  const query = new URLSearchParams({ format });
  if (table !== "children") query.set("table", table);
  if (code) query.set("region", code);
  if (asOf) query.set("as_of", asOf);
  setStatus(t("preparing"));
  const response = await fetch(`/v1/progress/table?${query}`, { headers: { Authorization: `Bearer ${state.token}` } });
  if (!response.ok) return setStatus(`${t("failed")} (${response.status})`, true);
  const disposition = response.headers.get("content-disposition") || "";
  const name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || `progress.${format}`;
  save(await response.blob(), name);
}

/** The buttons that take the table of children away, and the one that prints the page. */
function downloads(code, asOf) {
  return h("p", { class: "downloads", id: "downloads" },
    h("button", { type: "button", id: "download-csv", onclick: () => download(code, asOf, "csv", "children") }, t("downloadCsv")),
    " ",
    h("button", { type: "button", id: "download-xlsx", onclick: () => download(code, asOf, "xlsx", "children") }, t("downloadXlsx")),
    " ",
    h("button", { type: "button", id: "print", onclick: () => window.print() }, t("print")));
}

/** The buttons that take the monthly trend away. */
function trendDownloads(code, asOf) {
  return h("p", { class: "downloads" },
    h("button", { type: "button", id: "trend-csv", onclick: () => download(code, asOf, "csv", "months") }, t("trendCsv")),
    " ",
    h("button", { type: "button", id: "trend-xlsx", onclick: () => download(code, asOf, "xlsx", "months") }, t("trendXlsx")));
}

/** Every item of a list route for the region, page after page (500 a page, the most a page
 * holds; at most 1,000 pages, far beyond any kabupaten/kota). */
async function everyItem(path, code) {
  const items = [];
  let after = null;
  for (let page = 0; page < 1000; page += 1) {
    const query = new URLSearchParams({ region: code, limit: "500" });
    if (after) query.set("after", after);
    const body = await api(`${path}?${query}`);
    items.push(...(body.items || []));
    if (!body.next) break;
    after = body.next;
  }
  return items;
}

/**
 * Downloads a list behind a kabupaten/kota in full (not only the first page shown), as CSV or
 * an Excel workbook: the lists come from the enrollment, scheduling and certification routes,
 * which answer JSON only and which the browser already reads with the caller's token; the
 * workbook is written from those rows by the server. Every row carries the question (the
 * region asked for, and since the lists show the present, today's date and the moment read, in
 * WIB); times are written in WIB.
 */
async function downloadList(list, code, format) {
  setStatus(t("preparing"));
  try {
    const items = await everyItem(list.path, code);
    const read = new Date();
    const asOf = wibInstant(read).slice(0, 10);
    const headers = ["filter_region", "as_of", "known_at", ...list.file.map(([name]) => name)];
    const rows = items.map((item) => [code, asOf, wibInstant(read), ...list.file.map(([, cell]) => {
      const value = cell(item);
      const at = instant(value);
      return at ? wibInstant(at) : value === null || value === undefined ? "" : String(value);
    })]);
    const stem = `${list.id}-${code.replace(".", "-")}-${asOf}`;
    save(format === "csv" ? csvFile(headers, rows) : await workbook(stem, headers, rows), `${stem}.${format}`);
  } catch (error) {
    if (!(error instanceof Refused && error.status === 401)) setStatus(`${t("failed")}: ${error.message}`, true);
  }
}

/** UTF-8 CSV as the API writes it: comma-separated, a field quoted when it must be. */
function csvFile(headers, rows) {
  const field = (text) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const lines = [headers, ...rows].map((row) => row.map(field).join(","));
  return new Blob([`${lines.join("\n")}\n`], { type: "text/csv;charset=utf-8" });
}

/**
 * The rows as an Excel workbook, written by the server's one workbook writer
 * (`POST /v1/progress/workbook`, every column formatted as text so ids and codes stay exactly
 * as written); the browser writes no XLSX of its own.
 */
async function workbook(name, headers, rows) {
  const response = await fetch("/v1/progress/workbook", {
    method: "POST",
    headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name, headers, rows }),
  });
  if (response.status === 401) {
    signOut(t("tokenRejected"));
    throw new Refused(401, t("tokenRejected"));
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Refused(response.status, body.detail || body.title || String(response.status));
  }
  return response.blob();
}

// ---- charts -------------------------------------------------------------------------------

/** Registered (light) and certified (dark) workers per child region, largest first. */
function barChart(report) {
  const rows = [...report.children].sort((a, b) => (b.figures.counts.registered || 0) - (a.figures.counts.registered || 0)).slice(0, 40);
  const most = Math.max(1, ...rows.map((c) => c.figures.counts.registered || 0));
  const rowHeight = 16;
  const labelWidth = 170;
  const width = 520;
  const height = rows.length * rowHeight + 8;
  const scale = (value) => ((width - labelWidth - 60) * value) / most;
  const svg = h("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "bars-title", class: "bars" },
    h("svg:title", { id: "bars-title" }, t("chartTitle")));
  rows.forEach((child, i) => {
    const y = i * rowHeight + 4;
    const counts = child.figures.counts;
    svg.append(
      h("svg:text", { x: labelWidth - 6, y: y + 11, "text-anchor": "end" }, (child.name || child.code).slice(0, 28)),
      h("svg:rect", { x: labelWidth, y, width: scale(counts.registered || 0), height: rowHeight - 4, fill: "#9fb8d3" }),
      h("svg:rect", { x: labelWidth, y, width: scale(counts.certified || 0), height: rowHeight - 4, fill: "#0b5394" }),
      h("svg:text", { x: labelWidth + scale(counts.registered || 0) + 4, y: y + 11 }, number(counts.certified || 0) + " / " + number(counts.registered || 0)));
  });
  return h("figure", {}, h("figcaption", {}, t("chartTitle")), svg,
    h("ul", { class: "legend" },
      h("li", {}, h("span", { class: "swatch swatch-registered" }), t("registered")),
      h("li", {}, h("span", { class: "swatch swatch-certified" }), t("certified"))));
}

const SHADES = ["#c6dbef", "#8fb6dc", "#5a8fc4", "#2c63a0", "#0b3d73"];
const NO_DATA = "#e3e7ec";

function shade(ratio) {
  if (ratio === null || ratio === undefined) return NO_DATA;
  return SHADES[Math.min(SHADES.length - 1, Math.floor(ratio * SHADES.length))];
}

/** The provinces shaded by certification rate; each outline links to its province. */
async function provinceMap(report, asOf) {
  const shapes = await mapShapes();
  const byCode = new Map(report.children.map((c) => [c.code, c]));
  const svg = h("svg:svg", { viewBox: shapes.viewBox, role: "group", "aria-labelledby": "map-title", class: "map" },
    h("svg:title", { id: "map-title" }, t("mapTitle")));
  for (const shape of shapes.provinces) {
    const covered = shape.codes.map((code) => byCode.get(code)).filter(Boolean);
    const registered = covered.reduce((sum, c) => sum + (c.figures.counts.registered || 0), 0);
    const valid = covered.reduce((sum, c) => sum + (c.figures.counts.valid || 0), 0);
    const ratio = registered > 0 ? valid / registered : null;
    const names = shape.codes.map((code) => byCode.get(code)?.name || code).join(", ");
    const label = `${covered.length ? covered.map((c) => c.name).join(", ") : names}: ${ratio === null ? t("noData") : percent(ratio)}`;
    const path = h("svg:path", { d: shape.d, fill: shade(ratio), "data-codes": shape.codes.join(" ") }, h("svg:title", {}, label));
    svg.append(covered.length
      ? h("svg:a", { href: link(shape.codes[0], asOf), "aria-label": label }, path)
      : path);
  }
  const legend = h("ul", { class: "legend" },
    SHADES.map((colour, i) => {
      const swatch = h("span", { class: "swatch" });
      swatch.style.background = colour;
      return h("li", {}, swatch, `${i * 20}–${(i + 1) * 20}%`);
    }),
    h("li", {}, h("span", { class: "swatch swatch-none" }), t("noData")));
  return h("figure", {}, h("figcaption", {}, t("mapTitle")), svg, legend, h("p", { class: "hint", id: "map-note" }, t("mapNote")));
}

/** Every month from the first to the last one given, the missing ones with no change. */
function everyMonth(given) {
  if (!given.length) return [];
  const byMonth = new Map(given.map((m) => [m.month, m]));
  const [firstYear, firstMonth] = given[0].month.split("-").map(Number);
  const [lastYear, lastMonth] = given[given.length - 1].month.split("-").map(Number);
  const months = [];
  for (let year = firstYear, month = firstMonth; year < lastYear || (year === lastYear && month <= lastMonth);) {
    const key = `${year}-${String(month).padStart(2, "0")}`;
    months.push(byMonth.get(key) || { month: key, change: {} });
    month += 1;
    if (month > 12) { month = 1; year += 1; }
  }
  return months;
}

/** Monthly registrations, assessment decisions and certificates as lines, with a table and
 * the buttons that take the months away. */
function trend(series, code, asOf) {
  const months = everyMonth(series.months || []);
  const lines = [
    { key: "registered", label: t("trendRegistered"), colour: "#0b5394" },
    { key: "assessed", label: t("trendAssessed"), colour: "#b45309" },
    { key: "certified", label: t("trendCertified"), colour: "#1d6b38" },
  ];
  const figure = h("figure", { id: "trend" }, h("figcaption", {}, t("trendTitle")));
  if (!months.length) {
    figure.append(h("p", {}, t("noTrend")));
    return figure;
  }
  const width = 640;
  const height = 220;
  const left = 48;
  const bottom = 28;
  const most = Math.max(1, ...months.flatMap((m) => lines.map((l) => m.change[l.key] || 0)));
  const right = 36;
  const x = (i) => left + (months.length === 1 ? (width - left - right) / 2 : (i * (width - left - right)) / (months.length - 1));
  const y = (v) => height - bottom - ((height - bottom - 10) * v) / most;
  const svg = h("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "trend-title" },
    h("svg:title", { id: "trend-title" }, t("trendTitle")),
    h("svg:line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: "#4a5361" }),
    h("svg:text", { x: left - 6, y: y(most) + 4, "text-anchor": "end" }, number(most)),
    h("svg:text", { x: left - 6, y: height - bottom + 4, "text-anchor": "end" }, "0"));
  const step = Math.max(1, Math.ceil(months.length / 8));
  months.forEach((m, i) => {
    if (i % step === 0) svg.append(h("svg:text", { x: x(i), y: height - 8, "text-anchor": "middle" }, shortMonth(m.month)));
  });
  for (const line of lines) {
    const points = months.map((m, i) => `${x(i).toFixed(1)},${y(m.change[line.key] || 0).toFixed(1)}`).join(" ");
    svg.append(h("svg:polyline", { points, fill: "none", stroke: line.colour, "stroke-width": 2 }));
  }
  const legend = h("ul", { class: "legend" }, lines.map((line) => {
    const swatch = h("span", { class: "swatch" });
    swatch.style.background = line.colour;
    return h("li", {}, swatch, line.label);
  }));
  const changed = months.filter((m) => lines.some((l) => m.change[l.key]));
  const table = h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("month")), lines.map((l) => h("th", { scope: "col", class: "num" }, l.label)))),
    h("tbody", {}, changed.map((m) => h("tr", {}, h("th", { scope: "row" }, shortMonth(m.month)),
      lines.map((l) => h("td", { class: "num" }, number(m.change[l.key] || 0)))))));
  figure.append(svg, legend, h("details", {}, h("summary", {}, t("showTable")), table), trendDownloads(code, asOf));
  return figure;
}

/**
 * The lists behind a kabupaten/kota's numbers: where each comes from, the columns shown (the
 * first page), and the columns of its file (every item; raw values: whole ids, ISO dates).
 */
const LISTS = [
  {
    id: "sessions", title: () => t("sessions"), path: "/v1/sessions",
    shown: () => [
      [t("starts"), (s) => dateTime(s.starts_at)],
      [t("scheme"), (s) => s.scheme],
      [t("site"), (s) => `${s.mode} · ${s.region}`],
      [t("seats"), (s) => `${number(s.seated)} / ${number(s.capacity)}`],
      [t("status"), (s) => s.status],
      [t("lsps"), (s) => s.lsps_id],
    ],
    file: [["session_id", (s) => s.session_id], ["starts_at", (s) => s.starts_at], ["scheme", (s) => s.scheme],
      ["mode", (s) => s.mode], ["region", (s) => s.region], ["seated", (s) => s.seated],
      ["capacity", (s) => s.capacity], ["status", (s) => s.status], ["lsps_id", (s) => s.lsps_id]],
  },
  {
    id: "candidates", title: () => t("candidates"), path: "/v1/candidates",
    shown: () => [
      [t("candidate"), (c) => shortId(c.candidate_id)],
      [t("scheme"), (c) => c.scheme],
      [t("verifiedAt"), (c) => longDate(c.verified_at)],
      [t("status"), (c) => c.status],
    ],
    file: [["candidate_id", (c) => c.candidate_id], ["worker_id", (c) => c.worker_id], ["scheme", (c) => c.scheme],
      ["region", (c) => c.region], ["verified_at", (c) => c.verified_at], ["status", (c) => c.status]],
  },
  {
    id: "workers", title: () => t("workers"), path: "/v1/workers",
    shown: () => [
      [t("name"), (w) => w.full_name || "—"],
      [t("category"), (w) => w.category],
      [t("role"), (w) => w.role],
      [t("posting"), (w) => w.posting],
    ],
    file: [["worker_id", (w) => w.worker_id], ["full_name", (w) => w.full_name], ["category", (w) => w.category],
      ["role", (w) => w.role], ["posting", (w) => w.posting]],
  },
  {
    id: "certificates", title: () => t("certificates"), path: "/v1/certificates",
    shown: () => [
      [t("number"), (c) => h("a", { href: `/verify/${encodeURIComponent(c.number)}?code=${encodeURIComponent(c.verification_code || "")}&lang=${state.lang}` }, c.number)],
      [t("holder"), (c) => c.holder_name || "—"],
      [t("scheme"), (c) => c.scheme_code],
      [t("status"), (c) => c.status],
      [t("validUntil"), (c) => longDate(c.valid_until)],
    ],
    file: [["number", (c) => c.number], ["holder_name", (c) => c.holder_name], ["scheme_code", (c) => c.scheme_code],
      ["status", (c) => c.status], ["valid_until", (c) => c.valid_until]],
  },
];

/** One list behind a kabupaten/kota's numbers; `null` data means the role may not see it. */
function list(spec, data, code) {
  const { id } = spec;
  const title = spec.title();
  const section = h("section", { id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title));
  if (data === null) {
    section.append(h("p", { class: "denied" }, t("denied")));
    return section;
  }
  const items = data.items || [];
  if (!items.length) {
    section.append(h("p", {}, t("none")));
    return section;
  }
  const columns = spec.shown();
  const what = title.toLocaleLowerCase(LOCALES[state.lang]);
  section.append(
    h("p", { class: "hint" }, t("shown", { shown: number(items.length), total: number(data.total ?? items.length) })),
    h("table", {},
      h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, items.map((item) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(item))))))),
    h("p", { class: "downloads" },
      h("button", { type: "button", id: `${id}-csv`, onclick: () => downloadList(spec, code, "csv") }, t("listCsv", { what })),
      " ",
      h("button", { type: "button", id: `${id}-xlsx`, onclick: () => downloadList(spec, code, "xlsx") }, t("listXlsx", { what }))));
  return section;
}

function shortId(id) {
  return (id || "").slice(0, 8);
}

function kabkotaLists(lists, code) {
  return [h("p", { class: "hint" }, t("listsNote")), ...LISTS.map((spec, i) => list(spec, lists[i], code))];
}

// ---- pages --------------------------------------------------------------------------------

async function regionPage() {
  const { region, asOf } = route();
  const field = document.getElementById("asof");
  field.value = dayMonthYear(asOf);
  field.removeAttribute("aria-invalid");
  setStatus(t("loading"));
  const query = new URLSearchParams();
  if (region) query.set("region", region);
  if (asOf) query.set("as_of", asOf);
  const suffix = query.toString() ? `?${query}` : "";
  const [report, series] = await Promise.all([api(`/v1/progress${suffix}`), api(`/v1/progress/series${suffix}`)]);
  // A Dinas office asking for more than its region is answered with its region.
  const code = report.region.code;
  const lists = code.length === 5
    ? await Promise.all(LISTS.map((spec) => optional(`${spec.path}?region=${code}&limit=20`)))
    : null;
  const province = code.length >= 2 ? (await provinceName(code.slice(0, 2), report)) : null;
  state.redraw = () => draw(report, series, lists, asOf, province);
  await state.redraw();
  setStatus(t("loaded"));
}

async function provinceName(code, report) {
  if (report.region.code === code) return report.region.name;
  try {
    const parent = await api(`/v1/regions/${code}`);
    return parent.region?.name || code;
  } catch {
    return code;
  }
}

async function draw(report, series, lists, asOf, province) {
  applyWords();
  const code = report.region.code;
  const name = code ? report.region.name : t("nation");
  crumbs({ code, name, province }, asOf);
  const level = code.length === 0 ? t("provinces") : code.length === 2 ? t("kabkota") : null;
  const view = h("div", {},
    h("h1", { id: "region-title" }, name),
    h("p", { class: "subtitle", id: "as-of-line" }, asOf ? t("asOfDate", { date: longDate(asOf) }) : t("now")),
    cards(report.figures, report.year));
  if (level) {
    if (!report.children.length) view.append(h("p", {}, t("noChildren")));
    else {
      const panels = h("div", { class: "panels" });
      if (!code) panels.append(await provinceMap(report, asOf));
      panels.append(barChart(report));
      view.append(panels, childTable(report, asOf, level), downloads(code, asOf));
    }
  }
  view.append(trend(series, code, asOf));
  if (lists) view.append(...kabkotaLists(lists, code));
  document.getElementById("view").replaceChildren(view);
  document.title = `${name} — ${t("brand")}`;
}

function signInPage(message) {
  applyWords();
  document.getElementById("crumbs").replaceChildren();
  const area = h("textarea", { id: "token", name: "token", rows: 5, required: true, autocomplete: "off", spellcheck: "false", "aria-describedby": "token-hint" });
  const form = h("form", { class: "signin", id: "signin" },
    h("label", { for: "token" }, t("tokenLabel")), area,
    h("p", { class: "hint", id: "token-hint" }, t("tokenHint")),
    h("button", { type: "submit", class: "primary" }, t("signIn")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = area.value.trim();
    if (!token) return;
    state.token = token;
    sessionStorage.setItem("kesos.token", token);
    show();
  });
  document.getElementById("view").replaceChildren(h("h1", { id: "region-title" }, t("signInTitle")), form);
  setStatus(message || "", Boolean(message));
  state.redraw = () => signInPage(message);
}

function signOut(message) {
  state.token = "";
  sessionStorage.removeItem("kesos.token");
  signInPage(message);
}

async function show() {
  if (!state.token) return signInPage();
  try {
    await regionPage();
  } catch (error) {
    if (error instanceof Refused && error.status === 401) return;
    setStatus(`${t("failed")}: ${error.message}`, true);
  }
}

// ---- the frame ----------------------------------------------------------------------------

function applyWords() {
  document.documentElement.lang = state.lang;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  const other = state.lang === "id" ? ["en", "English"] : ["id", "Bahasa Indonesia"];
  const button = document.getElementById("lang-switch");
  button.setAttribute("lang", other[0]);
  button.textContent = other[1];
  document.getElementById("sign-out").hidden = !state.token;
}

function start() {
  const fragment = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fragment) {
    state.token = decodeURIComponent(fragment[1]);
    sessionStorage.setItem("kesos.token", state.token);
    history.replaceState(null, "", location.pathname + location.search + "#/");
  }
  document.getElementById("asof-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = document.getElementById("asof");
    const day = parseDay(field.value);
    if (day === null) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return setStatus(t("badDate"), true);
    }
    field.removeAttribute("aria-invalid");
    location.hash = link(route().region, day);
  });
  document.getElementById("asof-clear").addEventListener("click", () => {
    document.getElementById("asof").value = "";
    document.getElementById("asof").removeAttribute("aria-invalid");
    location.hash = link(route().region, "");
  });
  document.getElementById("lang-switch").addEventListener("click", () => {
    state.lang = state.lang === "id" ? "en" : "id";
    localStorage.setItem("kesos.lang", state.lang);
    if (state.redraw) state.redraw();
    else applyWords();
  });
  document.getElementById("sign-out").addEventListener("click", () => signOut());
  window.addEventListener("hashchange", () => {
    show();
    document.getElementById("main").focus();
  });
  applyWords();
  show();
}

start();
