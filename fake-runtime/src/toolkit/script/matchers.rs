//! What exec scripts and container scripts are matched against ([`Invocation`]), and
//! the matchers: by command (exact, prefix, regex, closure), container id or name,
//! image, container or pod labels, pod name or namespace.
//!
//! Any `Fn(&Invocation) -> bool` closure is a matcher too.

use std::collections::HashMap;
use std::fmt;

use regex::Regex;

use crate::core::images::NormalizedRef;

/// A command about to run in a container: an exec's command, or a container's main
/// process at start, with what is known of the container and its pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// The container's full id.
    pub container_id: String,
    /// The container's metadata name.
    pub container_name: String,
    /// The container's attempt number.
    pub attempt: u32,
    /// The image as the CreateContainer request named it.
    pub image: String,
    /// The resolved image id (`sha256:...`).
    pub image_id: String,
    /// The container's labels.
    pub container_labels: HashMap<String, String>,
    /// The sandbox's full id.
    pub sandbox_id: String,
    /// The pod's metadata name.
    pub pod_name: String,
    /// The pod's namespace.
    pub pod_namespace: String,
    /// The pod's labels.
    pub pod_labels: HashMap<String, String>,
    /// The command (argv).
    pub command: Vec<String>,
}

/// Decides whether a script applies to an [`Invocation`].
pub trait Matcher: Send + Sync + 'static {
    /// Whether it applies.
    fn matches(&self, invocation: &Invocation) -> bool;
    /// What it matches, for reports (e.g. `command ["cat", "/etc/hosts"]`).
    fn describe(&self) -> String {
        "a custom predicate".to_owned()
    }
}

impl<F> Matcher for F
where
    F: Fn(&Invocation) -> bool + Send + Sync + 'static,
{
    fn matches(&self, invocation: &Invocation) -> bool {
        self(invocation)
    }
}

impl fmt::Debug for dyn Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A matcher built by the functions of this module; combine them with
/// [`ExecScript::and`](super::ExecScript::and).
pub struct Match {
    check: Box<dyn Fn(&Invocation) -> bool + Send + Sync>,
    description: String,
}

impl fmt::Debug for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

impl Matcher for Match {
    fn matches(&self, invocation: &Invocation) -> bool {
        (self.check)(invocation)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

fn described(
    description: String,
    check: impl Fn(&Invocation) -> bool + Send + Sync + 'static,
) -> Match {
    Match {
        check: Box::new(check),
        description,
    }
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

/// Every invocation.
pub fn any() -> Match {
    described("any command".to_owned(), |_| true)
}

/// The command is exactly `argv`.
pub fn command<I, S>(argv: I) -> Match
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let argv = strings(argv);
    described(format!("command {argv:?}"), move |i| i.command == argv)
}

/// The command starts with `prefix` (whole arguments).
pub fn command_prefix<I, S>(prefix: I) -> Match
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let prefix = strings(prefix);
    described(format!("command starting with {prefix:?}"), move |i| {
        i.command.starts_with(&prefix)
    })
}

/// The command, its arguments joined with single spaces, matches the regular
/// expression `pattern` (anywhere; anchor it with `^...$` to match it whole).
///
/// # Panics
///
/// When `pattern` is not a valid regular expression (a mistake in the test); use
/// [`try_command_regex`] to get the error instead.
pub fn command_regex(pattern: &str) -> Match {
    match try_command_regex(pattern) {
        Ok(matcher) => matcher,
        Err(e) => panic!("cri-fake: invalid command regex {pattern:?}: {e}"),
    }
}

/// Like [`command_regex`], with the regex error returned.
pub fn try_command_regex(pattern: &str) -> Result<Match, regex::Error> {
    let regex = Regex::new(pattern)?;
    Ok(described(
        format!("command matching /{pattern}/"),
        move |i| regex.is_match(&i.command.join(" ")),
    ))
}

/// The command satisfies `predicate`.
pub fn command_fn(predicate: impl Fn(&[String]) -> bool + Send + Sync + 'static) -> Match {
    described("a command predicate".to_owned(), move |i| {
        predicate(&i.command)
    })
}

/// The container's id is `id`, or starts with it.
pub fn container_id(id: impl Into<String>) -> Match {
    let id = id.into();
    described(format!("container id {id}"), move |i| {
        !id.is_empty() && i.container_id.starts_with(&id)
    })
}

/// The container's metadata name is `name`.
pub fn container_name(name: impl Into<String>) -> Match {
    let name = name.into();
    described(format!("container named {name:?}"), move |i| {
        i.container_name == name
    })
}

/// The container runs `image`: as named in CreateContainer, by its normalised
/// reference (`busybox:1.36` and `docker.io/library/busybox:1.36` are the same), or
/// by image id.
pub fn image(image: impl Into<String>) -> Match {
    let wanted = image.into();
    let normalized = NormalizedRef::parse(&wanted).ok();
    described(format!("image {wanted:?}"), move |i| {
        i.image == wanted
            || i.image_id == wanted
            || normalized
                .as_ref()
                .is_some_and(|n| NormalizedRef::parse(&i.image).ok().as_ref() == Some(n))
    })
}

/// The container has label `key` = `value`.
pub fn container_label(key: impl Into<String>, value: impl Into<String>) -> Match {
    let (key, value) = (key.into(), value.into());
    described(format!("container label {key}={value}"), move |i| {
        i.container_labels.get(&key) == Some(&value)
    })
}

/// The container's pod has label `key` = `value`.
pub fn pod_label(key: impl Into<String>, value: impl Into<String>) -> Match {
    let (key, value) = (key.into(), value.into());
    described(format!("pod label {key}={value}"), move |i| {
        i.pod_labels.get(&key) == Some(&value)
    })
}

/// The container's pod is named `name`.
pub fn pod_name(name: impl Into<String>) -> Match {
    let name = name.into();
    described(format!("pod named {name:?}"), move |i| i.pod_name == name)
}

/// The container's pod is in namespace `namespace`.
pub fn pod_namespace(namespace: impl Into<String>) -> Match {
    let namespace = namespace.into();
    described(format!("pod namespace {namespace:?}"), move |i| {
        i.pod_namespace == namespace
    })
}

/// Both matchers apply.
pub(crate) struct All(pub Vec<Box<dyn Matcher>>);

impl Matcher for All {
    fn matches(&self, invocation: &Invocation) -> bool {
        self.0.iter().all(|m| m.matches(invocation))
    }

