//! The image store: containerd's local image lookup, removal, tag moves and simulated pulls.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;

use super::reference::{NormalizedRef, ReferenceError, validate_digest};
use super::{DOCKER_DEFAULT_PATH, Image, Rootfs, registry_catalog, sha256_hex, sort_references};
use crate::core::profile::Profile;
use crate::go::go_quote;

/// The DNS server of the reference machine, which appears in offline pull errors
/// (`lookup registry-1.docker.io on 10.255.255.53:53: no such host`).
pub const REFERENCE_DNS_SERVER: &str = "10.255.255.53";

/// Docker Hub's registry host for the `docker.io` domain.
const DOCKER_HUB_REGISTRY_HOST: &str = "registry-1.docker.io";

/// Why a local image lookup failed (an absent image is not a failure: it is `Ok(None)`).
///
/// `Display` is containerd's text, `ambiguous digest string`; callers put their prefix in
/// front (see [`LookupError::image_status_message`]). Both cases are gRPC UNKNOWN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The reference was `""`.
    Empty,
    /// The reference is an id prefix that more than one image id starts with.
    Ambiguous(String),
}

impl LookupError {
    /// ImageStatus' and RemoveImage's message: `can not resolve "<ref>" locally: ambiguous digest string`.
    pub fn image_status_message(&self, reference: &str) -> String {
        format!("can not resolve {} locally: {self}", go_quote(reference))
    }

    /// CreateContainer's message: `failed to resolve image "<ref>": ambiguous digest string`.
    pub fn create_container_message(&self, reference: &str) -> String {
        format!("failed to resolve image {}: {self}", go_quote(reference))
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ambiguous digest string")
    }
}

impl std::error::Error for LookupError {}

/// How [`ImageStore::pull`] treats references that are not in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Every well-formed reference pulls. Images already present keep their id; images
    /// added to the store earlier (even if removed since), then the images of the
    /// [registry catalog](super::registry_catalog), are what their references pull; any
    /// other reference becomes a new image with a deterministic id (a sha256 of the
    /// normalised reference and the config), a repo digest, and a busybox root
    /// filesystem. Its config is busybox's (`PATH=/bin`, `Cmd=[sh]`, `WorkingDir=/`) for a
    /// repository named `busybox`, the pause image's (`Entrypoint=[/pause]`,
    /// [`Rootfs::Pause`]) for one named `pause`, and docker's default `PATH` with
    /// `Cmd=[sh]` otherwise.
    #[default]
    SimulateAny,
    /// Only images of the registry catalog, of [`ImageStore::new`] and of
    /// [`ImageStore::add`] pull; anything else fails with containerd's offline error.
    CatalogOnly,
    /// Exactly containerd 1.6 on the offline reference machine: every pull contacts the
    /// registry, so every pull fails, even for images that are present.
    Offline,
}

/// Why the registry could not be reached (the tail of an offline pull error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnreachableCause {
    /// `dial tcp: lookup <host> on <dns server>:53: no such host`.
    NoSuchHost {
        /// The registry host name, without port.
        host: String,
        /// The DNS server's address, without port.
        dns_server: String,
    },
    /// `dial tcp <address>: connect: connection refused` (loopback registries).
    ConnectionRefused {
        /// `ip:port`.
        address: String,
    },
    /// `dial tcp <address>: connect: network is unreachable` (other IP-literal registries;
    /// not measured, this is what an offline Linux host answers).
    NetworkUnreachable {
        /// `ip:port`.
        address: String,
    },
}

impl fmt::Display for UnreachableCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnreachableCause::NoSuchHost { host, dns_server } => {
                write!(
                    f,
                    "dial tcp: lookup {host} on {dns_server}:53: no such host"
                )
            }
            UnreachableCause::ConnectionRefused { address } => {
                write!(f, "dial tcp {address}: connect: connection refused")
            }
            UnreachableCause::NetworkUnreachable { address } => {
                write!(f, "dial tcp {address}: connect: network is unreachable")
            }
        }
    }
}

/// Why PullImage failed. `Display` is containerd's full message (gRPC UNKNOWN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullError {
    /// `failed to parse image reference "<ref>": <error>`.
    InvalidReference {
        /// The reference as the request gave it.
        reference: String,
        /// What is wrong with it.
        error: ReferenceError,
    },
    /// `failed to pull and unpack image "<ref>": failed to resolve reference "<ref>":
    /// failed to do request: Head "<url>": <cause>`.
    Unreachable {
        /// The normalised reference.
        reference: String,
        /// The manifest URL containerd asks first.
        url: String,
        /// Why the request failed.
        cause: UnreachableCause,
    },
}

impl PullError {
    /// The message of containerd of `profile`: 1.6 names the reference after `failed
    /// to resolve reference`, 2.3 writes `failed to resolve image` instead.
    pub fn describe(&self, profile: Profile) -> String {
        match self {
            PullError::InvalidReference { reference, error } => {
                format!(
                    "failed to parse image reference {}: {}",
                    go_quote(reference),
                    error.describe(profile)
                )
            }
            PullError::Unreachable {
                reference,
                url,
                cause,
            } => {
                let quoted = go_quote(reference);
                let resolve = if profile.dialect().pull_resolve_names_reference {
                    format!("failed to resolve reference {quoted}")
                } else {
                    "failed to resolve image".to_owned()
                };
                format!(
                    "failed to pull and unpack image {quoted}: {resolve}: failed to do request: \
                     Head {}: {cause}",
                    go_quote(url)
                )
            }
        }
    }
}

