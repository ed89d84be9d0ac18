//! The image catalog written as data: `catalog.toml` in this directory, compiled in with
//! `include_str!`, and the schema it shares with the binary's `[[images]]` config.
//!
//! The file has two lists (its header says where every value comes from):
//!
//! * `[[local]]`: the images a fake starts with ([`builtin_catalog`]): the reference
//!   machine's busybox 1.36 and pause images;
//! * `[[images]]`: what the simulated registries serve to PullImage ([`registry_catalog`]):
//!   pause 3.6, 3.9 and 3.10, busybox, alpine, httpd, nginx, the Kubernetes e2e images
//!   critest uses and cri-tools' own test images.
//!
//! One `[[images]]` entry is one manifest: all its tags share one id.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use bytes::Bytes;
use serde::Deserialize;

use super::reference::NormalizedRef;
use super::{Image, ImageBuilder, Rootfs, sha256_hex};
use crate::process::FileSeed;

/// The catalog's text.
pub const CATALOG_TOML: &str = include_str!("catalog.toml");

/// A [`Rootfs`] by name: `"busybox"`, `"pause"` or `"scratch"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RootfsName {
    /// [`Rootfs::Busybox`].
    Busybox,
    /// [`Rootfs::Pause`].
    Pause,
    /// [`Rootfs::Scratch`].
    Scratch,
}

impl From<RootfsName> for Rootfs {
    fn from(name: RootfsName) -> Rootfs {
        match name {
            RootfsName::Busybox => Rootfs::Busybox,
            RootfsName::Pause => Rootfs::Pause,
            RootfsName::Scratch => Rootfs::Scratch,
        }
    }
}

/// One entry of an image's root filesystem: a file (`contents`), a symbolic link
/// (`target`), a directory (`directory = true`) or a simulated binary (`program`, the
/// name of a built-in program such as `nnp`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileData {
    /// The absolute path.
    pub path: String,
    /// A regular file's contents.
    pub contents: Option<String>,
    /// A symbolic link's target.
    pub target: Option<String>,
    /// Whether this is a directory.
    #[serde(default)]
    pub directory: bool,
    /// A simulated binary: the registered program it runs.
    pub program: Option<String>,
    /// Permission bits (default `0o644` for files, `0o755` for directories).
    pub mode: Option<u32>,
}

impl FileData {
    /// The root filesystem entry, or why the entry is not exactly one kind.
    pub fn seed(&self) -> Result<FileSeed, String> {
        if !self.path.starts_with('/') {
            return Err(format!("file path {:?} is not absolute", self.path));
        }
        let path = self.path.clone();
        if let Some(name) = &self.program {
            if self.contents.is_some() || self.target.is_some() || self.directory {
                return Err(format!(
                    "file {:?} needs exactly one of `contents`, `target`, `directory = true` or `program`",
                    self.path
                ));
            }
            return Ok(FileSeed::Program {
                path,
                name: name.clone(),
                mode: self.mode.unwrap_or(0o755),
            });
        }
        match (&self.contents, &self.target, self.directory) {
            (Some(contents), None, false) => Ok(FileSeed::File {
                path,
                contents: Bytes::from(contents.clone().into_bytes()),
                mode: self.mode.unwrap_or(0o644),
            }),
            (None, Some(target), false) => Ok(FileSeed::Symlink {
                path,
                target: target.clone(),
            }),
            (None, None, true) => Ok(FileSeed::Dir {
                path,
                mode: self.mode.unwrap_or(0o755),
            }),
            _ => Err(format!(
                "file {:?} needs exactly one of `contents`, `target`, `directory = true` or `program`",
                self.path
            )),
        }
    }
}

