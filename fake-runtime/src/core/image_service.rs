//! The image service RPCs on top of the [`ImageStore`]:
//! ListImages, ImageStatus, PullImage, RemoveImage and ImageFsInfo (reference §1, §8).

use std::collections::HashMap;

use cri_proto::v1::{
    FilesystemIdentifier, FilesystemUsage, ImageFsInfoResponse, ImageStatusResponse, Int64Value,
    UInt64Value,
};

use crate::core::error::{CriError, go_quote};
use crate::core::images::{Image, ImageStore, LookupError as ImageLookupError, PullError};
use crate::core::runtime::{Runtime, now_ns};

/// The CRI view of an image; `pinned` as the release reports it (see
/// [`Runtime::image_pinned`]).
pub(crate) fn to_proto_image(image: &Image, pinned: bool) -> cri_proto::v1::Image {
    let user = image.config.user.split(':').next().unwrap_or_default();
    let (uid, username) = match user.parse::<i64>() {
        Ok(uid) => (Some(Int64Value { value: uid }), String::new()),
        Err(_) => (None, user.to_owned()),
    };
    cri_proto::v1::Image {
        id: image.id.clone(),
        repo_tags: image.repo_tags.clone(),
        repo_digests: image.repo_digests.clone(),
        size: image.size,
        uid,
        username,
        pinned,
        ..Default::default()
    }
}

fn local_resolve_error(reference: &str, error: &ImageLookupError) -> CriError {
    CriError::unknown(format!(
        "can not resolve {} locally: {error}",
        go_quote(reference)
    ))
}

impl Runtime {
    /// Whether ListImages and ImageStatus report `image` as pinned: in containerd 2.3 an
    /// image is pinned when one of its references is the configured sandbox image
    /// (`pinned_images.sandbox`, compared as written; the CRI plugin labels it so on pull
    /// and import); containerd 1.6 never pins.
    pub fn image_pinned(&self, image: &Image) -> bool {
        self.dialect().pins_sandbox_image
            && image
                .references()
                .any(|reference| *reference == self.settings.sandbox_image)
    }

    /// The CRI view of `image` with this runtime's pinning.
    fn proto_image(&self, image: &Image) -> cri_proto::v1::Image {
        to_proto_image(image, self.image_pinned(image))
    }

    /// ListImages (containerd ignores the filter).
    pub fn list_images(&self) -> Vec<cri_proto::v1::Image> {
        self.store.read(|s| {
            s.images
                .list()
                .into_iter()
                .map(|image| self.proto_image(image))
                .collect()
        })
    }

    /// ImageStatus: an absent image is a success with no image.
    pub fn image_status(
        &self,
        reference: &str,
        verbose: bool,
    ) -> Result<ImageStatusResponse, CriError> {
        let image = self
            .store
            .read(|s| s.images.resolve(reference).map(|i| i.cloned()))
            .map_err(|e| local_resolve_error(reference, &e))?;
        let mut info = HashMap::new();
        if let (Some(image), true) = (&image, verbose) {
            info.insert("info".to_owned(), image.verbose_info());
        }
        Ok(ImageStatusResponse {
            image: image.as_ref().map(|image| self.proto_image(image)),
            info,
        })
    }

    /// PullImage: returns the image id as `image_ref`.
    ///
    /// A reference that does not parse fails at once (containerd parses it before it
    /// contacts a registry); any other pull takes [`Settings::pull_delay`](crate::Settings::pull_delay)
    /// and then lands in the store in one step. When the client's deadline passes first,
    /// the gRPC server drops this future during the wait, so nothing is half pulled.
    pub async fn pull_image(&self, reference: &str) -> Result<String, CriError> {
        let describe = |e: PullError| CriError::unknown(e.describe(self.settings.profile));
        ImageStore::check_pull_reference(reference).map_err(describe)?;
        if !self.settings.pull_delay.is_zero() {
            tokio::time::sleep(self.settings.pull_delay).await;
        }
        let policy = self.settings.pull_policy;
        self.store
            .write(|s| s.images.pull(reference, policy))
            .map_err(describe)
    }

    /// RemoveImage: removes every tag of the image any reference names; absent is OK.
    pub fn remove_image(&self, reference: &str) -> Result<(), CriError> {
        self.store
            .write(|s| s.images.remove(reference).map(|_| ()))
            .map_err(|e| local_resolve_error(reference, &e))
    }

    /// ImageFsInfo: one image filesystem, the snapshotter's directory.
    pub fn image_fs_info(&self) -> ImageFsInfoResponse {
        let (used_bytes, inodes_used) = self.store.read(|s| s.images.usage());
        ImageFsInfoResponse {
            image_filesystems: vec![FilesystemUsage {
                timestamp: now_ns(),
                fs_id: Some(FilesystemIdentifier {
                    mountpoint: format!(
                        "{}/io.containerd.snapshotter.v1.overlayfs",
                        self.settings.containerd_root
                    ),
                }),
                used_bytes: Some(UInt64Value { value: used_bytes }),
                inodes_used: Some(UInt64Value { value: inodes_used }),
            }],
            container_filesystems: Vec::new(),
        }
    }
}
