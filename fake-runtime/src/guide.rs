//! # Guide: testing a pod controller against the fake
//!
//! This guide walks through a realistic test: a small *pod controller* — the kind of
//! code a node agent has — is run against the fake, which is scripted to misbehave the
//! way real runtimes and workloads do: a transient error from the runtime, a container
//! that crash-loops before it comes up, a health probe answered by a script. The test
//! then checks what the controller did through the call journal, and the fake checks
//! its own expectations.
//!
//! Everything runs in-process over a real unix socket, in milliseconds, with no
//! containerd.
//!
//! ## 1. The controller under test
//!
//! The controller keeps one pod, `web`, with one container, `app`, running and
//! healthy:
//!
//! - it creates the sandbox, retrying RunPodSandbox when the runtime is `UNAVAILABLE`;
//! - it runs the `app` container; when the container has exited, it creates the next
//!   attempt (`attempt` + 1, the way kubelet restarts containers);
//! - it probes the container with `ExecSync ["/bin/healthz"]`: exit code 0 is healthy.
//!
//! ## 2. The test
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::Duration;
//!
//! use cri_fake::faults::Fault;
//! use cri_fake::script::{ContainerScript, ExecScript, Reply, command, container_name};
//! use cri_fake::{FakeRuntime, Method};
//! use cri_proto::RuntimeServiceClient;
//! use cri_proto::v1::*;
//! use tonic::Code;
//! use tonic::transport::Channel;
//!
//! // ---- the code under test -------------------------------------------------------
//! struct Controller {
//!     cri: RuntimeServiceClient<Channel>,
//!     pod: PodSandboxConfig,
//!     pod_id: Option<String>,
//!     attempt: u32,
//! }
//!
//! impl Controller {
//!     fn new(cri: RuntimeServiceClient<Channel>) -> Self {
//!         let pod = PodSandboxConfig {
//!             metadata: Some(PodSandboxMetadata {
//!                 name: "web".into(), uid: "uid-web".into(), namespace: "prod".into(), attempt: 0,
//!             }),
//!             labels: [("app".to_string(), "web".to_string())].into(),
//!             linux: Some(LinuxPodSandboxConfig {
//!                 security_context: Some(LinuxSandboxSecurityContext {
//!                     namespace_options: Some(NamespaceOption {
//!                         network: NamespaceMode::Node as i32, ..Default::default()
//!                     }),
//!                     ..Default::default()
//!                 }),
//!                 ..Default::default()
//!             }),
//!             ..Default::default()
//!         };
//!         Self { cri, pod, pod_id: None, attempt: 0 }
//!     }
//!
//!     /// The sandbox, created on first use; UNAVAILABLE is retried (3 tries).
//!     async fn ensure_pod(&mut self) -> Result<String, tonic::Status> {
//!         if let Some(id) = &self.pod_id {
//!             return Ok(id.clone());
//!         }
//!         let mut tries = 0;
//!         let id = loop {
//!             let request = RunPodSandboxRequest { config: Some(self.pod.clone()), runtime_handler: String::new() };
//!             match self.cri.run_pod_sandbox(request).await {
//!                 Ok(reply) => break reply.into_inner().pod_sandbox_id,
//!                 Err(status) if status.code() == Code::Unavailable && tries < 2 => tries += 1,
//!                 Err(status) => return Err(status),
//!             }
//!         };
//!         self.pod_id = Some(id.clone());
//!         Ok(id)
//!     }
//!
//!     /// Creates and starts the next attempt of `app`; returns its id.
//!     async fn start_app(&mut self) -> Result<String, tonic::Status> {
//!         let pod_id = self.ensure_pod().await?;
//!         let config = ContainerConfig {
//!             metadata: Some(ContainerMetadata { name: "app".into(), attempt: self.attempt }),
//!             image: Some(ImageSpec { image: "busybox:1.36".into(), ..Default::default() }),
//!             command: vec!["sleep".into(), "3600".into()],
//!             ..Default::default()
//!         };
//!         self.attempt += 1;
//!         let id = self
//!             .cri
//!             .create_container(CreateContainerRequest {
//!                 pod_sandbox_id: pod_id,
//!                 config: Some(config),
//!                 sandbox_config: Some(self.pod.clone()),
//!             })
//!             .await?
//!             .into_inner()
//!             .container_id;
//!         self.cri.start_container(StartContainerRequest { container_id: id.clone() }).await?;
//!         Ok(id)
//!     }
//!
//!     /// Whether container `id` answers its health probe.
//!     async fn healthy(&mut self, id: &str) -> bool {
//!         let probe = ExecSyncRequest { container_id: id.into(), cmd: vec!["/bin/healthz".into()], timeout: 1 };
//!         matches!(self.cri.exec_sync(probe).await, Ok(reply) if reply.get_ref().exit_code == 0)
//!     }
//! }
//! // ---- the test -------------------------------------------------------------------
//!
//! let fake = FakeRuntime::start().await.unwrap();
//!
//! // The runtime is briefly unavailable: the first RunPodSandbox fails.
//! let _outage = Fault::on(Method::RunPodSandbox)
//!     .first(1)
//!     .fail_with(Code::Unavailable, "connection refused")
//!     .expect(1)
//!     .mount(&fake);
//! // The app crashes twice (exit 1, "cannot reach db" in its log), then runs.
//! ContainerScript::given(container_name("app"))
//!     .respond_with(Reply::crash_loop(1).stderr("cannot reach db\n"))
//!     .up_to_n_times(2)
//!     .expect(2)
//!     .mount(&fake);
//! // busybox has no /bin/healthz: the probe is scripted.
//! ExecScript::given(command(["/bin/healthz"]))
//!     .respond_with(Reply::ok().stdout("ok\n"))
//!     .expect(1..)
//!     .mount(&fake);
//!
//! let mut controller = Controller::new(fake.runtime_client());
//! let mut app = controller.start_app().await.unwrap();
//! let mut restarts = 0;
//! loop {
//!     // Waiters instead of sleeps: wait for the crash, or see that the app runs.
//!     let exited = fake
//!         .wait_for_container_state(&app, ContainerState::ContainerExited, Duration::from_millis(200))
//!         .await;
//!     match exited {
//!         Ok(status) => {
//!             assert_eq!((status.exit_code, status.reason.as_str()), (1, "Error"));
//!             app = controller.start_app().await.unwrap();
//!             restarts += 1;
//!         }
//!         Err(still) => {
//!             assert_eq!(still.last_seen, "CONTAINER_RUNNING");
//!             break;
//!         }
//!     }
//! }
//! assert_eq!(restarts, 2);
//! assert!(controller.healthy(&app).await);
//!
//! // What the controller did, from the journal.
//! let pods = fake.calls_to(Method::RunPodSandbox);
//! assert_eq!(pods.len(), 2, "one failure, one retry");
//! assert_eq!(pods[0].outcome.code(), Some(Code::Unavailable));
//! let attempts: Vec<u32> = fake
//!     .calls_to(Method::CreateContainer)
//!     .iter()
//!     .map(|call| call.request::<CreateContainerRequest>().unwrap())
//!     .map(|request| request.config.as_ref().unwrap().metadata.as_ref().unwrap().attempt)
//!     .collect();
//! assert_eq!(attempts, [0, 1, 2]);
//!
//! // Every expectation of the scripts and faults is met (dropping the fake checks
//! // them too, and would fail the test with a report of every call received).
//! fake.verify();
//! fake.shutdown().await;
//! # }
//! ```
//!
//! ## 3. What the pieces do
//!
//! - **[`Fault`](crate::toolkit::faults::Fault)** rules make any RPC (named by
//!   [`Method`](crate::Method)) fail with a status, answer late, wait for a
//!   [`Gate`](crate::toolkit::faults::Gate), or cut a stream short; `first(n)`, `nth(n)`,
//!   `after(n)` and request predicates choose the calls. The guard returned by `mount`
//!   removes the rule when it goes out of scope.
//! - **[`ContainerScript`](crate::toolkit::script::ContainerScript)** decides what a container
//!   runs when it starts: here two crashes, then (after `up_to_n_times(2)`) the real
//!   command in the simulation. Exit codes, reasons (`Error`, `Completed`,
//!   `OOMKilled`) and the CRI log file are those of a real run.
//! - **[`ExecScript`](crate::toolkit::script::ExecScript)** answers execs the image cannot run;
//!   every other command still runs in the simulated shell.
//! - **Waiters** ([`wait_for_container_state`](crate::FakeRuntime::wait_for_container_state),
//!   [`wait_for_sandbox_removed`](crate::FakeRuntime::wait_for_sandbox_removed),
//!   [`wait_for_call`](crate::FakeRuntime::wait_for_call), ...) return as soon as the
//!   state is reached, so tests never sleep "long enough".
//! - **The [journal](crate::toolkit::journal)** records every call with its typed request and
//!   response or status; `calls_to(method)` and `request::<T>()` answer "what did the
//!   controller send?". `fake.journal().to_json_lines()` exports it.
//! - **[`verify`](crate::FakeRuntime::verify)** checks the `expect(..)`ations and, when
//!   one is unmet, panics with a report listing it and every numbered call.
//!
//! ## 4. More situations worth testing
//!
//! **A hung runtime.** Hold a call with a gate, check what the controller does
//! meanwhile (a deadline, a second call...), then let it go:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::Duration;
//! use cri_fake::faults::{Fault, Gate};
//! use cri_fake::{FakeRuntime, Method, Outcome};
//! use cri_proto::v1::ListPodSandboxRequest;
//!
//! let fake = FakeRuntime::start().await.unwrap();
//! let gate = Gate::new();
//! let _hang = Fault::on(Method::ListPodSandbox).block(&gate).mount(&fake);
//! let mut cri = fake.runtime_client();
//! let mut request = tonic::Request::new(ListPodSandboxRequest::default());
//! request.set_timeout(Duration::from_millis(100));
//! let err = cri.list_pod_sandbox(request).await.unwrap_err();
//! assert_eq!(err.code(), tonic::Code::Cancelled); // tonic's answer to a passed deadline
//! let call = fake.journal().wait_for_reply(Method::ListPodSandbox, Duration::from_secs(5)).await.unwrap();
//! assert_eq!(call.outcome, Outcome::Cancelled);
//! assert_eq!(gate.blocked(), 0); // the cancelled call let go of the gate
//! # fake.shutdown().await;
//! # }
//! ```
//!
//! **A runtime restart.** [`restart`](crate::FakeRuntime::restart) drops every
//! connection; with [`RestartMode::LoseState`](crate::RestartMode::LoseState) the
//! runtime also forgets every pod, so the controller must notice and recreate them:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::{FakeRuntime, RestartMode};
//! use cri_proto::v1::ListPodSandboxRequest;
//!
//! let mut fake = FakeRuntime::start().await.unwrap();
//! let mut cri = fake.runtime_client();
//! fake.restart(RestartMode::LoseState).await.unwrap();
//! let pods = loop {
//!     match cri.list_pod_sandbox(ListPodSandboxRequest::default()).await {
//!         Ok(reply) => break reply.into_inner().items,
//!         Err(status) => assert_eq!(status.code(), tonic::Code::Unavailable), // reconnecting
//!     }
//! };
//! assert!(pods.is_empty());
//! # fake.shutdown().await;
//! # }
//! ```
//!
//! **Watching instead of polling.** A controller built on `GetContainerEvents` gets
//! created, started, stopped and deleted events with the sandbox's and containers'
//! statuses (see [`events`](crate::core::events)); a stream cut short is
//! `Fault::on(Method::GetContainerEvents).fail_stream_after(k, code, message)`.
//!
//! **Resource pressure.** [`set_container_stats`](crate::FakeRuntime::set_container_stats)
//! makes a container report, say, two busy cores and 900 MiB of its 1 GiB limit, for
//! controllers that act on stats or metrics (see [`stats`](crate::core::stats)).
//!
//! **Tests in other languages.** Everything above except program closures is
//! available to the `cri-fake` binary through a TOML file (`--config`, see
//! [`config`](crate::config)), with the journal written as JSON lines at exit
//! (`--journal`) and unmet expectations reported on stderr with exit status 1.