    fn describe(&self) -> String {
        self.0
            .iter()
            .map(|m| m.describe())
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(command: &[&str]) -> Invocation {
        Invocation {
            container_id: "abcdef".into(),
            container_name: "app".into(),
            image: "busybox:1.36".into(),
            image_id: "sha256:1234".into(),
            container_labels: HashMap::from([("tier".into(), "web".into())]),
            pod_name: "web-0".into(),
            pod_namespace: "prod".into(),
            pod_labels: HashMap::from([("app".into(), "web".into())]),
            command: command.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn command_matchers_compare_exactly_by_prefix_and_by_regex() {
        let i = invocation(&["cat", "/etc/os-release"]);
        assert!(command(["cat", "/etc/os-release"]).matches(&i));
        assert!(!command(["cat"]).matches(&i));
        assert!(command_prefix(["cat"]).matches(&i));
        assert!(!command_prefix(["ca"]).matches(&i));
        assert!(command_regex("^cat /etc/.*-release$").matches(&i));
        assert!(!command_regex("^/etc").matches(&i));
        assert!(command_fn(|argv| argv.len() == 2).matches(&i));
        assert!(try_command_regex("(").is_err());
    }

    #[test]
    fn container_and_pod_matchers_use_the_invocation_context() {
        let i = invocation(&["true"]);
        assert!(container_id("abc").matches(&i));
        assert!(!container_id("").matches(&i));
        assert!(container_name("app").matches(&i));
        assert!(image("docker.io/library/busybox:1.36").matches(&i));
        assert!(image("sha256:1234").matches(&i));
        assert!(!image("busybox:latest").matches(&i));
        assert!(container_label("tier", "web").matches(&i));
        assert!(pod_label("app", "web").matches(&i));
        assert!(!pod_label("app", "db").matches(&i));
        assert!(pod_name("web-0").matches(&i));
        assert!(pod_namespace("prod").matches(&i));
        let both = All(vec![
            Box::new(container_name("app")),
            Box::new(pod_label("app", "db")),
        ]);
        assert!(!both.matches(&i));
        assert_eq!(
            both.describe(),
            "container named \"app\" and pod label app=db"
        );
    }
}
