//! Images: list, pull, status, remove.

use cri_proto::v1::{
    Image, ImageFilter, ImageSpec, ImageStatusRequest, ImageStatusResponse, ListImagesRequest,
    PullImageRequest, RemoveImageRequest,
};

use crate::client::Client;
use crate::error::{Error, Ids, Result, Rpc, require_id};

impl Client {
    /// Lists images; `filter` is passed to the runtime as `ImageFilter.image.image`
    /// (containerd 1.6 ignores it and lists everything).
    pub async fn list_images(&self, filter: Option<&str>) -> Result<Vec<Image>> {
        let filter = filter.map(|image| ImageFilter {
            image: Some(ImageSpec {
                image: image.to_string(),
                ..ImageSpec::default()
            }),
        });
        let response = self
            .image_call(
                Rpc::ListImages,
                Ids::none(),
                Some(self.settings.call_timeout),
                ListImagesRequest { filter },
                |mut c, r| async move { c.list_images(r).await },
            )
            .await?;
        Ok(response.images)
    }

    /// Pulls an image and returns the runtime's image ref (containerd: the image id).
    /// The deadline is the client's pull timeout.
    pub async fn pull_image(&self, request: PullImageRequest) -> Result<String> {
        let ids = Ids::image(image_of(request.image.as_ref()));
        let response = self
            .image_call(
                Rpc::PullImage,
                ids.clone(),
                Some(self.settings.pull_timeout),
                request,
                |mut c, r| async move { c.pull_image(r).await },
            )
            .await?;
        if response.image_ref.is_empty() {
            return Err(Error::MissingField {
                rpc: Rpc::PullImage,
                ids,
                field: "image_ref",
            });
        }
        Ok(response.image_ref)
    }

    /// An image's status. An absent image is not an error: `image` is unset in the answer.
    pub async fn image_status(&self, request: ImageStatusRequest) -> Result<ImageStatusResponse> {
        let ids = Ids::image(image_of(request.image.as_ref()));
        self.image_call(
            Rpc::ImageStatus,
            ids,
            Some(self.settings.call_timeout),
            request,
            |mut c, r| async move { c.image_status(r).await },
        )
        .await
    }

    /// Removes an image by reference or id (the runtime removes every tag of it). An empty
    /// reference is an [`Error::InvalidArgument`], sent nowhere.
    pub async fn remove_image(&self, reference: &str) -> Result<()> {
        require_id("remove_image", "image reference", reference)?;
        self.image_call(
            Rpc::RemoveImage,
            Ids::image(reference),
            Some(self.settings.call_timeout),
            RemoveImageRequest {
                image: Some(ImageSpec {
                    image: reference.to_string(),
                    ..ImageSpec::default()
                }),
            },
            |mut c, r| async move { c.remove_image(r).await },
        )
        .await
        .map(drop)
    }
}

fn image_of(spec: Option<&ImageSpec>) -> String {
    spec.map(|spec| spec.image.clone()).unwrap_or_default()
}
