//! Small, deterministic OCI image archives, built without a registry or external tools.
//!
//! The conformance suite runs against a real containerd that cannot reach any registry, so
//! it brings its own images: a busybox image and a sandbox ("pause") image, both made from
//! a statically linked busybox binary. This module writes them as OCI image-layout tar
//! archives (`oci-layout`, `index.json`, `blobs/sha256/...`) that
//! `ctr -n k8s.io images import FILE` accepts and tags with the image's reference.
//!
//! Everything is done in Rust: the layer tar (`tar`), its gzip compression (`flate2`) and
//! the sha256 digests (`sha2`). The output is deterministic: entries are sorted by path,
//! every mtime is 0, owners are root, and JSON is written with a fixed key order. The same
//! inputs therefore always give the same image id (the config digest), manifest digest and
//! archive bytes.
//!
//! ```no_run
//! use cri_conformance::oci::OciImage;
//!
//! # fn main() -> Result<(), cri_conformance::oci::OciError> {
//! let busybox = std::fs::read("/bin/busybox")?;
//! let image = OciImage::new("docker.io/library/hello:1")
//!     .env(["PATH=/bin"])
//!     .cmd(["sh"])
//!     .working_dir("/")
//!     .add_file("bin/busybox", 0o755, busybox)
//!     .add_symlink("bin/sh", "busybox")
//!     .write_archive("/tmp/hello.tar")?;
//! println!("{} {} bytes", image.id(), image.size());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Media type of an OCI image index (`index.json`).
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Media type of an OCI image manifest.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image config.
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Media type of a gzip-compressed OCI layer.
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Index annotation containerd reads the full image name from on import.
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// Standard OCI index annotation holding the tag of a manifest.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Reference of the busybox test image, as the reference measurements name it.
pub const BUSYBOX_IMAGE: &str = "docker.io/library/busybox:1.36";
/// Reference of the sandbox image; containerd's `sandbox_image` setting must name it.
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.6";
/// Where Debian's `busybox-static` package installs its binary.
pub const DEFAULT_BUSYBOX: &str = "/bin/busybox";
/// File name of the busybox image archive written by [`write_test_images`].
pub const BUSYBOX_ARCHIVE: &str = "busybox.tar";
/// File name of the sandbox image archive written by [`write_test_images`].
pub const PAUSE_ARCHIVE: &str = "pause.tar";

/// `/etc/passwd` of the test images: the same file the fake's busybox image has, so both
/// runtimes resolve users alike.
pub use cri_fake::process::rootfs::BUSYBOX_PASSWD as ETC_PASSWD;

/// `/etc/group` of the test images: the fake's busybox image's (like the busybox image's,
/// except that root is a member of no supplementary group, so `id` prints
/// `groups=0(root)` as in the reference runs).
pub use cri_fake::process::rootfs::BUSYBOX_GROUP as ETC_GROUP;

/// Entrypoint of the sandbox image: a shell that sleeps forever and exits 0 on SIGTERM or
/// SIGINT. The trap matters: as PID 1 of the pod, a process without a handler ignores
/// SIGTERM, while the real pause binary exits on it.
pub const PAUSE_ENTRYPOINT: [&str; 3] = [
    "/bin/sh",
    "-c",
    "trap 'exit 0' TERM INT; sleep infinity & wait",
];

/// What can go wrong while building or writing an image.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// A path given to `add_*` is not a clean relative path inside the image.
    #[error("invalid path {0:?} in image: must be non-empty, without `..` or `.` components")]
    InvalidPath(String),
    /// Reading an input or writing the archive failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// `busybox --list` could not be run or printed something unusable.
    #[error("cannot list the applets of {path}: {reason}")]
    Busybox {
        /// The busybox binary that was asked.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// One file system entry of the image's single layer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir { mode: u32 },
    File { mode: u32, data: Vec<u8> },
    Symlink { target: String },
}