/// The default profile's wording.
impl fmt::Display for PullError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(Profile::default()))
    }
}

impl std::error::Error for PullError {}

/// The images a runtime has, with containerd's lookup rules.
///
/// Plain data: the caller wraps it in a lock.
#[derive(Debug, Clone)]
pub struct ImageStore {
    /// By id.
    images: BTreeMap<String, Image>,
    /// Normalised repo tag or repo digest → id.
    refs: HashMap<String, String>,
    /// Ids that also have an id reference (pulled images): they stay listed without any
    /// repo tag or digest, as in containerd.
    id_referenced: HashSet<String>,
    /// Every image given to the store, even after removal (a registry still has them):
    /// what their references pull, before the registry catalog.
    sources: Vec<Image>,
    /// The simulated registries: one image per manifest.
    registry: Vec<Image>,
    /// The DNS server named in offline pull errors.
    dns_server: String,
}

impl Default for ImageStore {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl ImageStore {
    /// A store holding `images` (added in order, see [`ImageStore::add`]).
    pub fn new(images: Vec<Image>) -> ImageStore {
        let mut store = ImageStore {
            images: BTreeMap::new(),
            refs: HashMap::new(),
            id_referenced: HashSet::new(),
            sources: Vec::new(),
            registry: registry_catalog(),
            dns_server: REFERENCE_DNS_SERVER.to_string(),
        };
        for image in images {
            store.add(image);
        }
        store
    }

    /// Sets the DNS server address that offline pull errors name
    /// (default [`REFERENCE_DNS_SERVER`]).
    pub fn set_dns_server(&mut self, address: impl Into<String>) {
        self.dns_server = address.into();
    }

    /// containerd's local lookup (ImageStatus, RemoveImage, CreateContainer): by normalised
    /// `name:tag` or `name@digest` (a repo digest), by full id, or by a unique hex prefix of
    /// an id of any length, with or without `sha256:`. An absent image, or an invalid
    /// reference like `UPPER:x`, is `Ok(None)`; `""` is [`LookupError::Empty`] and a prefix
    /// of several ids is [`LookupError::Ambiguous`].
    pub fn resolve(&self, reference: &str) -> Result<Option<&Image>, LookupError> {
        if reference.is_empty() {
            return Err(LookupError::Empty);
        }
        let id_or_prefix = if validate_digest(reference).is_ok() {
            reference.to_string()
        } else {
            NormalizedRef::parse(reference)
                .ok()
                .and_then(|named| self.refs.get(&named.to_string()).cloned())
                .unwrap_or_else(|| reference.to_string())
        };
        match self.lookup_id(&id_or_prefix) {
            Ok(Some(id)) => Ok(self.images.get(&id)),
            Ok(None) => Ok(None),
            Err(()) => Err(LookupError::Ambiguous(reference.to_string())),
        }
    }

    /// Every image, ordered by id (containerd's order is random).
    pub fn list(&self) -> Vec<&Image> {
        self.images.values().collect()
    }

    /// The stored image with this full id.
    pub fn stored(&self, id: &str) -> Option<&Image> {
        self.images.get(id)
    }

    /// The image with this full id, stored or, once removed, as remembered for later pulls:
    /// what a container created from it still knows of it (config and root filesystem).
    pub fn known(&self, id: &str) -> Option<&Image> {
        self.images
            .get(id)
            .or_else(|| self.sources.iter().rev().find(|image| image.id == id))
            .or_else(|| self.registry.iter().find(|image| image.id == id))
    }

    /// RemoveImage: removes the whole image (all tags and digests) that `reference`
    /// resolves to; `Ok(None)` if there is none.
    pub fn remove(&mut self, reference: &str) -> Result<Option<Image>, LookupError> {
        let Some(id) = self.resolve(reference)?.map(|image| image.id.clone()) else {
            return Ok(None);
        };
        self.id_referenced.remove(&id);
        let removed = self.images.remove(&id);
        if let Some(image) = &removed {
            for reference in image.references() {
                self.refs.remove(reference);
            }
        }
        Ok(removed)
    }

    /// Adds an image. A tag or digest reference already on another image moves to this
    /// one (an image left with no reference disappears, as in containerd); an image with
    /// the same id gets the new tags and digests merged into its own.
    pub fn add(&mut self, image: Image) {
        self.remember_source(&image);
        for reference in image.references() {
            let previous = self.refs.get(reference).cloned();
            if let Some(previous) = previous.filter(|previous| *previous != image.id) {
                self.detach(&previous, reference);
            }
            self.refs.insert(reference.clone(), image.id.clone());
        }
        match self.images.get_mut(&image.id) {
            Some(existing) => merge_references(existing, &image),
            None => {
                self.images.insert(image.id.clone(), image);
            }
        }
    }

