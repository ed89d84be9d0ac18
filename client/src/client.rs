//! [`Client`] and [`ClientBuilder`]: connection settings, timeouts, and the RPC helper
//! every method goes through.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cri_proto::{ImageServiceClient, RuntimeServiceClient};
use tokio::time::Instant;
use tonic::transport::Channel;

use crate::connect::open_channel;
use crate::error::{Error, Ids, Result, Rpc};
use crate::killer::{HostProcessKiller, ProcessKiller};
use crate::retry::RetryPolicy;

/// The default limit on received messages: 16 MiB, containerd's ExecSync cap.
pub const DEFAULT_MAX_RECEIVE_MESSAGE_SIZE: usize = 16 * 1024 * 1024;
/// The default deadline of one RPC: 2 minutes (kubelet's `--runtime-request-timeout`).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// The default deadline of one `PullImage`: 10 minutes.
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(600);

/// Settings of a [`Client`], then [`ClientBuilder::connect`] (or
/// [`ClientBuilder::build_with_channel`]).
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoint: String,
    connect_timeout: Duration,
    settings: Settings,
}

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) call_timeout: Duration,
    pub(crate) pull_timeout: Duration,
    pub(crate) max_receive_message_size: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) killer: Arc<dyn ProcessKiller>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            call_timeout: DEFAULT_CALL_TIMEOUT,
            pull_timeout: DEFAULT_PULL_TIMEOUT,
            max_receive_message_size: DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
            retry: RetryPolicy::default(),
            killer: Arc::new(HostProcessKiller::new()),
        }
    }
}

impl ClientBuilder {
    /// Settings for `endpoint` (`unix:///path`, a socket path or `tcp://host:port`), with
    /// the defaults: connect timeout 10 s, call timeout [`DEFAULT_CALL_TIMEOUT`], pull
    /// timeout [`DEFAULT_PULL_TIMEOUT`], receive limit
    /// [`DEFAULT_MAX_RECEIVE_MESSAGE_SIZE`], [`RetryPolicy::default`] and the
    /// [`HostProcessKiller`].
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            connect_timeout: Duration::from_secs(10),
            settings: Settings::default(),
        }
    }

    /// The bound on connecting (socket and HTTP/2 handshake).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline of each RPC (sent to the runtime as `grpc-timeout` and enforced by the
    /// client). `StopContainer` gets the grace period on top, and `ExecSync` the exec
    /// timeout; an `ExecSync` without a timeout has no deadline.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.settings.call_timeout = timeout;
        self
    }

    /// The deadline of each `PullImage`.
    pub fn pull_timeout(mut self, timeout: Duration) -> Self {
        self.settings.pull_timeout = timeout;
        self
    }

    /// The largest message the client accepts from the runtime.
    pub fn max_receive_message_size(mut self, bytes: usize) -> Self {
        self.settings.max_receive_message_size = bytes;
        self
    }

    /// The retry policy of [`Client::remove_pod`] and [`Client::stop_container`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry = policy;
        self
    }

    /// The killer a force stop uses (default [`HostProcessKiller`]). An `Arc<K>` works too,
    /// to keep a handle on the killer.
    pub fn process_killer(mut self, killer: impl ProcessKiller + 'static) -> Self {
        self.settings.killer = Arc::new(killer);
        self
    }

    /// Connects. Fails with [`Error::InvalidEndpoint`], [`Error::Connect`] or
    /// [`Error::ConnectTimeout`], each naming the endpoint; never waits longer than the
    /// connect timeout.
    pub async fn connect(self) -> Result<Client> {
        let channel = open_channel(&self.endpoint, self.connect_timeout).await?;
        Ok(self.build_with_channel(channel))
    }

    /// A client over an existing channel (for example a fake runtime's in-memory channel);
    /// the endpoint given to [`ClientBuilder::new`] is only used as a label.
    pub fn build_with_channel(self, channel: Channel) -> Client {
        let limit = self.settings.max_receive_message_size;
        Client {
            runtime: RuntimeServiceClient::new(channel.clone()).max_decoding_message_size(limit),
            image: ImageServiceClient::new(channel).max_decoding_message_size(limit),
            endpoint: Arc::from(self.endpoint),
            settings: Arc::new(self.settings),
        }
    }
}

/// A CRI client: cheap to clone (clones share one connection) and to share between tasks.
///
/// Every method is async and returns a typed [`Result`]. See the [crate docs](crate) for
/// an example.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) runtime: RuntimeServiceClient<Channel>,
    pub(crate) image: ImageServiceClient<Channel>,
    endpoint: Arc<str>,
    pub(crate) settings: Arc<Settings>,
}

impl Client {
    /// Connects to `endpoint` with default settings, giving up after `timeout`.
    pub async fn connect(endpoint: impl Into<String>, timeout: Duration) -> Result<Self> {
        ClientBuilder::new(endpoint)
            .connect_timeout(timeout)
            .connect()
            .await
    }

