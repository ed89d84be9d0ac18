//! Images: reference normalisation, the built-in catalog, the image store and simulated pulls.
//!
//! Everything here follows containerd 1.6.20's CRI plugin as measured (reference §8):
//!
//! * references are parsed and normalised like docker ([`NormalizedRef`]);
//! * an [`Image`] is identified by its config digest (`sha256:<64 hex>`), carries sorted,
//!   normalised repo tags and `<repo>@<manifest digest>` repo digests;
//! * [`ImageStore::resolve`] is containerd's local lookup: by reference, by full id, or by any
//!   unique id prefix with or without `sha256:`;
//! * [`ImageStore::pull`] simulates registries: by default any well-formed reference pulls,
//!   and [`PullPolicy::Offline`] reproduces the reference machine, where every pull fails.
//!
//! # The catalog
//!
//! The images are data, in [`catalog`] (`catalog.toml`). [`builtin_catalog`] holds exactly
//! the two images of the reference machine, so that ListImages answers the same on the
//! fake and on that containerd:
//!
//! | reference | id | size | config | rootfs |
//! |---|---|---|---|---|
//! | `docker.io/library/busybox:1.36` | `sha256:10157d04…` | 1029475 | `Env=[PATH=/bin]`, `Cmd=[sh]`, `WorkingDir=/` | [`Rootfs::Busybox`] |
//! | `registry.k8s.io/pause:3.6` | `sha256:cc9eed72…` | 1029492 | `Entrypoint=[/pause]` | [`Rootfs::Pause`] |
//!
//! Both were imported with `ctr images import` there, so they have no repo digests.
//! Their layer (chain) ids were not recorded on the reference machine; the catalog uses
//! deterministic stand-ins.
//!
//! [`registry_catalog`] is what pulls fetch: the pause, busybox, alpine, httpd and nginx
//! images, the Kubernetes e2e images critest runs and cri-tools' test images, with their
//! published digests and ids where they are known (the data file says which) and their
//! configs, ports and entrypoint scripts.

pub mod catalog;
mod reference;
mod store;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::process::FileSeed;

pub use catalog::{builtin_catalog, registry_catalog};
pub use reference::{NormalizedRef, ReferenceError};
pub use store::{
    ImageStore, LookupError, PullError, PullPolicy, REFERENCE_DNS_SERVER, UnreachableCause,
};

/// The busybox image the conformance suite imports into containerd (busybox-static).
pub const BUSYBOX_REFERENCE: &str = "docker.io/library/busybox:1.36";
/// The id (config digest) of [`BUSYBOX_REFERENCE`] on the reference machine.
pub const BUSYBOX_ID: &str =
    "sha256:10157d048594c42d40d2a9acd4c84747a65d27249564ca66980799592e79d18b";
/// The sandbox (pause) image, containerd 1.6's default `sandbox_image`.
pub const PAUSE_REFERENCE: &str = "registry.k8s.io/pause:3.6";
/// The id (config digest) of [`PAUSE_REFERENCE`] on the reference machine.
pub const PAUSE_ID: &str =
    "sha256:cc9eed72073e2265f4a224b3cedaf5f4b168fdf6e3af18bfdd06d59c0d957d11";

/// Docker's default `PATH`, the `Env` of most non-busybox images.
pub const DOCKER_DEFAULT_PATH: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// An image's runtime config (the subset of the OCI image config the fake uses).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageConfig {
    /// `Env`: `NAME=value` entries.
    pub env: Vec<String>,
    /// `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    pub cmd: Vec<String>,
    /// `WorkingDir` (`""` means `/`).
    pub working_dir: String,
    /// `User` (`""` means root).
    pub user: String,
    /// `StopSignal` (`""` means SIGTERM).
    pub stop_signal: String,
    /// `Labels`.
    pub labels: BTreeMap<String, String>,
    /// `ExposedPorts`: `"80/tcp"`, `"53/udp"` (sorted, as Go marshals the map).
    pub exposed_ports: BTreeSet<String>,
}

/// Which simulated root filesystem containers of the image get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Rootfs {
    /// A busybox-static system: `/bin` with the applets, `/etc/passwd`, ...
    #[default]
    Busybox,
    /// The pause image: only `/pause`.
    Pause,
    /// An empty filesystem.
    Scratch,
}

