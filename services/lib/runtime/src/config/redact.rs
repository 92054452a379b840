//! Hiding credentials in URLs before they reach a log line or an error message.

/// Query parameters whose values are credentials (libpq accepts `?password=`).
const SECRET_PARAMETERS: [&str; 4] = ["password", "sslpassword", "token", "secret"];

/// Replaces the password (and secret query parameters) of each comma-separated URL with `***`.
///
/// `user:secret@host` becomes `user:***@host`. A bare `name@host` is kept for PostgreSQL, where
/// it is a user name, but hidden for NATS (`bare_user_is_secret`), where it is a token.
pub(super) fn redact_urls(urls: &str, bare_user_is_secret: bool) -> String {
    urls.split(',')
        .map(|url| redact_url(url, bare_user_is_secret))
        .collect::<Vec<_>>()
        .join(",")
}

fn redact_url(url: &str, bare_user_is_secret: bool) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (user_info, host) = authority.split_at(at);
            match user_info.split_once(':') {
                Some((user, _password)) => format!("{user}:***{host}"),
                None if bare_user_is_secret => format!("***{host}"),
                None => format!("{user_info}{host}"),
            }
        }
        None => authority.to_owned(),
    };
    format!("{scheme}{authority}{}", redact_query(tail))
}

fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let query = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if SECRET_PARAMETERS.contains(&key.to_ascii_lowercase().as_str()) => {
                format!("{key}=***")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    match fragment {
        Some(fragment) => format!("{path}?{query}#{fragment}"),
        None => format!("{path}?{query}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_urls;

    #[test]
    fn a_password_in_the_user_info_is_replaced() {
        assert_eq!(
            redact_urls(
                "postgres://kesos:s3cr3t@db:5432/kesos?sslmode=require",
                false
            ),
            "postgres://kesos:***@db:5432/kesos?sslmode=require"
        );
    }

    #[test]
    fn a_password_containing_at_signs_is_replaced_whole() {
        assert_eq!(
            redact_urls("postgres://kesos:p@ss@db/kesos", false),
            "postgres://kesos:***@db/kesos"
        );
    }

    #[test]
    fn a_password_query_parameter_is_replaced() {
        assert_eq!(
            redact_urls("postgresql://db/kesos?user=k&password=s3cr3t#x", false),
            "postgresql://db/kesos?user=k&password=***#x"
        );
    }

    #[test]
    fn a_postgres_user_is_kept_but_a_nats_token_is_hidden() {
        assert_eq!(
            redact_urls("postgres://kesos@db/k", false),
            "postgres://kesos@db/k"
        );
        assert_eq!(
            redact_urls("nats://t0ken@n1:4222,nats://u:p@n2:4222", true),
            "nats://***@n1:4222,nats://u:***@n2:4222"
        );
    }

    #[test]
    fn a_url_without_credentials_is_unchanged() {
        assert_eq!(
            redact_urls("nats://127.0.0.1:4222", true),
            "nats://127.0.0.1:4222"
        );
    }
}
