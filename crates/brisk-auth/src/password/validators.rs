//! Password validators: the checks a new password must pass before it is hashed and stored.
//!
//! These mirror Django's `AUTH_PASSWORD_VALIDATORS`: [`MinimumLength`], [`UserAttributeSimilarity`],
//! [`CommonPassword`] and [`NumericPassword`], plus [`MaximumLength`], which only bounds the cost of
//! hashing (OWASP ASVS 5.0 asks that at least 64 characters be allowed; the default is 4096).
//! [`PasswordValidators`] runs an ordered list of them and collects every message, so a form can
//! show them all at once. There are deliberately no composition rules ("a digit, an upper-case
//! letter and a symbol"), as ASVS 5.0 requirement 6.2.5 asks.
//!
//! A validator is anything implementing [`PasswordValidator`]: `validate` returns one sentence for
//! the user when the password is refused, and `help_text` one sentence describing the rule.
//!
//! # Example
//!
//! ```
//! use brisk_auth::password::validators::{MinimumLength, PasswordValidators, UserAttributes};
//!
//! let validators = PasswordValidators::default();
//! let user = UserAttributes { username: "johnsmith", email: "john.smith@example.com", ..Default::default() };
//!
//! assert!(validators.validate("correct horse battery staple", &user).is_ok());
//!
//! let errors = validators.validate("1234567", &user).unwrap_err();
//! assert_eq!(
//!     errors.0,
//!     [
//!         "This password is too short. It must contain at least 8 characters.",
//!         "This password is too common.",
//!         "This password is entirely numeric.",
//!     ]
//! );
//! assert!(validators.validate("johnsmith1", &user).is_err());
//!
//! // A list of your own, in the order the messages should appear.
//! let strict = PasswordValidators::none().with(MinimumLength { min: 12 });
//! assert_eq!(strict.help_texts(), ["Your password must contain at least 12 characters."]);
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// What a validator may compare the password with: the user's identifying attributes
/// (the inputs of Django's `UserAttributeSimilarityValidator`). Empty strings are ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserAttributes<'a> {
    /// The login name.
    pub username: &'a str,
    /// The e-mail address; its local part (before the `@`) is compared on its own too.
    pub email: &'a str,
    /// The given name.
    pub first_name: &'a str,
    /// The family name.
    pub last_name: &'a str,
}

/// One password rule.
///
/// Implementations must be cheap to share between threads: [`PasswordValidators`] holds them in an
/// `Arc` and runs them from request handlers.
pub trait PasswordValidator: Send + Sync + 'static {
    /// `Ok(())`, or one sentence for the user saying what is wrong
    /// ("This password is too short. It must contain at least 8 characters.").
    fn validate(&self, password: &str, user: &UserAttributes<'_>) -> Result<(), String>;

    /// One sentence for a form's help text ("Your password must contain at least 8 characters.").
    fn help_text(&self) -> String;
}

/// `"1 character"` or `"8 characters"`.
fn characters(n: usize) -> String {
    if n == 1 {
        "1 character".to_owned()
    } else {
        format!("{n} characters")
    }
}

/// Refuses passwords shorter than `min` characters (Unicode scalar values, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MinimumLength {
    /// The fewest characters allowed. Default: 8.
    pub min: usize,
}

impl Default for MinimumLength {
    fn default() -> Self {
        MinimumLength { min: 8 }
    }
}

impl PasswordValidator for MinimumLength {
    fn validate(&self, password: &str, _user: &UserAttributes<'_>) -> Result<(), String> {
        if password.chars().count() < self.min {
            return Err(format!(
                "This password is too short. It must contain at least {}.",
                characters(self.min)
            ));
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        format!("Your password must contain at least {}.", characters(self.min))
    }
}

/// Refuses passwords longer than `max` characters (Unicode scalar values, not bytes).
///
/// This is not a security rule but a bound on the work a single request can cause when the
/// password is hashed. OWASP ASVS 5.0 (6.2.9) asks that passwords of at least 64 characters be
/// allowed; keep `max` at 64 or above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaximumLength {
    /// The most characters allowed. Default: 4096.
    pub max: usize,
}

impl Default for MaximumLength {
    fn default() -> Self {
        MaximumLength { max: 4096 }
    }
}

