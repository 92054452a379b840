//! What public verification may say about a holder's name: a mask, or whether a name someone
//! typed is the holder's.

/// The mask of a full name: each word's first letter, then four stars (`Siti Aminah` →
/// `S**** A****`). Four stars whatever the length, so the mask does not tell the length.
pub fn mask(full_name: &str) -> String {
    full_name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .map(|first| format!("{}****", first.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A name as compared: lower case, words separated by single spaces.
pub fn normalise(full_name: &str) -> String {
    full_name
        .split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a typed name is the holder's, ignoring case and spacing; an empty name never is.
pub fn same_name(holder: &str, typed: &str) -> bool {
    let typed = normalise(typed);
    !typed.is_empty() && normalise(holder) == typed
}