/// An image described as data: a `[[images]]` entry of the binary's configuration or
/// of the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageData {
    /// Its reference (normalised like docker's).
    pub reference: String,
    /// More tags (of any repository).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The manifest (or index) digest the tags resolve to: each repository named by
    /// `reference` and `tags` gets the repo digest `<repository>@<digest>`.
    pub digest: Option<String>,
    /// Repo digest references (`<repository>@sha256:<64 hex>`).
    #[serde(default)]
    pub digests: Vec<String>,
    /// The image id (`sha256:<64 hex>`); generated when absent.
    pub id: Option<String>,
    /// The config's Entrypoint.
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// The config's Cmd.
    #[serde(default)]
    pub cmd: Vec<String>,
    /// The config's Env.
    #[serde(default)]
    pub env: Vec<String>,
    /// The config's WorkingDir.
    pub working_dir: Option<String>,
    /// The config's User.
    pub user: Option<String>,
    /// The config's StopSignal.
    pub stop_signal: Option<String>,
    /// The config's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The config's ExposedPorts (`"80/tcp"`).
    #[serde(default)]
    pub exposed_ports: Vec<String>,
    /// The size in bytes.
    pub size: Option<u64>,
    /// The simulated filesystem.
    pub rootfs: Option<RootfsName>,
    /// The chain id verbose ImageStatus shows (default: derived from the id).
    pub chain_id: Option<String>,
    /// Files added to the root filesystem.
    #[serde(default)]
    pub files: Vec<FileData>,
}

impl ImageData {
    /// The image, or what is wrong with the entry.
    pub fn build(&self) -> Result<Image, String> {
        self.builder()?
            .build()
            .map_err(|e| format!("invalid image reference {:?}: {e}", self.reference))
    }

    fn builder(&self) -> Result<ImageBuilder, String> {
        let mut builder = Image::builder(&self.reference)
            .entrypoint(self.entrypoint.clone())
            .cmd(self.cmd.clone());
        for tag in &self.tags {
            builder = builder.tag(tag.clone());
        }
        if let Some(digest) = &self.digest {
            for repository in self.repositories()? {
                builder = builder.digest_ref(format!("{repository}@{digest}"));
            }
        }
        for digest in &self.digests {
            builder = builder.digest_ref(digest.clone());
        }
        if let Some(id) = &self.id {
            builder = builder.id(id.clone());
        }
        for env in &self.env {
            builder = builder.env(env.clone());
        }
        if let Some(dir) = &self.working_dir {
            builder = builder.working_dir(dir.clone());
        }
        if let Some(user) = &self.user {
            builder = builder.user(user.clone());
        }
        if let Some(signal) = &self.stop_signal {
            builder = builder.stop_signal(signal.clone());
        }
        for (key, value) in &self.labels {
            builder = builder.label(key.clone(), value.clone());
        }
        for port in &self.exposed_ports {
            builder = builder.expose(port.clone());
        }
        if let Some(size) = self.size {
            builder = builder.size(size);
        }
        if let Some(rootfs) = self.rootfs {
            builder = builder.rootfs(rootfs.into());
        }
        if let Some(chain_id) = &self.chain_id {
            builder = builder.chain_id(chain_id.clone());
        }
        for file in &self.files {
            builder = builder.seed(file.seed()?);
        }
        Ok(builder)
    }

    /// The distinct normalised repositories of `reference` and `tags`, in order.
    fn repositories(&self) -> Result<Vec<String>, String> {
        let mut repositories: Vec<String> = Vec::new();
        for reference in std::iter::once(&self.reference).chain(&self.tags) {
            let named = NormalizedRef::parse(reference)
                .map_err(|e| format!("invalid image reference {reference:?}: {e}"))?;
            let name = named.name().to_string();
            if !repositories.contains(&name) {
                repositories.push(name);
            }
        }
        Ok(repositories)
    }
}

/// The catalog file's layout.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    local: Vec<ImageData>,
    #[serde(default)]
    images: Vec<ImageData>,
}

/// Both lists, built.
#[derive(Debug, Default)]
struct Catalog {
    local: Vec<Image>,
    registry: Vec<Image>,
}