impl PasswordValidator for MaximumLength {
    fn validate(&self, password: &str, _user: &UserAttributes<'_>) -> Result<(), String> {
        // A string never has more characters than bytes: skip the count when the bytes fit.
        if password.len() > self.max && password.chars().count() > self.max {
            return Err(format!(
                "This password is too long. It must contain at most {}.",
                characters(self.max)
            ));
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        format!("Your password can’t be longer than {}.", characters(self.max))
    }
}

/// Refuses passwords made only of digits ("12345678", and other scripts' digits too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NumericPassword;

impl PasswordValidator for NumericPassword {
    fn validate(&self, password: &str, _user: &UserAttributes<'_>) -> Result<(), String> {
        if !password.is_empty() && password.chars().all(char::is_numeric) {
            return Err("This password is entirely numeric.".to_owned());
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be entirely numeric.".to_owned()
    }
}

/// The list shipped with brisk-auth: Django's 19,640 common passwords (see `data/NOTICE.md`).
const SHIPPED_LIST: &str = include_str!("../../data/common-passwords.txt");

/// The shipped list as a set, built on first use and shared by every [`CommonPassword::default`].
static SHIPPED_SET: OnceLock<HashSet<Box<str>>> = OnceLock::new();

/// How both the list and the password are compared: trimmed, then lower-cased.
fn normalize(s: &str) -> String {
    s.trim().to_lowercase()
}

fn parse_list(list: &str) -> HashSet<Box<str>> {
    list.lines().map(normalize).filter(|line| !line.is_empty()).map(String::into_boxed_str).collect()
}

#[derive(Clone)]
enum List {
    Shipped,
    Custom(Arc<HashSet<Box<str>>>),
}

/// Refuses passwords found in a list of common passwords, ignoring case and surrounding
/// whitespace.
///
/// [`CommonPassword::default`] uses the list shipped with brisk-auth (Django's list of 19,640
/// common passwords by Royce Williams); its set is built once, on first use, and shared by every
/// instance. [`CommonPassword::from_list`] takes a list of your own.
#[derive(Clone)]
pub struct CommonPassword {
    list: List,
}

impl Default for CommonPassword {
    fn default() -> Self {
        CommonPassword { list: List::Shipped }
    }
}

impl CommonPassword {
    /// A validator with a list of your own: one password per line; lines are trimmed and
    /// lower-cased, empty ones skipped.
    pub fn from_list(list: &str) -> Self {
        CommonPassword { list: List::Custom(Arc::new(parse_list(list))) }
    }

    fn set(&self) -> &HashSet<Box<str>> {
        match &self.list {
            List::Shipped => SHIPPED_SET.get_or_init(|| parse_list(SHIPPED_LIST)),
            List::Custom(set) => set,
        }
    }

    /// Whether `password`, trimmed and lower-cased, is in the list.
    pub fn contains(&self, password: &str) -> bool {
        self.set().contains(normalize(password).as_str())
    }

    /// How many distinct passwords the list holds.
    pub fn len(&self) -> usize {
        self.set().len()
    }

    /// Whether the list is empty (then every password passes).
    pub fn is_empty(&self) -> bool {
        self.set().is_empty()
    }
}

impl fmt::Debug for CommonPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.list {
            List::Shipped => f.debug_struct("CommonPassword").field("list", &"shipped").finish(),
            List::Custom(set) => f
                .debug_struct("CommonPassword")
                .field("list", &"custom")
                .field("entries", &set.len())
                .finish(),
        }
    }
}

impl PasswordValidator for CommonPassword {
    fn validate(&self, password: &str, _user: &UserAttributes<'_>) -> Result<(), String> {
        if self.contains(password) {
            return Err("This password is too common.".to_owned());
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be a commonly used password.".to_owned()
    }
}

/// Refuses passwords too similar to the user's username, first name, last name or e-mail address.
///
/// The password is lower-cased and compared with each lower-cased attribute, with each part of it
/// split on non-word characters (so `john.smith@example.com` gives `john`, `smith`, `example`,
/// `com`), and with an e-mail address's local part (`john.smith`). Values shorter than 3 characters
/// are ignored. The similarity is `2 * M / T`, where `T` is the two strings' total length in
/// characters and `M` the characters in their matching blocks: the longest common substring, then
/// recursively the longest ones to its left and to its right (the ratio of Python's
/// `difflib.SequenceMatcher`, without its junk heuristics). A password is refused when the
/// similarity with any value is `max_similarity` or more; comparisons whose length-based upper
/// bound is already below `max_similarity` are skipped without matching.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserAttributeSimilarity {
    /// The similarity, from 0 to 1, at which a password is refused. Default: 0.7. Low values
    /// refuse passwords that merely share a few letters with an attribute ([`Self::new`] refuses
    /// values below 0.1, as Django does); values above 1 refuse nothing.
    pub max_similarity: f64,
}

