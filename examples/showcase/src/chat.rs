//! `POST /v1/chat/completions`, OpenAI-compatible (`stream: false` as JSON, `stream: true` as
//! Server-Sent Events ending with `data: [DONE]`).
//!
//! The model is a stand-in (a Markov chain, see [`crate::model`]); the serving machinery is
//! real: every token of every concurrent request is one call of a [`Batcher`], which gathers
//! the next-token steps of all streams into one model call; a client that leaves drops its
//! stream, and with it its place in the next batch; the route has a concurrency limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use brisk::batch::{BatchError, Batcher};
use brisk::error::OpenAiFormatter;
use brisk::openapi::{DescribeOutput, DocContext, Operation};
use brisk::prelude::*;
use brisk::response::{Event, Sse};
use brisk::stream::{self, Stream, StreamExt};

use crate::model::{Markov, END};

/// One next-word step of one generation.
pub struct Step {
    pair: (String, String),
    step: usize,
}

/// The model behind a batcher: up to 32 steps per model call, waiting at most 2 ms for more.
pub type Model = Batcher<Step, String>;

/// The batched stand-in model.
pub fn model() -> Model {
    let markov = Markov::train();
    Batcher::new(32, Duration::from_millis(2), move |steps: Vec<Step>| {
        let markov = markov.clone();
        async move { Ok::<_, String>(steps.iter().map(|s| markov.next(&s.pair, s.step)).collect()) }
    })
    .with_queue_limit(4096)
}

/// One chat message.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Validate)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    #[validate(max_length = 8000)]
    pub content: String,
}

/// The request (other OpenAI fields are accepted and ignored).
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct ChatRequest {
    /// Any name; echoed back.
    #[validate(min_length = 1)]
    pub model: String,
    /// The conversation; the last message is continued.
    #[validate(min_length = 1, max_length = 50)]
    pub messages: Vec<ChatMessage>,
    /// Stream the answer as Server-Sent Events.
    #[serde(default)]
    pub stream: bool,
    /// Most tokens to generate (default 64).
    #[validate(ge = 1, le = 1024)]
    pub max_tokens: Option<u32>,
    /// Options of a streamed answer.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
}

/// Options of a streamed answer (OpenAI's `stream_options`).
#[derive(Debug, Default, Deserialize, JsonSchema, Validate)]
pub struct StreamOptions {
    /// Send one more chunk before `[DONE]`, with no choices and the token counts in `usage`.
    #[serde(default)]
    pub include_usage: bool,
}

/// A whole answer.
#[derive(Serialize, JsonSchema)]
pub struct ChatCompletion {
    id: String,
    object: &'static str,
    created: u64,
    model: String,
    choices: Vec<Choice>,
    usage: Usage,
}

#[derive(Serialize, JsonSchema)]
struct Choice {
    index: u32,
    message: ChatMessage,
    finish_reason: &'static str,
}

#[derive(Serialize, JsonSchema, Clone, Copy)]
struct Usage {
    prompt_tokens: usize,
    completion_tokens: usize,
    total_tokens: usize,
}

/// One streamed piece of an answer.
#[derive(Serialize, JsonSchema)]
pub struct ChatChunk {
    id: String,
    object: &'static str,
    created: u64,
    model: String,
    choices: Vec<ChunkChoice>,
    /// Only in the last chunk, when `stream_options.include_usage` asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
}

impl Usage {
    fn new(prompt_tokens: usize, completion_tokens: usize) -> Self {
        Usage { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens }
    }
}

#[derive(Serialize, JsonSchema)]
struct ChunkChoice {
    index: u32,
    delta: Delta,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, JsonSchema)]
struct Delta {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn next_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("chatcmpl-{}", COUNTER.fetch_add(1, Ordering::Relaxed) + 1)
}

/// Where one generation is.
struct Generation {
    model: Model,
    pair: (String, String),
    step: usize,
    max: usize,
}

impl Generation {
    fn new(model: Model, markov_start: (String, String), max: usize) -> Self {
        Generation { model, pair: markov_start, step: 0, max }
    }

    /// The next word, `Ok(None)` at the end (of the model's text, or of `max_tokens`).
    async fn next(&mut self) -> Result<Option<String>, BatchError> {
        if self.step >= self.max {
            return Ok(None);
        }
        let word = self.model.call(Step { pair: self.pair.clone(), step: self.step }).await?;
        if word == END {
            return Ok(None);
        }
        self.step += 1;
        self.pair = (std::mem::take(&mut self.pair.1), word.clone());
        Ok(Some(word))
    }

    fn finish_reason(&self) -> &'static str {
        if self.step >= self.max {
            "length"
        } else {
            "stop"
        }
    }
}

/// Where a streamed answer is: generating words, or (`include_usage`) sending the usage chunk.
enum Streaming {
    Words { generation: Generation, first_word: bool },
    Usage(Usage),
}

