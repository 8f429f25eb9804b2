//! The Redis / Valkey store.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::{Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo};
use tokio::sync::mpsc;

use crate::{Error, Lease, Notice, Put, Store, StoreFuture, StoreKey, StoreUrl, Topology};

/// Read a proof without letting a hostile value cost more than its size: nil, the value, or
/// its length when it exceeds ARGV[1] bytes, or -1 when the key is not a string.
const GET: &str = r"
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return false end
if t ~= 'string' then return -1 end
local n = redis.call('STRLEN', KEYS[1])
if n > tonumber(ARGV[1]) then return n end
return redis.call('GET', KEYS[1])
";

/// Compare-and-set: write the proof and publish a notice only if the stored value is still the
/// one the node read (`''` for nothing). A value that cannot be a proof (not a string, or
/// longer than ARGV[6] bytes) counts as nothing, so that vandalism is overwritten. Returns 1,
/// or the value stored now (nil for nothing).
const PUT_IF: &str = r"
local t = redis.call('TYPE', KEYS[1]).ok
local cur = false
if t == 'string' and redis.call('STRLEN', KEYS[1]) <= tonumber(ARGV[6]) then
  cur = redis.call('GET', KEYS[1])
end
local seen = cur
if seen == false then seen = '' end
if seen ~= ARGV[1] then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {1}
";

/// Take the lease (`SET NX PX`) and say who holds it: 1 when taken, else the holder.
const LEASE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('TYPE', KEYS[1]).ok ~= 'string' then return '?' end
return string.sub(redis.call('GET', KEYS[1]), 1, 256)
";

/// Release the lease only if the caller still holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Settings of a [`RedisStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisOptions {
    /// The key prefix (`store_prefix`; default `mailstaple`).
    pub prefix: String,
    /// The bound of every operation, connection included (default 2 s).
    pub timeout: Duration,
    /// PEM CA certificates that sign the server's TLS certificate (`rediss`), instead of the
    /// system's roots.
    pub ca_pem: Option<Vec<u8>>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "mailstaple".into(),
            timeout: Duration::from_secs(2),
            ca_pem: None,
        }
    }
}

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A [`Store`] on Redis 6+ or Valkey (one server or a Cluster).
///
/// It connects lazily, inside the caller's tokio runtime, and reconnects by itself; while the
/// server is unreachable, operations fail at once with the last error for a second before the
/// next attempt, so that a fleet of certificates does not wait out one connect timeout each.
pub struct RedisStore {
    url: StoreUrl,
    opts: RedisOptions,
    client: Client,
    cluster: Option<redis::cluster::ClusterClient>,
    conn: tokio::sync::Mutex<Option<Conn>>,
    last_failure: Mutex<Option<(Instant, Error)>>,
    subscribed: Mutex<bool>,
    put_if: redis::Script,
    get: redis::Script,
    lease: redis::Script,
    release: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn info(url: &StoreUrl, node: &(String, u16)) -> Result<ConnectionInfo, Error> {
    let (host, port) = node.clone();
    let addr = if url.tls {
        ConnectionAddr::TcpTls {
            host,
            port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host, port)
    };
    let mut redis = RedisConnectionInfo::default().set_db(url.db);
    if let Some(u) = &url.username {
        redis = redis.set_username(u);
    }
    if let Some(p) = url.password() {
        redis = redis.set_password(p);
    }
    Ok(addr
        .into_connection_info()
        .map_err(|e| Error::BadUrl(e.to_string()))?
        .set_redis_settings(redis))
}

fn client_for(url: &StoreUrl, node: &(String, u16), opts: &RedisOptions) -> Result<Client, Error> {
    let info = info(url, node)?;
    let made = match (&opts.ca_pem, url.tls) {
        (Some(ca), true) => Client::build_with_tls(
            info,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(ca.clone()),
            },
        ),
        _ => Client::open(info),
    };
    made.map_err(|e| Error::BadUrl(e.to_string()))
}

fn classify(e: &redis::RedisError) -> Error {
    if e.is_timeout() {
        Error::Timeout
    } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        Error::Unavailable(e.to_string())
    } else {
        Error::Command(e.to_string())
    }
}