impl Default for UserAttributeSimilarity {
    fn default() -> Self {
        UserAttributeSimilarity { max_similarity: 0.7 }
    }
}

impl UserAttributeSimilarity {
    /// A validator refusing passwords whose similarity with an attribute is `max_similarity` or
    /// more.
    ///
    /// # Panics
    ///
    /// If `max_similarity` is below 0.1 or NaN (as Django refuses it): that would refuse almost
    /// every password, a configuration mistake better caught at start-up.
    pub fn new(max_similarity: f64) -> Self {
        assert!(max_similarity >= 0.1, "max_similarity must be at least 0.1, got {max_similarity}");
        UserAttributeSimilarity { max_similarity }
    }

    /// Whether `password` (lower-cased characters) is at least `max_similarity` similar to `value`.
    fn too_similar(&self, password: &[char], value: &[char]) -> bool {
        let total = password.len() + value.len();
        if total == 0 {
            return true;
        }
        let bound = |matches: usize| 2.0 * matches as f64 / total as f64;
        // No more characters can match than the shorter string has ...
        if bound(password.len().min(value.len())) < self.max_similarity {
            return false;
        }
        // ... nor more than the two have in common, counted with multiplicity.
        if bound(common_chars(password, value)) < self.max_similarity {
            return false;
        }
        bound(matching_chars(password, value)) >= self.max_similarity
    }
}

/// Splits on runs of non-word characters (word = alphanumeric or `_`), dropping empty parts.
fn word_parts(value: &str) -> impl Iterator<Item = &str> {
    value.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|part| !part.is_empty())
}

impl PasswordValidator for UserAttributeSimilarity {
    fn validate(&self, password: &str, user: &UserAttributes<'_>) -> Result<(), String> {
        const MIN_VALUE_CHARS: usize = 3;
        let attributes = [
            (user.username, "username", false),
            (user.first_name, "first name", false),
            (user.last_name, "last name", false),
            (user.email, "email address", true),
        ];
        let mut password_chars: Option<Vec<char>> = None;
        for (value, name, is_email) in attributes {
            let value = value.to_lowercase();
            let mut candidates: Vec<&str> = vec![value.as_str()];
            if is_email {
                if let Some(at) = value.rfind('@') {
                    candidates.push(&value[..at]);
                }
            }
            candidates.extend(word_parts(&value));
            for candidate in candidates {
                let candidate: Vec<char> = candidate.chars().collect();
                if candidate.len() < MIN_VALUE_CHARS {
                    continue;
                }
                let password =
                    password_chars.get_or_insert_with(|| password.to_lowercase().chars().collect());
                if self.too_similar(password, &candidate) {
                    return Err(format!("The password is too similar to the {name}."));
                }
            }
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be too similar to your other personal information.".to_owned()
    }
}

/// How many characters `a` and `b` have in common, counted with multiplicity (an upper bound on
/// [`matching_chars`]).
fn common_chars(a: &[char], b: &[char]) -> usize {
    let mut available: HashMap<char, usize> = HashMap::new();
    for &c in b {
        *available.entry(c).or_insert(0) += 1;
    }
    let mut common = 0;
    for c in a {
        if let Some(n) = available.get_mut(c) {
            if *n > 0 {
                *n -= 1;
                common += 1;
            }
        }
    }
    common
}

/// The longest common substring of `a` and `b`, as `(start in a, start in b, length)`. Among the
/// longest, the one starting first in `a`, then first in `b`, so the matching blocks (and the
/// ratio) come out as difflib's do.
fn longest_common_substring(a: &[char], b: &[char]) -> (usize, usize, usize) {
    // previous[j + 1] / current[j + 1]: length of the common run ending at b[j] and at the
    // previous / current character of a. Index 0 stays 0.
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    let (mut best_i, mut best_j, mut best_len) = (0, 0, 0);
    for (i, ca) in a.iter().enumerate() {
        for (j, cb) in b.iter().enumerate() {
            let run = if ca == cb { previous[j] + 1 } else { 0 };
            current[j + 1] = run;
            // Runs of one length are met in order of where they end in a, i.e. where they start
            // in a; within a row, in order of where they start in b. Only a longer run wins.
            if run > best_len {
                best_len = run;
                best_i = i + 1 - run;
                best_j = j + 1 - run;
            }
        }
        std::mem::swap(&mut previous, &mut current);
    }
    (best_i, best_j, best_len)
}

/// How many characters of `a` and `b` lie in matching blocks: the longest common substring, then
/// (recursively) the matching blocks left of it and right of it.
fn matching_chars(a: &[char], b: &[char]) -> usize {
    let mut matched = 0;
    // An explicit stack of ranges (alo, ahi, blo, bhi) instead of recursion: no stack overflow
    // however long the strings.
    let mut ranges = vec![(0, a.len(), 0, b.len())];
    while let Some((alo, ahi, blo, bhi)) = ranges.pop() {
        if alo >= ahi || blo >= bhi {
            continue;
        }
        let (i, j, len) = longest_common_substring(&a[alo..ahi], &b[blo..bhi]);
        if len == 0 {
            continue;
        }
        let (i, j) = (alo + i, blo + j);
        matched += len;
        ranges.push((alo, i, blo, j));
        ranges.push((i + len, ahi, j + len, bhi));
    }
    matched
}

/// The similarity of two strings, `2 * M / T` over characters, as Python's
/// `difflib.SequenceMatcher(None, a, b).ratio()` (without junk heuristics); 1.0 for two empty
/// strings.
#[cfg_attr(not(test), allow(dead_code))]
fn ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    2.0 * matching_chars(&a, &b) as f64 / total as f64
}