/// A single-layer OCI image under construction.
///
/// Paths are relative to the image root (a leading `/` is accepted and dropped). Parent
/// directories are created implicitly with mode `0755`; adding the same path twice keeps
/// the last entry. Nothing touches the disk until [`OciImage::build`] or
/// [`OciImage::write_archive`].
#[derive(Debug, Clone)]
pub struct OciImage {
    reference: String,
    architecture: String,
    os: String,
    env: Vec<String>,
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    working_dir: Option<String>,
    user: Option<String>,
    stop_signal: Option<String>,
    entries: BTreeMap<String, Entry>,
    invalid_paths: Vec<String>,
}

impl OciImage {
    /// Starts an empty image named `reference`.
    ///
    /// The reference is normalised the way docker and containerd do it (`busybox:1.36`
    /// becomes `docker.io/library/busybox:1.36`, a missing tag becomes `:latest`), because
    /// containerd's CRI plugin only finds images under their normalised name. The platform
    /// defaults to `linux` and the architecture of this machine in OCI spelling.
    pub fn new(reference: impl Into<String>) -> Self {
        Self {
            reference: normalize_reference(&reference.into()),
            architecture: oci_architecture(std::env::consts::ARCH).to_owned(),
            os: "linux".to_owned(),
            env: Vec::new(),
            entrypoint: None,
            cmd: None,
            working_dir: None,
            user: None,
            stop_signal: None,
            entries: BTreeMap::new(),
            invalid_paths: Vec::new(),
        }
    }

    /// The normalised reference the archive tags the image with.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// Sets the config's architecture (OCI spelling: `amd64`, `arm64`, ...).
    pub fn architecture(mut self, architecture: impl Into<String>) -> Self {
        self.architecture = architecture.into();
        self
    }