impl RedisStore {
    /// A store at `url`; nothing is connected until the first operation.
    pub fn new(url: StoreUrl, opts: RedisOptions) -> Result<RedisStore, Error> {
        if url.tls {
            // The redis crate builds its rustls configurations from the process-wide default
            // provider; make it the workspace's one (aws-lc-rs) unless the process chose one.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        let first = url
            .nodes
            .first()
            .ok_or_else(|| Error::BadUrl("no host".into()))?;
        // One server's client; for a Cluster, the first seed's client serves the subscription
        // (PUBLISH is broadcast to every node of a Cluster).
        let client = client_for(&url, first, &opts)?;
        let cluster = match url.topology {
            Topology::Single => None,
            Topology::Cluster => {
                let infos = url
                    .nodes
                    .iter()
                    .map(|n| info(&url, n))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut b = redis::cluster::ClusterClientBuilder::new(infos)
                    .connection_timeout(opts.timeout)
                    .response_timeout(opts.timeout)
                    .retries(1);
                if let Some(u) = &url.username {
                    b = b.username(u);
                }
                if let Some(p) = url.password() {
                    b = b.password(p);
                }
                if url.tls {
                    b = b.tls(redis::cluster::TlsMode::Secure);
                    if let Some(ca) = &opts.ca_pem {
                        b = b.certs(redis::TlsCertificates {
                            client_tls: None,
                            root_cert: Some(ca.clone()),
                        });
                    }
                }
                Some(b.build().map_err(|e| Error::BadUrl(e.to_string()))?)
            }
        };
        Ok(RedisStore {
            url,
            opts,
            client,
            cluster,
            conn: tokio::sync::Mutex::new(None),
            last_failure: Mutex::new(None),
            subscribed: Mutex::new(false),
            put_if: redis::Script::new(PUT_IF),
            get: redis::Script::new(GET),
            lease: redis::Script::new(LEASE),
            release: redis::Script::new(RELEASE),
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.opts.prefix
    }

    fn channel(&self) -> String {
        format!("{}:notices", self.opts.prefix)
    }

    async fn connection(&self) -> Result<Conn, Error> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(c.clone());
        }
        if let Some((at, e)) = self
            .last_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            && at.elapsed() < Duration::from_secs(1)
        {
            return Err(e.clone());
        }
        let made = tokio::time::timeout(self.opts.timeout, async {
            match &self.cluster {
                None => {
                    let config = redis::aio::ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(self.opts.timeout))
                        .set_response_timeout(Some(self.opts.timeout))
                        .set_number_of_retries(1)
                        .set_max_delay(Duration::from_secs(1));
                    ConnectionManager::new_with_config(self.client.clone(), config)
                        .await
                        .map(Conn::Single)
                }
                Some(c) => c.get_async_connection().await.map(Conn::Cluster),
            }
        })
        .await;
        let made = match made {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(Error::Timeout),
        };
        match made {
            Ok(c) => {
                *guard = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                *self
                    .last_failure
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    /// Runs `f` on a connection under the timeout; a connection that fails is dropped so that the
    /// next operation makes a new one.
    async fn run<T, F, Fut>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection().await?;
        match tokio::time::timeout(self.opts.timeout, f(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let err = classify(&e);
                if matches!(err, Error::Unavailable(_)) {
                    // A fresh connection next time (after a failover, a half-open socket).
                    *self.conn.lock().await = None;
                }
                Err(err)
            }
            Err(_) => {
                *self.conn.lock().await = None;
                Err(Error::Timeout)
            }
        }
    }
}

async fn invoke(inv: redis::ScriptInvocation<'_>, conn: Conn) -> redis::RedisResult<redis::Value> {
    match conn {
        Conn::Single(mut c) => inv.invoke_async(&mut c).await,
        Conn::Cluster(mut c) => inv.invoke_async(&mut c).await,
    }
}

fn bytes_of(v: redis::Value) -> Result<Option<Vec<u8>>, Error> {
    match v {
        redis::Value::Nil => Ok(None),
        redis::Value::BulkString(b) if b.len() > crate::MAX_VALUE => Err(Error::TooLarge(b.len())),
        redis::Value::BulkString(b) => Ok(Some(b)),
        redis::Value::SimpleString(s) => Ok(Some(s.into_bytes())),
        other => Err(Error::Unexpected(
            format!("{other:?}").chars().take(80).collect(),
        )),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl Store for RedisStore {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    fn get<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let v = self
                .run(|c| async move {
                    let mut inv = self.get.prepare_invoke();
                    inv.key(key.proof()).arg(crate::MAX_VALUE);
                    invoke(inv, c).await
                })
                .await?;
            match v {
                redis::Value::Int(-1) => Err(Error::Unexpected(format!(
                    "{} is not a string",
                    key.proof()
                ))),
                redis::Value::Int(n) => {
                    Err(Error::TooLarge(usize::try_from(n).unwrap_or(usize::MAX)))
                }
                v => bytes_of(v),
            }
        })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Lease> {
        Box::pin(async move {
            let v = self
                .run(|c| async move {
                    let mut inv = self.lease.prepare_invoke();
                    inv.key(key.lease()).arg(holder).arg(millis(ttl));
                    invoke(inv, c).await
                })
                .await?;
            match v {
                redis::Value::Int(1) => Ok(Lease::Acquired),
                other => {
                    let h = bytes_of(other)?.unwrap_or_default();
                    let h: String = String::from_utf8_lossy(&h).chars().take(256).collect();
                    Ok(Lease::HeldBy(h))
                }
            }
        })
    }

    fn release<'a>(&'a self, key: &'a StoreKey, holder: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.run(|c| async move {
                let mut inv = self.release.prepare_invoke();
                inv.key(key.lease()).arg(holder);
                invoke(inv, c).await
            })
            .await?;
            Ok(())
        })
    }

    fn put_if<'a>(
        &'a self,
        key: &'a StoreKey,
        expected: Option<&'a [u8]>,
        proof: &'a [u8],
        ttl: Duration,
        node: &'a str,
    ) -> StoreFuture<'a, Put> {
        Box::pin(async move {
            let channel = self.channel();
            let notice = Notice::encode(key, node);
            let v = self
                .run(|c| async move {
                    let mut inv = self.put_if.prepare_invoke();
                    inv.key(key.proof())
                        .arg(expected.unwrap_or_default())
                        .arg(proof)
                        .arg(millis(ttl))
                        .arg(channel)
                        .arg(notice)
                        .arg(crate::MAX_VALUE);
                    invoke(inv, c).await
                })
                .await?;
            let redis::Value::Array(items) = v else {
                return Err(Error::Unexpected(
                    "compare-and-set answered no array".into(),
                ));
            };
            let mut items = items.into_iter();
            match (items.next(), items.next()) {
                (Some(redis::Value::Int(1)), None) => Ok(Put::Written),
                (Some(redis::Value::Int(0)), Some(cur)) => Ok(Put::Conflict(bytes_of(cur)?)),
                // Lua drops a trailing nil: {0, nil} arrives as {0}.
                (Some(redis::Value::Int(0)), None) => Ok(Put::Conflict(None)),
                _ => Err(Error::Unexpected(
                    "compare-and-set answered an unknown shape".into(),
                )),
            }
        })
    }

    fn subscribe(&self) -> Option<mpsc::Receiver<Notice>> {
        {
            let mut s = self
                .subscribed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *s {
                return None;
            }
            *s = true;
        }
        let (tx, rx) = mpsc::channel(4096);
        let client = self.client.clone();
        let channel = self.channel();
        let timeout = self.opts.timeout;
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(250);
            loop {
                if tx.is_closed() {
                    return;
                }
                let sub = tokio::time::timeout(timeout, async {
                    let mut ps = client.get_async_pubsub().await?;
                    ps.subscribe(&channel).await?;
                    Ok::<_, redis::RedisError>(ps)
                })
                .await;
                match sub {
                    Ok(Ok(ps)) => {
                        delay = Duration::from_millis(250);
                        if tx.send(Notice::Resubscribed).await.is_err() {
                            return;
                        }
                        let mut stream = ps.into_on_message();
                        while let Some(msg) = futures_util::StreamExt::next(&mut stream).await {
                            if let Some(n) = Notice::decode(msg.get_payload_bytes()) {
                                // A full queue drops the hint: the poll catches up.
                                match tx.try_send(n) {
                                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                                    _ => continue,
                                }
                            }
                        }
                        log::debug!("store subscription ended; resubscribing");
                    }
                    Ok(Err(e)) => log::debug!("store subscription failed: {e}"),
                    Err(_) => log::debug!("store subscription timed out"),
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = tx.closed() => return,
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        });
        Some(rx)
    }
}