/// The answer: JSON, or a stream of chunks.
pub enum ChatReply<S> {
    /// `stream: false`.
    Full(Json<ChatCompletion>),
    /// `stream: true`.
    Stream(Sse<S>),
}

impl<S> IntoResponse for ChatReply<S>
where
    S: Stream<Item = Event<ChatChunk>> + Send + 'static,
{
    fn into_response(self) -> Response {
        match self {
            ChatReply::Full(json) => json.into_response(),
            ChatReply::Stream(sse) => sse.into_response(),
        }
    }
}

impl<S: Stream<Item = Event<ChatChunk>>> DescribeOutput for ChatReply<S> {
    fn describe_output(cx: &mut DocContext, op: &mut Operation) {
        <Json<ChatCompletion> as DescribeOutput>::describe_output(cx, op);
        <Sse<S> as DescribeOutput>::describe_output(cx, op);
    }
}

fn chunk(
    id: &str,
    model: &str,
    created: u64,
    delta: Delta,
    finish_reason: Option<&'static str>,
) -> Event<ChatChunk> {
    Event::json(ChatChunk {
        id: id.to_owned(),
        object: "chat.completion.chunk",
        created,
        model: model.to_owned(),
        choices: vec![ChunkChoice { index: 0, delta, finish_reason }],
        usage: None,
    })
}

/// Create a chat completion.
///
/// OpenAI-compatible. The model is a stand-in Markov chain; batching, streaming and
/// cancellation around it are brisk's real machinery.
#[brisk::endpoint(tags = ["ai"])]
async fn chat_completions(
    State(model): State<Model>,
    Json(req): Json<ChatRequest>,
) -> Result<ChatReply<impl Stream<Item = Event<ChatChunk>> + Send>> {
    let prompt = req.messages.last().map(|m| m.content.clone()).unwrap_or_default();
    let prompt_tokens = req.messages.iter().map(|m| m.content.split_whitespace().count()).sum();
    let max = req.max_tokens.unwrap_or(64) as usize;
    let start = Markov::train_start(&prompt);
    let mut generation = Generation::new(model, start, max);
    let (id, created, name) = (next_id(), now(), req.model);
    if !req.stream {
        let mut words = Vec::new();
        while let Some(word) = generation.next().await? {
            words.push(word);
        }
        let completion_tokens = words.len();
        return Ok(ChatReply::Full(Json(ChatCompletion {
            id,
            object: "chat.completion",
            created,
            model: name,
            choices: vec![Choice {
                index: 0,
                message: ChatMessage { role: "assistant".to_owned(), content: words.join(" ") },
                finish_reason: generation.finish_reason(),
            }],
            usage: Usage::new(prompt_tokens, completion_tokens),
        })));
    }
    let first =
        chunk(&id, &name, created, Delta { role: Some("assistant"), content: Some(String::new()) }, None);
    let include_usage = req.stream_options.is_some_and(|o| o.include_usage);
    let state = Streaming::Words { generation, first_word: true };
    let words = stream::unfold(Some(state), move |state| {
        let (id, name) = (id.clone(), name.clone());
        async move {
            let (mut generation, first_word) = match state? {
                Streaming::Words { generation, first_word } => (generation, first_word),
                Streaming::Usage(usage) => {
                    let last = ChatChunk {
                        id,
                        object: "chat.completion.chunk",
                        created,
                        model: name,
                        choices: Vec::new(),
                        usage: Some(usage),
                    };
                    return Some((Event::json(last), None));
                }
            };
            match generation.next().await {
                Ok(Some(word)) => {
                    let text = if first_word { word } else { format!(" {word}") };
                    let event = chunk(&id, &name, created, Delta { role: None, content: Some(text) }, None);
                    Some((event, Some(Streaming::Words { generation, first_word: false })))
                }
                Ok(None) => {
                    let reason = generation.finish_reason();
                    let next =
                        include_usage.then(|| Streaming::Usage(Usage::new(prompt_tokens, generation.step)));
                    Some((
                        chunk(&id, &name, created, Delta { role: None, content: None }, Some(reason)),
                        next,
                    ))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "generation stopped");
                    Some((Event::text(format!("{{\"error\":{{\"message\":\"{e}\"}}}}")).event("error"), None))
                }
            }
        }
    });
    let events = stream::once(async { first }).chain(words).chain(stream::once(async { Event::done() }));
    Ok(ChatReply::Stream(Sse::new(events)))
}

/// The chat routes, at most 64 generations at once (256 more may wait; beyond, 503), their
/// errors in OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`). The body
/// limit fits the largest valid request (50 messages of 8000 characters, each escaped as
/// `\uXXXX` at worst), so a request is refused for what it says (422), not for its size.
pub fn router() -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions).body_limit(4 * 1024 * 1024))
        .concurrency_limit(64, 256)
        .error_formatter(OpenAiFormatter)
}
