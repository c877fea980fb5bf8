//! Charts drawn on the server as SVG: axes with ticks and units, a legend, and a tooltip
//! (`<title>`) on every point and bar, so nothing needs a script or a network. Each chart
//! is an `img` role with a label, and its figures also appear in a table on the page for
//! readers who cannot see it.

use maud::{html, Markup};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 52.0;
/// Colour-blind-safe (Okabe and Ito), in the order series take them.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// How tick labels and tooltips write a value.
pub type Format = fn(f64) -> String;

pub fn plain(v: f64) -> String {
    if v.abs() >= 1000.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        format!("{sign}{}", super::layout::grouped(v.abs().round() as u64))
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

pub fn percent(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// About `count` round tick values covering `[low, high]`.
fn ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    if !(low.is_finite() && high.is_finite()) || high <= low {
        return vec![low];
    }
    let raw = (high - low) / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let start = (low / step).ceil() * step;
    let mut out = Vec::new();
    let mut v = start;
    while v <= high + step * 1e-9 && out.len() < 20 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn new(
        xs: impl Iterator<Item = f64> + Clone,
        ys: impl Iterator<Item = f64> + Clone,
        y_zero: bool,
    ) -> Frame {
        let span = |it: &mut dyn Iterator<Item = f64>| {
            it.filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                })
        };
        let (mut x0, mut x1) = span(&mut xs.clone());
        let (mut y0, mut y1) = span(&mut ys.clone());
        if !x0.is_finite() {
            (x0, x1) = (0.0, 1.0);
        }
        if !y0.is_finite() {
            (y0, y1) = (0.0, 1.0);
        }
        if y_zero {
            y0 = y0.min(0.0);
            y1 = y1.max(0.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        if y1 <= y0 {
            y1 = y0 + 1.0;
        }
        let pad = (y1 - y0) * 0.05;
        Frame {
            x: (x0, x1),
            y: (if y_zero && y0 == 0.0 { 0.0 } else { y0 - pad }, y1 + pad),
        }
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }

    fn axes(&self, x_label: &str, y_label: &str, x_fmt: Format, y_fmt: Format) -> Markup {
        let bottom = HEIGHT - BOTTOM;
        html! {
            g class="axis" {
                line x1=(LEFT) y1=(bottom) x2=(WIDTH - RIGHT) y2=(bottom) stroke="#555" {}
                line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(bottom) stroke="#555" {}
                @for t in ticks(self.x.0, self.x.1, 6) {
                    line x1=(self.px(t)) y1=(bottom) x2=(self.px(t)) y2=(bottom + 5.0) stroke="#555" {}
                    text x=(self.px(t)) y=(bottom + 18.0) text-anchor="middle" font-size="11" fill="#333" { (x_fmt(t)) }
                }
                @for t in ticks(self.y.0, self.y.1, 5) {
                    line x1=(LEFT - 5.0) y1=(self.py(t)) x2=(WIDTH - RIGHT) y2=(self.py(t)) stroke="#e3e3e3" {}
                    text x=(LEFT - 8.0) y=(self.py(t) + 4.0) text-anchor="end" font-size="11" fill="#333" { (y_fmt(t)) }
                }
                text x=((LEFT + WIDTH - RIGHT) / 2.0) y=(HEIGHT - 10.0) text-anchor="middle" font-size="12" fill="#111" { (x_label) }
                text transform={ "translate(14," ((TOP + bottom) / 2.0) ") rotate(-90)" } text-anchor="middle" font-size="12" fill="#111" { (y_label) }
            }
        }
    }
}

/// One line of a line chart.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// A shaded band between two lines sharing x values (an interval, a fan).
pub struct Band {
    pub name: String,
    pub points: Vec<(f64, f64, f64)>,
    /// 0..1: darker for the inner band of a fan.
    pub opacity: f64,
}

pub struct LineChart<'a> {
    pub label: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_fmt: Format,
    pub y_fmt: Format,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub y_zero: bool,
}

fn path(points: impl Iterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.enumerate() {
        d.push_str(if i == 0 { "M" } else { " L" });
        d.push_str(&format!("{x:.1},{y:.1}"));
    }
    d
}

pub fn line_chart(c: &LineChart) -> Markup {
    let xs = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(c.bands.iter().flat_map(|b| b.points.iter().map(|p| p.0)))
        .collect::<Vec<_>>();
    let ys = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(
            c.bands
                .iter()
                .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
        )
        .collect::<Vec<_>>();
    let f = Frame::new(xs.iter().copied(), ys.iter().copied(), c.y_zero);
    html! {
        figure class="chart" {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(c.label) xmlns="http://www.w3.org/2000/svg" {
                (f.axes(c.x_label, c.y_label, c.x_fmt, c.y_fmt))
                @for b in &c.bands {
                    @let upper = b.points.iter().map(|p| (f.px(p.0), f.py(p.2)));
                    @let lower = b.points.iter().rev().map(|p| (f.px(p.0), f.py(p.1)));
                    path d={ (path(upper.chain(lower))) " Z" } fill=(colour(0)) fill-opacity=(b.opacity) stroke="none" {
                        title { (b.name) }
                    }
                }
                @for (i, s) in c.series.iter().enumerate() {
                    path d=(path(s.points.iter().map(|p| (f.px(p.0), f.py(p.1))))) fill="none"
                        stroke=(colour(i)) stroke-width="2" stroke-dasharray=(if s.dashed { "6 4" } else { "none" }) {}
                    @if s.points.len() <= 60 {
                        @for p in &s.points {
                            circle cx=(f.px(p.0)) cy=(f.py(p.1)) r="3" fill=(colour(i)) {
                                title { (s.name) ": " ((c.x_fmt)(p.0)) ", " ((c.y_fmt)(p.1)) }
                            }
                        }
                    }
                }
            }
            (legend(c.series.iter().map(|s| s.name.as_str()).chain(c.bands.iter().map(|b| b.name.as_str())), c.series.len()))
        }
    }
}

