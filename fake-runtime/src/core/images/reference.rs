//! Image references: the docker/distribution grammar with docker's normalisation.
//!
//! This follows the copy of docker/distribution's `reference` package that containerd 1.6
//! vendors as `reference/docker` (no IPv6 hosts yet), and `go-digest`'s digest checks:
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] path-component ['/' path-component]*
//! domain           := domain-component ['.' domain-component]* [':' port-number]
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! path-component   := alpha-numeric [separator alpha-numeric]*
//! alpha-numeric    := /[a-z0-9]+/
//! separator        := /[_.]|__|[-]*/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" /[0-9a-fA-F]{32,}/
//! ```
//!
//! [`NormalizedRef::parse`] is containerd's `ParseDockerRef`: docker's normalisation
//! (`busybox` → `docker.io/library/busybox`), `:latest` added when there is neither a tag
//! nor a digest, and the tag dropped when both are given.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::core::profile::Profile;

/// The longest repository name (domain and path) the grammar accepts.
const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Docker Hub's domain in normalised names.
const DEFAULT_DOMAIN: &str = "docker.io";
/// The old Docker Hub domain, normalised to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of Docker Hub's official images.
const OFFICIAL_REPO_NAME: &str = "library";
/// The tag a reference without tag or digest gets.
const DEFAULT_TAG: &str = "latest";

const ALPHA_NUMERIC: &str = "[a-z0-9]+";
const SEPARATOR: &str = "(?:[._]|__|[-]*)";
const DOMAIN_COMPONENT: &str = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
/// Go's `\w` is ASCII-only; Rust's is Unicode, so it is spelled out.
const TAG: &str = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
const DIGEST: &str = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";

fn name_component() -> String {
    format!("{ALPHA_NUMERIC}(?:(?:{SEPARATOR}{ALPHA_NUMERIC})+)?")
}

fn domain() -> String {
    format!("{DOMAIN_COMPONENT}(?:(?:\\.{DOMAIN_COMPONENT})+)?(?::[0-9]+)?")
}

fn name_pattern() -> String {
    let component = name_component();
    format!("(?:{}/)?{component}(?:(?:/{component})+)?", domain())
}

/// A regex built from the constant grammar above; it always compiles.
fn grammar_regex(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(regex) => regex,
        Err(error) => unreachable!("the reference grammar is a valid regex: {error}"),
    }
}

/// The whole reference, capturing name, tag and digest.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    grammar_regex(&format!(
        "^({})(?::({TAG}))?(?:@({DIGEST}))?$",
        name_pattern()
    ))
});

/// A name, capturing domain and path.
static ANCHORED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    let component = name_component();
    grammar_regex(&format!(
        "^(?:({})/)?({component}(?:(?:/{component})+)?)$",
        domain()
    ))
});

/// A full image id without its algorithm, which docker refuses as a repository name.
static ANCHORED_IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| grammar_regex("^[a-f0-9]{64}$"));

/// go-digest's own (stricter) digest syntax, used to tell "unsupported" from "malformed".
static GO_DIGEST: LazyLock<Regex> =
    LazyLock::new(|| grammar_regex("^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"));

/// Why a string is not a valid image reference.
///
/// `Display` is exactly the text of docker/distribution (and go-digest) as the default
/// profile's containerd reports it after its own prefix, e.g. `failed to parse image
/// reference "": <this>`; [`describe`](Self::describe) gives another profile's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceError {
    /// `invalid reference format`: the string does not follow the grammar (also `""`).
    InvalidFormat,
    /// Docker's normalisation found an uppercase letter in the repository path (e.g.
    /// `Case` in `UPPER/Case:1`): `invalid reference format: repository name (Case) must be
    /// lowercase` (2.3; 1.6's older distribution does not name it).
    NameNotLowercase {
        /// The repository path after the domain (`library/` added for familiar names).
        remote: String,
    },
    /// `repository name must be lowercase` (the grammar's own check; only reachable through
    /// inputs the normalisation did not catch).
    NameContainsUppercase,
    /// `repository name must not be more than 255 characters`.
    NameTooLong,
    /// `invalid repository name (<s>), cannot specify 64-byte hexadecimal strings`: a bare
    /// 64-hex image id given where a name is expected.
    HexIdentifier(String),
    /// `invalid checksum digest format` (go-digest).
    DigestInvalidFormat,
    /// `invalid checksum digest length` (go-digest).
    DigestInvalidLength,
    /// `unsupported digest algorithm` (go-digest).
    DigestUnsupported,
}

