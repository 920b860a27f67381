//! A stand-in language model: a word-level Markov chain trained at start-up on
//! `data/corpus.txt`. It is deliberately tiny — the serving machinery around it (batching,
//! streaming, cancellation) is the real subject.

use std::collections::HashMap;
use std::sync::Arc;

const CORPUS: &str = include_str!("../data/corpus.txt");

/// The end of a generation.
pub const END: &str = "<end>";

type Table = HashMap<(String, String), Vec<(String, u32)>>;

/// Next-word counts after each pair of words.
#[derive(Clone)]
pub struct Markov(Arc<Table>);

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace().map(str::to_owned)
}

impl Markov {
    /// Trained on the shipped corpus.
    pub fn train() -> Self {
        Markov::train_on(CORPUS)
    }

    /// Trained on `text`.
    pub fn train_on(text: &str) -> Self {
        let mut counts: HashMap<(String, String), HashMap<String, u32>> = HashMap::new();
        for paragraph in text.lines().filter(|l| !l.trim().is_empty()) {
            let tokens: Vec<String> = words(paragraph).chain(std::iter::once(END.to_owned())).collect();
            for w in tokens.windows(3) {
                *counts.entry((w[0].clone(), w[1].clone())).or_default().entry(w[2].clone()).or_default() +=
                    1;
            }
        }
        let table = counts
            .into_iter()
            .map(|(k, next)| {
                let mut next: Vec<(String, u32)> = next.into_iter().collect();
                next.sort();
                (k, next)
            })
            .collect();
        Markov(Arc::new(table))
    }

    /// Two words to start from: the prompt's last two words when the model knows them, else
    /// a known pair chosen from the prompt's hash (same prompt, same answer).
    pub fn start(&self, prompt: &str) -> (String, String) {
        let mut tail: Vec<String> = words(prompt).collect();
        let n = tail.len();
        if n >= 2 {
            let pair = (tail.remove(n - 2), tail.remove(n - 2));
            if self.0.contains_key(&pair) {
                return pair;
            }
        }
        let mut keys: Vec<&(String, String)> =
            self.0.keys().filter(|(a, _)| a.starts_with(char::is_uppercase)).collect();
        keys.sort();
        let hash = prompt.bytes().fold(5381u64, |h, b| h.wrapping_mul(33) ^ u64::from(b));
        match keys.get((hash % keys.len().max(1) as u64) as usize) {
            Some(pair) => (*pair).clone(),
            None => (END.to_owned(), END.to_owned()),
        }
    }

    /// Where the shipped model starts for `prompt` (trained once, kept).
    pub fn train_start(prompt: &str) -> (String, String) {
        static MODEL: std::sync::OnceLock<Markov> = std::sync::OnceLock::new();
        MODEL.get_or_init(Markov::train).start(prompt)
    }

    /// The next word after `pair` (the most frequent, ties broken by `step`), or [`END`].
    pub fn next(&self, pair: &(String, String), step: usize) -> String {
        match self.0.get(pair) {
            Some(options) if !options.is_empty() => {
                let best = options.iter().map(|(_, c)| *c).max().unwrap_or(0);
                let top: Vec<&String> = options.iter().filter(|(_, c)| *c == best).map(|(w, _)| w).collect();
                top[step % top.len()].clone()
            }
            _ => END.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_known_text_and_ends() {
        let model = Markov::train_on("a b c d\n");
        let mut pair = model.start("x a b");
        assert_eq!(pair, ("a".to_owned(), "b".to_owned()));
        let mut out = Vec::new();
        for step in 0..10 {
            let next = model.next(&pair, step);
            if next == END {
                break;
            }
            out.push(next.clone());
            pair = (pair.1, next);
        }
        assert_eq!(out, ["c", "d"]);
    }

    #[test]
    fn same_prompt_same_start() {
        let model = Markov::train();
        assert_eq!(model.start("hello there"), model.start("hello there"));
    }
}
