//! Renders CRI messages as JSON the way containerd's verbose `info` does: proto field
//! names, enums as numbers, 64-bit integers as numbers, default values left out.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

fn pool() -> Option<&'static DescriptorPool> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(cri_proto::FILE_DESCRIPTOR_SET).ok())
        .as_ref()
}

/// The JSON of `message`, a `runtime.v1.<type_name>` message. `Null` if the type is
/// unknown (never for the messages of the CRI proto).
pub fn to_json<M: prost::Message>(type_name: &str, message: &M) -> serde_json::Value {
    let Some(descriptor) =
        pool().and_then(|p| p.get_message_by_name(&format!("runtime.v1.{type_name}")))
    else {
        return serde_json::Value::Null;
    };
    let Ok(dynamic) = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice()) else {
        return serde_json::Value::Null;
    };
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .use_enum_numbers(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(true);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(serde_json::Value::Null)
}

/// `value` as Go's `json.Marshal` writes it: compact, with `<`, `>`, `&`, U+2028 and
/// U+2029 escaped (Go's HTML-safe default).
///
/// ```
/// let warnings = std::collections::BTreeMap::from([("b", "x<y"), ("a", "&")]);
/// assert_eq!(
///     cri_fake::proto_json::go_json_string(&warnings),
///     r#"{"a":"\u0026","b":"x\u003cy"}"#
/// );
/// ```
pub fn go_json_string<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cri_proto::v1::{
        LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption,
        PodSandboxConfig, PodSandboxMetadata,
    };

    #[test]
    fn configs_render_with_proto_names_numeric_enums_and_no_defaults() {
        let config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: "web".into(),
                uid: "u1".into(),
                namespace: "ns".into(),
                attempt: 0,
            }),
            log_directory: "/var/log/pods/x".into(),
            linux: Some(LinuxPodSandboxConfig {
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: NamespaceMode::Node as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let json = to_json("PodSandboxConfig", &config);
        assert_eq!(json["metadata"]["name"], "web");
        assert_eq!(json["metadata"].get("attempt"), None);
        assert_eq!(json["log_directory"], "/var/log/pods/x");
        assert_eq!(
            json["linux"]["security_context"]["namespace_options"]["network"],
            2
        );
    }
}