/// An ordered list of validators, run together by [`PasswordValidators::validate`].
///
/// [`PasswordValidators::default`] holds Django's four default validators — [`MinimumLength`] (8),
/// [`UserAttributeSimilarity`] (0.7), [`CommonPassword`] (the shipped list), [`NumericPassword`] —
/// then [`MaximumLength`] (4096). There are no composition rules (ASVS 5.0 6.2.5). Cloning is cheap:
/// the validators are shared.
#[derive(Clone)]
pub struct PasswordValidators(Vec<Arc<dyn PasswordValidator>>);

impl Default for PasswordValidators {
    fn default() -> Self {
        PasswordValidators::none()
            .with(MinimumLength::default())
            .with(UserAttributeSimilarity::default())
            .with(CommonPassword::default())
            .with(NumericPassword)
            .with(MaximumLength::default())
    }
}

impl PasswordValidators {
    /// An empty list: every password passes.
    pub fn none() -> Self {
        PasswordValidators(Vec::new())
    }

    /// The list with `validator` appended; its message comes after those of the validators
    /// already in the list.
    pub fn with(mut self, validator: impl PasswordValidator) -> Self {
        self.0.push(Arc::new(validator));
        self
    }

    /// Runs every validator, in order, and returns every message they gave (not just the first).
    pub fn validate(&self, password: &str, user: &UserAttributes<'_>) -> Result<(), PasswordErrors> {
        let messages: Vec<String> =
            self.0.iter().filter_map(|validator| validator.validate(password, user).err()).collect();
        if messages.is_empty() {
            Ok(())
        } else {
            Err(PasswordErrors(messages))
        }
    }

    /// Every validator's help text, in order.
    pub fn help_texts(&self) -> Vec<String> {
        self.0.iter().map(|validator| validator.help_text()).collect()
    }

    /// How many validators the list holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list holds no validators.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for PasswordValidators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PasswordValidators").field(&self.help_texts()).finish()
    }
}

/// Every message the validators gave, in order. `Display` joins them with a space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordErrors(pub Vec<String>);

