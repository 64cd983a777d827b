//! Names that end up in AWS resource names and DNS: stacks, services, components
//! and environments. They must be DNS-safe and short enough that every derived AWS
//! name (cluster, service, log group, queue, database identifier) stays within its
//! limit.

/// What a name is, for messages and for its length limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Stack,
    Service,
    Component,
    Environment,
}

impl NameKind {
    pub fn max_len(self) -> usize {
        match self {
            NameKind::Stack => 24,
            NameKind::Service | NameKind::Component => 32,
            NameKind::Environment => 16,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            NameKind::Stack => "stack",
            NameKind::Service => "service",
            NameKind::Component => "component",
            NameKind::Environment => "environment",
        }
    }
}

/// The regular expression names must match (used in the JSON Schemas too).
pub const NAME_PATTERN: &str = "^[a-z]([a-z0-9-]*[a-z0-9])?$";

/// Checks a name; on failure returns why, in words a user can act on.
pub fn check(kind: NameKind, name: &str) -> Result<(), String> {
    let max = kind.max_len();
    if name.is_empty() {
        return Err(format!("a {} name cannot be empty", kind.noun()));
    }
    if name.len() > max {
        return Err(format!(
            "`{name}` is {} characters long; a {} name has at most {max}",
            name.len(),
            kind.noun()
        ));
    }
    let first_ok = name.starts_with(|c: char| c.is_ascii_lowercase());
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !first_ok || !chars_ok || name.ends_with('-') || name.contains("--") {
        return Err(format!(
            "`{name}` is not a valid {} name: use lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen",
            kind.noun()
        ));
    }
    Ok(())
}

/// A DNS-safe suggestion for a bad name (`Email_Service` → `email-service`)
/// that also fits the kind's length limit.
pub fn suggest(kind: NameKind, name: &str) -> String {
    let safe = dns_safe(name);
    let mut fitted: String = safe.chars().take(kind.max_len()).collect();
    while fitted.ends_with('-') {
        fitted.pop();
    }
    fitted
}

fn dns_safe(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_matches('-')
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check(NameKind::Service, "email-service").is_ok());
        assert!(check(NameKind::Service, "Email").is_err());
        assert!(check(NameKind::Service, "email_service").is_err());
        assert!(check(NameKind::Service, "-email").is_err());
        assert!(check(NameKind::Service, "email-").is_err());
        assert!(check(NameKind::Service, "1email").is_err());
        assert!(check(NameKind::Environment, "a-very-long-environment").is_err());
        assert_eq!(suggest(NameKind::Service, "Email_Service"), "email-service");
        let long = "notification-platform-eu1";
        assert!(check(NameKind::Stack, long).is_err());
        let suggested = suggest(NameKind::Stack, long);
        assert_eq!(suggested, "notification-platform-eu");
        assert!(check(NameKind::Stack, &suggested).is_ok());
        assert_eq!(
            suggest(NameKind::Stack, "a-very-long-stack-name-x-yz"),
            "a-very-long-stack-name-x"
        );
    }
}
