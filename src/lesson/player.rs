//! The lesson player: next, back, answer, reveal — the state machine the app's narration
//! panel and presenter keys drive, and the text mode plays.

use std::sync::Arc;

use super::run::{LessonRun, fmt_number};
use super::{LoadedLesson, Question, QuestionKind, Step};

/// What a person (or a presentation remote) does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input {
    /// Reveal the question's answer if it is waiting, else go to the next step.
    Next,
    /// Back to the previous step (its state is re-simulated).
    Back,
    /// Back to the first step.
    First,
    /// Pick option `i` of a choice question (0-based).
    Choose(usize),
    /// One more class vote for option `i`.
    Vote(usize),
    /// Enter an estimate.
    Estimate(f64),
    /// Show or hide the key help.
    Help,
}

/// A lesson being presented.
#[derive(Clone)]
pub struct Player {
    pub run: LessonRun,
    /// The question of the current step has been revealed.
    pub revealed: bool,
    pub choice: Option<usize>,
    pub votes: Vec<u32>,
    pub estimate: Option<f64>,
    pub help: bool,
}

impl Player {
    /// Starts a lesson at its first step.
    pub fn new(lesson: Arc<LoadedLesson>) -> Player {
        let mut run = LessonRun::new(lesson);
        run.goto(0);
        let mut p = Player { run, revealed: false, choice: None, votes: Vec::new(), estimate: None, help: false };
        p.reset_question();
        p
    }

    pub fn index(&self) -> usize {
        self.run.step.unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.run.lesson.lesson.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn step(&self) -> &Step {
        &self.run.lesson.lesson.steps[self.index()]
    }

    pub fn is_last(&self) -> bool {
        self.index() + 1 == self.len()
    }

    /// Whether the current step's question waits for its reveal.
    pub fn waiting(&self) -> bool {
        self.step().question.is_some() && !self.revealed
    }

    fn reset_question(&mut self) {
        self.revealed = false;
        self.choice = None;
        self.estimate = None;
        let options = match self.step().question.as_ref().map(|q| &q.kind) {
            Some(QuestionKind::Choice { options, .. }) => options.len(),
            _ => 0,
        };
        self.votes = vec![0; options];
    }

    pub fn handle(&mut self, input: Input) {
        match input {
            Input::Next => {
                if self.waiting() {
                    self.revealed = true;
                } else if !self.is_last() {
                    self.run.goto(self.index() + 1);
                    self.reset_question();
                }
            }
            Input::Back => {
                if self.index() > 0 {
                    self.run.goto(self.index() - 1);
                    self.reset_question();
                }
            }
            Input::First => {
                if self.index() > 0 {
                    self.run.goto(0);
                    self.reset_question();
                }
            }
            Input::Choose(i) => {
                if !self.revealed && i < self.votes.len() {
                    self.choice = Some(i);
                }
            }
            Input::Vote(i) => {
                if !self.revealed && i < self.votes.len() {
                    self.votes[i] += 1;
                }
            }
            Input::Estimate(v) => {
                if !self.revealed && v.is_finite() {
                    self.estimate = Some(v);
                }
            }
            Input::Help => self.help = !self.help,
        }
    }

    /// The revealed answer as text (`None` until revealed or without a question).
    pub fn answer(&self) -> Option<Reveal> {
        if !self.revealed {
            return None;
        }
        let q = self.step().question.as_ref()?;
        Some(reveal(&self.run, q, self.choice, self.estimate))
    }
}

/// A revealed answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Reveal {
    /// The right answer, as shown.
    pub answer: String,
    /// Whether the class's answer (if any) was right.
    pub correct: Option<bool>,
    pub explain: String,
}

/// The answer to `q` in the simulation as it stands.
pub fn reveal(run: &LessonRun, q: &Question, choice: Option<usize>, estimate: Option<f64>) -> Reveal {
    match &q.kind {
        QuestionKind::Choice { options, answer } => Reveal {
            answer: options.get(*answer).cloned().unwrap_or_default(),
            correct: choice.map(|c| c == *answer),
            explain: q.explain.clone(),
        },
        QuestionKind::Estimate { quantity, unit, tolerance } => match run.value(quantity) {
            Some(v) => Reveal {
                answer: format!("{} {unit}", fmt_number(v)),
                correct: estimate.map(|e| (e - v).abs() <= tolerance * v.abs().max(1e-9)),
                explain: q.explain.clone(),
            },
            None => Reveal { answer: "no value yet".into(), correct: None, explain: q.explain.clone() },
        },
    }
}
