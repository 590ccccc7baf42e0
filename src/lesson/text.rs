//! A lesson in the terminal (`deploysim lesson LESSON --text`) and each step's figure
//! written for slides (`--export DIR`).

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use super::player::{Input, Player};
use super::run::Note;
use super::{ChartKind, Highlight, LoadedLesson, QuestionKind};

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    for para in text.split('\n') {
        let mut line = 0usize;
        for word in para.split_whitespace() {
            let w = word.chars().count();
            if line > 0 && line + 1 + w > width {
                out.push('\n');
                line = 0;
            } else if line > 0 {
                out.push(' ');
                line += 1;
            }
            out.push_str(word);
            line += w;
        }
        out.push('\n');
    }
    out
}

fn clock(secs: f64) -> String {
    let s = secs.round() as u64;
    format!("{}m{:02}s", s / 60, s % 60)
}

/// Writes the current step: title, what the simulation did, narration, numbers, question.
pub fn write_step(p: &Player, out: &mut dyn Write) -> io::Result<()> {
    let st = p.step();
    writeln!(out)?;
    writeln!(out, "── Step {}/{}: {} ──", p.index() + 1, p.len(), st.title)?;
    for n in &p.run.notes {
        match n {
            Note::Ran(t) => writeln!(out, "   [simulated until {}]", clock(t.as_secs_f64()))?,
            Note::Waited { event, reached: Some(t) } => writeln!(out, "   [{event:?} at {}]", clock(t.as_secs_f64()))?,
            Note::Waited { event, reached: None } => writeln!(out, "   [{event:?} did not happen before the end]")?,
            Note::Injected(f) => writeln!(out, "   [fault injected: {f}]")?,
            Note::Commanded(c) => writeln!(out, "   [command: {c}]")?,
            Note::Switched(s) => writeln!(out, "   [replayed under strategy {s}]")?,
            Note::Compare(names) => {
                writeln!(out, "   [compare: {}]", names.join(", "))?;
                let s = &p.run.lesson.scenario;
                if let Ok(variants) = crate::compare_variants(s, Some(names)) {
                    for (name, r) in crate::compare(s, &variants) {
                        writeln!(
                            out,
                            "   {name:>12}: {}, blast radius {} users, {} failed requests (whole run)",
                            r.summary.outcome, r.summary.blast_radius_users, r.summary.failed_requests
                        )?;
                    }
                }
            }
        }
    }
    write!(out, "{}", wrap(&st.text, 78))?;
    let numbers: Vec<String> = p.run.numbers().into_iter().map(|(n, v)| format!("{n} = {v}")).collect();
    if !numbers.is_empty() {
        writeln!(out, "   Numbers: {}", numbers.join(", "))?;
    }
    if let Some(h) = st.highlight {
        writeln!(out, "   Look at: {h:?}")?;
    }
    if let Some(q) = &st.question {
        writeln!(out)?;
        write!(out, "{}", wrap(&format!("Question: {}", q.prompt), 78))?;
        match &q.kind {
            QuestionKind::Choice { options, .. } => {
                for (i, o) in options.iter().enumerate() {
                    writeln!(out, "  {}) {o}", i + 1)?;
                }
            }
            QuestionKind::Estimate { unit, .. } => writeln!(out, "  (a number, in {unit})")?,
        }
    }
    Ok(())
}

fn write_reveal(p: &Player, out: &mut dyn Write) -> io::Result<()> {
    if let Some(r) = p.answer() {
        let verdict = match r.correct {
            Some(true) => " — right!",
            Some(false) => " — not quite.",
            None => "",
        };
        writeln!(out, "Answer: {}{verdict}", r.answer)?;
        if !r.explain.is_empty() {
            write!(out, "{}", wrap(&r.explain, 78))?;
        }
    }
    Ok(())
}

