//! Who someone is. A person is one configured user (`[[users]]`), however
//! their name reaches us: typed in the console as `@BOB:`, mapped from a
//! Discord id, or named in another part of the file. [`Config::identify`] is
//! the one place a spelling becomes a [`UserId`]: names match without regard
//! to case, and the id carries the name exactly as configured. Everything that
//! compares, counts or records people (four-eyes, approvals, history, audit)
//! goes through it, so one person can never count as two, nor approve their
//! own request under another spelling.

use std::fmt;

use super::model::{Config, User};

/// A configured user, by the name the configuration gives them. Only
/// [`Config::identify`] makes one, so holding a `UserId` means the person
/// exists and is spelt as configured.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for UserId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Whether two spellings name the same user. Configured names are
/// `[a-z][a-z0-9-]*`, so ASCII case is the only freedom a spelling has.
fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Config {
    /// The configured user `name` stands for (any case), as a [`UserId`].
    pub fn identify(&self, name: &str) -> Option<UserId> {
        self.user(name).map(|user| UserId(user.name.clone()))
    }

    /// The configured user `name` stands for (any case).
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|user| same_name(&user.name, name))
    }

    /// True when `a` and `b` are the same person: the same configured user,
    /// or (for names no user has, such as the CI's) the same spelling.
    pub fn same_person(&self, a: &str, b: &str) -> bool {
        match (self.identify(a), self.identify(b)) {
            (Some(a), Some(b)) => a == b,
            (None, None) => same_name(a, b),
            _ => false,
        }
    }
}

impl Config {
    /// Spells every user name another section gives (`discord.users`) as
    /// `[[users]]` does, so an adapter mapping platform accounts hands the
    /// conversation the configured name, and finds the account again from it.
    /// Names no user has stay as written (validation reports them).
    pub(super) fn spell_users_as_configured(&mut self) {
        let Some(discord) = &self.discord else { return };
        let users = discord
            .users
            .iter()
            .map(|(id, name)| {
                let name = self
                    .identify(name)
                    .map_or_else(|| name.clone(), UserId::into_string);
                (id.clone(), name)
            })
            .collect();
        if let Some(discord) = &mut self.discord {
            discord.users = users;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_toml_str(
            "[[environments]]\nname = \"dev\"\n[[users]]\nname = \"bob\"\n[[users]]\nname = \"carol\"\n",
        )
        .unwrap()
    }

    #[test]
    fn any_spelling_identifies_the_configured_name() {
        let config = config();
        assert_eq!(config.identify("BOB").unwrap().as_str(), "bob");
        assert_eq!(config.identify("Bob"), config.identify("bob"));
        assert!(config.identify("mallory").is_none());
        assert!(config.same_person("bob", "BoB"));
        assert!(!config.same_person("bob", "carol"));
        assert!(!config.same_person("bob", "ci"));
    }
}
