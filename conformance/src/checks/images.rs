//! The image service (reference §8).
//!
//! The shared test and sandbox images are never removed: removal checks pull an image
//! of their own, and only on targets that can pull.

use cri_proto::v1::*;
use tonic::{Code, Status};

use super::{is_hex_id, json_keys, parse_json};
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::Ctx;

pub(super) fn checks() -> Vec<Check> {
    checks![Area::Images =>
        list_images_has_the_test_image_with_a_sha256_id_and_a_size,
        list_images_ignores_its_filter,
        image_status_accepts_short_docker_names,
        image_status_accepts_id_prefixes_with_and_without_sha256,
        image_status_of_an_absent_image_is_ok_without_an_image,
        image_status_of_a_bare_name_means_latest,
        image_status_of_an_invalid_reference_is_ok_without_an_image,
        image_status_with_an_empty_reference_is_an_ambiguous_digest_string,
        verbose_image_status_has_one_info_key_with_chain_id_and_image_spec,
        remove_image_of_an_absent_image_succeeds_twice,
        remove_image_with_an_empty_reference_is_an_ambiguous_digest_string,
        pull_image_with_an_uppercase_repository_is_an_invalid_reference,
        pull_image_with_an_empty_reference_is_an_invalid_reference,
        pull_image_offline_fails_to_resolve_the_registry,
        pulled_image_is_removed_by_an_id_prefix_with_all_its_names,
    ]
}

fn spec(image: &str) -> Option<ImageSpec> {
    Some(ImageSpec {
        image: image.into(),
        ..Default::default()
    })
}

async fn list_images(ctx: &mut Ctx, filter: Option<ImageFilter>) -> Result<Vec<Image>, Status> {
    ctx.img
        .list_images(ListImagesRequest { filter })
        .await
        .map(|r| r.into_inner().images)
}

