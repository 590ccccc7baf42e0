//! The self-contained HTML report: charts inline (SVG), tables, the scenario text and
//! the command that reproduces it. Written as well-formed XHTML.

use std::fmt::Write as _;
use std::path::Path;

use super::charts::{Chart, write_charts};

pub struct Report {
    pub title: String,
    pub command: String,
    pub scenario_text: String,
    /// Headed blocks of preformatted text (tables).
    pub tables: Vec<(String, String)>,
    pub charts: Vec<Chart>,
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Drops an XML declaration or doctype in front of an inline SVG.
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

pub fn render(r: &Report) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>{}</title>\n\
         <style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}pre{{background:#f6f6f6;padding:0.8em;overflow-x:auto}}\
         figure{{margin:1.5em 0}}figcaption{{color:#555}}code{{background:#f0f0f0}}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&r.title),
        escape(&r.title)
    );
    let _ = writeln!(h, "<p>Reproduce with: <code>{}</code></p>", escape(&r.command));
    for (heading, table) in &r.tables {
        let _ = writeln!(h, "<h2>{}</h2>\n<pre>{}</pre>", escape(heading), escape(table));
    }
    if !r.charts.is_empty() {
        let _ = writeln!(h, "<h2>Charts</h2>");
    }
    for c in &r.charts {
        let _ = writeln!(
            h,
            "<figure id=\"chart-{}\">\n{}\n<figcaption>{} (<a href=\"{}.svg\">SVG</a>, <a href=\"{}.png\">PNG</a>)</figcaption>\n</figure>",
            escape(&c.name),
            inline_svg(&c.svg),
            escape(&c.title),
            escape(&c.name),
            escape(&c.name)
        );
    }
    let _ = writeln!(h, "<h2>Scenario</h2>\n<pre>{}</pre>\n</body>\n</html>", escape(&r.scenario_text));
    h
}

/// Writes the charts and `report.html` into `dir`.
pub fn write_report(dir: &Path, r: &Report) -> Result<(), super::ReportError> {
    write_charts(dir, &r.charts)?;
    super::ReportError::write(&dir.join("report.html"), render(r))
}
