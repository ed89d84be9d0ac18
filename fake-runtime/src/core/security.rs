//! A container's security context as containerd turns it into the OCI spec: the
//! capability changes, masked and read-only paths, and the seccomp profile (loaded from
//! the node at CreateContainer, as containerd's `seccomp.WithProfile` does).

use std::sync::Arc;

use cri_proto::v1::security_profile::ProfileType;
use cri_proto::v1::{LinuxContainerSecurityContext, SecurityProfile};

use crate::process::SecuritySpec;
use crate::process::seccomp::SeccompProfile;

/// The prefix containerd trims from a `Localhost` profile reference.
const PROFILE_NAME_PREFIX: &str = "localhost/";

/// What CreateContainer's message starts with when the profile request is invalid.
const SPEC_OPTS_ERROR: &str =
    "failed to get container spec opts: failed to generate seccomp spec opts: ";

/// The seccomp profile the security context asks for: its `seccomp` field, else the
/// deprecated `seccomp_profile_path` as containerd reads it (`runtime/default`,
/// `docker/default`, `unconfined`, `localhost/<path>`; anything else is
/// `invalid profile "<path>"`), else none.
fn requested_profile(
    security: &LinuxContainerSecurityContext,
) -> Result<Option<SecurityProfile>, String> {
    if let Some(profile) = &security.seccomp {
        return Ok(Some(profile.clone()));
    }
    #[allow(deprecated)]
    let path = security.seccomp_profile_path.as_str();
    let profile = |profile_type: ProfileType, localhost_ref: &str| SecurityProfile {
        profile_type: profile_type as i32,
        localhost_ref: localhost_ref.to_owned(),
    };
    Ok(match path {
        "" => None,
        "runtime/default" | "docker/default" => Some(profile(ProfileType::RuntimeDefault, "")),
        "unconfined" => Some(profile(ProfileType::Unconfined, "")),
        other => match other.strip_prefix(PROFILE_NAME_PREFIX) {
            Some(reference) => Some(profile(ProfileType::Localhost, reference)),
            None => {
                return Err(format!(
                    "{SPEC_OPTS_ERROR}invalid profile {}",
                    crate::core::error::go_quote(other)
                ));
            }
        },
    })
}

/// The seccomp profile containerd loads for `security` at CreateContainer: `Ok(None)`
/// when none is (privileged containers, `Unconfined`, `RuntimeDefault`, which the
/// simulation treats as allowing every call the applets make, and no profile). The
/// error is CreateContainer's whole message, as containerd words it (the same in 1.6
/// and 2.3): `failed to create containerd container: cannot load seccomp profile
/// "/p": open /p: no such file or directory`, or `failed to create containerd
/// container: decoding seccomp profile failed "/p": <decoder's error>` (serde_json's
/// words, where containerd has Go's `encoding/json`'s). An unknown action is refused
/// here too, where runc would refuse it at StartContainer.
pub fn load_seccomp(
    security: &LinuxContainerSecurityContext,
) -> Result<Option<Arc<SeccompProfile>>, String> {
    let requested = requested_profile(security)?;
    if security.privileged {
        return Ok(None);
    }
    let Some(profile) = &requested else {
        return Ok(None);
    };
    if profile.profile_type != ProfileType::Localhost as i32 {
        if !profile.localhost_ref.is_empty() {
            return Err(format!(
                "{SPEC_OPTS_ERROR}seccomp config invalid LocalhostRef must only be set if ProfileType is Localhost"
            ));
        }
        return Ok(None);
    }
    let path = profile
        .localhost_ref
        .strip_prefix(PROFILE_NAME_PREFIX)
        .unwrap_or(&profile.localhost_ref);
    let data = std::fs::read(path).map_err(|e| {
        format!(
            "failed to create containerd container: cannot load seccomp profile {}: open {path}: {}",
            crate::core::error::go_quote(path),
            go_io_error(&e)
        )
    })?;
    SeccompProfile::parse(&data)
        .map(|p| Some(Arc::new(p)))
        .map_err(|e| {
            format!(
                "failed to create containerd container: decoding seccomp profile failed {}: {e}",
                crate::core::error::go_quote(path)
            )
        })
}

/// Go's lower-case wording of an `open` error.
fn go_io_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(2) => "no such file or directory".to_owned(),
        Some(13) => "permission denied".to_owned(),
        Some(21) => "is a directory".to_owned(),
        Some(20) => "not a directory".to_owned(),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
            let mut chars = text.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