    /// The first check of PullImage: `reference` must parse
    /// ([`PullError::InvalidReference`] otherwise), before any registry is contacted.
    pub fn check_pull_reference(reference: &str) -> Result<NormalizedRef, PullError> {
        NormalizedRef::parse(reference).map_err(|error| PullError::InvalidReference {
            reference: reference.to_string(),
            error,
        })
    }

    /// PullImage: the pulled image's id (`sha256:…`), which containerd returns as `image_ref`.
    pub fn pull(&mut self, reference: &str, policy: PullPolicy) -> Result<String, PullError> {
        let named = Self::check_pull_reference(reference)?;
        if policy == PullPolicy::Offline {
            return Err(self.unreachable(&named));
        }
        let key = named.to_string();
        if let Some(id) = self.refs.get(&key) {
            return Ok(id.clone());
        }
        let source = self
            .sources
            .iter()
            .rev()
            .chain(&self.registry)
            .find(|image| image.references().any(|r| *r == key))
            .cloned();
        let image = match (source, policy) {
            (Some(image), _) => as_pulled(image, &named),
            (None, PullPolicy::SimulateAny) => {
                simulated_image(&named).map_err(|error| PullError::InvalidReference {
                    reference: reference.to_string(),
                    error,
                })?
            }
            (None, _) => return Err(self.unreachable(&named)),
        };
        let id = image.id.clone();
        self.id_referenced.insert(id.clone());
        self.add(image);
        Ok(id)
    }

    /// ImageFsInfo: `(used_bytes, inodes_used)` of all unpacked images. The built-in
    /// catalog gives the reference machine's 2043904 bytes and 80 inodes.
    pub fn usage(&self) -> (u64, u64) {
        self.images
            .values()
            .map(|image| image.rootfs.unpacked_usage())
            .fold((0, 0), |(bytes, inodes), (b, i)| (bytes + b, inodes + i))
    }

    /// Records an image as fetchable by later pulls (merging with a known one of the same id).
    fn remember_source(&mut self, image: &Image) {
        match self.sources.iter_mut().find(|known| known.id == image.id) {
            Some(known) => merge_references(known, image),
            None => self.sources.push(image.clone()),
        }
    }

    /// Takes `reference` away from image `id`, dropping the image if nothing names it any more.
    fn detach(&mut self, id: &str, reference: &str) {
        let Some(image) = self.images.get_mut(id) else {
            return;
        };
        image.repo_tags.retain(|r| r != reference);
        image.repo_digests.retain(|r| r != reference);
        if image.repo_tags.is_empty()
            && image.repo_digests.is_empty()
            && !self.id_referenced.contains(id)
        {
            self.images.remove(id);
        }
    }

    /// containerd's digest-set lookup (`digestset.Lookup`) over the image ids: `Ok(None)`
    /// when nothing matches, `Err(())` when the prefix is ambiguous.
    fn lookup_id(&self, d: &str) -> Result<Option<String>, ()> {
        let mut entries: Vec<(&str, &str)> = self
            .images
            .keys()
            .map(|id| match id.split_once(':') {
                Some((algorithm, hex)) => (hex, algorithm),
                None => (id.as_str(), ""),
            })
            .collect();
        entries.sort_unstable();
        let (hex, algorithm) = match validate_digest(d) {
            Err(ReferenceError::DigestInvalidFormat) => (d, ""),
            _ => match d.split_once(':') {
                Some((algorithm, hex)) => (hex, algorithm),
                None => (d, ""),
            },
        };
        let index = entries.partition_point(|entry| *entry < (hex, algorithm));
        let Some(&(found_hex, found_algorithm)) = entries.get(index) else {
            return Ok(None);
        };
        if !short_match(found_algorithm, found_hex, algorithm, hex) {
            return Ok(None);
        }
        let exact = found_algorithm == algorithm && found_hex == hex;
        if !exact
            && let Some(&(next_hex, next_algorithm)) = entries.get(index + 1)
            && short_match(next_algorithm, next_hex, algorithm, hex)
        {
            return Err(());
        }
        Ok(Some(format!("{found_algorithm}:{found_hex}")))
    }

    /// The error a pull of `named` gets when the registry cannot be reached.
    fn unreachable(&self, named: &NormalizedRef) -> PullError {
        let domain = named.domain();
        let registry = if domain == "docker.io" {
            DOCKER_HUB_REGISTRY_HOST
        } else {
            domain
        };
        let (host, port) = match registry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        };
        let ip = host.parse::<Ipv4Addr>().ok();
        let loopback = host == "localhost" || ip.is_some_and(|ip| ip.is_loopback());
        let scheme = if loopback { "http" } else { "https" };
        let object = named.digest().or(named.tag()).unwrap_or_default();
        let url = format!(
            "{scheme}://{registry}/v2/{}/manifests/{object}",
            named.path()
        );
        let port = port.unwrap_or(if loopback { "80" } else { "443" });
        let cause = match ip {
            _ if host == "localhost" => UnreachableCause::ConnectionRefused {
                address: format!("127.0.0.1:{port}"),
            },
            Some(ip) if ip.is_loopback() => UnreachableCause::ConnectionRefused {
                address: format!("{ip}:{port}"),
            },
            Some(ip) => UnreachableCause::NetworkUnreachable {
                address: format!("{ip}:{port}"),
            },
            None => UnreachableCause::NoSuchHost {
                host: host.to_string(),
                dns_server: self.dns_server.clone(),
            },
        };
        PullError::Unreachable {
            reference: named.to_string(),
            url,
            cause,
        }
    }
}

