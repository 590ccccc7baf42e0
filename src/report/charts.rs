//! Charts as SVG (plotters) and PNG (the SVG rasterised with resvg, text set in the
//! app's own font from `assets/fonts`, built into the binary, so no system fonts are
//! needed).

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use resvg::{tiny_skia, usvg};

pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 360;

/// Colours for series, in order.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

use super::ReportError;

fn err(e: impl std::fmt::Display) -> ReportError {
    ReportError::draw(e)
}

/// The chart area every chart shares: title, axes with labels, a legend.
type Area<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws one chart into an SVG string: `draw` adds the series.
fn plot(
    title: &str,
    (x_label, y_label): (&str, &str),
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    draw: impl FnOnce(&mut Area) -> Result<(), ReportError>,
) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0.min(0.0)..y1)
            .map_err(err)?;
        chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(err)?;
        draw(&mut chart)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Lines over x, with an optional horizontal reference line (e.g. the SLO).
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    reference: Option<(&str, f64)>,
) -> Result<String, ReportError> {
    let xs = range(series.iter().flat_map(|s| s.1.iter().map(|p| p.0)));
    let ys = range(series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).chain(reference.map(|r| r.1)));
    plot(title, (x_label, y_label), xs, ys, |chart| {
        for (i, (name, pts)) in series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        }
        if let Some((name, y)) = reference {
            chart
                .draw_series(LineSeries::new(vec![(xs.0, y), (xs.1, y)], BLACK.mix(0.6).stroke_width(1)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, yy)| PathElement::new(vec![(x, yy), (x + 18, yy)], BLACK.mix(0.6)));
        }
        Ok(())
    })
}

/// Overlaid histograms (as step outlines) of one metric across seeds, per strategy.
pub fn histograms(title: &str, x_label: &str, groups: &[(String, Vec<f64>)]) -> Result<String, ReportError> {
    let (lo, hi) = range(groups.iter().flat_map(|g| g.1.iter().copied()));
    let bins = 24usize;
    let width = (hi - lo) / bins as f64;
    let counts: Vec<Vec<f64>> = groups
        .iter()
        .map(|(_, v)| {
            let mut c = vec![0.0; bins];
            for &x in v.iter().filter(|x| x.is_finite()) {
                let b = (((x - lo) / width) as usize).min(bins - 1);
                c[b] += 1.0 / v.len().max(1) as f64;
            }
            c
        })
        .collect();
    let series: Vec<(String, Vec<(f64, f64)>)> = groups
        .iter()
        .zip(&counts)
        .map(|((name, _), c)| {
            let mut pts = vec![(lo, 0.0)];
            for (b, &h) in c.iter().enumerate() {
                let x = lo + b as f64 * width;
                pts.push((x, h));
                pts.push((x + width, h));
            }
            pts.push((hi, 0.0));
            (name.clone(), pts)
        })
        .collect();
    lines(title, x_label, "share of seeds", &series, None)
}

/// Points of a band: `(x, mean, low, high)`.
pub type BandPoint = (f64, f64, f64, f64);

/// Curves of a metric's mean over a swept parameter, with a 95 % confidence band.
pub fn bands(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<BandPoint>)],
) -> Result<String, ReportError> {
    let xs = range(series.iter().flat_map(|s| s.1.iter().map(|p| p.0)));
    let ys = range(series.iter().flat_map(|s| s.1.iter().flat_map(|p| [p.2, p.3])));
    plot(title, (x_label, y_label), xs, ys, |chart| {
        for (i, (name, pts)) in series.iter().enumerate() {
            let c = color(i);
            let mut band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).collect();
            band.extend(pts.iter().rev().map(|p| (p.0, p.2)));
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled()))).map_err(err)?;
            chart
                .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), c.stroke_width(2)))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 3, c.filled()))).map_err(err)?;
        }
        Ok(())
    })
}

/// Rasterises an SVG chart to PNG at its own size.
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>, ReportError> {
    svg_to_png_width(svg, None)
}

/// The font chart text is set in: the app's interface font.
const CHART_FONT: &[u8] = include_bytes!("../../assets/fonts/Ubuntu-Light.ttf");

/// Rasterises an SVG chart to PNG, scaled to `width` pixels (aspect kept) if given.
pub fn svg_to_png_width(svg: &str, width: Option<u32>) -> Result<Vec<u8>, ReportError> {
    let mut opt = usvg::Options::default();
    let db = opt.fontdb_mut();
    db.load_font_data(CHART_FONT.to_vec());
    db.set_sans_serif_family("Ubuntu");
    opt.font_family = "Ubuntu".into();
    let tree = usvg::Tree::from_str(svg, &opt)?;
    let size = tree.size().to_int_size();
    let scale = width.map_or(1.0, |w| w.clamp(64, 8192) as f32 / size.width().max(1) as f32);
    let (w, h) = ((size.width() as f32 * scale).round() as u32, (size.height() as f32 * scale).round() as u32);
    let mut pixmap = tiny_skia::Pixmap::new(w.max(1), h.max(1)).ok_or(ReportError::EmptyChart)?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| ReportError::Png(e.to_string()))
}

/// A chart to write: its file stem, title and SVG.
pub struct Chart {
    pub name: String,
    pub title: String,
    pub svg: String,
}

/// Writes `name.svg` and `name.png` for every chart into `dir`.
pub fn write_charts(dir: &std::path::Path, charts: &[Chart]) -> Result<(), ReportError> {
    ReportError::create_dir(dir)?;
    for c in charts {
        ReportError::write(&dir.join(format!("{}.svg", c.name)), &c.svg)?;
        let png = svg_to_png(&c.svg)?;
        ReportError::write(&dir.join(format!("{}.png", c.name)), png)?;
    }
    Ok(())
}