/// Parses a catalog: `[[local]]` and `[[images]]` lists of [`ImageData`]. A registry
/// image without any repo digest gets a synthetic one (`<repository>@sha256` of
/// `"manifest\n"` and its id), as a registry always names a manifest.
fn parse(text: &str) -> Result<Catalog, String> {
    let file: CatalogFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let local = file
        .local
        .iter()
        .map(ImageData::build)
        .collect::<Result<Vec<_>, _>>()?;
    let mut registry = Vec::with_capacity(file.images.len());
    for data in &file.images {
        let mut image = data.build()?;
        if image.repo_digests.is_empty() {
            let digest = format!(
                "sha256:{}",
                sha256_hex(format!("manifest\n{}", image.id).as_bytes())
            );
            let with_digest = ImageData {
                digest: Some(digest),
                id: Some(image.id.clone()),
                ..data.clone()
            };
            image = with_digest.build()?;
        }
        registry.push(image);
    }
    Ok(Catalog { local, registry })
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        parse(CATALOG_TOML).unwrap_or_else(|error| {
            // The file is part of the crate and a unit test parses it; this only guards
            // against a broken edit reaching a build.
            tracing::error!(%error, "the built-in image catalog does not parse");
            Catalog::default()
        })
    })
}

/// The images present when a fake starts: the reference machine's busybox 1.36 and
/// pause 3.6 (see the module docs).
pub fn builtin_catalog() -> Vec<Image> {
    catalog().local.clone()
}