/// go-digest's `checkShortMatch`: whether entry (`algorithm`, `hex`) matches the short form.
fn short_match(algorithm: &str, hex: &str, short_algorithm: &str, short_hex: &str) -> bool {
    let algorithm_ok = short_algorithm.is_empty() || algorithm == short_algorithm;
    if hex.len() == short_hex.len() {
        hex == short_hex && algorithm_ok
    } else {
        hex.starts_with(short_hex) && algorithm_ok
    }
}

/// `image` as a pull of `named` records it (containerd's `GetRepoDigestAndTag`): a pull
/// by digest gets that digest reference only; a pull by tag gets the tag and the repo
/// digest of the manifest it resolved to (the image's digests in the same repository).
fn as_pulled(mut image: Image, named: &NormalizedRef) -> Image {
    let key = named.to_string();
    if named.digest().is_some() {
        image.repo_tags.clear();
        image.repo_digests = vec![key];
    } else {
        let repository = format!("{}@", named.name());
        image.repo_tags = vec![key];
        image
            .repo_digests
            .retain(|digest| digest.starts_with(&repository));
    }
    image
}

/// Adds `from`'s tags and digests to `into`.
fn merge_references(into: &mut Image, from: &Image) {
    into.repo_tags.extend(from.repo_tags.iter().cloned());
    into.repo_digests.extend(from.repo_digests.iter().cloned());
    sort_references(&mut into.repo_tags);
    sort_references(&mut into.repo_digests);
}

