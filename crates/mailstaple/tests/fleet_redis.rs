//! The fleet protocol end to end, with real processes only: `mailstaple fetch --daemon` nodes
//! sharing a real `redis-server` (or a local three-master Redis Cluster), an OCSP responder in
//! this process that counts requests per certificate, and `redis-cli` to read leases and write
//! hostile values.
//!
//! - Three nodes and 200 certificates: the responder sees at most 1.05 requests per certificate
//!   per round (the first round, and a refresh round forced by restarting the nodes past the
//!   proofs' midpoint), and every node staples the same verified bytes.
//! - A lease holder killed with SIGKILL in the middle of its fetch is replaced within the
//!   lease's TTL plus one poll, and no proof file is ever seen torn.
//! - Redis killed: every node keeps refreshing from the responder; Redis back empty: the fleet
//!   fills it again and converges.
//! - Hostile store contents (garbage, another certificate's proof, an expired proof, a bad
//!   signature, an older proof) are never installed, and the refusals are logged.
//! - The same convergence on a Redis Cluster (`redis+cluster://`).
//!
//! Skipped when `redis-server` is missing, unless `MAILSTAPLE_REQUIRE_PEERS=1`. Every daemon's
//! clock starts at a fixed instant (`--now`) and advances in real time; the tests read no wall
//! clock.

// Test helpers work on the tests' own data: a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod fleet;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailstaple_testpki::{DAY, Defect, HOUR, NOW};
use serde_json::Value;

use fleet::{
    Cli, Cluster, Fleet, Redis, Responder, Spec, Timing, Watcher, cert_name, exclusive, free_port,
    key_id, leaves, redis_present, round_now, verify_proof, wait_until,
};

const PREFIX: &str = "mst";
const NODES: [&str; 3] = ["n1", "n2", "n3"];
const ALL: [usize; 3] = [0, 1, 2];

fn spec(certs: usize, store: String, timeout: u64) -> Spec {
    Spec {
        certs,
        store,
        prefix: PREFIX.to_owned(),
        timeout,
        poll: 1,
    }
}

/// The JSON status of every node, once each lists `n` certificates and `ready` holds for it.
fn statuses(fleet: &Fleet, what: &str, ready: impl Fn(&Value) -> Result<(), String>) -> Vec<Value> {
    wait_until(what, Duration::from_secs(15), || {
        fleet
            .nodes
            .iter()
            .map(|node| {
                let v = node
                    .status()
                    .ok_or_else(|| format!("{}: no status file yet", node.name))?;
                ready(&v).map_err(|e| format!("{}: {e}", node.name))?;
                Ok(v)
            })
            .collect()
    })
}

fn certificates(v: &Value) -> &Vec<Value> {
    v["certificates"].as_array().unwrap()
}

