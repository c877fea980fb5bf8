//! The risk questionnaire: stated willingness to take investment risk.

use std::fmt;

use super::{level_from_fraction, Score};

/// One question with its options as (option id, text, points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    pub id: &'static str,
    pub text: &'static str,
    pub options: &'static [(&'static str, &'static str, u8)],
}

static QUESTIONS: [Question; 8] = [
    Question {
        id: "horizon",
        text: "When do you expect to need most of the money you invest?",
        options: &[
            ("under_1y", "Within a year", 0),
            ("1_3y", "In 1 to 3 years", 1),
            ("3_5y", "In 3 to 5 years", 2),
            ("5_10y", "In 5 to 10 years", 3),
            ("over_10y", "In more than 10 years", 4),
        ],
    },
    Question {
        id: "drop_reaction",
        text: "Your investments fall 20% in a month. What do you do?",
        options: &[
            ("sell_all", "Sell everything to stop further losses", 0),
            ("sell_some", "Sell part of them", 1),
            ("wait", "Wait and see, worried", 2),
            ("hold", "Hold calmly: markets recover over time", 3),
            ("buy_more", "Buy more while prices are low", 4),
        ],
    },
    Question {
        id: "experience",
        text: "Which products have you invested in before?",
        options: &[
            ("none", "None", 0),
            ("deposits", "Savings accounts and term deposits", 1),
            ("bond_funds", "Bond or money-market funds", 2),
            ("equity_funds", "Equity funds or shares", 3),
            ("leveraged", "Leveraged products or derivatives", 4),
        ],
    },
    Question {
        id: "goal",
        text: "What is the main goal of your investment?",
        options: &[
            ("preserve", "Keep my money safe, even with little return", 0),
            ("income", "A steady income with small swings", 1),
            ("balanced", "A balance of growth and safety", 2),
            ("growth", "Growth, accepting clear ups and downs", 3),
            (
                "max_growth",
                "The highest growth, accepting large losses",
                4,
            ),
        ],
    },
    Question {
        id: "loss_tolerance",
        text: "What is the largest loss in one year you could accept?",
        options: &[
            ("none", "No loss at all", 0),
            ("5pct", "Up to 5%", 1),
            ("10pct", "Up to 10%", 2),
            ("20pct", "Up to 20%", 3),
            ("over_30pct", "30% or more, for a higher expected return", 4),
        ],
    },
    Question {
        id: "income_stability",
        text: "How secure is your income over the next few years?",
        options: &[
            ("uncertain", "Uncertain: I could lose it", 0),
            ("variable", "It varies a lot from month to month", 1),
            ("stable", "Stable", 2),
            ("very_stable", "Very secure, and likely to grow", 3),
        ],
    },
    Question {
        id: "savings_share",
        text: "What share of your savings do you plan to invest?",
        options: &[
            ("under_10pct", "Less than 10%", 0),
            ("10_25pct", "10% to 25%", 1),
            ("25_50pct", "25% to 50%", 2),
            ("50_75pct", "50% to 75%", 3),
            ("over_75pct", "More than 75%", 4),
        ],
    },
    Question {
        id: "knowledge",
        text: "How well do you know how funds and shares work?",
        options: &[
            ("none", "Not at all", 0),
            ("basic", "I know the basics", 1),
            (
                "good",
                "Well: I follow markets and understand risk and diversification",
                2,
            ),
            ("expert", "Professionally", 3),
        ],
    },
];

/// The questions, in the order they are asked.
pub fn questionnaire() -> &'static [Question] {
    &QUESTIONS
}

/// Answers as (question id, option id) pairs, in any order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answers(pub Vec<(String, String)>);

/// Why answers cannot be scored. Each names the question so the API can point at the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// No question has this id.
    UnknownQuestion { question: String },
    /// The question has no option with this id.
    UnknownOption { question: String, option: String },
    /// The question was not answered.
    MissingQuestion { question: String },
    /// The question was answered more than once.
    DuplicateAnswer { question: String },
}

impl AnswerError {
    /// The question the error is about, for pointing at the field (`answers.<id>`). Every
    /// current variant names one; the `Option` leaves room for errors about the answers as a
    /// whole without breaking callers.
    pub fn question_id(&self) -> Option<&str> {
        match self {
            AnswerError::UnknownQuestion { question }
            | AnswerError::UnknownOption { question, .. }
            | AnswerError::MissingQuestion { question }
            | AnswerError::DuplicateAnswer { question } => Some(question),
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AnswerError::UnknownQuestion { .. } => "unknown_question",
            AnswerError::UnknownOption { .. } => "unknown_option",
            AnswerError::MissingQuestion { .. } => "missing_answer",
            AnswerError::DuplicateAnswer { .. } => "duplicate_answer",
        }
    }
}

/// Caller text is echoed, so it is clipped: an id longer than this is not a real id anyway.
fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::UnknownQuestion { question } => {
                write!(
                    f,
                    "`{}` is not a question of the questionnaire",
                    clip(question)
                )
            }
            AnswerError::UnknownOption { question, option } => write!(
                f,
                "`{}` is not an option of question `{question}`",
                clip(option)
            ),
            AnswerError::MissingQuestion { question } => {
                write!(f, "question `{question}` is not answered")
            }
            AnswerError::DuplicateAnswer { question } => {
                write!(f, "question `{question}` is answered more than once")
            }
        }
    }
}