/// The image a simulated registry serves for a reference nobody defined.
fn simulated_image(named: &NormalizedRef) -> Result<Image, ReferenceError> {
    let key = named.to_string();
    let manifest = match named.digest() {
        Some(digest) => digest.to_string(),
        None => format!(
            "sha256:{}",
            sha256_hex(format!("manifest\n{key}").as_bytes())
        ),
    };
    let builder = Image::builder(&key).digest_ref(format!("{}@{manifest}", named.name()));
    let repository = named.path().rsplit('/').next().unwrap_or_default();
    let builder = match repository {
        "pause" => builder.entrypoint(["/pause"]).rootfs(Rootfs::Pause),
        "busybox" => builder.env("PATH=/bin").cmd(["sh"]).working_dir("/"),
        _ => builder.env(DOCKER_DEFAULT_PATH).cmd(["sh"]),
    };
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::images::{BUSYBOX_ID, PAUSE_ID, builtin_catalog};

    /// busybox 1.36.1 as Docker Hub published it through 2024 (the registry catalog's).
    const REGISTRY_BUSYBOX_ID: &str =
        "sha256:65ad0d468eb1c558bf7f4e64e790f586e9eda649ee9f130cd0e835b292bbc5ac";

    const BUSYBOX_HEX: &str = "10157d048594c42d40d2a9acd4c84747a65d27249564ca66980799592e79d18b";

    fn catalog_store() -> ImageStore {
        ImageStore::new(builtin_catalog())
    }

    fn resolved_id(store: &ImageStore, reference: &str) -> Option<String> {
        match store.resolve(reference) {
            Ok(image) => image.map(|image| image.id.clone()),
            Err(error) => panic!("resolve({reference:?}) failed: {error}"),
        }
    }

    fn probe_rm() -> Image {
        Image::builder("probe-rm:1")
            .tag("probe-rm:alias")
            .digest_ref(format!("probe-rm@sha256:{}", "4e19".repeat(16)))
            .id(format!("sha256:{}", "3c83".repeat(16)))
            .build()
            .unwrap()
    }

    #[test]
    fn resolve_finds_busybox_by_every_name_containerd_accepts() {
        let store = catalog_store();
        for reference in [
            "docker.io/library/busybox:1.36",
            "busybox:1.36",
            "library/busybox:1.36",
            "docker.io/busybox:1.36",
            BUSYBOX_ID,
            BUSYBOX_HEX,
            "10157d048594",
            "sha256:10157d048594",
            "1",
            "sha256:1",
        ] {
            assert_eq!(
                resolved_id(&store, reference).as_deref(),
                Some(BUSYBOX_ID),
                "{reference:?}"
            );
        }
        assert_eq!(resolved_id(&store, "c").as_deref(), Some(PAUSE_ID));
        assert_eq!(
            resolved_id(&store, "registry.k8s.io/pause:3.6").as_deref(),
            Some(PAUSE_ID)
        );
    }

    #[test]
    fn resolve_of_absent_or_invalid_references_is_ok_none() {
        let store = catalog_store();
        for reference in [
            "docker.io/library/nope:1",
            "busybox",
            "busybox:latest",
            "pause:3.6",
            "UPPER:x",
            "2",
            "sha256:",
            "sha512:10157d048594",
            "10157D048594",
            "10157d048594x",
            &format!("{BUSYBOX_HEX}0"),
            &format!("sha256:{}", "ab".repeat(32)),
        ] {
            assert_eq!(resolved_id(&store, reference), None, "{reference:?}");
        }
    }

    #[test]
    fn resolve_by_repo_digest_works_but_not_by_the_manifest_digest_alone() {
        let store = ImageStore::new(vec![probe_rm()]);
        let manifest = format!("sha256:{}", "4e19".repeat(16));
        let id = probe_rm().id;
        assert_eq!(
            resolved_id(&store, &format!("probe-rm@{manifest}")),
            Some(id.clone())
        );
        assert_eq!(
            resolved_id(&store, &format!("probe-rm:zz@{manifest}")),
            Some(id.clone())
        );
        assert_eq!(
            resolved_id(&store, &format!("docker.io/library/probe-rm@{manifest}")),
            Some(id)
        );
        assert_eq!(resolved_id(&store, &manifest), None);
        assert_eq!(resolved_id(&store, &format!("busybox@{manifest}")), None);
    }

    #[test]
    fn resolve_of_an_empty_reference_is_an_error_with_containerds_text() {
        let store = catalog_store();
        assert_eq!(store.resolve(""), Err(LookupError::Empty));
        let error = LookupError::Empty;
        assert_eq!(error.to_string(), "ambiguous digest string");
        assert_eq!(
            error.image_status_message(""),
            "can not resolve \"\" locally: ambiguous digest string"
        );
        assert_eq!(
            error.create_container_message(""),
            "failed to resolve image \"\": ambiguous digest string"
        );
    }

    #[test]
    fn an_id_prefix_shared_by_two_images_is_ambiguous() {
        let mut store = catalog_store();
        let twin = Image::builder("twin:1")
            .id(format!("1{}", "a".repeat(63)))
            .build()
            .unwrap();
        store.add(twin.clone());
        assert_eq!(store.resolve("1"), Err(LookupError::Ambiguous("1".into())));
        assert_eq!(
            store.resolve("sha256:1"),
            Err(LookupError::Ambiguous("sha256:1".into()))
        );
        assert_eq!(resolved_id(&store, "10").as_deref(), Some(BUSYBOX_ID));
        assert_eq!(resolved_id(&store, "1a"), Some(twin.id));
        assert_eq!(
            LookupError::Ambiguous("1".into()).image_status_message("1"),
            "can not resolve \"1\" locally: ambiguous digest string"
        );
    }

    #[test]
    fn a_tag_that_is_also_a_hex_prefix_resolves_as_the_tag_first() {
        let mut store = catalog_store();
        let cafe = Image::builder("c:latest")
            .id("ab".repeat(32))
            .build()
            .unwrap();
        store.add(cafe.clone());
        // "c" is docker.io/library/c:latest, found before trying it as an id prefix.
        assert_eq!(resolved_id(&store, "c"), Some(cafe.id));
    }

    #[test]
    fn list_returns_every_image_ordered_by_id() {
        let mut store = catalog_store();
        store.add(probe_rm());
        let ids: Vec<&str> = store.list().iter().map(|image| image.id.as_str()).collect();
        assert_eq!(ids, [BUSYBOX_ID, probe_rm().id.as_str(), PAUSE_ID]);
    }

    #[test]
    fn remove_by_any_reference_removes_every_tag_and_digest() {
        for reference in [
            "probe-rm:alias",
            "probe-rm:1",
            "docker.io/library/probe-rm:1",
            "3c83",
            "sha256:3c833c83",
        ] {
            let mut store = catalog_store();
            store.add(probe_rm());
            let removed = store.remove(reference).unwrap().unwrap();
            assert_eq!(removed, probe_rm(), "{reference:?}");
            for other in [
                "probe-rm:1",
                "probe-rm:alias",
                &probe_rm().repo_digests[0],
                &probe_rm().id,
            ] {
                assert_eq!(
                    resolved_id(&store, other),
                    None,
                    "{other:?} after removing {reference:?}"
                );
            }
            assert_eq!(store.list().len(), 2);
        }
    }

    #[test]
    fn remove_of_an_absent_image_is_ok_none_and_empty_is_an_error() {
        let mut store = catalog_store();
        assert_eq!(store.remove("docker.io/library/nope:1"), Ok(None));
        assert_eq!(store.remove("busybox"), Ok(None));
        assert_eq!(store.remove(""), Err(LookupError::Empty));
        assert_eq!(store.list().len(), 2);
    }

    #[test]
    fn remove_with_a_one_character_prefix_deletes_the_matching_image() {
        let mut store = catalog_store();
        let removed = store.remove("c").unwrap().unwrap();
        assert_eq!(removed.repo_tags, ["registry.k8s.io/pause:3.6"]);
        assert_eq!(resolved_id(&store, "registry.k8s.io/pause:3.6"), None);
        assert_eq!(store.remove("c"), Ok(None));
    }

    #[test]
    fn add_moves_a_tag_from_another_image() {
        let mut store = catalog_store();
        let old = Image::builder("app:1").tag("app:stable").build().unwrap();
        store.add(old.clone());
        let new = Image::builder("app:2").tag("app:stable").build().unwrap();
        store.add(new.clone());
        assert_eq!(resolved_id(&store, "app:stable"), Some(new.id.clone()));
        assert_eq!(resolved_id(&store, "app:1"), Some(old.id.clone()));
        let old_now = store.resolve(&old.id).unwrap().unwrap();
        assert_eq!(old_now.repo_tags, ["docker.io/library/app:1"]);
        let new_now = store.resolve(&new.id).unwrap().unwrap();
        assert_eq!(
            new_now.repo_tags,
            ["docker.io/library/app:2", "docker.io/library/app:stable"]
        );
    }

    #[test]
    fn an_imported_image_that_loses_its_last_tag_disappears() {
        let mut store = catalog_store();
        let replacement = Image::builder("busybox:1.36")
            .id("ab".repeat(32))
            .build()
            .unwrap();
        store.add(replacement.clone());
        assert_eq!(resolved_id(&store, "busybox:1.36"), Some(replacement.id));
        assert_eq!(resolved_id(&store, BUSYBOX_ID), None);
        assert_eq!(store.list().len(), 2);
    }

    #[test]
    fn adding_an_image_with_a_known_id_merges_its_tags_and_digests() {
        let mut store = catalog_store();
        let alias = Image::builder("busybox:stable")
            .digest_ref(format!("busybox@sha256:{}", "12".repeat(32)))
            .id(BUSYBOX_ID)
            .build()
            .unwrap();
        store.add(alias);
        let busybox = store.resolve("busybox:stable").unwrap().unwrap();
        assert_eq!(busybox.id, BUSYBOX_ID);
        assert_eq!(
            busybox.repo_tags,
            [
                "docker.io/library/busybox:1.36",
                "docker.io/library/busybox:stable"
            ]
        );
        assert_eq!(
            busybox.repo_digests,
            [format!(
                "docker.io/library/busybox@sha256:{}",
                "12".repeat(32)
            )]
        );
        assert_eq!(busybox.size, 1029475);
        assert_eq!(store.list().len(), 2);
    }

    #[test]
    fn usage_of_the_catalog_is_the_reference_machines_image_fs_info() {
        assert_eq!(catalog_store().usage(), (2043904, 80));
        assert_eq!(ImageStore::new(Vec::new()).usage(), (0, 0));
    }

    /// containerd 1.6's text of an offline pull.
    fn offline_message(reference: &str, url: &str, host: &str) -> String {
        format!(
            "failed to pull and unpack image \"{reference}\": failed to resolve reference \
             \"{reference}\": failed to do request: Head \"{url}\": dial tcp: lookup {host} on \
             10.255.255.53:53: no such host"
        )
    }

    #[test]
    fn offline_pulls_fail_like_containerd_even_for_present_images() {
        let mut store = catalog_store();
        let pull = |store: &mut ImageStore, r: &str| {
            store
                .pull(r, PullPolicy::Offline)
                .unwrap_err()
                .describe(Profile::Containerd16)
        };
        assert_eq!(
            pull(&mut store, "docker.io/library/alpine:3.19"),
            offline_message(
                "docker.io/library/alpine:3.19",
                "https://registry-1.docker.io/v2/library/alpine/manifests/3.19",
                "registry-1.docker.io"
            )
        );
        assert_eq!(
            pull(&mut store, "busybox:1.36"),
            offline_message(
                "docker.io/library/busybox:1.36",
                "https://registry-1.docker.io/v2/library/busybox/manifests/1.36",
                "registry-1.docker.io"
            )
        );
        assert_eq!(
            pull(&mut store, "registry.k8s.io/pause:3.9"),
            offline_message(
                "registry.k8s.io/pause:3.9",
                "https://registry.k8s.io/v2/pause/manifests/3.9",
                "registry.k8s.io"
            )
        );
        assert_eq!(
            pull(&mut store, "localhost:5000/x:1"),
            "failed to pull and unpack image \"localhost:5000/x:1\": failed to resolve reference \
             \"localhost:5000/x:1\": failed to do request: Head \"http://localhost:5000/v2/x/manifests/1\": \
             dial tcp 127.0.0.1:5000: connect: connection refused"
        );
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            pull(&mut store, &format!("myorg/app:1@{digest}")),
            offline_message(
                &format!("docker.io/myorg/app@{digest}"),
                &format!("https://registry-1.docker.io/v2/myorg/app/manifests/{digest}"),
                "registry-1.docker.io"
            )
        );
        assert_eq!(store.list().len(), 2);
    }

    #[test]
    fn offline_pull_errors_for_other_hosts_follow_gos_dialer() {
        let mut store = catalog_store();
        store.set_dns_server("192.0.2.1");
        let error = store
            .pull("myreg.example:5000/team/app", PullPolicy::Offline)
            .unwrap_err();
        assert_eq!(
            error,
            PullError::Unreachable {
                reference: "myreg.example:5000/team/app:latest".into(),
                url: "https://myreg.example:5000/v2/team/app/manifests/latest".into(),
                cause: UnreachableCause::NoSuchHost {
                    host: "myreg.example".into(),
                    dns_server: "192.0.2.1".into()
                },
            }
        );
        let cause = |r: &str| match catalog_store().pull(r, PullPolicy::Offline) {
            Err(PullError::Unreachable { url, cause, .. }) => format!("{url} {cause}"),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            cause("localhost/x"),
            "http://localhost/v2/x/manifests/latest dial tcp 127.0.0.1:80: connect: connection refused"
        );
        assert_eq!(
            cause("127.0.0.2:5000/x:1"),
            "http://127.0.0.2:5000/v2/x/manifests/1 dial tcp 127.0.0.2:5000: connect: connection refused"
        );
        assert_eq!(
            cause("10.1.2.3/x:1"),
            "https://10.1.2.3/v2/x/manifests/1 dial tcp 10.1.2.3:443: connect: network is unreachable"
        );
    }

    #[test]
    fn invalid_pull_references_fail_with_the_parse_error_under_every_policy() {
        for policy in [
            PullPolicy::SimulateAny,
            PullPolicy::CatalogOnly,
            PullPolicy::Offline,
        ] {
            let mut store = catalog_store();
            let upper = store.pull("UPPER/Case:1", policy).unwrap_err();
            assert_eq!(
                upper.describe(Profile::Containerd16),
                "failed to parse image reference \"UPPER/Case:1\": invalid reference format: \
                 repository name must be lowercase"
            );
            assert_eq!(
                upper.to_string(),
                "failed to parse image reference \"UPPER/Case:1\": invalid reference format: \
                 repository name (Case) must be lowercase"
            );
            assert_eq!(
                store.pull("", policy).unwrap_err().to_string(),
                "failed to parse image reference \"\": invalid reference format"
            );
            assert_eq!(
                store.pull(BUSYBOX_HEX, policy).unwrap_err().to_string(),
                format!(
                    "failed to parse image reference \"{BUSYBOX_HEX}\": invalid repository name \
                     ({BUSYBOX_HEX}), cannot specify 64-byte hexadecimal strings"
                )
            );
            assert_eq!(
                store.pull("a\"b", policy).unwrap_err().to_string(),
                "failed to parse image reference \"a\\\"b\": invalid reference format"
            );
        }
    }

    #[test]
    fn catalog_only_pulls_catalog_and_added_images_even_after_removal() {
        let mut store = ImageStore::new(vec![probe_rm()]);
        // Not added here: the registry's busybox 1.36, not the reference machine's import.
        assert_eq!(
            store.pull("busybox:1.36", PullPolicy::CatalogOnly),
            Ok(REGISTRY_BUSYBOX_ID.into())
        );
        assert_eq!(
            store.pull("probe-rm:alias", PullPolicy::CatalogOnly),
            Ok(probe_rm().id)
        );
        store.remove("probe-rm:1").unwrap();
        assert_eq!(
            store.pull("probe-rm:alias", PullPolicy::CatalogOnly),
            Ok(probe_rm().id)
        );
        let restored = store.resolve("probe-rm:alias").unwrap().unwrap();
        assert_eq!(restored.repo_tags, ["docker.io/library/probe-rm:alias"]);
        assert_eq!(resolved_id(&store, "probe-rm:1"), None);
        assert_eq!(
            store
                .pull("alpine:3.18", PullPolicy::CatalogOnly)
                .unwrap_err()
                .describe(Profile::Containerd16),
            offline_message(
                "docker.io/library/alpine:3.18",
                "https://registry-1.docker.io/v2/library/alpine/manifests/3.18",
                "registry-1.docker.io"
            )
        );
    }

    #[test]
    fn a_removed_image_pulled_again_keeps_its_id_and_stays_listed_without_tags() {
        let mut store = catalog_store();
        store.remove("busybox:1.36").unwrap();
        assert_eq!(
            store.pull("busybox:1.36", PullPolicy::SimulateAny),
            Ok(BUSYBOX_ID.into())
        );
        // A pulled image has an id reference: moving its only tag away leaves it listed.
        let replacement = Image::builder("busybox:1.36")
            .id("ab".repeat(32))
            .build()
            .unwrap();
        store.add(replacement);
        let busybox = store.resolve(BUSYBOX_ID).unwrap().unwrap();
        assert!(busybox.repo_tags.is_empty());
        assert_eq!(store.list().len(), 3);
    }

    #[test]
    fn simulate_any_pulls_any_reference_with_a_deterministic_id_and_a_repo_digest() {
        let mut store = catalog_store();
        let id = store.pull("alpine:3.18", PullPolicy::SimulateAny).unwrap();
        let again = catalog_store().pull("docker.io/library/alpine:3.18", PullPolicy::SimulateAny);
        assert_eq!(again, Ok(id.clone()));
        assert_eq!(
            store.pull("alpine:3.18", PullPolicy::SimulateAny),
            Ok(id.clone())
        );
        let alpine = store.resolve("alpine:3.18").unwrap().unwrap().clone();
        assert_eq!(alpine.id, id);
        assert_eq!(alpine.repo_tags, ["docker.io/library/alpine:3.18"]);
        assert_eq!(alpine.repo_digests.len(), 1);
        assert!(alpine.repo_digests[0].starts_with("docker.io/library/alpine@sha256:"));
        assert_eq!(
            alpine.repo_digests[0].len(),
            "docker.io/library/alpine@sha256:".len() + 64
        );
        assert_eq!(alpine.config.env, [DOCKER_DEFAULT_PATH]);
        assert_eq!(alpine.config.cmd, ["sh"]);
        assert_eq!(alpine.rootfs, Rootfs::Busybox);
        assert_eq!(
            resolved_id(&store, &alpine.repo_digests[0]),
            Some(id.clone())
        );
        assert_ne!(store.pull("alpine:3.17", PullPolicy::SimulateAny), Ok(id));
        assert_eq!(store.list().len(), 4);
    }

    #[test]
    fn simulate_any_gives_busybox_and_pause_names_their_configs() {
        let mut store = ImageStore::new(Vec::new());
        let busybox = store.pull("busybox:1.30", PullPolicy::SimulateAny).unwrap();
        let busybox = store.resolve(&busybox).unwrap().unwrap().clone();
        assert_eq!(busybox.repo_tags, ["docker.io/library/busybox:1.30"]);
        assert_eq!(busybox.config.env, ["PATH=/bin"]);
        assert_eq!(busybox.config.working_dir, "/");
        let pause = store
            .pull("registry.k8s.io/pause:3.8", PullPolicy::SimulateAny)
            .unwrap();
        let pause = store.resolve(&pause).unwrap().unwrap().clone();
        assert_eq!(pause.config.entrypoint, ["/pause"]);
        assert_eq!(pause.rootfs, Rootfs::Pause);
    }

    #[test]
    fn simulate_any_pull_by_digest_uses_that_digest_as_the_repo_digest() {
        let mut store = catalog_store();
        let digest = format!("sha256:{}", "ef".repeat(32));
        let id = store
            .pull(
                &format!("quay.io/org/tool:v1@{digest}"),
                PullPolicy::SimulateAny,
            )
            .unwrap();
        let image = store.resolve(&id).unwrap().unwrap();
        assert!(image.repo_tags.is_empty());
        assert_eq!(image.repo_digests, [format!("quay.io/org/tool@{digest}")]);
    }

    #[test]
    fn a_registry_pull_by_tag_records_the_tag_and_the_repo_digest_of_its_manifest() {
        let mut store = ImageStore::new(Vec::new());
        let id = store
            .pull("registry.k8s.io/pause:3.9", PullPolicy::CatalogOnly)
            .unwrap();
        assert_eq!(
            id,
            "sha256:e6f1816883972d4be47bd48879a08919b96afcd344132622e4d444987919323c"
        );
        let pause = store.resolve(&id).unwrap().unwrap();
        assert_eq!(pause.repo_tags, ["registry.k8s.io/pause:3.9"]);
        assert_eq!(
            pause.repo_digests,
            [
                "registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097"
            ]
        );
        assert_eq!(pause.size, 321520);
        assert_eq!(pause.config.user, "65535:65535");
    }

    #[test]
    fn a_registry_pull_by_digest_records_only_the_digest() {
        let mut store = ImageStore::new(Vec::new());
        let reference = "gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:\
                         9700f9a2f5bf2c45f2f605a0bd3bce7cf37420ec9d3ed50ac2758413308766bf";
        let id = store.pull(reference, PullPolicy::CatalogOnly).unwrap();
        let image = store.resolve(&id).unwrap().unwrap();
        assert!(image.repo_tags.is_empty(), "{:?}", image.repo_tags);
        assert_eq!(image.repo_digests, [reference]);
        assert_eq!(resolved_id(&store, reference), Some(id));
    }

    #[test]
    fn three_tags_of_one_registry_image_pull_to_one_id_with_three_tags() {
        let mut store = ImageStore::new(Vec::new());
        let ids: Vec<String> = ["1", "2", "3"]
            .iter()
            .map(|tag| {
                store
                    .pull(
                        &format!("gcr.io/k8s-staging-cri-tools/test-image-tags:{tag}"),
                        PullPolicy::CatalogOnly,
                    )
                    .unwrap()
            })
            .collect();
        assert_eq!(ids[0], ids[1]);
        assert_eq!(ids[1], ids[2]);
        assert_eq!(store.list().len(), 1);
        let image = store.resolve(&ids[0]).unwrap().unwrap();
        assert_eq!(
            image.repo_tags,
            [
                "gcr.io/k8s-staging-cri-tools/test-image-tags:1",
                "gcr.io/k8s-staging-cri-tools/test-image-tags:2",
                "gcr.io/k8s-staging-cri-tools/test-image-tags:3",
            ]
        );
        assert_eq!(image.repo_digests.len(), 1);
    }

    #[test]
    fn a_local_import_shadows_the_registrys_image_of_the_same_tag() {
        let mut store = catalog_store();
        store.remove("busybox:1.36").unwrap();
        assert_eq!(
            store.pull("busybox:1.36", PullPolicy::CatalogOnly),
            Ok(BUSYBOX_ID.into())
        );
        // Another tag of the registry's busybox image is the registry's.
        assert_eq!(
            store.pull("busybox:1.36.1", PullPolicy::CatalogOnly),
            Ok(REGISTRY_BUSYBOX_ID.into())
        );
    }

    #[test]
    fn known_finds_registry_images_that_were_never_pulled() {
        let store = ImageStore::new(Vec::new());
        assert_eq!(
            store.known(REGISTRY_BUSYBOX_ID).map(|image| image.size),
            Some(2160406)
        );
        assert_eq!(store.known("sha256:nope"), None);
    }
}