impl ReferenceError {
    /// The text as containerd of `profile` reports it.
    pub fn describe(&self, profile: Profile) -> String {
        match self {
            ReferenceError::NameNotLowercase { .. }
                if !profile.dialect().lowercase_error_names_repository =>
            {
                "invalid reference format: repository name must be lowercase".to_owned()
            }
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferenceError::InvalidFormat => f.write_str("invalid reference format"),
            ReferenceError::NameNotLowercase { remote } => write!(
                f,
                "invalid reference format: repository name ({remote}) must be lowercase"
            ),
            ReferenceError::NameContainsUppercase => {
                f.write_str("repository name must be lowercase")
            }
            ReferenceError::NameTooLong => write!(
                f,
                "repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
            ),
            ReferenceError::HexIdentifier(s) => write!(
                f,
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            ),
            ReferenceError::DigestInvalidFormat => f.write_str("invalid checksum digest format"),
            ReferenceError::DigestInvalidLength => f.write_str("invalid checksum digest length"),
            ReferenceError::DigestUnsupported => f.write_str("unsupported digest algorithm"),
        }
    }
}

impl std::error::Error for ReferenceError {}

/// A parsed, docker-normalised image reference: a name with either a tag or a digest.
///
/// ```
/// use cri_fake::images::NormalizedRef;
/// let r = NormalizedRef::parse("busybox").unwrap();
/// assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
/// assert_eq!((r.domain(), r.path(), r.tag()), ("docker.io", "library/busybox", Some("latest")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NormalizedRef {
    name: String,
    domain_len: usize,
    tag: Option<String>,
    digest: Option<String>,
}

impl NormalizedRef {
    /// Parses and normalises a reference like containerd's `ParseDockerRef`.
    pub fn parse(s: &str) -> Result<NormalizedRef, ReferenceError> {
        /// References remembered per thread (a test names a handful, again and again).
        const REMEMBERED: usize = 64;
        /// Longer references are parsed every time (the cache stays small).
        const REMEMBERED_LEN: usize = 256;
        thread_local! {
            static PARSED: std::cell::RefCell<
                std::collections::HashMap<String, Result<NormalizedRef, ReferenceError>>,
            > = std::cell::RefCell::default();
        }
        if s.len() > REMEMBERED_LEN {
            return Self::parse_uncached(s);
        }
        PARSED.with_borrow_mut(|parsed| {
            if let Some(known) = parsed.get(s) {
                return known.clone();
            }
            let result = Self::parse_uncached(s);
            if parsed.len() >= REMEMBERED {
                parsed.clear();
            }
            parsed.insert(s.to_owned(), result.clone());
            result
        })
    }

    /// [`parse`](Self::parse) without the cache: the grammar's regular expression.
    fn parse_uncached(s: &str) -> Result<NormalizedRef, ReferenceError> {
        let parsed = parse_normalized_named(s)?;
        let (tag, digest) = match (parsed.tag, parsed.digest) {
            // Tagged and digested: only the digest is kept.
            (Some(_), Some(digest)) => (None, Some(digest)),
            (None, None) => (Some(DEFAULT_TAG.to_string()), None),
            (tag, digest) => (tag, digest),
        };
        Ok(NormalizedRef {
            name: parsed.name,
            domain_len: parsed.domain_len,
            tag,
            digest,
        })
    }

    /// The repository name with its domain, e.g. `docker.io/library/busybox`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registry domain, e.g. `docker.io` or `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.name[..self.domain_len]
    }

    /// The repository path inside the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        self.name.get(self.domain_len + 1..).unwrap_or_default()
    }

    /// The tag, if the reference names one (never together with a digest).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, e.g. `sha256:<64 hex>`, if the reference names one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }
}

impl fmt::Display for NormalizedRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// A reference as the grammar parsed it, before the `ParseDockerRef` tag rules.
struct Parsed {
    name: String,
    domain_len: usize,
    tag: Option<String>,
    digest: Option<String>,
}

