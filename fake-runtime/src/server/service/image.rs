//! `runtime.v1.ImageService` on top of the runtime core.

use cri_proto::v1::{
    ImageFsInfoRequest, ImageFsInfoResponse, ImageStatusRequest, ImageStatusResponse,
    ListImagesRequest, ListImagesResponse, PullImageRequest, PullImageResponse, RemoveImageRequest,
    RemoveImageResponse,
};
use tonic::{Request, Response, Status};

use super::Dispatcher;
use crate::toolkit::method::Method;

/// The tonic `ImageService` of the fake.
#[derive(Debug, Clone)]
pub(crate) struct ImageApi {
    dispatcher: Dispatcher,
}

impl ImageApi {
    /// An image service over `dispatcher`.
    pub(crate) fn new(dispatcher: Dispatcher) -> Self {
        Self { dispatcher }
    }
}

fn image_ref(spec: Option<&cri_proto::v1::ImageSpec>) -> String {
    spec.map(|s| s.image.clone()).unwrap_or_default()
}

#[tonic::async_trait]
impl cri_proto::ImageService for ImageApi {
    async fn list_images(
        &self,
        request: Request<ListImagesRequest>,
    ) -> Result<Response<ListImagesResponse>, Status> {
        self.dispatcher
            .call(Method::ListImages, request, |rt, _| async move {
                Ok(ListImagesResponse {
                    images: rt.list_images(),
                })
            })
            .await
    }

    async fn image_status(
        &self,
        request: Request<ImageStatusRequest>,
    ) -> Result<Response<ImageStatusResponse>, Status> {
        self.dispatcher
            .call(Method::ImageStatus, request, |rt, req| async move {
                rt.image_status(&image_ref(req.image.as_ref()), req.verbose)
            })
            .await
    }

    async fn pull_image(
        &self,
        request: Request<PullImageRequest>,
    ) -> Result<Response<PullImageResponse>, Status> {
        self.dispatcher
            .call(Method::PullImage, request, |rt, req| async move {
                let image_ref = rt.pull_image(&image_ref(req.image.as_ref())).await?;
                Ok(PullImageResponse { image_ref })
            })
            .await
    }

    async fn remove_image(
        &self,
        request: Request<RemoveImageRequest>,
    ) -> Result<Response<RemoveImageResponse>, Status> {
        self.dispatcher
            .call(Method::RemoveImage, request, |rt, req| async move {
                rt.remove_image(&image_ref(req.image.as_ref()))?;
                Ok(RemoveImageResponse {})
            })
            .await
    }

    async fn image_fs_info(
        &self,
        request: Request<ImageFsInfoRequest>,
    ) -> Result<Response<ImageFsInfoResponse>, Status> {
        self.dispatcher
            .call(Method::ImageFsInfo, request, |rt, _| async move {
                Ok(rt.image_fs_info())
            })
            .await
    }
}