/// Three nodes and `n` certificates on `store`: two rounds (the first fetch, then a refresh
/// forced by restarting the nodes past the proofs' midpoint), each with at most 1.05 responder
/// requests per certificate, the same verified bytes on every node and in the store.
fn convergence(dir: &Path, store: String, cli: Cli, n: usize) {
    let responder = Responder::start(n, Timing::Round(1));
    let mut fleet = Fleet::new(dir, spec(n, store, 3), &responder, &NODES);
    for round in [1, 2] {
        responder.set_timing(Timing::Round(round));
        let now = round_now(round);
        let expected = i64::try_from(now - HOUR).unwrap();
        let started = Instant::now();
        fleet.start_all(now);
        wait_until(
            &format!("round {round}: the same verified proofs on every node"),
            Duration::from_secs(90),
            || {
                fleet.converged(&ALL, |i, b| {
                    let tu = verify_proof(i, b, now)?;
                    if tu != expected {
                        return Err(format!(
                            "{}: thisUpdate {tu}, not round {round}'s",
                            cert_name(i)
                        ));
                    }
                    if !responder.served(b) {
                        return Err(format!(
                            "{}: bytes the responder never served",
                            cert_name(i)
                        ));
                    }
                    Ok(())
                })
            },
        );
        let took = started.elapsed();
        let (total, max) = responder.requests(round);
        eprintln!(
            "round {round}: {n} certificates on 3 nodes converged in {took:?} with {total} \
             responder requests (at most {max} for one certificate)"
        );
        assert!(
            f64::from(total) <= 1.05 * n as f64,
            "round {round}: {total} requests for {n} certificates"
        );
        // The store holds what every node staples.
        for i in 0..n {
            let file = std::fs::read(fleet.nodes[0].out(i)).unwrap();
            assert_eq!(
                cli.get(&fleet.key(i, "proof")).as_deref(),
                Some(&file[..]),
                "round {round}: the stored proof of {}",
                cert_name(i)
            );
        }
        // Each proof came from the responder on one node and from the store on the others.
        let all = statuses(&fleet, "every certificate with a source", |v| {
            let store = &v["store"];
            if store["health"] != "up" {
                return Err(format!("store {store}"));
            }
            let certs = certificates(v);
            if certs.len() != n {
                return Err(format!("{} certificates", certs.len()));
            }
            match certs
                .iter()
                .find(|c| c["health"] != "ok" || c["source"].is_null())
            {
                Some(c) => Err(format!("not yet: {c}")),
                None => Ok(()),
            }
        });
        for (v, name) in all.iter().zip(NODES) {
            assert_eq!(v["store"]["node"], name, "{}", v["store"]);
            assert!(
                v["store"]["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("redis")),
                "{}",
                v["store"]
            );
        }
        let count = |source: &str| {
            all.iter()
                .flat_map(certificates)
                .filter(|c| c["source"] == source)
                .count()
        };
        let (from_responder, from_store) = (count("responder"), count("store"));
        eprintln!(
            "round {round}: {from_responder} installs from the responder, {from_store} from the store"
        );
        assert_eq!(from_responder + from_store, 3 * n);
        assert!(
            from_responder <= usize::try_from(total).unwrap(),
            "{from_responder} installs from the responder but {total} requests"
        );
        fleet.stop_all();
    }
}

#[test]
fn three_nodes_on_one_redis_ask_once_per_certificate_and_staple_the_same_bytes() {
    if !redis_present() {
        return;
    }
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"), free_port(false), &[]);
    let cli = Cli {
        port: redis.port,
        cluster: false,
    };
    convergence(dir.path(), redis.url(), cli, 200);
}

#[test]
fn a_redis_cluster_of_three_masters_serves_the_fleet_the_same() {
    if !redis_present() {
        return;
    }
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&dir.path().join("cluster"));
    let cli = Cli {
        port: cluster.port(),
        cluster: true,
    };
    convergence(dir.path(), cluster.url(), cli, 50);
    // The proofs are spread over the three masters' slots.
    for port in cluster.ports() {
        let o = fleet::redis_cli(port, false, &["DBSIZE"], None);
        let keys: u64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
        assert!(keys > 0, "the master on {port} holds no key");
    }
}

