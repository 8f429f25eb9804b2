//! Compiled host lists against a straightforward linear scan, with 10 and 10,000 CIDR items
//! (half IPv4, half IPv6). Each iteration checks the same 64 probe addresses (a few inside the
//! list's networks, most outside, as for a typical `hosts_require_ocsp` list).
//!
//! The linear scan (`fuzzing::LinearScan`) has its items pre-parsed, so the comparison is of the
//! matching structure alone. The compiled side also builds a full `Outcome`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mailstaple_hostlist::fuzzing::LinearScan;
use mailstaple_hostlist::{Env, Host, HostList};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `n` CIDR items, alternating IPv4 (/16 to /32) and IPv6 (/32 to /128), joined with `<;`.
fn cidr_list(n: usize, rng: &mut Rng) -> (String, Vec<IpAddr>) {
    let mut items = Vec::with_capacity(n);
    let mut inside = Vec::new();
    for i in 0..n {
        let r = rng.next();
        if i % 2 == 0 {
            let addr = Ipv4Addr::from((r >> 32) as u32);
            let len = 16 + (r % 17);
            items.push(format!("{addr}/{len}"));
            inside.push(IpAddr::V4(addr));
        } else {
            let addr = Ipv6Addr::from((u128::from(r) << 64) | u128::from(rng.next()));
            let len = 32 + (r % 97);
            items.push(format!("{addr}/{len}"));
            inside.push(IpAddr::V6(addr));
        }
    }
    (format!("<; {}", items.join(" ; ")), inside)
}

fn probes(inside: &[IpAddr], rng: &mut Rng) -> Vec<IpAddr> {
    (0..64)
        .map(|i| match i % 8 {
            0 => inside[(rng.next() as usize) % inside.len()],
            1..=3 => IpAddr::V4(Ipv4Addr::from(rng.next() as u32)),
            _ => IpAddr::V6(Ipv6Addr::from(
                (u128::from(rng.next()) << 64) | u128::from(rng.next()),
            )),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("match");
    let env = Env::new();
    for n in [10usize, 10_000] {
        let mut rng = Rng(n as u64);
        let (text, inside) = cidr_list(n, &mut rng);
        let compiled = HostList::parse(&text).unwrap();
        let linear = LinearScan::parse(&text);
        let probes = probes(&inside, &mut rng);
        // Both must give the same answers before their speed is compared.
        for &p in &probes {
            let o = compiled.check(&Host::new(p), &env);
            let l = linear.first_match(p);
            assert_eq!(
                o.item.as_ref().filter(|_| l.is_some()).map(|i| i.index),
                l.map(|x| x.0)
            );
            assert_eq!(o.is_match(), l.is_some_and(|x| !x.1));
        }
        group.throughput(Throughput::Elements(probes.len() as u64));
        group.bench_with_input(BenchmarkId::new("compiled", n), &probes, |b, probes| {
            b.iter(|| {
                probes
                    .iter()
                    .filter(|&&p| compiled.check(&Host::new(black_box(p)), &env).is_match())
                    .count()
            })
        });
        group.bench_with_input(BenchmarkId::new("linear", n), &probes, |b, probes| {
            b.iter(|| {
                probes
                    .iter()
                    .filter(|&&p| linear.first_match(black_box(p)).is_some_and(|x| !x.1))
                    .count()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