/// Docker's `ParseNormalizedNamed`.
fn parse_normalized_named(s: &str) -> Result<Parsed, ReferenceError> {
    if ANCHORED_IDENTIFIER.is_match(s) {
        return Err(ReferenceError::HexIdentifier(s.to_string()));
    }
    let (domain, remainder) = split_docker_domain(s);
    let remote_name = remainder.split(':').next().unwrap_or_default();
    if remote_name.to_lowercase() != remote_name {
        return Err(ReferenceError::NameNotLowercase {
            remote: remote_name.to_owned(),
        });
    }
    parse(&format!("{domain}/{remainder}"))
}

/// Docker's `splitDockerDomain`: the first path element is a domain only if it looks like
/// one (has a `.` or `:`, is `localhost`, or has an uppercase letter).
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_NAME}/{remainder}");
    }
    (domain, remainder)
}

/// distribution's `Parse`: the grammar alone, no normalisation.
fn parse(s: &str) -> Result<Parsed, ReferenceError> {
    let Some(captures) = REFERENCE.captures(s) else {
        if REFERENCE.is_match(&s.to_lowercase()) {
            return Err(ReferenceError::NameContainsUppercase);
        }
        return Err(ReferenceError::InvalidFormat);
    };
    let name = captures.get(1).map_or("", |m| m.as_str());
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    let domain_len = ANCHORED_NAME
        .captures(name)
        .and_then(|c| c.get(1))
        .map_or(0, |m| m.as_str().len());
    let digest = match captures.get(3) {
        Some(digest) => {
            validate_digest(digest.as_str())?;
            Some(digest.as_str().to_string())
        }
        None => None,
    };
    Ok(Parsed {
        name: name.to_string(),
        domain_len,
        tag: captures.get(2).map(|m| m.as_str().to_string()),
        digest,
    })
}