async fn pull(ctx: &mut Ctx, image: &str) -> Result<String, Status> {
    ctx.img
        .pull_image(PullImageRequest {
            image: spec(image),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().image_ref)
}

async fn remove_image(ctx: &mut Ctx, image: &str) -> Result<(), Status> {
    ctx.img
        .remove_image(RemoveImageRequest { image: spec(image) })
        .await
        .map(|_| ())
}

/// The id ImageStatus resolves `reference` to (`None`: absent).
async fn resolved_id(ctx: &mut Ctx, reference: &str) -> Result<Option<String>, Failure> {
    let status = ctx.image_status(reference, false).await;
    let status = ctx.expect_ok(&format!("ImageStatus {reference}"), status)?;
    Ok(status.image.map(|i| i.id))
}

async fn list_images_has_the_test_image_with_a_sha256_id_and_a_size(ctx: &mut Ctx) -> CheckResult {
    let test_image = ctx.target.test_image.clone();
    let images = list_images(ctx, None).await;
    let images = ctx.expect_ok("ListImages", images)?;
    let Some(image) = images
        .into_iter()
        .find(|i| i.repo_tags.contains(&test_image))
    else {
        return Err(Failure::Mismatch(format!(
            "ListImages does not list {test_image}"
        )));
    };
    let id_ok = image.id.strip_prefix("sha256:").is_some_and(is_hex_id);
    ctx.expect_eq("id is sha256:<64 hex>", id_ok, true)?;
    ctx.expect_eq("size > 0", image.size > 0, true)?;
    ctx.expect_eq("repo_tags", image.repo_tags, vec![test_image])?;
    ctx.expect_eq(
        "repo_digests of an imported image",
        image.repo_digests,
        Vec::<String>::new(),
    )?;
    ctx.expect_eq(
        "uid, username, pinned",
        (image.uid, image.username, image.pinned),
        (None, String::new(), false),
    )
}

async fn list_images_ignores_its_filter(ctx: &mut Ctx) -> CheckResult {
    let test_image = ctx.target.test_image.clone();
    let sandbox_image = ctx.target.sandbox_image.clone();
    let filter = ImageFilter {
        image: spec("docker.io/library/nope:1"),
    };
    let images = list_images(ctx, Some(filter)).await;
    let images = ctx.expect_ok("ListImages filter=nope:1", images)?;
    let has = |name: &String| images.iter().any(|i| i.repo_tags.contains(name));
    let found = (has(&test_image), has(&sandbox_image));
    ctx.expect_eq(
        "lists the test and sandbox images anyway",
        found,
        (true, true),
    )
}

async fn image_status_accepts_short_docker_names(ctx: &mut Ctx) -> CheckResult {
    let test_image = ctx.target.test_image.clone();
    let Some(short) = test_image
        .strip_prefix("docker.io/library/")
        .map(str::to_owned)
    else {
        return Err(Failure::Skip(format!(
            "{test_image} has no short docker name"
        )));
    };
    let id = ctx.test_image_id().await?;
    for name in [
        short.clone(),
        format!("library/{short}"),
        format!("docker.io/{short}"),
        test_image,
    ] {
        let resolved = resolved_id(ctx, &name).await?;
        ctx.expect_eq(
            &format!("ImageStatus {name}: id"),
            resolved.as_deref(),
            Some(id.as_str()),
        )?;
    }
    Ok(())
}

async fn image_status_accepts_id_prefixes_with_and_without_sha256(ctx: &mut Ctx) -> CheckResult {
    let id = ctx.test_image_id().await?;
    let hex = id.trim_start_matches("sha256:").to_owned();
    let short = hex[..12].to_owned();
    for (what, reference) in [
        ("sha256:<64 hex>", id.clone()),
        ("<64 hex>", hex.clone()),
        ("<12 hex>", short.clone()),
        ("sha256:<12 hex>", format!("sha256:{short}")),
    ] {
        let status = ctx.image_status(&reference, false).await;
        let status = ctx.expect_ok(&format!("ImageStatus {what}"), status)?;
        ctx.expect_eq(
            &format!("ImageStatus {what}: id"),
            status.image.map(|i| i.id),
            Some(id.clone()),
        )?;
    }
    Ok(())
}

async fn image_status_of_an_absent_image_is_ok_without_an_image(ctx: &mut Ctx) -> CheckResult {
    let status = ctx.image_status("docker.io/library/nope:1", true).await;
    let status = ctx.expect_ok("ImageStatus nope:1", status)?;
    ctx.expect_eq("image, info", (status.image, status.info.len()), (None, 0))?;
    let sandbox_image = ctx.target.sandbox_image.clone();
    if let Some(short) = sandbox_image.strip_prefix("registry.k8s.io/") {
        // A short name normalises to docker.io/library/<short>, which is absent.
        let resolved = resolved_id(ctx, short).await?;
        ctx.expect_eq(&format!("ImageStatus {short}"), resolved, None)?;
    }
    Ok(())
}

async fn image_status_of_a_bare_name_means_latest(ctx: &mut Ctx) -> CheckResult {
    let test_image = ctx.target.test_image.clone();
    let Some(repository) = test_image
        .strip_prefix("docker.io/library/")
        .and_then(|s| s.split(':').next())
    else {
        return Err(Failure::Skip(format!(
            "{test_image} has no short docker name"
        )));
    };
    let repository = repository.to_owned();
    let images = list_images(ctx, None)
        .await
        .map_err(|s| crate::ctx::unexpected("ListImages", &s))?;
    let latest = format!("docker.io/library/{repository}:latest");
    if images.iter().any(|i| i.repo_tags.contains(&latest)) {
        return Err(Failure::Skip(format!("{latest} is present on the target")));
    }
    let resolved = resolved_id(ctx, &repository).await?;
    ctx.expect_eq(&format!("ImageStatus {repository}"), resolved, None)
}

async fn image_status_of_an_invalid_reference_is_ok_without_an_image(ctx: &mut Ctx) -> CheckResult {
    let resolved = resolved_id(ctx, "UPPER:x").await?;
    ctx.expect_eq("ImageStatus UPPER:x", resolved, None)
}

async fn image_status_with_an_empty_reference_is_an_ambiguous_digest_string(
    ctx: &mut Ctx,
) -> CheckResult {
    let status = ctx.image_status("", false).await;
    ctx.expect_error(
        "ImageStatus \"\"",
        status,
        Code::Unknown,
        "can not resolve \"\" locally: ambiguous digest string",
    )?;
    let status = ctx
        .img
        .image_status(ImageStatusRequest {
            image: None,
            verbose: false,
        })
        .await;
    ctx.expect_error(
        "ImageStatus without an image spec",
        status,
        Code::Unknown,
        "can not resolve \"\" locally: ambiguous digest string",
    )
}

async fn verbose_image_status_has_one_info_key_with_chain_id_and_image_spec(
    ctx: &mut Ctx,
) -> CheckResult {
    let test_image = ctx.target.test_image.clone();
    let status = ctx.image_status(&test_image, true).await;
    let status = ctx.expect_ok("ImageStatus verbose", status)?;
    let keys: Vec<&str> = status.info.keys().map(String::as_str).collect();
    ctx.expect_eq("info keys", keys, vec!["info"])?;
    let info = parse_json(
        "info",
        status
            .info
            .get("info")
            .map(String::as_str)
            .unwrap_or_default(),
    )?;
    ctx.expect_eq(
        "info JSON keys",
        json_keys(&info),
        vec!["chainID".to_owned(), "imageSpec".to_owned()],
    )?;
    let chain_ok = info["chainID"]
        .as_str()
        .and_then(|c| c.strip_prefix("sha256:"))
        .is_some_and(is_hex_id);
    ctx.expect_eq("chainID is sha256:<64 hex>", chain_ok, true)?;
    let config = &info["imageSpec"]["config"];
    ctx.expect_eq(
        "imageSpec.config.Env",
        config["Env"].clone(),
        serde_json::json!(["PATH=/bin"]),
    )?;
    ctx.expect_eq(
        "imageSpec.config.Cmd",
        config["Cmd"].clone(),
        serde_json::json!(["sh"]),
    )?;
    ctx.expect_eq(
        "imageSpec.rootfs.type",
        info["imageSpec"]["rootfs"]["type"].as_str(),
        Some("layers"),
    )
}

async fn remove_image_of_an_absent_image_succeeds_twice(ctx: &mut Ctx) -> CheckResult {
    for n in 1..=2 {
        let remove = remove_image(ctx, "docker.io/library/nope:1").await;
        ctx.expect_ok(&format!("RemoveImage nope:1 #{n}"), remove)?;
    }
    Ok(())
}

async fn remove_image_with_an_empty_reference_is_an_ambiguous_digest_string(
    ctx: &mut Ctx,
) -> CheckResult {
    let remove = remove_image(ctx, "").await;
    ctx.expect_error(
        "RemoveImage \"\"",
        remove,
        Code::Unknown,
        "can not resolve \"\" locally: ambiguous digest string",
    )
}

async fn pull_image_with_an_uppercase_repository_is_an_invalid_reference(
    ctx: &mut Ctx,
) -> CheckResult {
    let pulled = pull(ctx, "UPPER/Case:1").await;
    // 2.3's distribution/reference takes the upper-case first component for a registry
    // and names the rest, the repository.
    let text = ctx.per_profile(
        "repository name must be lowercase",
        "repository name (Case) must be lowercase",
    );
    ctx.expect_error(
        "PullImage UPPER/Case:1",
        pulled,
        Code::Unknown,
        &format!(
            "failed to parse image reference \"UPPER/Case:1\": invalid reference format: {text}"
        ),
    )
}

async fn pull_image_with_an_empty_reference_is_an_invalid_reference(ctx: &mut Ctx) -> CheckResult {
    let pulled = pull(ctx, "").await;
    ctx.expect_error(
        "PullImage \"\"",
        pulled,
        Code::Unknown,
        "failed to parse image reference \"\": invalid reference format",
    )
}

async fn pull_image_offline_fails_to_resolve_the_registry(ctx: &mut Ctx) -> CheckResult {
    if ctx.target.can_pull {
        return Err(Failure::Skip("the target can pull".into()));
    }
    let pulled = pull(ctx, "docker.io/library/alpine:3.19").await;
    // 1.6 names the reference it failed to resolve, 2.3 does not.
    let resolve = ctx.per_profile(
        "failed to resolve reference \"docker.io/library/alpine:3.19\"",
        "failed to resolve image",
    );
    let prefix = format!(
        "failed to pull and unpack image \"docker.io/library/alpine:3.19\": {resolve}: failed to do request: Head \"https://registry-1.docker.io/v2/library/alpine/manifests/3.19\": dial tcp: lookup registry-1.docker.io on "
    );
    let prefix = prefix.as_str();
    // The DNS server between "on " and ":53" is the machine's.
    let masked = pulled.map_err(|s| {
        let text = s.message();
        let dns_masked = match (text.strip_prefix(prefix), text.rfind(":53: ")) {
            (Some(_), Some(at)) if at >= prefix.len() => format!("{prefix}<dns>{}", &text[at..]),
            _ => text.to_owned(),
        };
        Status::new(s.code(), dns_masked)
    });
    ctx.expect_error(
        "PullImage alpine:3.19 offline",
        masked,
        Code::Unknown,
        &format!("{prefix}<dns>:53: no such host"),
    )
}

async fn pulled_image_is_removed_by_an_id_prefix_with_all_its_names(ctx: &mut Ctx) -> CheckResult {
    if !ctx.target.can_pull {
        return Err(Failure::Skip("the target cannot pull".into()));
    }
    let reference = "docker.io/library/hello-world:latest";
    ctx.remove_image_at_cleanup(reference);
    let pulled = pull(ctx, reference).await;
    let image_ref = ctx.expect_ok("PullImage hello-world", pulled)?;
    let id_ok = image_ref.strip_prefix("sha256:").is_some_and(is_hex_id);
    ctx.expect_eq("image_ref is sha256:<64 hex>", id_ok, true)?;
    for name in ["hello-world", "hello-world:latest", "library/hello-world"] {
        let resolved = resolved_id(ctx, name).await?;
        ctx.expect_eq(
            &format!("ImageStatus {name}"),
            resolved.as_deref(),
            Some(image_ref.as_str()),
        )?;
    }
    let prefix = image_ref["sha256:".len().."sha256:".len() + 12].to_owned();
    let remove = remove_image(ctx, &prefix).await;
    ctx.expect_ok("RemoveImage by a 12-hex id prefix", remove)?;
    for name in ["hello-world:latest", image_ref.as_str()] {
        let resolved = resolved_id(ctx, name).await?;
        ctx.expect_eq(&format!("ImageStatus {name} after remove"), resolved, None)?;
    }
    let remove = remove_image(ctx, reference).await;
    ctx.expect_ok("RemoveImage again", remove).map(|_| ())
}