#[test]
fn a_lease_holder_killed_mid_fetch_is_replaced_within_the_lease_ttl() {
    if !redis_present() {
        return;
    }
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"), free_port(false), &[]);
    let cli = Cli {
        port: redis.port,
        cluster: false,
    };
    let n = 4;
    // A timeout long enough to look at the lease while the holder's request hangs.
    let timeout = 8;
    let ttl = Duration::from_secs(timeout + 5);
    let poll = Duration::from_secs(1);
    let responder = Arc::new(Responder::start(n, Timing::Round(1)));
    let mut fleet = Fleet::new(
        dir.path(),
        spec(n, redis.url(), timeout),
        &responder,
        &NODES,
    );
    let files = fleet
        .nodes
        .iter()
        .flat_map(|node| (0..n).map(move |i| (node.out(i), i)))
        .collect();
    let r = Arc::clone(&responder);
    let watcher = Watcher::start(
        files,
        Arc::new(move |i, b: &[u8]| {
            verify_proof(i, b, NOW)?;
            if r.served(b) {
                Ok(())
            } else {
                Err("bytes the responder never served".to_owned())
            }
        }),
    );

    responder.stall();
    fleet.start_all(NOW);
    let first = wait_until(
        "the first request for c000",
        Duration::from_secs(15),
        || {
            responder
                .arrivals(0)
                .first()
                .copied()
                .ok_or_else(|| "none yet".to_owned())
        },
    );
    let holder = cli
        .get_string(&fleet.key(0, "lease"))
        .expect("the lease of c000 is held while its fetch hangs");
    let name = holder.split('#').next().unwrap().to_owned();
    let k = fleet
        .nodes
        .iter()
        .position(|node| node.name == name)
        .unwrap_or_else(|| panic!("the lease holder {holder:?} is not a node"));
    let survivors: Vec<usize> = ALL.into_iter().filter(|&j| j != k).collect();
    // The nodes that wait say who holds the lease.
    wait_until(
        "a waiting node's status to name the lease holder",
        Duration::from_secs(6),
        || {
            let named = survivors.iter().any(|&j| {
                fleet.nodes[j].status().is_some_and(|v| {
                    certificates(&v)
                        .iter()
                        .any(|c| c["name"] == "c000" && c["lease_holder"] == holder.as_str())
                })
            });
            if named {
                Ok(())
            } else {
                Err(format!("no status names {holder}"))
            }
        },
    );
    fleet.nodes[k].kill9();
    let killed = Instant::now();
    assert_eq!(
        responder.arrivals(0).len(),
        1,
        "another node asked for c000 while the lease was held"
    );
    responder.resume();

    let installed = wait_until(
        "a surviving node to install c000",
        ttl + poll + Duration::from_secs(10),
        || {
            for &j in &survivors {
                if let Ok(b) = std::fs::read(fleet.nodes[j].out(0)) {
                    verify_proof(0, &b, NOW)?;
                    return Ok(Instant::now());
                }
            }
            Err("not yet".to_owned())
        },
    );
    let took = installed - killed;
    let arrivals = responder.arrivals(0);
    eprintln!(
        "holder {holder} killed; c000 installed by another node {took:?} later; the second \
         request came {:?} after the first",
        arrivals.get(1).map(|t| *t - first)
    );
    assert!(
        took <= ttl + poll + Duration::from_secs(2),
        "c000 took {took:?} after the holder died (lease TTL {ttl:?}, poll {poll:?})"
    );
    // Nobody asked before the dead holder's lease ran out (it was taken before its request).
    let second = arrivals.get(1).copied().expect("a second request for c000");
    assert!(
        second - first >= ttl - Duration::from_secs(1),
        "the second request came {:?} after the first: the lease did not hold",
        second - first
    );
    wait_until("the survivors to converge", Duration::from_secs(30), || {
        fleet.converged(&survivors, |i, b| verify_proof(i, b, NOW).map(|_| ()))
    });
    // The killed node comes back under its name (a new holder id) and takes the store's proofs.
    fleet.nodes[k].start(NOW);
    wait_until("all three to converge", Duration::from_secs(30), || {
        fleet.converged(&ALL, |i, b| verify_proof(i, b, NOW).map(|_| ()))
    });
    fleet.stop_all();
    let (reads, bad) = watcher.finish();
    eprintln!("{reads} reads of proof files, none torn");
    assert!(reads > 100, "only {reads} reads");
    assert!(bad.is_empty(), "torn or unverifiable files: {bad:#?}");
}

#[test]
fn the_fleet_outlives_its_store_and_fills_it_again() {
    if !redis_present() {
        return;
    }
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let mut redis = Redis::start(&dir.path().join("redis"), free_port(false), &[]);
    let cli = Cli {
        port: redis.port,
        cluster: false,
    };
    let n = 10;
    // Proofs valid for 24 s: running nodes refresh each about every 12 s.
    let responder = Arc::new(Responder::start(n, Timing::Live { window: 24 }));
    let mut fleet = Fleet::new(dir.path(), spec(n, redis.url(), 3), &responder, &NODES);
    let files = fleet
        .nodes
        .iter()
        .flat_map(|node| (0..n).map(move |i| (node.out(i), i)))
        .collect();
    let r = Arc::clone(&responder);
    let watcher = Watcher::start(
        files,
        Arc::new(move |i, b: &[u8]| {
            verify_proof(i, b, r.live_now())?;
            if r.served(b) {
                Ok(())
            } else {
                Err("bytes the responder never served".to_owned())
            }
        }),
    );
    let valid = |i: usize, b: &[u8]| verify_proof(i, b, responder.live_now()).map(|_| ());
    fleet.start_all(NOW);
    wait_until("the first convergence", Duration::from_secs(30), || {
        fleet.converged(&ALL, valid)
    });

    // Redis dies.
    let before: Vec<i64> = (0..n)
        .map(|i| {
            let b = std::fs::read(fleet.nodes[0].out(i)).unwrap();
            verify_proof(i, &b, responder.live_now()).unwrap()
        })
        .collect();
    let (asked_before, _) = responder.requests(0);
    redis.kill();
    statuses(&fleet, "every node to see the store down", |v| {
        if v["store"]["health"] == "down" {
            Ok(())
        } else {
            Err(format!("store {}", v["store"]))
        }
    });
    wait_until(
        "every node to refresh every proof from the responder",
        Duration::from_secs(45),
        || {
            for node in &fleet.nodes {
                for (i, &old) in before.iter().enumerate() {
                    let b = std::fs::read(node.out(i)).map_err(|e| e.to_string())?;
                    let tu = verify_proof(i, &b, responder.live_now())?;
                    if tu <= old {
                        return Err(format!("{}: {} not refreshed", node.name, cert_name(i)));
                    }
                }
            }
            Ok(())
        },
    );
    let (asked_after, _) = responder.requests(0);
    eprintln!(
        "store down: {} responder requests for {n} certificates on 3 nodes",
        asked_after - asked_before
    );
    // Without the store each node asked for itself.
    assert!(asked_after - asked_before >= u32::try_from(3 * n).unwrap());

    // Redis comes back empty on the same port.
    redis.restart();
    wait_until(
        "the fleet to fill the store again",
        Duration::from_secs(45),
        || {
            for i in 0..n {
                let stored = cli
                    .get(&fleet.key(i, "proof"))
                    .ok_or_else(|| format!("{} not stored yet", cert_name(i)))?;
                verify_proof(i, &stored, responder.live_now())?;
            }
            Ok(())
        },
    );
    statuses(&fleet, "every node to see the store up", |v| {
        if v["store"]["health"] == "up" {
            Ok(())
        } else {
            Err(format!("store {}", v["store"]))
        }
    });
    wait_until(
        "the nodes to converge again",
        Duration::from_secs(45),
        || fleet.converged(&ALL, valid),
    );
    fleet.stop_all();
    let (reads, bad) = watcher.finish();
    eprintln!("{reads} reads of proof files, all complete and valid");
    assert!(bad.is_empty(), "torn or invalid files: {bad:#?}");
}