impl Rootfs {
    /// What the unpacked root filesystem uses on the image filesystem: `(bytes, inodes)`.
    ///
    /// The two busybox-static based images of the reference machine together used
    /// 2043904 bytes and 80 inodes (ImageFsInfo); each simulated rootfs is half of that.
    fn unpacked_usage(self) -> (u64, u64) {
        match self {
            Rootfs::Busybox | Rootfs::Pause => (1_021_952, 40),
            Rootfs::Scratch => (4096, 1),
        }
    }

    /// The default image size for builders that do not set one.
    fn default_size(self) -> u64 {
        match self {
            Rootfs::Busybox => 1_029_475,
            Rootfs::Pause => 1_029_492,
            Rootfs::Scratch => 512,
        }
    }
}

/// An image in the store.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// `sha256:<64 hex>`: the config digest.
    pub id: String,
    /// Normalised `name:tag` references, sorted.
    pub repo_tags: Vec<String>,
    /// `<repo>@sha256:<64 hex>` references (manifest digests), sorted.
    pub repo_digests: Vec<String>,
    /// Manifest + config + compressed layer bytes.
    pub size: u64,
    /// The runtime config.
    pub config: ImageConfig,
    /// The simulated root filesystem.
    pub rootfs: Rootfs,
    /// The chain id of the top layer (verbose ImageStatus).
    pub chain_id: String,
    /// Files the image adds to (or replaces in) its [`Rootfs`], in order: scripts such as
    /// a web server's entrypoint, its document root, its own `/etc/passwd`.
    pub files: Vec<FileSeed>,
}

impl Image {
    /// A builder for test authors.
    ///
    /// ```
    /// use cri_fake::images::{Image, Rootfs};
    /// let image = Image::builder("myorg/app:1")
    ///     .env("A=1")
    ///     .entrypoint(["/bin/app"])
    ///     .cmd(["--serve"])
    ///     .stop_signal("SIGINT")
    ///     .tag("myorg/app:latest")
    ///     .rootfs(Rootfs::Busybox)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(image.repo_tags, ["docker.io/myorg/app:1", "docker.io/myorg/app:latest"]);
    /// assert!(image.id.starts_with("sha256:"));
    /// ```
    pub fn builder(reference: &str) -> ImageBuilder {
        ImageBuilder {
            references: vec![reference.to_string()],
            config: ImageConfig::default(),
            size: None,
            rootfs: Rootfs::default(),
            id: None,
            chain_id: None,
            files: Vec::new(),
        }
    }

    /// containerd's verbose ImageStatus `info["info"]` JSON:
    /// `{"chainID":…,"imageSpec":{"architecture":"amd64","os":"linux","config":{…},"rootfs":{…}}}`.
    ///
    /// Keys and their order are Go's (`encoding/json` of the OCI image config), and so is
    /// the escaping of `<`, `>` and `&`.
    pub fn verbose_info(&self) -> String {
        let info = VerboseImageInfo {
            chain_id: &self.chain_id,
            image_spec: image_spec(&self.config, &self.chain_id),
        };
        go_json(&info)
    }

    /// The references (tags, then digests) that name this image.
    pub(crate) fn references(&self) -> impl Iterator<Item = &String> {
        self.repo_tags.iter().chain(&self.repo_digests)
    }
}

/// Builds an [`Image`]; see [`Image::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ImageBuilder {
    references: Vec<String>,
    config: ImageConfig,
    size: Option<u64>,
    rootfs: Rootfs,
    id: Option<String>,
    chain_id: Option<String>,
    files: Vec<FileSeed>,
}

impl ImageBuilder {
    /// Adds one `NAME=value` entry to `Env`.
    pub fn env(mut self, entry: impl Into<String>) -> Self {
        self.config.env.push(entry.into());
        self
    }

    /// Sets `Entrypoint`.
    pub fn entrypoint<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.entrypoint = args.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `Cmd`.
    pub fn cmd<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.cmd = args.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `WorkingDir`.
    pub fn working_dir(mut self, dir: impl Into<String>) -> Self {
        self.config.working_dir = dir.into();
        self
    }