    /// Settings for a client of `endpoint`.
    pub fn builder(endpoint: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(endpoint)
    }

    /// A client with default settings over an existing channel.
    pub fn from_channel(channel: Channel) -> Self {
        ClientBuilder::new("channel").build_with_channel(channel)
    }

    /// The endpoint this client was built for.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The retry policy of [`Client::remove_pod`] and [`Client::stop_container`].
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// The deadline of one RPC.
    pub fn call_timeout(&self) -> Duration {
        self.settings.call_timeout
    }

    /// The receive limit.
    pub fn max_receive_message_size(&self) -> usize {
        self.settings.max_receive_message_size
    }

    /// The generated `RuntimeService` client (sharing this client's connection and receive
    /// limit), for anything this wrapper does not cover.
    pub fn runtime_client(&self) -> RuntimeServiceClient<Channel> {
        self.runtime.clone()
    }

    /// The generated `ImageService` client, for anything this wrapper does not cover.
    pub fn image_client(&self) -> ImageServiceClient<Channel> {
        self.image.clone()
    }

    /// Sends one `RuntimeService` RPC with `deadline` (`None`: no deadline).
    pub(crate) async fn runtime_call<Req, Resp, F, Fut>(
        &self,
        rpc: Rpc,
        ids: Ids,
        deadline: Option<Duration>,
        message: Req,
        send: F,
    ) -> Result<Resp>
    where
        F: FnOnce(RuntimeServiceClient<Channel>, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let request = make_request(message, deadline);
        finish(rpc, ids, deadline, send(self.runtime.clone(), request)).await
    }

    /// Sends one `ImageService` RPC with `deadline`.
    pub(crate) async fn image_call<Req, Resp, F, Fut>(
        &self,
        rpc: Rpc,
        ids: Ids,
        deadline: Option<Duration>,
        message: Req,
        send: F,
    ) -> Result<Resp>
    where
        F: FnOnce(ImageServiceClient<Channel>, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let request = make_request(message, deadline);
        finish(rpc, ids, deadline, send(self.image.clone(), request)).await
    }
}

fn make_request<T>(message: T, deadline: Option<Duration>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(deadline) = deadline {
        request.set_timeout(deadline);
    }
    request
}

/// Awaits `call` within `deadline`. A deadline that passes (on our timer, or on tonic's,
/// which reports CANCELLED) becomes [`Error::Timeout`]; every other status becomes
/// [`Error::Rpc`] with the code and message untouched.
async fn finish<Resp, Fut>(
    rpc: Rpc,
    ids: Ids,
    deadline: Option<Duration>,
    call: Fut,
) -> Result<Resp>
where
    Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
{
    let started = Instant::now();
    let outcome = match deadline {
        Some(after) => match tokio::time::timeout(after, call).await {
            Ok(outcome) => outcome,
            Err(_) => return Err(Error::Timeout { rpc, ids, after }),
        },
        None => call.await,
    };
    match outcome {
        Ok(response) => Ok(response.into_inner()),
        Err(status) => match deadline {
            Some(after)
                if status.code() == tonic::Code::Cancelled && started.elapsed() >= after =>
            {
                Err(Error::Timeout { rpc, ids, after })
            }
            _ => {
                tracing::debug!(%rpc, code = ?status.code(), message = status.message(), "CRI call failed");
                Err(Error::Rpc { rpc, ids, status })
            }
        },
    }
}

/// `seconds` rounded up, as the CRI's int64 seconds (`Duration::ZERO` is 0).
pub(crate) fn whole_seconds(duration: Duration) -> i64 {
    let seconds = duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0));
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_whole_seconds_rounded_up() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(5)), 5);
        assert_eq!(whole_seconds(Duration::from_millis(5001)), 6);
        assert_eq!(whole_seconds(Duration::MAX), i64::MAX);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_answers_ends_with_a_timeout_at_its_deadline() {
        let started = Instant::now();
        let err = finish::<(), _>(
            Rpc::RemovePodSandbox,
            Ids::pod("p"),
            Some(Duration::from_secs(30)),
            std::future::pending(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, Error::Timeout { rpc: Rpc::RemovePodSandbox, after, .. } if after == Duration::from_secs(30))
        );
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_status_after_the_deadline_is_a_timeout_and_before_it_is_not() {
        let late = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            Err::<tonic::Response<()>, _>(tonic::Status::cancelled("Timeout expired"))
        };
        // Our own timer fires at the same instant; either way the result is a Timeout.
        let err = finish(
            Rpc::Version,
            Ids::none(),
            Some(Duration::from_secs(2)),
            late,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");

        let early = async { Err::<tonic::Response<()>, _>(tonic::Status::cancelled("by peer")) };
        let err = finish(
            Rpc::Version,
            Ids::none(),
            Some(Duration::from_secs(2)),
            early,
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Some(tonic::Code::Cancelled));
    }
}
