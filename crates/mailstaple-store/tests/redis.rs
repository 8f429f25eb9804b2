//! `RedisStore` against real `redis-server` processes on loopback: the Lua scripts' semantics
//! (lease, release, compare-and-set), notices over pub/sub, TLS (`rediss://` with a private CA),
//! ACL users, clear errors for a wrong password and an unreachable server, a hostile oversized
//! value, and a three-master Cluster.
//!
//! A missing `redis-server` fails the tests under `MAILSTAPLE_REQUIRE_PEERS=1` and skips them
//! otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailstaple_store::{
    Error, Lease, Notice, Put, RedisOptions, RedisStore, Store, StoreKey, StoreUrl,
};

fn present() -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("MAILSTAPLE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "redis-server is required (MAILSTAPLE_REQUIRE_PEERS=1) but not installed"
        );
        eprintln!("skipped: redis-server not installed");
    }
    ok
}

fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A redis-server on a free port; `extra` arguments; waits until it answers (plain TCP) or
/// its port accepts (TLS only).
fn start(dir: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    let tls = extra.contains(&"--tls-port");
    let mut cmd = Command::new("redis-server");
    if tls {
        cmd.args(["--port", "0", "--tls-port", &port.to_string()]);
    } else {
        cmd.args(["--port", &port.to_string()]);
    }
    cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .args(extra.iter().filter(|a| **a != "--tls-port"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, port }
}

fn store(url: &str, ca: Option<Vec<u8>>) -> RedisStore {
    let mut opts = RedisOptions::default();
    opts.prefix = "t".into();
    opts.ca_pem = ca;
    opts.timeout = Duration::from_secs(2);
    RedisStore::new(StoreUrl::parse(url).unwrap(), opts).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The protocol's primitives on `s`, with a second store `t` on the same server.
async fn primitives(s: &RedisStore, t: &RedisStore) {
    let key = StoreKey::from_parts("t", &[0xab; 20], &[0x10, 0x01]);
    let mut notices = t.subscribe().unwrap();
    assert!(t.subscribe().is_none(), "one subscription per store");
    // The subscription reports itself first.
    let first = tokio::time::timeout(Duration::from_secs(5), notices.recv())
        .await
        .unwrap();
    assert_eq!(first, Some(Notice::Resubscribed));

    assert_eq!(s.get(&key).await, Ok(None));
    let ttl = Duration::from_secs(30);
    assert_eq!(s.try_lease(&key, "a#1", ttl).await, Ok(Lease::Acquired));
    assert_eq!(
        t.try_lease(&key, "b#2", ttl).await,
        Ok(Lease::HeldBy("a#1".into()))
    );
    // Only the holder releases.
    t.release(&key, "b#2").await.unwrap();
    assert_eq!(
        t.try_lease(&key, "b#2", ttl).await,
        Ok(Lease::HeldBy("a#1".into()))
    );
    s.release(&key, "a#1").await.unwrap();
    assert_eq!(t.try_lease(&key, "b#2", ttl).await, Ok(Lease::Acquired));

    // Compare-and-set on the exact bytes, with a notice.
    let p1 = vec![0x30, 0x82, 0x00, 0x01, 0xff];
    assert_eq!(s.put_if(&key, None, &p1, ttl, "a").await, Ok(Put::Written));
    let n = tokio::time::timeout(Duration::from_secs(5), notices.recv())
        .await
        .unwrap();
    assert_eq!(
        n,
        Some(Notice::Changed {
            key: key.id().into(),
            node: "a".into()
        })
    );
    assert_eq!(
        t.put_if(&key, None, b"other", ttl, "b").await,
        Ok(Put::Conflict(Some(p1.clone())))
    );
    assert_eq!(
        t.put_if(&key, Some(b"stale"), b"other", ttl, "b").await,
        Ok(Put::Conflict(Some(p1.clone())))
    );
    assert_eq!(
        t.put_if(&key, Some(&p1), b"second", ttl, "b").await,
        Ok(Put::Written)
    );
    assert_eq!(s.get(&key).await, Ok(Some(b"second".to_vec())));

    // The proof expires with its TTL.
    assert_eq!(
        s.put_if(
            &key,
            Some(b"second"),
            b"short",
            Duration::from_millis(200),
            "a"
        )
        .await,
        Ok(Put::Written)
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(s.get(&key).await, Ok(None));
    assert_eq!(
        s.put_if(&key, Some(b"gone"), b"x", ttl, "a").await,
        Ok(Put::Conflict(None))
    );
}

#[test]
fn primitives_on_one_server_and_hostile_values() {
    if !present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let url = format!("redis://127.0.0.1:{}", server.port);
    let rt = rt();
    rt.block_on(async {
        let (s, t) = (store(&url, None), store(&url, None));
        primitives(&s, &t).await;
        // A value too large for a proof, written by anyone with access: an error naming it.
        let key = StoreKey::from_parts("t", &[1; 20], &[2]);
        let big = "x".repeat(mailstaple_store::MAX_VALUE + 1);
        cli(server.port, &["SET", key.proof(), &big]);
        assert_eq!(
            s.get(&key).await,
            Err(Error::TooLarge(mailstaple_store::MAX_VALUE + 1))
        );
        // Such a value counts as nothing for the compare-and-set: the fleet overwrites it.
        let ttl = Duration::from_secs(60);
        assert_eq!(
            s.put_if(&key, None, b"proof", ttl, "a").await,
            Ok(Put::Written)
        );
        assert_eq!(s.get(&key).await, Ok(Some(b"proof".to_vec())));
        // A key of the wrong type is an error naming it, not a panic, and is overwritten too;
        // so is a lease of the wrong type, reported as held by "?".
        cli(server.port, &["DEL", key.proof()]);
        cli(server.port, &["LPUSH", key.proof(), "a"]);
        assert!(matches!(s.get(&key).await, Err(Error::Unexpected(_))));
        assert_eq!(
            s.put_if(&key, None, b"proof", ttl, "a").await,
            Ok(Put::Written)
        );
        cli(server.port, &["LPUSH", key.lease(), "a"]);
        assert_eq!(
            s.try_lease(&key, "a", ttl).await,
            Ok(Lease::HeldBy("?".into()))
        );
        // A long lease holder is cut to 256 bytes.
        cli(server.port, &["DEL", key.lease()]);
        cli(server.port, &["SET", key.lease(), &"h".repeat(10_000)]);
        assert_eq!(
            s.try_lease(&key, "a", ttl).await,
            Ok(Lease::HeldBy("h".repeat(256)))
        );
    });
}

#[test]
fn acl_users_and_clear_errors() {
    if !present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    // A user limited to the prefix's keys and channel, as an operator would set it up.
    cli(
        server.port,
        &[
            "ACL",
            "SETUSER",
            "mx",
            "on",
            ">s3cret",
            "~t:*",
            "&t:*",
            "+@all",
            "-@dangerous",
        ],
    );
    cli(server.port, &["ACL", "SETUSER", "default", "off"]);
    let rt = rt();
    rt.block_on(async {
        let good = format!("redis://mx:s3cret@127.0.0.1:{}", server.port);
        let (s, t) = (store(&good, None), store(&good, None));
        primitives(&s, &t).await;
        let key = StoreKey::from_parts("t", &[3; 20], &[4]);
        let bad = store(&format!("redis://mx:wrong@127.0.0.1:{}", server.port), None);
        let e = bad.get(&key).await.unwrap_err().to_string();
        assert!(e.to_lowercase().contains("authentication failed"), "{e}");
        assert!(!e.contains("wrong@"), "{e}");
        // Outside the prefix the ACL refuses: the store says so.
        let other = {
            let mut o = RedisOptions::default();
            o.prefix = "elsewhere".into();
            RedisStore::new(StoreUrl::parse(&good).unwrap(), o).unwrap()
        };
        let k2 = StoreKey::from_parts("elsewhere", &[3; 20], &[4]);
        let e = other.get(&k2).await.unwrap_err();
        assert!(matches!(e, Error::Command(_)), "{e:?}");
    });
    // Nothing listens: unreachable, quickly, and again quickly (no connect timeout per call).
    let port = free_port();
    rt.block_on(async {
        let s = store(&format!("redis://127.0.0.1:{port}"), None);
        let key = StoreKey::from_parts("t", &[5; 20], &[6]);
        let started = Instant::now();
        for _ in 0..50 {
            let e = s.get(&key).await.unwrap_err();
            assert!(matches!(e, Error::Unavailable(_) | Error::Timeout), "{e:?}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    });
}

#[test]
fn tls_with_a_private_ca() {
    if !present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "redis test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("server.pem"), server_cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    let d = dir.path().display().to_string();
    let server = start(
        dir.path(),
        &[
            "--tls-port",
            "--tls-cert-file",
            &format!("{d}/server.pem"),
            "--tls-key-file",
            &format!("{d}/server.key"),
            "--tls-ca-cert-file",
            &format!("{d}/ca.pem"),
            "--tls-auth-clients",
            "no",
        ],
    );
    let ca_pem = ca.pem().into_bytes();
    let rt = rt();
    rt.block_on(async {
        let url = format!("rediss://localhost:{}", server.port);
        let (s, t) = (store(&url, Some(ca_pem.clone())), store(&url, Some(ca_pem)));
        primitives(&s, &t).await;
        // Without the private CA the server's certificate is refused.
        let untrusting = store(&url, None);
        let key = StoreKey::from_parts("t", &[7; 20], &[8]);
        assert!(untrusting.get(&key).await.is_err());
    });
}

#[test]
fn a_three_master_cluster() {
    if !present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let servers: Vec<Server> = (0..3)
        .map(|i| {
            let d = dir.path().join(format!("n{i}"));
            std::fs::create_dir_all(&d).unwrap();
            start(
                &d,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ],
            )
        })
        .collect();
    let nodes: Vec<String> = servers
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port))
        .collect();
    let out = Command::new("redis-cli")
        .arg("--cluster")
        .arg("create")
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !servers
        .iter()
        .all(|s| cli(s.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok"))
    {
        assert!(Instant::now() < deadline, "the cluster did not become ok");
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("redis+cluster://{}", nodes.join(","));
    let rt = rt();
    rt.block_on(async {
        let (s, t) = (store(&url, None), store(&url, None));
        primitives(&s, &t).await;
        // Keys of many certificates spread over the masters, and each one's proof and lease
        // share a slot (the scripts would fail with CROSSSLOT otherwise).
        for serial in 0..30u8 {
            let key = StoreKey::from_parts("t", &[serial; 20], &[serial]);
            assert_eq!(
                s.try_lease(&key, "a", Duration::from_secs(5)).await,
                Ok(Lease::Acquired)
            );
            assert_eq!(
                s.put_if(&key, None, &[serial], Duration::from_secs(60), "a")
                    .await,
                Ok(Put::Written)
            );
        }
    });
    let counts: Vec<usize> = servers
        .iter()
        .map(|s| cli(s.port, &["DBSIZE"]).trim().parse().unwrap_or(0))
        .collect();
    assert!(counts.iter().filter(|c| **c > 0).count() >= 2, "{counts:?}");
}