    /// Sets the config's `Env` (`NAME=value` strings), replacing any earlier value.
    pub fn env<I, S>(mut self, env: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.env = env.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the config's `Entrypoint`.
    pub fn entrypoint<I, S>(mut self, entrypoint: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.entrypoint = Some(entrypoint.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the config's `Cmd`.
    pub fn cmd<I, S>(mut self, cmd: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cmd = Some(cmd.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the config's `WorkingDir`.
    pub fn working_dir(mut self, dir: impl Into<String>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// Sets the config's `User`.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets the config's `StopSignal` (e.g. `SIGINT`).
    pub fn stop_signal(mut self, signal: impl Into<String>) -> Self {
        self.stop_signal = Some(signal.into());
        self
    }

    /// Adds a directory with the given permission bits (e.g. `0o1777` for `/tmp`).
    pub fn add_dir(mut self, path: &str, mode: u32) -> Self {
        self.insert(path, Entry::Dir { mode });
        self
    }

    /// Adds a regular file with the given permission bits and contents.
    pub fn add_file(mut self, path: &str, mode: u32, data: impl Into<Vec<u8>>) -> Self {
        let data = data.into();
        self.insert(path, Entry::File { mode, data });
        self
    }

    /// Adds a symbolic link at `path` pointing to `target` (stored verbatim).
    pub fn add_symlink(mut self, path: &str, target: &str) -> Self {
        let target = target.to_owned();
        self.insert(path, Entry::Symlink { target });
        self
    }

    fn insert(&mut self, path: &str, entry: Entry) {
        let Some(clean) = clean_path(path) else {
            self.invalid_paths.push(path.to_owned());
            return;
        };
        let mut parent = String::new();
        let components: Vec<&str> = clean.split('/').collect();
        for component in &components[..components.len() - 1] {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(component);
            self.entries
                .entry(parent.clone())
                .or_insert(Entry::Dir { mode: 0o755 });
        }
        self.entries.insert(clean, entry);
    }

    /// Builds the layer, config, manifest and index in memory.
    ///
    /// # Errors
    ///
    /// [`OciError::InvalidPath`] if any `add_*` call was given an unusable path.
    pub fn build(&self) -> Result<BuiltImage, OciError> {
        if let Some(path) = self.invalid_paths.first() {
            return Err(OciError::InvalidPath(path.clone()));
        }
        let layer_tar = self.layer_tar()?;
        let diff_id = sha256_digest(&layer_tar);
        let layer = Blob::new(gzip(&layer_tar)?);

        let config = ImageConfigJson {
            architecture: &self.architecture,
            os: &self.os,
            config: ContainerConfigJson {
                user: self.user.as_deref(),
                env: &self.env,
                entrypoint: self.entrypoint.as_deref(),
                cmd: self.cmd.as_deref(),
                working_dir: self.working_dir.as_deref(),
                stop_signal: self.stop_signal.as_deref(),
            },
            rootfs: RootFsJson {
                kind: "layers",
                diff_ids: vec![diff_id.clone()],
            },
        };
        let config = Blob::new(to_json(&config)?);

        let manifest = ManifestJson {
            schema_version: 2,
            media_type: MEDIA_TYPE_MANIFEST,
            config: DescriptorJson::of(MEDIA_TYPE_CONFIG, &config),
            layers: vec![DescriptorJson::of(MEDIA_TYPE_LAYER_GZIP, &layer)],
        };
        let manifest = Blob::new(to_json(&manifest)?);

        let mut annotations = BTreeMap::new();
        annotations.insert(ANNOTATION_IMAGE_NAME, self.reference.clone());
        annotations.insert(ANNOTATION_REF_NAME, reference_tag(&self.reference));
        let index = IndexJson {
            schema_version: 2,
            media_type: MEDIA_TYPE_INDEX,
            manifests: vec![IndexEntryJson {
                descriptor: DescriptorJson::of(MEDIA_TYPE_MANIFEST, &manifest),
                annotations,
                platform: PlatformJson {
                    architecture: &self.architecture,
                    os: &self.os,
                },
            }],
        };
        let index = to_json(&index)?;

        Ok(BuiltImage {
            reference: self.reference.clone(),
            diff_id,
            layer,
            config,
            manifest,
            index,
        })
    }

    /// Builds the image and writes it as an OCI image-layout tar archive at `path`.
    ///
    /// # Errors
    ///
    /// [`OciError::InvalidPath`] for a bad entry path, [`OciError::Io`] if writing fails.
    pub fn write_archive(&self, path: impl AsRef<Path>) -> Result<BuiltImage, OciError> {
        let built = self.build()?;
        built.write_archive(path)?;
        Ok(built)
    }

    /// The uncompressed layer: a ustar archive of every entry in path order.
    fn layer_tar(&self) -> io::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, entry) in &self.entries {
            match entry {
                Entry::Dir { mode } => {
                    let mut header = tar_header(tar::EntryType::Directory, *mode, 0);
                    builder.append_data(&mut header, format!("{path}/"), io::empty())?;
                }
                Entry::File { mode, data } => {
                    let mut header = tar_header(tar::EntryType::Regular, *mode, data.len());
                    builder.append_data(&mut header, path, data.as_slice())?;
                }
                Entry::Symlink { target } => {
                    let mut header = tar_header(tar::EntryType::Symlink, 0o777, 0);
                    builder.append_link(&mut header, path, target)?;
                }
            }
        }
        builder.into_inner()
    }
}

/// A content-addressed blob: its bytes and `sha256:<hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:` followed by 64 lowercase hex digits.
    pub digest: String,
    /// The blob's bytes.
    pub bytes: Vec<u8>,
}

impl Blob {
    fn new(bytes: Vec<u8>) -> Self {
        Self {
            digest: sha256_digest(&bytes),
            bytes,
        }
    }

    /// The 64 hex digits of the digest, as used for the blob's file name.
    pub fn hex(&self) -> &str {
        self.digest.strip_prefix("sha256:").unwrap_or(&self.digest)
    }

    /// The blob's size in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

/// A fully built image: every blob plus the `index.json` that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// The normalised reference the image is tagged with.
    pub reference: String,
    /// Digest of the uncompressed layer (the config's `rootfs.diff_ids[0]`).
    pub diff_id: String,
    /// The gzip-compressed layer.
    pub layer: Blob,
    /// The image config JSON.
    pub config: Blob,
    /// The image manifest JSON.
    pub manifest: Blob,
    /// The `index.json` bytes.
    pub index: Vec<u8>,
}

impl BuiltImage {
    /// The image id as containerd's CRI plugin reports it: the config digest.
    pub fn id(&self) -> &str {
        &self.config.digest
    }

    /// The size CRI `ListImages` reports for the image: manifest + config + layer bytes.
    pub fn size(&self) -> u64 {
        self.manifest.size() + self.config.size() + self.layer.size()
    }

    /// The OCI image-layout tar archive, in memory.
    ///
    /// # Errors
    ///
    /// Only if the tar writer fails, which it does not for in-memory output.
    pub fn archive_bytes(&self) -> io::Result<Vec<u8>> {
        let mut files: BTreeMap<String, &[u8]> = BTreeMap::new();
        for blob in [&self.layer, &self.config, &self.manifest] {
            files.insert(format!("blobs/sha256/{}", blob.hex()), &blob.bytes);
        }
        files.insert("index.json".to_owned(), &self.index);
        files.insert("oci-layout".to_owned(), OCI_LAYOUT);

        let mut builder = tar::Builder::new(Vec::new());
        for dir in ["blobs/", "blobs/sha256/"] {
            let mut header = tar_header(tar::EntryType::Directory, 0o755, 0);
            builder.append_data(&mut header, dir, io::empty())?;
        }
        for (path, data) in files {
            let mut header = tar_header(tar::EntryType::Regular, 0o644, data.len());
            builder.append_data(&mut header, path, data)?;
        }
        builder.into_inner()
    }

    /// Writes the OCI image-layout tar archive to `path` (replacing any file there).
    ///
    /// # Errors
    ///
    /// Any I/O error from creating or writing the file.
    pub fn write_archive(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let bytes = self.archive_bytes()?;
        let mut file = fs::File::create(path)?;
        file.write_all(&bytes)?;
        file.sync_all()
    }
}

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The applet names `busybox --list` prints, sorted and deduplicated.
///
/// # Errors
///
/// [`OciError::Busybox`] if the binary cannot be run, fails, or prints a name that is not
/// a plain file name.
pub fn busybox_applets(busybox: &Path) -> Result<Vec<String>, OciError> {
    let fail = |reason: String| OciError::Busybox {
        path: busybox.to_owned(),
        reason,
    };
    let output = Command::new(busybox)
        .arg("--list")
        .output()
        .map_err(|e| fail(e.to_string()))?;
    if !output.status.success() {
        return Err(fail(format!("`--list` exited with {}", output.status)));
    }
    let text = String::from_utf8(output.stdout).map_err(|e| fail(e.to_string()))?;
    let mut applets: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = applets
        .iter()
        .find(|name| name.contains('/') || *name == "." || *name == "..")
    {
        return Err(fail(format!("unusable applet name {bad:?}")));
    }
    if applets.is_empty() {
        return Err(fail("it printed no applets".to_owned()));
    }
    applets.sort();
    applets.dedup();
    Ok(applets)
}

/// A root file system made of one busybox binary: `/bin/busybox`, a `/bin/<applet>`
/// symlink to it for every applet, `/etc/passwd`, `/etc/group` and the usual empty
/// directories (`/tmp` is `1777`).
pub fn busybox_rootfs(reference: &str, busybox: &[u8], applets: &[String]) -> OciImage {
    let mut image = OciImage::new(reference)
        .add_dir("bin", 0o755)
        .add_file("bin/busybox", 0o755, busybox.to_vec())
        .add_dir("dev", 0o755)
        .add_dir("etc", 0o755)
        .add_file("etc/passwd", 0o644, ETC_PASSWD)
        .add_file("etc/group", 0o644, ETC_GROUP)
        .add_dir("home", 0o755)
        .add_dir("proc", 0o555)
        .add_dir("root", 0o700)
        .add_dir("sys", 0o555)
        .add_dir("tmp", 0o1777)
        .add_dir("usr", 0o755)
        .add_dir("var", 0o755);
    for applet in applets.iter().filter(|a| *a != "busybox") {
        image = image.add_symlink(&format!("bin/{applet}"), "busybox");
    }
    image
}

/// The busybox test image ([`BUSYBOX_IMAGE`]): [`busybox_rootfs`] with `Env=["PATH=/bin"]`,
/// `Cmd=["sh"]` and `WorkingDir="/"`.
pub fn busybox_image(busybox: &[u8], applets: &[String]) -> OciImage {
    busybox_rootfs(BUSYBOX_IMAGE, busybox, applets)
        .env(["PATH=/bin"])
        .cmd(["sh"])
        .working_dir("/")
}

/// The sandbox image ([`PAUSE_IMAGE`]): [`busybox_rootfs`] with `Env=["PATH=/bin"]`,
/// `Entrypoint=`[`PAUSE_ENTRYPOINT`] and `WorkingDir="/"`.
pub fn pause_image(busybox: &[u8], applets: &[String]) -> OciImage {
    busybox_rootfs(PAUSE_IMAGE, busybox, applets)
        .env(["PATH=/bin"])
        .entrypoint(PAUSE_ENTRYPOINT)
        .working_dir("/")
}

/// An image archive written by [`write_test_images`].
#[derive(Debug, Clone)]
pub struct WrittenImage {
    /// Where the archive was written.
    pub path: PathBuf,
    /// The image it holds.
    pub image: BuiltImage,
}

/// Builds the busybox and sandbox test images from the busybox binary at `busybox` and
/// writes them to `out_dir` as [`BUSYBOX_ARCHIVE`] and [`PAUSE_ARCHIVE`] (creating the
/// directory if needed). Returns them in that order.
///
/// # Errors
///
/// [`OciError::Busybox`] if the applet list cannot be read, [`OciError::Io`] on I/O errors.
pub fn write_test_images(busybox: &Path, out_dir: &Path) -> Result<Vec<WrittenImage>, OciError> {
    let applets = busybox_applets(busybox)?;
    let binary = fs::read(busybox)?;
    fs::create_dir_all(out_dir)?;
    let mut written = Vec::new();
    for (file, image) in [
        (BUSYBOX_ARCHIVE, busybox_image(&binary, &applets)),
        (PAUSE_ARCHIVE, pause_image(&binary, &applets)),
    ] {
        let path = out_dir.join(file);
        let image = image.write_archive(&path)?;
        written.push(WrittenImage { path, image });
    }
    Ok(written)
}

/// Normalises an image reference like docker and containerd: a name without a registry
/// gets `docker.io/`, a single-component docker.io name gets `library/`, and a reference
/// with neither tag nor digest gets `:latest`.
pub fn normalize_reference(reference: &str) -> String {
    let (first, rest) = match reference.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => ("docker.io".to_owned(), reference.to_owned()),
    };
    let rest = if first == "docker.io" && !rest.contains('/') {
        format!("library/{rest}")
    } else {
        rest
    };
    let last = rest.rsplit('/').next().unwrap_or(&rest);
    let suffix = if last.contains(':') || last.contains('@') {
        ""
    } else {
        ":latest"
    };
    format!("{first}/{rest}{suffix}")
}

/// The tag of a normalised reference (`1.36` for `docker.io/library/busybox:1.36`), or the
/// whole reference when it has no tag.
fn reference_tag(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let name = last.split('@').next().unwrap_or(last);
    match name.split_once(':') {
        Some((_, tag)) => tag.to_owned(),
        None => reference.to_owned(),
    }
}

/// OCI spelling of a Rust target architecture.
fn oci_architecture(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// A relative path without empty, `.` or `..` components; a leading `/` is dropped.
fn clean_path(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches('/').trim_end_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    let ok = trimmed
        .split('/')
        .all(|c| !c.is_empty() && c != "." && c != "..");
    ok.then(|| trimmed.to_owned())
}

/// A ustar header owned by root with mtime 0.
fn tar_header(kind: tar::EntryType, mode: u32, size: usize) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(size as u64);
    header
}

/// Gzip with a fixed header (mtime 0, no file name), so equal input gives equal output.
fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data)?;
    encoder.finish()
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    let hash = Sha256::digest(data);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for byte in hash.iter() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn to_json<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(io::Error::other)
}