    /// Sets `User`.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.config.user = user.into();
        self
    }

    /// Sets `StopSignal` (e.g. `SIGINT`).
    pub fn stop_signal(mut self, signal: impl Into<String>) -> Self {
        self.config.stop_signal = signal.into();
        self
    }

    /// Adds a config label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.labels.insert(key.into(), value.into());
        self
    }

    /// Adds an `ExposedPorts` entry such as `"80/tcp"`.
    pub fn expose(mut self, port: impl Into<String>) -> Self {
        self.config.exposed_ports.insert(port.into());
        self
    }

    /// Adds a file to the image's root filesystem (replacing one the [`Rootfs`] has).
    ///
    /// ```
    /// use cri_fake::images::Image;
    /// let image = Image::builder("web:1")
    ///     .file("/usr/local/bin/serve", "#!/bin/sh\nexec httpd -f -p 80 -h /www\n", 0o755)
    ///     .cmd(["serve"])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(image.files[0].path(), "/usr/local/bin/serve");
    /// ```
    pub fn file(self, path: impl Into<String>, contents: impl Into<Vec<u8>>, mode: u32) -> Self {
        self.seed(FileSeed::File {
            path: path.into(),
            contents: bytes::Bytes::from(contents.into()),
            mode,
        })
    }

    /// Adds any root filesystem entry: a file, a directory, a symbolic link or a
    /// registered program.
    pub fn seed(mut self, seed: FileSeed) -> Self {
        self.files.push(seed);
        self
    }

    /// Replaces the whole config.
    pub fn config(mut self, config: ImageConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the size in bytes (default: the busybox image's 1029475 for
    /// [`Rootfs::Busybox`], 1029492 for [`Rootfs::Pause`], 512 for [`Rootfs::Scratch`]).
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Sets the simulated root filesystem.
    pub fn rootfs(mut self, rootfs: Rootfs) -> Self {
        self.rootfs = rootfs;
        self
    }

    /// Adds another reference: a `name:tag` becomes a repo tag, a `name@digest` a repo digest.
    pub fn tag(mut self, reference: impl Into<String>) -> Self {
        self.references.push(reference.into());
        self
    }

    /// Adds a `<repo>@sha256:<manifest digest>` repo digest (a tag given here becomes a tag).
    pub fn digest_ref(mut self, reference: impl Into<String>) -> Self {
        self.references.push(reference.into());
        self
    }

    /// Sets the id: `sha256:<64 hex>` or the bare 64 hex (default: a sha256 of the
    /// normalised first reference and the config).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the chain id shown by verbose ImageStatus (default: derived from the id).
    pub fn chain_id(mut self, chain_id: impl Into<String>) -> Self {
        self.chain_id = Some(chain_id.into());
        self
    }

    /// The image, or the first reference or id that does not parse.
    pub fn build(self) -> Result<Image, ReferenceError> {
        let mut repo_tags = Vec::new();
        let mut repo_digests = Vec::new();
        for reference in &self.references {
            let parsed = NormalizedRef::parse(reference)?;
            if parsed.digest().is_some() {
                repo_digests.push(parsed.to_string());
            } else {
                repo_tags.push(parsed.to_string());
            }
        }
        sort_references(&mut repo_tags);
        sort_references(&mut repo_digests);
        let first = NormalizedRef::parse(self.references.first().map_or("", String::as_str))?;
        let id = match self.id {
            Some(id) => normalize_id(&id)?,
            None => {
                let spec = go_json(&image_spec(&self.config, ""));
                format!(
                    "sha256:{}",
                    sha256_hex(format!("{first}\n{spec}").as_bytes())
                )
            }
        };
        let chain_id = match self.chain_id {
            Some(chain_id) => chain_id,
            None => format!("sha256:{}", sha256_hex(format!("layer\n{id}").as_bytes())),
        };
        Ok(Image {
            id,
            repo_tags,
            repo_digests,
            size: self.size.unwrap_or(self.rootfs.default_size()),
            config: self.config,
            rootfs: self.rootfs,
            chain_id,
            files: self.files,
        })
    }
}

/// Sorts and de-duplicates references of one kind (containerd sorts by rank, then by string;
/// within one kind that is the string order).
pub(crate) fn sort_references(references: &mut Vec<String>) {
    references.sort();
    references.dedup();
}

/// An id as given to the builder, made `sha256:`-prefixed and checked.
fn normalize_id(id: &str) -> Result<String, ReferenceError> {
    let id = if id.len() == 64 && !id.contains(':') {
        format!("sha256:{id}")
    } else {
        id.to_string()
    };
    reference::validate_digest(&id)?;
    Ok(id)
}

/// Lowercase hex of the SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The verbose ImageStatus document (containerd's `verboseImageInfo`).
#[derive(Serialize)]
struct VerboseImageInfo<'a> {
    #[serde(rename = "chainID")]
    chain_id: &'a str,
    #[serde(rename = "imageSpec")]
    image_spec: OciImage<'a>,
}