impl std::error::Error for AnswerError {}

/// Scores complete answers. The first problem found is reported: unknown questions,
/// duplicates and unknown options in answer order, then the first unanswered question.
pub fn willingness_from_answers(answers: &Answers) -> Result<Score, AnswerError> {
    let mut chosen: [Option<u8>; QUESTIONS.len()] = [None; QUESTIONS.len()];
    for (question_id, option_id) in &answers.0 {
        let Some(index) = QUESTIONS.iter().position(|q| q.id == question_id) else {
            return Err(AnswerError::UnknownQuestion {
                question: clip(question_id),
            });
        };
        let question = &QUESTIONS[index];
        if chosen[index].is_some() {
            return Err(AnswerError::DuplicateAnswer {
                question: question.id.to_owned(),
            });
        }
        let Some(&(_, _, points)) = question.options.iter().find(|o| o.0 == option_id) else {
            return Err(AnswerError::UnknownOption {
                question: question.id.to_owned(),
                option: clip(option_id),
            });
        };
        chosen[index] = Some(points);
    }
    let mut points = 0u32;
    for (question, answer) in QUESTIONS.iter().zip(chosen) {
        let Some(p) = answer else {
            return Err(AnswerError::MissingQuestion {
                question: question.id.to_owned(),
            });
        };
        points += u32::from(p);
    }
    let max_points = max_points();
    Ok(Score {
        points,
        max_points,
        level: level_from_fraction(f64::from(points) / f64::from(max_points)),
    })
}

fn max_points() -> u32 {
    QUESTIONS
        .iter()
        .map(|q| u32::from(q.options.iter().map(|o| o.2).max().unwrap_or(0)))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers_with(pick: impl Fn(&Question) -> usize) -> Answers {
        Answers(
            QUESTIONS
                .iter()
                .map(|q| (q.id.to_owned(), q.options[pick(q)].0.to_owned()))
                .collect(),
        )
    }

    #[test]
    fn extremes_score_c1_and_c5() {
        let low = willingness_from_answers(&answers_with(|_| 0)).unwrap();
        assert_eq!((low.points, low.level.get()), (0, 1));
        let high = willingness_from_answers(&answers_with(|q| q.options.len() - 1)).unwrap();
        assert_eq!(high.points, high.max_points);
        assert_eq!(high.level.get(), 5);
        assert_eq!(high.max_points, 30);
    }

    #[test]
    fn middle_answers_score_in_the_middle() {
        let middle = willingness_from_answers(&answers_with(|q| q.options.len() / 2)).unwrap();
        assert_eq!(middle.level.get(), 3, "{middle:?}");
        // Answer order does not matter.
        let mut reversed = answers_with(|q| q.options.len() / 2);
        reversed.0.reverse();
        assert_eq!(willingness_from_answers(&reversed).unwrap(), middle);
    }

    #[test]
    fn questions_are_well_formed() {
        assert_eq!(questionnaire().len(), 8);
        for q in questionnaire() {
            let mut ids: Vec<&str> = q.options.iter().map(|o| o.0).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), q.options.len(), "{}", q.id);
            // Points rise with the option order, so the scale reads low to high risk.
            assert!(q.options.windows(2).all(|w| w[0].2 < w[1].2), "{}", q.id);
        }
    }

    #[test]
    fn errors_name_the_question() {
        let mut unknown = answers_with(|_| 0);
        unknown.0.push(("favourite_colour".into(), "blue".into()));
        let e = willingness_from_answers(&unknown).unwrap_err();
        assert_eq!(e.code(), "unknown_question");
        assert_eq!(e.question_id(), Some("favourite_colour"));

        let mut bad_option = answers_with(|_| 0);
        bad_option.0[1].1 = "panic".into();
        let e = willingness_from_answers(&bad_option).unwrap_err();
        assert_eq!(
            e,
            AnswerError::UnknownOption {
                question: "drop_reaction".into(),
                option: "panic".into()
            }
        );
        assert!(e.to_string().contains("drop_reaction"));

        let mut missing = answers_with(|_| 0);
        missing.0.retain(|(q, _)| q != "goal");
        let e = willingness_from_answers(&missing).unwrap_err();
        assert_eq!(e.code(), "missing_answer");
        assert_eq!(e.question_id(), Some("goal"));

        let mut duplicate = answers_with(|_| 0);
        duplicate.0.push(("horizon".into(), "over_10y".into()));
        let e = willingness_from_answers(&duplicate).unwrap_err();
        assert_eq!(e.code(), "duplicate_answer");
        assert_eq!(e.question_id(), Some("horizon"));

        let e = willingness_from_answers(&Answers::default()).unwrap_err();
        assert_eq!(e.question_id(), Some("horizon"));
    }

    #[test]
    fn long_caller_text_is_clipped_in_errors() {
        let answers = Answers(vec![("q".repeat(500), "x".into())]);
        let e = willingness_from_answers(&answers).unwrap_err();
        assert_eq!(e.question_id().map(str::len), Some(64));
    }
}