#[derive(Serialize)]
struct ImageConfigJson<'a> {
    architecture: &'a str,
    os: &'a str,
    config: ContainerConfigJson<'a>,
    rootfs: RootFsJson,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerConfigJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    env: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cmd: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    working_dir: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_signal: Option<&'a str>,
}

#[derive(Serialize)]
struct RootFsJson {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<String>,
}

#[derive(Serialize)]
struct DescriptorJson {
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    digest: String,
    size: u64,
}

impl DescriptorJson {
    fn of(media_type: &'static str, blob: &Blob) -> Self {
        Self {
            media_type,
            digest: blob.digest.clone(),
            size: blob.size(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestJson {
    schema_version: u32,
    media_type: &'static str,
    config: DescriptorJson,
    layers: Vec<DescriptorJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexJson<'a> {
    schema_version: u32,
    media_type: &'static str,
    manifests: Vec<IndexEntryJson<'a>>,
}

#[derive(Serialize)]
struct IndexEntryJson<'a> {
    #[serde(flatten)]
    descriptor: DescriptorJson,
    annotations: BTreeMap<&'static str, String>,
    platform: PlatformJson<'a>,
}

#[derive(Serialize)]
struct PlatformJson<'a> {
    architecture: &'a str,
    os: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample() -> OciImage {
        OciImage::new("docker.io/library/sample:1")
            .architecture("amd64")
            .env(["PATH=/bin"])
            .cmd(["sh"])
            .working_dir("/")
            .add_file("bin/busybox", 0o755, b"#!fake busybox\n".to_vec())
            .add_symlink("bin/sh", "busybox")
            .add_symlink("bin/echo", "busybox")
            .add_file("/etc/passwd", 0o644, ETC_PASSWD)
            .add_dir("tmp", 0o1777)
    }

    fn json(bytes: &[u8]) -> serde_json::Value {
        match serde_json::from_slice(bytes) {
            Ok(value) => value,
            Err(e) => panic!("not JSON: {e}: {}", String::from_utf8_lossy(bytes)),
        }
    }

    /// (path, entry type, mode, link target, contents) of every entry of a tar archive.
    type TarListing = Vec<(String, tar::EntryType, u32, Option<String>, Vec<u8>)>;

    /// A borrowed row of a [`TarListing`].
    type EntrySummary<'a> = (&'a str, tar::EntryType, u32, Option<&'a str>, &'a [u8]);

    fn list_tar(bytes: &[u8]) -> TarListing {
        let mut archive = tar::Archive::new(bytes);
        let mut out = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let link = entry
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned());
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            assert_eq!(header.mtime().unwrap(), 0, "mtime of {path}");
            assert_eq!(header.uid().unwrap(), 0, "uid of {path}");
            assert_eq!(header.gid().unwrap(), 0, "gid of {path}");
            out.push((
                path,
                header.entry_type(),
                header.mode().unwrap(),
                link,
                data,
            ));
        }
        out
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn building_twice_gives_identical_digests_and_archive_bytes() {
        let a = sample().build().unwrap();
        let b = sample().build().unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(a.manifest.digest, b.manifest.digest);
        assert_eq!(a.layer.digest, b.layer.digest);
        assert_eq!(a.archive_bytes().unwrap(), b.archive_bytes().unwrap());
    }