/// The OCI image config document, with Go's field order and `omitempty` rules.
#[derive(Serialize)]
struct OciImage<'a> {
    architecture: &'static str,
    os: &'static str,
    config: OciConfig<'a>,
    rootfs: OciRootfs<'a>,
}

#[derive(Serialize)]
struct OciConfig<'a> {
    #[serde(rename = "User", skip_serializing_if = "str::is_empty")]
    user: &'a str,
    #[serde(rename = "ExposedPorts", skip_serializing_if = "BTreeMap::is_empty")]
    exposed_ports: BTreeMap<&'a str, Empty>,
    #[serde(rename = "Env", skip_serializing_if = "<[String]>::is_empty")]
    env: &'a [String],
    #[serde(rename = "Entrypoint", skip_serializing_if = "<[String]>::is_empty")]
    entrypoint: &'a [String],
    #[serde(rename = "Cmd", skip_serializing_if = "<[String]>::is_empty")]
    cmd: &'a [String],
    #[serde(rename = "WorkingDir", skip_serializing_if = "str::is_empty")]
    working_dir: &'a str,
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(rename = "StopSignal", skip_serializing_if = "str::is_empty")]
    stop_signal: &'a str,
}

/// Go's `struct{}`, which marshals as `{}`.
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct OciRootfs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Go marshals a nil slice as `null`.
    diff_ids: Option<Vec<&'a str>>,
}

fn image_spec<'a>(config: &'a ImageConfig, chain_id: &'a str) -> OciImage<'a> {
    OciImage {
        architecture: "amd64",
        os: "linux",
        config: OciConfig {
            user: &config.user,
            exposed_ports: config
                .exposed_ports
                .iter()
                .map(|port| (port.as_str(), Empty {}))
                .collect(),
            env: &config.env,
            entrypoint: &config.entrypoint,
            cmd: &config.cmd,
            working_dir: &config.working_dir,
            labels: &config.labels,
            stop_signal: &config.stop_signal,
        },
        rootfs: OciRootfs {
            kind: "layers",
            // One layer per image: its diff id is also the chain id.
            diff_ids: (!chain_id.is_empty()).then(|| vec![chain_id]),
        },
    }
}