impl fmt::Display for PasswordErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl std::error::Error for PasswordErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    fn nobody() -> UserAttributes<'static> {
        UserAttributes::default()
    }

    fn john() -> UserAttributes<'static> {
        UserAttributes {
            username: "johnsmith",
            email: "jsmith.work@example.com",
            first_name: "John",
            last_name: "Smith",
        }
    }

    #[test]
    fn minimum_length_boundary_counts_chars() {
        let v = MinimumLength::default();
        assert_eq!(v.min, 8);
        assert_eq!(
            v.validate("abcdefg", &nobody()),
            Err("This password is too short. It must contain at least 8 characters.".to_owned())
        );
        assert_eq!(v.validate("abcdefgh", &nobody()), Ok(()));
        // 8 characters, 16 bytes: passes.
        assert_eq!("éééééééé".len(), 16);
        assert_eq!(v.validate("éééééééé", &nobody()), Ok(()));
        // 7 characters, 28 bytes: refused.
        assert!(v.validate("😀😀😀😀😀😀😀", &nobody()).is_err());
        assert_eq!(v.validate("", &nobody()).map_err(|_| ()), Err(()));
        assert_eq!(v.help_text(), "Your password must contain at least 8 characters.");
    }

    #[test]
    fn minimum_length_singular() {
        let v = MinimumLength { min: 1 };
        assert_eq!(
            v.validate("", &nobody()),
            Err("This password is too short. It must contain at least 1 character.".to_owned())
        );
        assert_eq!(v.help_text(), "Your password must contain at least 1 character.");
        assert_eq!(MinimumLength { min: 0 }.validate("", &nobody()), Ok(()));
    }

    #[test]
    fn maximum_length_boundary_counts_chars() {
        let v = MaximumLength::default();
        assert_eq!(v.max, 4096);
        assert_eq!(v.validate(&"a".repeat(4096), &nobody()), Ok(()));
        assert_eq!(
            v.validate(&"a".repeat(4097), &nobody()),
            Err("This password is too long. It must contain at most 4096 characters.".to_owned())
        );
        // 4096 characters but 8192 bytes: allowed.
        assert_eq!(v.validate(&"é".repeat(4096), &nobody()), Ok(()));
        assert!(v.validate(&"é".repeat(4097), &nobody()).is_err());
        let short = MaximumLength { max: 64 };
        assert_eq!(short.validate(&"😀".repeat(64), &nobody()), Ok(()));
        assert!(short.validate(&"😀".repeat(65), &nobody()).is_err());
        assert_eq!(short.help_text(), "Your password can’t be longer than 64 characters.");
    }

    #[test]
    fn numeric_refused_in_any_script() {
        let v = NumericPassword;
        let refused = Err("This password is entirely numeric.".to_owned());
        assert_eq!(v.validate("12345678", &nobody()), refused);
        assert_eq!(v.validate("0000", &nobody()), refused);
        assert_eq!(v.validate("٠١٢٣٤٥٦٧٨٩", &nobody()), refused);
        assert_eq!(v.validate("1234567a", &nobody()), Ok(()));
        assert_eq!(v.validate("1234 5678", &nobody()), Ok(()));
        assert_eq!(v.validate("-12345678", &nobody()), Ok(()));
        assert_eq!(v.validate("", &nobody()), Ok(()));
        assert_eq!(v.help_text(), "Your password can’t be entirely numeric.");
    }

    #[test]
    fn shipped_list_is_loaded() {
        let v = CommonPassword::default();
        assert_eq!(v.len(), 19_640);
        assert!(!v.is_empty());
        // The set is built once and shared.
        assert!(std::ptr::eq(v.set(), CommonPassword::default().set()));
    }

    #[test]
    fn common_passwords_refused_case_insensitively() {
        let v = CommonPassword::default();
        let refused = Err("This password is too common.".to_owned());
        for password in
            ["password", "Password", "PASSWORD", "Password1", "  password1 ", "qwerty123", "12345678"]
        {
            assert_eq!(v.validate(password, &nobody()), refused, "{password}");
        }
        // An entry with spaces inside.
        assert_eq!(v.validate("Friend of Emily", &nobody()), refused);
        assert_eq!(v.validate("correct horse battery staple violet", &nobody()), Ok(()));
        assert_eq!(v.validate("Tr0mbone-lighthouse-Quokka-57", &nobody()), Ok(()));
        assert_eq!(v.help_text(), "Your password can’t be a commonly used password.");
    }

    #[test]
    fn custom_list() {
        let v = CommonPassword::from_list("Hunter2\r\n\n  letmein  \nHUNTER2\n");
        assert_eq!(v.len(), 2);
        assert!(v.validate("hunter2", &nobody()).is_err());
        assert!(v.validate("LetMeIn", &nobody()).is_err());
        assert_eq!(v.validate("password", &nobody()), Ok(()));
        assert_eq!(v.validate("", &nobody()), Ok(()));
        let empty = CommonPassword::from_list("\n\n");
        assert!(empty.is_empty());
        assert_eq!(format!("{empty:?}"), "CommonPassword { list: \"custom\", entries: 0 }");
    }

    #[test]
    fn ratio_matches_difflib() {
        // Values from Python's difflib.SequenceMatcher(None, a, b).ratio().
        assert_eq!(ratio("abcd", "bcde"), 0.75);
        assert_eq!(ratio("abc", "abc"), 1.0);
        assert_eq!(ratio("abc", "xyz"), 0.0);
        assert_eq!(ratio("", ""), 1.0);
        assert_eq!(ratio("abc", ""), 0.0);
        assert_eq!(ratio("johnsmith1", "johnsmith"), 18.0 / 19.0);
        assert_eq!(ratio("qabxcd", "abycdf"), 2.0 / 3.0);
        assert_eq!(ratio("password", "passwort"), 0.875);
        assert_eq!(ratio("aaaa", "aa"), 2.0 / 3.0);
        // Greedy blocks, not the longest common subsequence: only "private" matches.
        assert_eq!(ratio("private thing", "thing private"), 14.0 / 26.0);
        // Ties go to the run starting first in `a` ("t"), which leaves nothing either side.
        assert_eq!(ratio("tide", "diet"), 0.25);
        assert_eq!(ratio("ab", "ba"), 0.5);
        assert_eq!(ratio("ééab", "ab"), 2.0 / 3.0);
    }

    #[test]
    fn bounds_are_upper_bounds() {
        let pairs = [("tide", "diet"), ("private thing", "thing private"), ("abcd", "bcde"), ("aab", "abb")];
        for (a, b) in pairs {
            let (ac, bc): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            assert!(common_chars(&ac, &bc) >= matching_chars(&ac, &bc), "{a} {b}");
            assert!(ac.len().min(bc.len()) >= common_chars(&ac, &bc), "{a} {b}");
        }
        assert_eq!(common_chars(&['t', 'i', 'd', 'e'], &['d', 'i', 'e', 't']), 4);
    }

    #[test]
    fn similar_to_username_refused() {
        let v = UserAttributeSimilarity::default();
        let user = UserAttributes { username: "johnsmith", ..Default::default() };
        assert_eq!(
            v.validate("johnsmith1", &user),
            Err("The password is too similar to the username.".to_owned())
        );
        assert!(v.validate("JohnSmith", &user).is_err());
        assert!(v.validate("JOHNSMITH2024", &user).is_err());
        assert_eq!(v.validate("violet-harbour-engine", &user), Ok(()));
        assert_eq!(v.help_text(), "Your password can’t be too similar to your other personal information.");
    }

    #[test]
    fn similar_to_email_local_part_and_parts_refused() {
        let v = UserAttributeSimilarity::default();
        let user = UserAttributes { email: "jsmith.work@example.com", ..Default::default() };
        let refused = Err("The password is too similar to the email address.".to_owned());
        // The local part as a whole ...
        assert_eq!(v.validate("jsmith.work1", &user), refused);
        assert_eq!(v.validate("jsmithwork", &user), refused);
        // ... one of its parts ...
        assert_eq!(v.validate("jsmith99", &user), refused);
        // ... and the domain's parts.
        assert_eq!(v.validate("example!", &user), refused);
        assert_eq!(v.validate("violet-harbour-engine", &user), Ok(()));
    }

    #[test]
    fn similarity_names_first_matching_attribute() {
        let v = UserAttributeSimilarity::default();
        assert_eq!(
            v.validate("smith1234", &john()),
            Err("The password is too similar to the last name.".to_owned())
        );
        let user = UserAttributes { first_name: "Marguerite", ..Default::default() };
        assert_eq!(
            v.validate("Marguerite!", &user),
            Err("The password is too similar to the first name.".to_owned())
        );
        assert_eq!(v.validate("correct horse battery staple", &john()), Ok(()));
    }

    #[test]
    fn similarity_threshold_and_short_attributes() {
        // ratio("abcdefg1", "abcdef") = 12 / 14 ≈ 0.857.
        let user = UserAttributes { username: "abcdef", ..Default::default() };
        assert!(UserAttributeSimilarity { max_similarity: 0.85 }.validate("abcdefg1", &user).is_err());
        assert_eq!(UserAttributeSimilarity { max_similarity: 0.86 }.validate("abcdefg1", &user), Ok(()));
        // Exactly at the threshold is refused: ratio("abcd", "bcde") = 0.75.
        let user = UserAttributes { username: "bcde", ..Default::default() };
        assert!(UserAttributeSimilarity { max_similarity: 0.75 }.validate("abcd", &user).is_err());
        // Values shorter than three characters are ignored, even when identical.
        let user = UserAttributes { username: "jo", first_name: "J", last_name: "X-Li", email: "" };
        assert_eq!(UserAttributeSimilarity::default().validate("jo", &user), Ok(()));
        assert_eq!(UserAttributeSimilarity::default().validate("li", &user), Ok(()));
        // No attributes: nothing to compare.
        assert_eq!(UserAttributeSimilarity::default().validate("anything", &nobody()), Ok(()));
    }

    #[test]
    fn similarity_skips_long_passwords_quickly() {
        let user = UserAttributes { username: "johnsmith", ..Default::default() };
        let long = format!("johnsmith{}", "x".repeat(1_000_000));
        assert_eq!(UserAttributeSimilarity::default().validate(&long, &user), Ok(()));
        // Anagrams pass the multiset bound but not the matching.
        let user = UserAttributes { username: "stressed", ..Default::default() };
        assert_eq!(UserAttributeSimilarity::default().validate("desserts", &user), Ok(()));
    }

    #[test]
    fn new_checks_the_threshold() {
        assert_eq!(UserAttributeSimilarity::new(0.5).max_similarity, 0.5);
        assert!(std::panic::catch_unwind(|| UserAttributeSimilarity::new(0.05)).is_err());
        assert!(std::panic::catch_unwind(|| UserAttributeSimilarity::new(f64::NAN)).is_err());
    }

    #[test]
    fn default_list_collects_every_message_in_order() {
        let validators = PasswordValidators::default();
        assert_eq!(validators.len(), 5);
        let errors = validators.validate("1234567", &nobody()).unwrap_err();
        assert_eq!(
            errors.0,
            [
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ]
        );
        assert_eq!(
            errors.to_string(),
            "This password is too short. It must contain at least 8 characters. \
             This password is too common. This password is entirely numeric."
        );
        let errors = validators.validate("john", &john()).unwrap_err();
        assert_eq!(
            errors.0,
            [
                "This password is too short. It must contain at least 8 characters.",
                "The password is too similar to the first name.",
                "This password is too common.",
            ]
        );
        assert_eq!(validators.validate("Tr0mbone-lighthouse-Quokka-57", &john()), Ok(()));
        assert!(validators.validate(&"q".repeat(5000), &john()).is_err());
    }

    #[test]
    fn custom_lists_and_help_texts() {
        let none = PasswordValidators::none();
        assert!(none.is_empty());
        assert_eq!(none.validate("", &nobody()), Ok(()));
        let list = none.with(NumericPassword).with(MinimumLength { min: 10 });
        assert_eq!(list.len(), 2);
        assert_eq!(
            list.validate("123", &nobody()),
            Err(PasswordErrors(vec![
                "This password is entirely numeric.".to_owned(),
                "This password is too short. It must contain at least 10 characters.".to_owned(),
            ]))
        );
        assert_eq!(
            list.help_texts(),
            [
                "Your password can’t be entirely numeric.",
                "Your password must contain at least 10 characters."
            ]
        );
        let texts = PasswordValidators::default().help_texts();
        assert_eq!(texts.len(), 5);
        assert!(texts.iter().all(|text| !text.is_empty() && text.ends_with('.')));
        assert!(
            format!("{list:?}").starts_with("PasswordValidators([\"Your password can’t be entirely numeric.")
        );
    }

    #[test]
    fn shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<PasswordValidators>();
        let validators = PasswordValidators::default();
        let handle = std::thread::spawn({
            let validators = validators.clone();
            move || validators.validate("password", &nobody()).is_err()
        });
        assert_eq!(handle.join().ok(), Some(true));
        let error: Box<dyn std::error::Error> = Box::new(PasswordErrors(vec!["x.".to_owned()]));
        assert_eq!(error.to_string(), "x.");
    }
}