/// The security part of a container's simulation, from its CRI security context and
/// the seccomp profile loaded at create. Privileged containers get no masked or
/// read-only paths (containerd's `WithPrivileged` clears them) and no seccomp filter.
pub fn security_spec(
    security: &LinuxContainerSecurityContext,
    seccomp: Option<Arc<SeccompProfile>>,
) -> SecuritySpec {
    let capabilities = security.capabilities.clone().unwrap_or_default();
    let (masked_paths, readonly_paths) = if security.privileged {
        (Vec::new(), Vec::new())
    } else {
        (
            security.masked_paths.clone(),
            security.readonly_paths.clone(),
        )
    };
    SecuritySpec {
        privileged: security.privileged,
        no_new_privs: security.no_new_privs,
        add_capabilities: capabilities.add_capabilities,
        drop_capabilities: capabilities.drop_capabilities,
        seccomp_enforced: requested_profile(security)
            .ok()
            .flatten()
            .is_some_and(|s| s.profile_type != ProfileType::Unconfined as i32),
        seccomp: seccomp.filter(|_| !security.privileged),
        masked_paths,
        readonly_paths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(deprecated)]
    fn by_path(path: &str) -> LinuxContainerSecurityContext {
        LinuxContainerSecurityContext {
            seccomp_profile_path: path.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_deprecated_profile_path_is_read_when_seccomp_is_unset() {
        assert!(security_spec(&by_path("runtime/default"), None).seccomp_enforced);
        assert!(security_spec(&by_path("docker/default"), None).seccomp_enforced);
        assert!(!security_spec(&by_path("unconfined"), None).seccomp_enforced);
        assert!(!security_spec(&by_path(""), None).seccomp_enforced);
        assert_eq!(
            load_seccomp(&by_path("localhost//no/such.json")).unwrap_err(),
            "failed to create containerd container: cannot load seccomp profile \"/no/such.json\": open /no/such.json: no such file or directory"
        );
        // An invalid path fails even for privileged containers: it is read first.
        let mut invalid = by_path("/abs/path.json");
        invalid.privileged = true;
        assert_eq!(
            load_seccomp(&invalid).unwrap_err(),
            "failed to get container spec opts: failed to generate seccomp spec opts: invalid profile \"/abs/path.json\""
        );
    }

    fn localhost(path: &str) -> LinuxContainerSecurityContext {
        LinuxContainerSecurityContext {
            seccomp: Some(SecurityProfile {
                profile_type: ProfileType::Localhost as i32,
                localhost_ref: path.to_owned(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_missing_localhost_profile_is_containerds_load_error() {
        assert_eq!(
            load_seccomp(&localhost("/no/such/profile.json")).unwrap_err(),
            "failed to create containerd container: cannot load seccomp profile \"/no/such/profile.json\": open /no/such/profile.json: no such file or directory"
        );
    }

    #[test]
    fn a_profile_that_is_not_json_is_a_decoding_error_and_a_valid_one_loads() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "nope").unwrap();
        let bad = bad.to_string_lossy().into_owned();
        let err = load_seccomp(&localhost(&bad)).unwrap_err();
        assert!(
            err.starts_with(&format!(
                "failed to create containerd container: decoding seccomp profile failed \"{bad}\": "
            )),
            "{err}"
        );
        let good = dir.path().join("good.json");
        std::fs::write(
            &good,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        let reference = format!("localhost/{}", good.to_string_lossy());
        let profile = load_seccomp(&localhost(&reference)).unwrap().unwrap();
        assert_eq!(
            profile.check("mkdir"),
            crate::process::seccomp::SeccompAction::Errno(1)
        );
    }

    #[test]
    fn privileged_containers_load_no_profile_and_keep_no_masked_paths() {
        let mut security = localhost("/no/such/profile.json");
        security.privileged = true;
        security.masked_paths = vec!["/bin/ls".into()];
        assert_eq!(load_seccomp(&security), Ok(None));
        let spec = security_spec(&security, None);
        assert!(spec.masked_paths.is_empty() && spec.seccomp.is_none());
    }

    #[test]
    fn a_localhost_ref_with_another_profile_type_is_refused() {
        let security = LinuxContainerSecurityContext {
            seccomp: Some(SecurityProfile {
                profile_type: ProfileType::RuntimeDefault as i32,
                localhost_ref: "/p.json".into(),
            }),
            ..Default::default()
        };
        assert_eq!(
            load_seccomp(&security).unwrap_err(),
            "failed to get container spec opts: failed to generate seccomp spec opts: seccomp config invalid LocalhostRef must only be set if ProfileType is Localhost"
        );
    }
}