/// Whether `log` has a line saying that the store's value for certificate `i` was refused.
fn refusal_logged(log: &str, i: usize) -> bool {
    log.lines().any(|l| {
        let lower = l.to_ascii_lowercase();
        lower.contains("store") && lower.contains("refused") && l.contains(&cert_name(i))
    })
}

#[test]
fn hostile_store_contents_are_never_installed_and_are_logged() {
    if !redis_present() {
        return;
    }
    let _one = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(&dir.path().join("redis"), free_port(false), &[]);
    let cli = Cli {
        port: redis.port,
        cluster: false,
    };
    let n = 6;
    // Requests hang in the second phase: a timeout that outlasts the checks made meanwhile.
    let responder = Arc::new(Responder::start(n, Timing::Round(1)));
    let mut fleet = Fleet::new(dir.path(), spec(n, redis.url(), 10), &responder, &NODES);
    fleet.start_all(NOW);
    wait_until("the first convergence", Duration::from_secs(30), || {
        fleet.converged(&ALL, |i, b| verify_proof(i, b, NOW).map(|_| ()))
    });
    let good: Vec<Vec<u8>> = (0..n)
        .map(|i| std::fs::read(fleet.nodes[0].out(i)).unwrap())
        .collect();

    let l = leaves();
    let built = |i: usize| l.pki.response().cert(&l.certs[i]);
    // (certificate, value, refused as not authentic/current/for it)
    let hostile: Vec<(usize, Vec<u8>, bool)> = vec![
        (
            0,
            b"\x30\x82\x01\x00garbage, not an OCSP response\xff\xfe".to_vec(),
            true,
        ),
        // c005's own, valid proof, under c001's key.
        (1, good[5].clone(), true),
        (
            2,
            built(2)
                .this_update(NOW - 10 * DAY)
                .produced_at(NOW - 10 * DAY)
                .next_update(Some(NOW - 3 * DAY))
                .build(),
            true,
        ),
        (
            3,
            built(3)
                .this_update(NOW - HOUR)
                .produced_at(NOW - HOUR)
                .defect(Defect::BadSignature)
                .build(),
            true,
        ),
        // Authentic and current, but older than what the nodes hold.
        (
            4,
            built(4)
                .this_update(NOW - 2 * HOUR)
                .produced_at(NOW - 2 * HOUR)
                .next_update(Some(NOW + 6 * DAY))
                .build(),
            false,
        ),
    ];
    let files = fleet
        .nodes
        .iter()
        .flat_map(|node| (0..n).map(move |i| (node.out(i), i)))
        .collect();
    let (r, bad_values) = (
        Arc::clone(&responder),
        hostile
            .iter()
            .map(|h| (h.0, h.1.clone()))
            .collect::<Vec<_>>(),
    );
    // Round 1 and round 2 proofs are both valid four days on.
    let watcher = Watcher::start(
        files,
        Arc::new(move |i, b: &[u8]| {
            if bad_values.iter().any(|(j, v)| *j == i && v == b) {
                return Err("a hostile value was installed".to_owned());
            }
            verify_proof(i, b, round_now(2))?;
            if r.served(b) {
                Ok(())
            } else {
                Err("bytes the responder never served".to_owned())
            }
        }),
    );

    // Phase 1: written while the nodes run, with a notice each.
    for (i, value, _) in &hostile {
        cli.set(&fleet.key(*i, "proof"), value);
        cli.publish(
            &format!("{PREFIX}:notices"),
            &format!("mallory {}", key_id(*i)),
        );
    }
    wait_until(
        "the fleet to put its proofs back in the store",
        Duration::from_secs(20),
        || {
            for (i, _, _) in &hostile {
                if cli.get(&fleet.key(*i, "proof")).as_ref() != Some(&good[*i]) {
                    return Err(format!("{} not repaired", cert_name(*i)));
                }
            }
            Ok(())
        },
    );
    wait_until("the refusals to be logged", Duration::from_secs(10), || {
        for (i, _, refused) in &hostile {
            if *refused
                && !fleet
                    .nodes
                    .iter()
                    .any(|node| refusal_logged(&node.log(), *i))
            {
                return Err(format!(
                    "no node logged the refusal of {}'s value",
                    cert_name(*i)
                ));
            }
        }
        Ok(())
    });
    for node in &fleet.nodes {
        for line in node.log().lines().filter(|l| l.contains("refused")) {
            eprintln!("{}: {line}", node.name);
        }
    }
    fleet
        .converged(&ALL, |i, b| {
            if b == good[i] {
                Ok(())
            } else {
                Err(format!("{} changed", cert_name(i)))
            }
        })
        .unwrap();

    // Phase 2: found when the refresh is due (the nodes restart past the midpoint), while the
    // responder holds every request.
    fleet.stop_all();
    let logged: Vec<usize> = fleet.nodes.iter().map(|node| node.log().len()).collect();
    for (i, value, _) in &hostile {
        cli.set(&fleet.key(*i, "proof"), value);
    }
    responder.set_timing(Timing::Round(2));
    responder.stall();
    fleet.start_all(round_now(2));
    wait_until(
        "a round-2 request for every certificate",
        Duration::from_secs(20),
        || match (0..n).find(|&i| responder.count(2, i) == 0) {
            Some(i) => Err(format!("none for {}", cert_name(i))),
            None => Ok(()),
        },
    );
    wait_until(
        "the refusals to be logged again",
        Duration::from_secs(10),
        || {
            for (i, _, refused) in &hostile {
                let seen = fleet
                    .nodes
                    .iter()
                    .zip(&logged)
                    .any(|(node, &from)| refusal_logged(&node.log()[from..], *i));
                if *refused && !seen {
                    return Err(format!(
                        "no node logged the refusal of {}'s value",
                        cert_name(*i)
                    ));
                }
            }
            Ok(())
        },
    );
    fleet
        .converged(&ALL, |i, b| {
            if b == good[i] {
                Ok(())
            } else {
                Err(format!("{} changed", cert_name(i)))
            }
        })
        .unwrap();
    responder.resume();
    let expected = i64::try_from(round_now(2) - HOUR).unwrap();
    wait_until("round 2 on every node", Duration::from_secs(30), || {
        fleet.converged(&ALL, |i, b| {
            let tu = verify_proof(i, b, round_now(2))?;
            if tu == expected {
                Ok(())
            } else {
                Err(format!("{}: not round 2's", cert_name(i)))
            }
        })
    });
    wait_until("the store to hold round 2", Duration::from_secs(10), || {
        for i in 0..n {
            let file = std::fs::read(fleet.nodes[0].out(i)).unwrap();
            if cli.get(&fleet.key(i, "proof")).as_ref() != Some(&file) {
                return Err(format!("{} differs in the store", cert_name(i)));
            }
        }
        Ok(())
    });
    fleet.stop_all();
    let (reads, bad) = watcher.finish();
    eprintln!("{reads} reads of proof files, no hostile value among them");
    assert!(bad.is_empty(), "bad files: {bad:#?}");
}
