//! Every RPC of the CRI v1 API, as an enum (the journal, fault rules and tests name
//! methods with it, never with strings).

use std::fmt;

macro_rules! methods {
    ($( $variant:ident => $service:literal, $name:literal; )*) => {
        /// One RPC of `runtime.v1.RuntimeService` or `runtime.v1.ImageService`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Method {
            $(
                #[doc = concat!("`", $service, "/", $name, "`")]
                $variant,
            )*
        }

        impl Method {
            /// Every method, in proto order.
            pub const ALL: &'static [Method] = &[$(Method::$variant),*];

            /// The RPC name, e.g. `RunPodSandbox`.
            pub fn name(self) -> &'static str {
                match self { $(Method::$variant => $name,)* }
            }

            /// The fully qualified service, e.g. `runtime.v1.RuntimeService`.
            pub fn service(self) -> &'static str {
                match self { $(Method::$variant => $service,)* }
            }
        }
    };
}

methods! {
    Version => "runtime.v1.RuntimeService", "Version";
    RunPodSandbox => "runtime.v1.RuntimeService", "RunPodSandbox";
    StopPodSandbox => "runtime.v1.RuntimeService", "StopPodSandbox";
    RemovePodSandbox => "runtime.v1.RuntimeService", "RemovePodSandbox";
    PodSandboxStatus => "runtime.v1.RuntimeService", "PodSandboxStatus";
    ListPodSandbox => "runtime.v1.RuntimeService", "ListPodSandbox";
    CreateContainer => "runtime.v1.RuntimeService", "CreateContainer";
    StartContainer => "runtime.v1.RuntimeService", "StartContainer";
    StopContainer => "runtime.v1.RuntimeService", "StopContainer";
    RemoveContainer => "runtime.v1.RuntimeService", "RemoveContainer";
    ListContainers => "runtime.v1.RuntimeService", "ListContainers";
    ContainerStatus => "runtime.v1.RuntimeService", "ContainerStatus";
    UpdateContainerResources => "runtime.v1.RuntimeService", "UpdateContainerResources";
    ReopenContainerLog => "runtime.v1.RuntimeService", "ReopenContainerLog";
    ExecSync => "runtime.v1.RuntimeService", "ExecSync";
    Exec => "runtime.v1.RuntimeService", "Exec";
    Attach => "runtime.v1.RuntimeService", "Attach";
    PortForward => "runtime.v1.RuntimeService", "PortForward";
    ContainerStats => "runtime.v1.RuntimeService", "ContainerStats";
    ListContainerStats => "runtime.v1.RuntimeService", "ListContainerStats";
    PodSandboxStats => "runtime.v1.RuntimeService", "PodSandboxStats";
    ListPodSandboxStats => "runtime.v1.RuntimeService", "ListPodSandboxStats";
    UpdateRuntimeConfig => "runtime.v1.RuntimeService", "UpdateRuntimeConfig";
    Status => "runtime.v1.RuntimeService", "Status";
    CheckpointContainer => "runtime.v1.RuntimeService", "CheckpointContainer";
    GetContainerEvents => "runtime.v1.RuntimeService", "GetContainerEvents";
    ListMetricDescriptors => "runtime.v1.RuntimeService", "ListMetricDescriptors";
    ListPodSandboxMetrics => "runtime.v1.RuntimeService", "ListPodSandboxMetrics";
    RuntimeConfig => "runtime.v1.RuntimeService", "RuntimeConfig";
    ListImages => "runtime.v1.ImageService", "ListImages";
    ImageStatus => "runtime.v1.ImageService", "ImageStatus";
    PullImage => "runtime.v1.ImageService", "PullImage";
    RemoveImage => "runtime.v1.ImageService", "RemoveImage";
    ImageFsInfo => "runtime.v1.ImageService", "ImageFsInfo";
}

impl Method {
    /// The gRPC path, e.g. `/runtime.v1.RuntimeService/RunPodSandbox`.
    pub fn path(self) -> String {
        format!("/{}/{}", self.service(), self.name())
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_the_proto_has_a_method() {
        let proto = include_str!("../../../proto/api.proto");
        let rpcs: Vec<&str> = proto
            .lines()
            .filter_map(|l| l.trim().strip_prefix("rpc "))
            .filter_map(|l| l.split('(').next())
            .collect();
        assert_eq!(rpcs.len(), Method::ALL.len());
        for rpc in rpcs {
            assert!(Method::ALL.iter().any(|m| m.name() == rpc), "{rpc} missing");
        }
        assert_eq!(
            Method::PullImage.path(),
            "/runtime.v1.ImageService/PullImage"
        );
    }
}
