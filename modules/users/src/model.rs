//! Users as the rest of Aegis sees them, and the parsed inputs that create them.

use aegis_core::auth::Role;
use aegis_core::time::Timestamp;

/// A user id (UUID v7 text).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(pub String);

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    /// Where notices are e-mailed; none: the inbox only.
    pub email: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
}

/// A username: 3–64 characters of letters, digits, `.`, `_`, `-`, `@`;
/// unique without regard to case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if !(3..=64).contains(&name.chars().count()) {
            return Err("must be 3 to 64 characters".into());
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err("may contain only letters, digits, '.', '_', '-' and '@'".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form the uniqueness constraint uses.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A new password, checked against the configured minimum length.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str, min_len: usize) -> Result<Self, String> {
        let count = raw.chars().count();
        if count < min_len {
            return Err(format!("must be at least {min_len} characters"));
        }
        let max = *aegis_core::config::PASSWORD_LENGTHS.end();
        if count > max {
            return Err(format!("must be at most {max} characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

/// An e-mail address for notices: `local@domain`, at most 254 characters,
/// one address only (no spaces, quotes, angle brackets, commas or
/// semicolons, which could smuggle in a second recipient or a header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let address = raw.trim();
        if address.chars().count() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let Some((local, domain)) = address.split_once('@') else {
            return Err("must look like name@example.org".into());
        };
        let plain = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>,;\"".contains(c))
        };
        if !plain(local) || !plain(domain) || local.chars().count() > 64 {
            return Err("must be one address like name@example.org".into());
        }
        // The rules the mailer sends by, so no saved address fails every send.
        if !email_address::EmailAddress::is_valid_local_part(local)
            || !email_address::EmailAddress::is_valid_domain(domain)
        {
            return Err("is not a deliverable address".into());
        }
        Ok(Self(address.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn parse_display_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err("must be 1 to 128 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(name.to_owned())
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub password: NewPassword,
    pub email: Option<EmailAddress>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// `Some(None)` removes the address.
    pub email: Option<Option<EmailAddress>>,
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Substring of username or display name, any case.
    pub query: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked_and_case_folded() {
        assert_eq!(Username::parse(" Alice.R ").unwrap().key(), "alice.r");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse("x'; DROP TABLE").is_err());
    }

    #[test]
    fn an_email_address_is_one_plain_address() {
        assert_eq!(
            EmailAddress::parse(" blue@example.org ").unwrap().as_str(),
            "blue@example.org"
        );
        for bad in [
            "blue",
            "@example.org",
            "blue@",
            "a@b@c",
            "blue team@example.org",
            "blue@example.org, red@example.org",
            "Blue <blue@example.org>",
            "blue@example.org\r\nBcc: x@y",
            "a..b@example.org",
            "blue@-bad.example.org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.org", "a".repeat(65))).is_err());
    }

    #[test]
    fn passwords_have_a_minimum_length() {
        assert!(NewPassword::parse("short", 10).is_err());
        assert!(NewPassword::parse("long enough!", 10).is_ok());
        assert!(
            !format!("{:?}", NewPassword::parse("long enough!", 10).unwrap()).contains("enough")
        );
    }
}