fn legend<'a>(names: impl Iterator<Item = &'a str>, lines: usize) -> Markup {
    html! {
        figcaption class="legend" {
            @for (i, name) in names.enumerate() {
                span {
                    @if i < lines {
                        svg width="14" height="10" aria-hidden="true" { rect width="14" height="10" fill=(colour(i)) {} }
                    } @else {
                        svg width="14" height="10" aria-hidden="true" { rect width="14" height="10" fill=(colour(0)) fill-opacity="0.25" {} }
                    }
                    " " (name)
                }
            }
        }
    }
}

/// One bar, with an optional interval drawn as an error bar.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

pub fn bar_chart(label: &str, y_label: &str, y_fmt: Format, bars: &[Bar]) -> Markup {
    let ys = bars
        .iter()
        .flat_map(|b| {
            [
                b.value,
                b.interval.map_or(b.value, |i| i.0),
                b.interval.map_or(b.value, |i| i.1),
            ]
        })
        .collect::<Vec<_>>();
    let f = Frame::new(
        [0.0, bars.len() as f64].into_iter(),
        ys.iter().copied(),
        true,
    );
    let slot = (WIDTH - LEFT - RIGHT) / bars.len().max(1) as f64;
    let bottom = HEIGHT - BOTTOM;
    html! {
        figure class="chart" {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
                g class="axis" {
                    line x1=(LEFT) y1=(f.py(0.0)) x2=(WIDTH - RIGHT) y2=(f.py(0.0)) stroke="#555" {}
                    line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(bottom) stroke="#555" {}
                    @for t in ticks(f.y.0, f.y.1, 5) {
                        line x1=(LEFT - 5.0) y1=(f.py(t)) x2=(WIDTH - RIGHT) y2=(f.py(t)) stroke="#e3e3e3" {}
                        text x=(LEFT - 8.0) y=(f.py(t) + 4.0) text-anchor="end" font-size="11" fill="#333" { (y_fmt(t)) }
                    }
                    text transform={ "translate(14," ((TOP + bottom) / 2.0) ") rotate(-90)" } text-anchor="middle" font-size="12" fill="#111" { (y_label) }
                }
                @for (i, b) in bars.iter().enumerate() {
                    @let x = LEFT + slot * i as f64 + slot * 0.2;
                    @let top = f.py(b.value.max(0.0));
                    @let height = (f.py(b.value.min(0.0)) - top).abs();
                    rect x=(x) y=(top) width=(slot * 0.6) height=(height) fill=(colour(i)) {
                        title {
                            (b.label) ": " (y_fmt(b.value))
                            @if let Some((lo, hi)) = b.interval { " (95% interval " (y_fmt(lo)) " to " (y_fmt(hi)) ")" }
                        }
                    }
                    @if let Some((lo, hi)) = b.interval {
                        @let cx = x + slot * 0.3;
                        line x1=(cx) y1=(f.py(lo)) x2=(cx) y2=(f.py(hi)) stroke="#111" stroke-width="1.5" {}
                        line x1=(cx - 6.0) y1=(f.py(lo)) x2=(cx + 6.0) y2=(f.py(lo)) stroke="#111" stroke-width="1.5" {}
                        line x1=(cx - 6.0) y1=(f.py(hi)) x2=(cx + 6.0) y2=(f.py(hi)) stroke="#111" stroke-width="1.5" {}
                    }
                    text x=(x + slot * 0.3) y=(bottom + 18.0) text-anchor="middle" font-size="11" fill="#333" { (b.label) }
                }
            }
        }
    }
}

/// A point of a scatter plot: position, group (colour) and a tooltip.
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub group: usize,
    pub tip: String,
}

pub fn scatter(
    label: &str,
    x_label: &str,
    y_label: &str,
    points: &[Point],
    groups: &[String],
) -> Markup {
    let f = Frame::new(
        points.iter().map(|p| p.x),
        points.iter().map(|p| p.y),
        false,
    );
    html! {
        figure class="chart" {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
                (f.axes(x_label, y_label, plain, plain))
                @for p in points {
                    circle cx=(f.px(p.x)) cy=(f.py(p.y)) r="2.5" fill=(colour(p.group)) fill-opacity="0.75" {
                        title { (p.tip) }
                    }
                }
            }
            (legend(groups.iter().map(String::as_str), groups.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = ticks(0.0, 1.0, 5);
        assert_eq!(t.len(), 6);
        assert!((t[5] - 1.0).abs() < 1e-9 && t[0] == 0.0);
        let t = ticks(-0.013, 0.042, 5);
        assert!(t.first().unwrap() >= &-0.013 && t.last().unwrap() <= &0.042);
        assert!(t.contains(&0.0));
        assert_eq!(ticks(3.0, 3.0, 5), vec![3.0]);
    }

    #[test]
    fn charts_are_labelled_svg_with_tooltips() {
        let svg = line_chart(&LineChart {
            label: "Qini curve",
            x_label: "share targeted",
            y_label: "incremental conversions",
            x_fmt: percent,
            y_fmt: plain,
            series: vec![Series {
                name: "model".into(),
                points: vec![(0.0, 0.0), (1.0, 5.0)],
                dashed: false,
            }],
            bands: vec![],
            y_zero: true,
        })
        .into_string();
        assert!(svg.contains("role=\"img\"") && svg.contains("aria-label=\"Qini curve\""));
        assert!(svg.contains("<title>model: 100.0%, 5</title>"), "{svg}");
        assert!(svg.contains("share targeted") && svg.contains("incremental conversions"));
    }
}