/// Plays a lesson in the terminal. With `input` (an interactive terminal) it asks for each
/// answer and waits for Enter (`b` goes back, `q` quits); without, it plays straight
/// through and reveals every answer.
pub fn play(lesson: Arc<LoadedLesson>, out: &mut dyn Write, mut input: Option<&mut dyn BufRead>) -> io::Result<()> {
    let l = &lesson.lesson;
    writeln!(out, "{}", l.title)?;
    if !l.summary.is_empty() {
        write!(out, "{}", wrap(&l.summary, 78))?;
    }
    let mut p = Player::new(lesson.clone());
    loop {
        write_step(&p, out)?;
        if p.step().question.is_some() {
            if let Some(inp) = input.as_deref_mut() {
                write!(out, "Your answer (Enter to reveal): ")?;
                out.flush()?;
                let mut line = String::new();
                if inp.read_line(&mut line)? == 0 {
                    input = None;
                } else {
                    let t = line.trim();
                    match &p.step().question.as_ref().map(|q| &q.kind) {
                        Some(QuestionKind::Choice { .. }) => {
                            if let Ok(i) = t.parse::<usize>()
                                && i >= 1
                            {
                                p.handle(Input::Choose(i - 1));
                            }
                        }
                        _ => {
                            if let Ok(v) = t.parse::<f64>() {
                                p.handle(Input::Estimate(v));
                            }
                        }
                    }
                }
            }
            p.handle(Input::Next);
            write_reveal(&p, out)?;
        }
        if p.is_last() {
            writeln!(out)?;
            writeln!(out, "End of the lesson.")?;
            return Ok(());
        }
        if let Some(inp) = input.as_deref_mut() {
            write!(out, "[Enter] next · [b] back · [q] quit: ")?;
            out.flush()?;
            let mut line = String::new();
            if inp.read_line(&mut line)? == 0 {
                input = None;
            } else {
                match line.trim() {
                    "q" => return Ok(()),
                    "b" => {
                        p.handle(Input::Back);
                        continue;
                    }
                    _ => {}
                }
            }
        }
        p.handle(Input::Next);
    }
}

/// The chart a step points at (the failed-requests chart if none).
pub fn chart_name(h: Option<Highlight>) -> &'static str {
    match h {
        Some(Highlight::Chart(ChartKind::Traffic)) => "traffic",
        Some(Highlight::Chart(ChartKind::Latency)) => "p99",
        Some(Highlight::Chart(ChartKind::Ready)) => "ready",
        Some(Highlight::Chart(ChartKind::Cost)) => "cost",
        _ => "errors",
    }
}

/// Writes every step's figure (the highlighted chart, else the failed-requests chart, as
/// the simulation stands after the step) as `step-NN-NAME.svg/png`, `width` pixels wide.
/// Returns the files written.
pub fn export(
    lesson: Arc<LoadedLesson>,
    dir: &Path,
    width: u32,
) -> Result<Vec<std::path::PathBuf>, crate::report::ReportError> {
    use crate::report::ReportError;
    ReportError::create_dir(dir)?;
    let mut p = Player::new(lesson);
    let mut written = Vec::new();
    loop {
        let title = format!("Step {}: {}", p.index() + 1, p.step().title);
        let charts = crate::report::build::run_charts(&[(title, &p.run.sim)])?;
        let name = chart_name(p.step().highlight);
        if let Some(c) = charts.iter().find(|c| c.name == name) {
            let stem = format!("step-{:02}-{}", p.index() + 1, c.name);
            let svg = dir.join(format!("{stem}.svg"));
            ReportError::write(&svg, &c.svg)?;
            let png = dir.join(format!("{stem}.png"));
            let bytes = crate::report::charts::svg_to_png_width(&c.svg, Some(width))?;
            ReportError::write(&png, bytes)?;
            written.push(png);
        }
        if p.is_last() {
            return Ok(written);
        }
        if p.waiting() {
            p.handle(Input::Next);
        }
        p.handle(Input::Next);
    }
}