    #[test]
    fn insertion_order_does_not_change_the_image_id() {
        let forward = OciImage::new("x:1")
            .add_file("a/one", 0o644, b"1".to_vec())
            .add_file("b/two", 0o644, b"2".to_vec())
            .build()
            .unwrap();
        let backward = OciImage::new("x:1")
            .add_file("b/two", 0o644, b"2".to_vec())
            .add_file("a/one", 0o644, b"1".to_vec())
            .build()
            .unwrap();
        assert_eq!(forward.id(), backward.id());
    }

    #[test]
    fn changing_a_file_changes_the_image_id() {
        let a = sample().build().unwrap();
        let b = sample()
            .add_file("etc/passwd", 0o644, b"root:x:0:0::/:/bin/sh\n".to_vec())
            .build()
            .unwrap();
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn digests_are_the_sha256_of_the_blob_bytes() {
        let image = sample().build().unwrap();
        // sha256 of the empty string, a known vector.
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for blob in [&image.layer, &image.config, &image.manifest] {
            assert_eq!(blob.digest, sha256_digest(&blob.bytes));
            assert_eq!(blob.hex().len(), 64);
        }
        assert_eq!(image.diff_id, sha256_digest(&gunzip(&image.layer.bytes)));
        assert_eq!(
            image.size(),
            (image.manifest.bytes.len() + image.config.bytes.len() + image.layer.bytes.len())
                as u64
        );
    }

    #[test]
    fn layer_holds_sorted_entries_with_implicit_parents_and_exact_modes() {
        let image = sample().build().unwrap();
        let entries = list_tar(&gunzip(&image.layer.bytes));
        let summary: Vec<EntrySummary> = entries
            .iter()
            .map(|(p, t, m, l, d)| (p.as_str(), *t, *m, l.as_deref(), d.as_slice()))
            .collect();
        use tar::EntryType::{Directory, Regular, Symlink};
        assert_eq!(
            summary,
            vec![
                ("bin/", Directory, 0o755, None, &b""[..]),
                (
                    "bin/busybox",
                    Regular,
                    0o755,
                    None,
                    &b"#!fake busybox\n"[..]
                ),
                ("bin/echo", Symlink, 0o777, Some("busybox"), &b""[..]),
                ("bin/sh", Symlink, 0o777, Some("busybox"), &b""[..]),
                ("etc/", Directory, 0o755, None, &b""[..]),
                ("etc/passwd", Regular, 0o644, None, ETC_PASSWD.as_bytes()),
                ("tmp/", Directory, 0o1777, None, &b""[..]),
            ]
        );
    }

    #[test]
    fn archive_is_an_oci_layout_with_every_blob_named_by_its_digest() {
        let image = sample().build().unwrap();
        let entries = list_tar(&image.archive_bytes().unwrap());
        let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        let mut blobs = [
            format!("blobs/sha256/{}", image.layer.hex()),
            format!("blobs/sha256/{}", image.config.hex()),
            format!("blobs/sha256/{}", image.manifest.hex()),
        ];
        blobs.sort();
        let mut expected = vec!["blobs/", "blobs/sha256/"];
        expected.extend(blobs.iter().map(String::as_str));
        expected.extend(["index.json", "oci-layout"]);
        assert_eq!(paths, expected);
        for (path, _, _, _, data) in &entries {
            if let Some(hex) = path.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
                assert_eq!(sha256_digest(data), format!("sha256:{hex}"));
            }
        }
        let layout = &entries[entries.len() - 1].4;
        assert_eq!(layout.as_slice(), br#"{"imageLayoutVersion":"1.0.0"}"#);
        assert_eq!(entries[entries.len() - 2].4, image.index);
    }

    #[test]
    fn index_names_the_manifest_with_containerd_and_oci_annotations() {
        let image = sample().build().unwrap();
        let index = json(&image.index);
        assert_eq!(
            index,
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [{
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": image.manifest.digest,
                    "size": image.manifest.size(),
                    "annotations": {
                        "io.containerd.image.name": "docker.io/library/sample:1",
                        "org.opencontainers.image.ref.name": "1",
                    },
                    "platform": {"architecture": "amd64", "os": "linux"},
                }],
            })
        );
    }

    #[test]
    fn manifest_points_at_the_config_and_the_gzip_layer() {
        let image = sample().build().unwrap();
        assert_eq!(
            json(&image.manifest.bytes),
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": image.config.digest,
                    "size": image.config.size(),
                },
                "layers": [{
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": image.layer.digest,
                    "size": image.layer.size(),
                }],
            })
        );
    }

    #[test]
    fn config_is_written_with_a_fixed_key_order() {
        let image = sample().build().unwrap();
        let expected = format!(
            concat!(
                r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["PATH=/bin"],"#,
                r#""Cmd":["sh"],"WorkingDir":"/"}},"rootfs":{{"type":"layers","#,
                r#""diff_ids":["{}"]}}}}"#
            ),
            image.diff_id
        );
        assert_eq!(
            String::from_utf8(image.config.bytes.clone()).unwrap(),
            expected
        );
    }

    #[test]
    fn config_carries_entrypoint_user_and_stop_signal_when_set() {
        let image = OciImage::new("p:1")
            .architecture("arm64")
            .entrypoint(["/bin/sleep", "infinity"])
            .user("1000")
            .stop_signal("SIGINT")
            .build()
            .unwrap();
        let config = json(&image.config.bytes);
        assert_eq!(config["architecture"], "arm64");
        assert_eq!(
            config["config"],
            serde_json::json!({
                "User": "1000",
                "Entrypoint": ["/bin/sleep", "infinity"],
                "StopSignal": "SIGINT",
            })
        );
    }

    #[test]
    fn paths_with_dot_dot_or_empty_components_are_rejected_at_build() {
        for bad in ["../etc/x", "a//b", "./a", "/", ""] {
            let result = OciImage::new("x:1")
                .add_file(bad, 0o644, Vec::new())
                .build();
            match result {
                Err(OciError::InvalidPath(path)) => assert_eq!(path, bad),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn references_are_normalised_like_docker() {
        let cases = [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("library/busybox:1.36", "docker.io/library/busybox:1.36"),
            ("docker.io/busybox:1.36", "docker.io/library/busybox:1.36"),
            ("me/tool:2", "docker.io/me/tool:2"),
            ("registry.k8s.io/pause:3.6", "registry.k8s.io/pause:3.6"),
            ("localhost:5000/x", "localhost:5000/x:latest"),
            ("localhost/x:1", "localhost/x:1"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_reference(input), expected, "{input}");
        }
        assert_eq!(OciImage::new("busybox:1.36").reference(), BUSYBOX_IMAGE);
    }

    #[test]
    fn the_ref_name_annotation_is_the_tag() {
        assert_eq!(reference_tag("docker.io/library/busybox:1.36"), "1.36");
        assert_eq!(reference_tag("localhost:5000/x:1"), "1");
        assert_eq!(
            reference_tag("localhost:5000/x@sha256:00"),
            "localhost:5000/x@sha256:00"
        );
    }

    #[test]
    fn test_images_link_every_applet_and_differ_only_in_name_and_config() {
        let applets: Vec<String> = ["busybox", "cat", "sh", "sleep"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let busybox = busybox_image(b"BB", &applets)
            .architecture("amd64")
            .build()
            .unwrap();
        let pause = pause_image(b"BB", &applets)
            .architecture("amd64")
            .build()
            .unwrap();
        assert_eq!(busybox.reference, "docker.io/library/busybox:1.36");
        assert_eq!(pause.reference, "registry.k8s.io/pause:3.6");
        assert_eq!(busybox.layer, pause.layer);
        assert_ne!(busybox.id(), pause.id());

        let entries = list_tar(&gunzip(&busybox.layer.bytes));
        let links: Vec<(&str, Option<&str>)> = entries
            .iter()
            .filter(|e| e.1 == tar::EntryType::Symlink)
            .map(|e| (e.0.as_str(), e.3.as_deref()))
            .collect();
        assert_eq!(
            links,
            vec![
                ("bin/cat", Some("busybox")),
                ("bin/sh", Some("busybox")),
                ("bin/sleep", Some("busybox")),
            ]
        );
        let group = entries.iter().find(|e| e.0 == "etc/group").unwrap();
        assert!(group.4.starts_with(b"root:x:0:\n"));
        assert!(group.4.windows(12).any(|w| w == b"\nwheel:x:10:"));

        let config = json(&pause.config.bytes);
        assert_eq!(
            config["config"],
            serde_json::json!({
                "Env": ["PATH=/bin"],
                "Entrypoint": ["/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep infinity & wait"],
                "WorkingDir": "/",
            })
        );
    }

    #[test]
    fn writing_the_archive_stores_exactly_the_archive_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img.tar");
        let image = sample().write_archive(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), image.archive_bytes().unwrap());
    }

    #[test]
    fn a_missing_busybox_binary_is_a_busybox_error() {
        let path = Path::new("/nonexistent/busybox");
        match busybox_applets(path) {
            Err(OciError::Busybox { path: p, .. }) => assert_eq!(p, path),
            other => panic!("got {other:?}"),
        }
    }
}