/// What the simulated registries serve: one image per manifest of `catalog.toml`'s
/// `[[images]]`.
pub fn registry_catalog() -> Vec<Image> {
    catalog().registry.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::images::{BUSYBOX_ID, PAUSE_ID};

    fn registry_image(reference: &str) -> Image {
        let key = NormalizedRef::parse(reference).unwrap().to_string();
        registry_catalog()
            .into_iter()
            .find(|image| image.references().any(|r| *r == key))
            .unwrap_or_else(|| panic!("{reference} is in the catalog"))
    }

    #[test]
    fn the_catalog_file_parses_and_every_registry_image_has_a_repo_digest() {
        let catalog = parse(CATALOG_TOML).unwrap();
        assert_eq!(catalog.local.len(), 2);
        assert_eq!(catalog.registry.len(), 29);
        for image in &catalog.registry {
            assert!(!image.repo_digests.is_empty(), "{:?}", image.repo_tags);
            assert!(image.size > 0, "{:?}", image.repo_tags);
        }
    }

    #[test]
    fn registry_references_name_one_image_each() {
        let mut seen = std::collections::HashMap::new();
        for image in registry_catalog() {
            for reference in image.references() {
                if let Some(other) = seen.insert(reference.clone(), image.id.clone()) {
                    panic!("{reference} names {other} and {}", image.id);
                }
            }
        }
    }

    #[test]
    fn local_images_are_the_reference_machines_imports() {
        let local = builtin_catalog();
        assert_eq!(local[0].id, BUSYBOX_ID);
        assert_eq!(local[1].id, PAUSE_ID);
        assert!(local.iter().all(|image| image.repo_digests.is_empty()));
    }

    #[test]
    fn pause_images_carry_their_published_digests_ids_and_sizes() {
        for (tag, digest, id, size) in [
            (
                "3.6",
                "3d380ca8864549e74af4b29c10f9cb0956236dfb01c40ca076fb6c37253234db",
                "6270bb605e12e581514ada5fd5b3216f727db55dc87d5889c790e4c760683fee",
                301773,
            ),
            (
                "3.9",
                "7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097",
                "e6f1816883972d4be47bd48879a08919b96afcd344132622e4d444987919323c",
                321520,
            ),
            (
                "3.10",
                "ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a",
                "873ed75102791e5b0b8a7fcd41606c92fcec98d56d05ead4ac5131650004c136",
                320368,
            ),
        ] {
            let image = registry_image(&format!("registry.k8s.io/pause:{tag}"));
            assert_eq!(image.id, format!("sha256:{id}"));
            assert_eq!(
                image.repo_digests,
                [format!("registry.k8s.io/pause@sha256:{digest}")]
            );
            assert_eq!(image.size, size);
            assert_eq!(image.config.entrypoint, ["/pause"]);
            assert_eq!(image.rootfs, Rootfs::Pause);
        }
    }

    #[test]
    fn one_entry_with_three_tags_is_one_image_with_one_repo_digest() {
        let image = registry_image("gcr.io/k8s-staging-cri-tools/test-image-tags:2");
        assert_eq!(
            image.repo_tags,
            [
                "gcr.io/k8s-staging-cri-tools/test-image-tags:1",
                "gcr.io/k8s-staging-cri-tools/test-image-tags:2",
                "gcr.io/k8s-staging-cri-tools/test-image-tags:3",
            ]
        );
        assert_eq!(image.repo_digests.len(), 1);
        assert!(
            image.repo_digests[0]
                .starts_with("gcr.io/k8s-staging-cri-tools/test-image-tags@sha256:")
        );
    }

    #[test]
    fn the_user_images_have_cri_tools_users() {
        for (name, user) in [
            ("test-image-user-uid", "1002"),
            ("test-image-user-username", "www-data"),
            ("test-image-user-uid-group", "1003:1004"),
            ("test-image-user-username-group", "www-data:1004"),
            ("test-image-predefined-group", "1000"),
        ] {
            let image = registry_image(&format!("gcr.io/k8s-staging-cri-tools/{name}"));
            assert_eq!(image.config.user, user, "{name}");
            assert_eq!(image.config.cmd, ["sh"], "{name}");
        }
    }

    #[test]
    fn a_digest_names_every_repository_of_the_entry() {
        let data = ImageData {
            reference: "a/x:1".into(),
            tags: vec!["a/x:2".into(), "quay.io/b/x:1".into()],
            digest: Some(format!("sha256:{}", "ab".repeat(32))),
            ..ImageData::default()
        };
        let image = data.build().unwrap();
        assert_eq!(
            image.repo_digests,
            [
                format!("docker.io/a/x@sha256:{}", "ab".repeat(32)),
                format!("quay.io/b/x@sha256:{}", "ab".repeat(32)),
            ]
        );
    }

    #[test]
    fn file_entries_are_exactly_one_kind() {
        let file = |contents: Option<&str>, target: Option<&str>, directory| FileData {
            path: "/x".into(),
            contents: contents.map(Into::into),
            target: target.map(Into::into),
            directory,
            mode: None,
            program: None,
        };
        let program = FileData {
            program: Some("nginx".into()),
            ..file(None, None, false)
        };
        assert_eq!(
            program.seed(),
            Ok(FileSeed::Program {
                path: "/x".into(),
                name: "nginx".into(),
                mode: 0o755
            })
        );
        assert!(
            FileData {
                program: Some("nginx".into()),
                ..file(Some("hi"), None, false)
            }
            .seed()
            .is_err()
        );
        assert_eq!(
            file(Some("hi"), None, false).seed(),
            Ok(FileSeed::File {
                path: "/x".into(),
                contents: Bytes::from_static(b"hi"),
                mode: 0o644
            })
        );
        assert_eq!(
            file(None, Some("/y"), false).seed(),
            Ok(FileSeed::Symlink {
                path: "/x".into(),
                target: "/y".into()
            })
        );
        assert_eq!(
            file(None, None, true).seed(),
            Ok(FileSeed::Dir {
                path: "/x".into(),
                mode: 0o755
            })
        );
        let both = "file \"/x\" needs exactly one of `contents`, `target`, `directory = true` or `program`";
        assert_eq!(file(Some("a"), Some("b"), false).seed(), Err(both.into()));
        assert_eq!(file(None, None, false).seed(), Err(both.into()));
        let program = FileData {
            program: Some("nnp".into()),
            mode: Some(0o4755),
            ..file(None, None, false)
        };
        assert_eq!(
            program.seed(),
            Ok(FileSeed::Program {
                path: "/x".into(),
                name: "nnp".into(),
                mode: 0o4755
            })
        );
        let program_and_contents = FileData {
            program: Some("nnp".into()),
            ..file(Some("a"), None, false)
        };
        assert_eq!(program_and_contents.seed(), Err(both.into()));
        let relative = FileData {
            path: "x".into(),
            directory: true,
            ..FileData::default()
        };
        assert_eq!(
            relative.seed(),
            Err("file path \"x\" is not absolute".into())
        );
    }

    #[test]
    fn a_broken_catalog_is_an_error_not_a_panic() {
        assert!(parse("[[images]]\nreference = 1\n").is_err());
        assert!(parse("[[images]]\nreference = \"UPPER:1\"\n").is_err());
        assert_eq!(parse("").unwrap().registry.len(), 0);
    }
}