/// Serialises like Go's `json.Marshal`: compact, with `<`, `>`, `&`, U+2028 and U+2029
/// escaped. Those characters only occur inside JSON strings, so replacing them is safe.
fn go_json(value: &impl Serialize) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    let mut escaped = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => escaped.push_str("\\u003c"),
            '>' => escaped.push_str("\\u003e"),
            '&' => escaped.push_str("\\u0026"),
            '\u{2028}' => escaped.push_str("\\u2028"),
            '\u{2029}' => escaped.push_str("\\u2029"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_is_the_reference_machines_busybox_and_pause() {
        let catalog = builtin_catalog();
        assert_eq!(catalog.len(), 2);
        let busybox = &catalog[0];
        assert_eq!(busybox.id, BUSYBOX_ID);
        assert_eq!(busybox.repo_tags, ["docker.io/library/busybox:1.36"]);
        assert!(busybox.repo_digests.is_empty());
        assert_eq!(busybox.size, 1029475);
        assert_eq!(busybox.config.env, ["PATH=/bin"]);
        assert_eq!(busybox.config.cmd, ["sh"]);
        assert_eq!(busybox.config.working_dir, "/");
        assert_eq!(busybox.rootfs, Rootfs::Busybox);
        let pause = &catalog[1];
        assert_eq!(pause.id, PAUSE_ID);
        assert_eq!(pause.repo_tags, ["registry.k8s.io/pause:3.6"]);
        assert_eq!(pause.size, 1029492);
        assert_eq!(pause.config.entrypoint, ["/pause"]);
        assert_eq!(pause.rootfs, Rootfs::Pause);
    }

    #[test]
    fn builder_normalises_and_sorts_tags_and_separates_digests() {
        let digest = format!("sha256:{}", "4e19".repeat(16));
        let image = Image::builder("probe-rm:zz")
            .tag("probe-rm:1")
            .tag("docker.io/library/probe-rm:alias")
            .tag("probe-rm:1")
            .digest_ref(format!("probe-rm@{digest}"))
            .build()
            .unwrap();
        assert_eq!(
            image.repo_tags,
            [
                "docker.io/library/probe-rm:1",
                "docker.io/library/probe-rm:alias",
                "docker.io/library/probe-rm:zz"
            ]
        );
        assert_eq!(
            image.repo_digests,
            [format!("docker.io/library/probe-rm@{digest}")]
        );
        assert_eq!(image.size, 1029475);
        assert_eq!(image.rootfs, Rootfs::Busybox);
    }

    #[test]
    fn builder_ids_are_deterministic_and_depend_on_reference_and_config() {
        let a = Image::builder("app:1").cmd(["sh"]).build().unwrap();
        let again = Image::builder("docker.io/library/app:1")
            .cmd(["sh"])
            .build()
            .unwrap();
        let other_ref = Image::builder("app:2").cmd(["sh"]).build().unwrap();
        let other_config = Image::builder("app:1").cmd(["top"]).build().unwrap();
        assert_eq!(a.id, again.id);
        assert_eq!(a.chain_id, again.chain_id);
        assert_ne!(a.id, other_ref.id);
        assert_ne!(a.id, other_config.id);
        assert_eq!(a.id.len(), 71);
        assert!(
            a.id[7..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn builder_accepts_bare_or_prefixed_ids_and_rejects_bad_ones() {
        let hex = "ab".repeat(32);
        let bare = Image::builder("a:1").id(hex.clone()).build().unwrap();
        assert_eq!(bare.id, format!("sha256:{hex}"));
        let prefixed = Image::builder("a:1")
            .id(format!("sha256:{hex}"))
            .build()
            .unwrap();
        assert_eq!(prefixed.id, format!("sha256:{hex}"));
        assert_eq!(
            Image::builder("a:1").id("sha256:abc").build(),
            Err(ReferenceError::DigestInvalidLength)
        );
        assert_eq!(
            Image::builder("UPPER:1").build(),
            Err(ReferenceError::NameNotLowercase {
                remote: "library/UPPER".into()
            })
        );
    }

    #[test]
    fn verbose_info_has_containerds_keys_in_gos_order() {
        let busybox = &builtin_catalog()[0];
        let chain = &busybox.chain_id;
        assert_eq!(
            busybox.verbose_info(),
            format!(
                "{{\"chainID\":\"{chain}\",\"imageSpec\":{{\"architecture\":\"amd64\",\"os\":\"linux\",\
                 \"config\":{{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\"}},\
                 \"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{chain}\"]}}}}}}"
            )
        );
        let full = Image::builder("app:1")
            .user("1000")
            .env("A=<&>")
            .entrypoint(["/e"])
            .cmd(["c"])
            .working_dir("/w")
            .label("b", "2")
            .label("a", "1")
            .stop_signal("SIGINT")
            .chain_id("sha256:c")
            .build()
            .unwrap();
        assert_eq!(
            full.verbose_info(),
            "{\"chainID\":\"sha256:c\",\"imageSpec\":{\"architecture\":\"amd64\",\"os\":\"linux\",\
             \"config\":{\"User\":\"1000\",\"Env\":[\"A=\\u003c\\u0026\\u003e\"],\"Entrypoint\":[\"/e\"],\
             \"Cmd\":[\"c\"],\"WorkingDir\":\"/w\",\"Labels\":{\"a\":\"1\",\"b\":\"2\"},\
             \"StopSignal\":\"SIGINT\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:c\"]}}}"
        );
    }

    #[test]
    fn verbose_info_of_an_empty_config_keeps_an_empty_config_object() {
        let image = Image::builder("app:1").chain_id("").build().unwrap();
        assert_eq!(
            image.verbose_info(),
            "{\"chainID\":\"\",\"imageSpec\":{\"architecture\":\"amd64\",\"os\":\"linux\",\
             \"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":null}}}"
        );
    }

    #[test]
    fn verbose_info_lists_exposed_ports_as_gos_map_of_empty_objects_after_the_user() {
        let image = Image::builder("web:1")
            .user("www-data")
            .expose("8080/tcp")
            .expose("53/udp")
            .env("A=1")
            .chain_id("sha256:c")
            .build()
            .unwrap();
        assert_eq!(
            image.verbose_info(),
            "{\"chainID\":\"sha256:c\",\"imageSpec\":{\"architecture\":\"amd64\",\"os\":\"linux\",\
             \"config\":{\"User\":\"www-data\",\"ExposedPorts\":{\"53/udp\":{},\"8080/tcp\":{}},\
             \"Env\":[\"A=1\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:c\"]}}}"
        );
    }
}