/// go-digest's `Digest.Validate` for `algorithm:encoded`.
pub(crate) fn validate_digest(d: &str) -> Result<(), ReferenceError> {
    let Some((algorithm, encoded)) = d.split_once(':') else {
        return Err(ReferenceError::DigestInvalidFormat);
    };
    if algorithm.is_empty() || encoded.is_empty() {
        return Err(ReferenceError::DigestInvalidFormat);
    }
    let size = match algorithm {
        "sha256" => 32,
        "sha384" => 48,
        "sha512" => 64,
        _ if GO_DIGEST.is_match(d) => return Err(ReferenceError::DigestUnsupported),
        _ => return Err(ReferenceError::DigestInvalidFormat),
    };
    if encoded.len() != size * 2 {
        return Err(ReferenceError::DigestInvalidLength);
    }
    if !encoded
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ReferenceError::DigestInvalidFormat);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX64: &str = "10157d048594c42d40d2a9acd4c84747a65d27249564ca66980799592e79d18b";

    fn normalized(s: &str) -> String {
        match NormalizedRef::parse(s) {
            Ok(r) => r.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn short_names_normalise_like_docker() {
        let table = [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("library/busybox:1.36", "docker.io/library/busybox:1.36"),
            ("docker.io/busybox:1.36", "docker.io/library/busybox:1.36"),
            (
                "docker.io/library/busybox:1.36",
                "docker.io/library/busybox:1.36",
            ),
            (
                "index.docker.io/busybox",
                "docker.io/library/busybox:latest",
            ),
            ("myorg/app:1", "docker.io/myorg/app:1"),
            ("registry.k8s.io/pause:3.6", "registry.k8s.io/pause:3.6"),
            ("localhost:5000/x:1", "localhost:5000/x:1"),
            ("localhost/x", "localhost/x:latest"),
            ("quay.io/a/b/c:v1_0-rc.1", "quay.io/a/b/c:v1_0-rc.1"),
            ("busybox:UPPER_tag", "docker.io/library/busybox:UPPER_tag"),
            ("Foo/bar:1", "Foo/bar:1"),
            ("a__b--c.d_e:1", "docker.io/library/a__b--c.d_e:1"),
        ];
        for (input, expected) in table {
            assert_eq!(normalized(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn digests_are_kept_and_a_tag_next_to_a_digest_is_dropped() {
        let digest = format!("sha256:{HEX64}");
        assert_eq!(
            normalized(&format!("busybox@{digest}")),
            format!("docker.io/library/busybox@{digest}")
        );
        assert_eq!(
            normalized(&format!("busybox:1.36@{digest}")),
            format!("docker.io/library/busybox@{digest}")
        );
        let r = NormalizedRef::parse(&format!("localhost:5000/a/b:1@{digest}")).unwrap();
        assert_eq!(r.name(), "localhost:5000/a/b");
        assert_eq!(r.domain(), "localhost:5000");
        assert_eq!(r.path(), "a/b");
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest(), Some(digest.as_str()));
    }

    #[test]
    fn a_reference_parsed_again_gives_the_answer_of_the_grammar_each_time() {
        let long = format!("docker.io/library/{}:1", "a".repeat(300));
        // More distinct references than the cache keeps, each parsed twice: the cached
        // answer (valid or not) is the grammar's.
        let mut inputs: Vec<String> = (0..200)
            .map(|i| format!("registry.local/app{i}:v{i}"))
            .collect();
        inputs.extend(["busybox", "UPPER/Case:1", "busybox:", "", long.as_str()].map(String::from));
        for round in 0..2 {
            for input in &inputs {
                assert_eq!(
                    NormalizedRef::parse(input),
                    NormalizedRef::parse_uncached(input),
                    "round {round}, input {input:?}"
                );
            }
        }
    }

    #[test]
    fn bad_references_fail_with_distributions_exact_texts() {
        let long = format!("{}:1", "a".repeat(250));
        let table = [
            ("", "invalid reference format"),
            (
                "UPPER/Case:1",
                "invalid reference format: repository name (Case) must be lowercase",
            ),
            (
                "UPPER:x",
                "invalid reference format: repository name (library/UPPER) must be lowercase",
            ),
            ("busybox:", "invalid reference format"),
            ("busybox:-x", "invalid reference format"),
            (":1", "invalid reference format"),
            ("a//b", "invalid reference format"),
            ("-a", "invalid reference format"),
            ("a b", "invalid reference format"),
            ("busybox@sha256:abc", "invalid reference format"),
            (
                long.as_str(),
                "repository name must not be more than 255 characters",
            ),
        ];
        for (input, expected) in table {
            assert_eq!(
                normalized(input),
                format!("error: {expected}"),
                "input {input:?}"
            );
        }
        assert_eq!(
            normalized(HEX64),
            format!(
                "error: invalid repository name ({HEX64}), cannot specify 64-byte hexadecimal strings"
            )
        );
        let lowercase = NormalizedRef::parse("UPPER/Case:1").unwrap_err();
        assert_eq!(
            lowercase.describe(Profile::Containerd16),
            "invalid reference format: repository name must be lowercase"
        );
        assert_eq!(
            lowercase.describe(Profile::Containerd23),
            lowercase.to_string()
        );
        let tag129 = format!("busybox:{}", "t".repeat(129));
        assert_eq!(normalized(&tag129), "error: invalid reference format");
    }

    #[test]
    fn malformed_digests_fail_with_go_digest_texts() {
        let hex32 = &HEX64[..32];
        assert_eq!(
            normalized(&format!("busybox@sha256:{hex32}")),
            "error: invalid checksum digest length"
        );
        assert_eq!(
            normalized(&format!("busybox@md5:{hex32}")),
            "error: unsupported digest algorithm"
        );
        assert_eq!(
            normalized(&format!("busybox@sha256:{}", HEX64.to_uppercase())),
            "error: invalid checksum digest format"
        );
        let sha512 = format!("sha512:{HEX64}{HEX64}");
        assert_eq!(
            normalized(&format!("busybox@{sha512}")),
            format!("docker.io/library/busybox@{sha512}")
        );
    }

    #[test]
    fn name_length_counts_the_domain() {
        let path = "a".repeat(255 - "docker.io/library/".len());
        assert_eq!(
            normalized(&path),
            format!("docker.io/library/{path}:latest")
        );
        assert_eq!(
            normalized(&format!("{path}a")),
            "error: repository name must not be more than 255 characters"
        );
    }
}
