//! An in-memory store with an injected clock, for tests and simulations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::{Error, Lease, Notice, Put, Store, StoreFuture, StoreKey};

/// The clock of a [`MemoryStore`], in milliseconds.
pub type MillisClock = Arc<dyn Fn() -> i64 + Send + Sync>;

#[derive(Default)]
struct Inner {
    values: HashMap<String, (Vec<u8>, i64)>,
    subscribers: Vec<mpsc::Sender<Notice>>,
    down: bool,
    ops: u64,
}

/// A [`Store`] in memory with the semantics of the Redis one (expiry, `NX` leases,
/// compare-and-set, notices), a switch to make it unavailable, and a count of operations.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    clock: MillisClock,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl MemoryStore {
    /// An empty store whose TTLs follow `clock` (milliseconds).
    pub fn new(clock: MillisClock) -> MemoryStore {
        MemoryStore {
            inner: Arc::default(),
            clock,
        }
    }

    /// Makes every operation fail with [`Error::Unavailable`] (`true`) or work again.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Writes `value` under the raw key `key` (what an intruder with store access can do).
    pub fn raw_set(&self, key: &str, value: Vec<u8>) {
        self.lock().values.insert(key.to_owned(), (value, i64::MAX));
    }

    /// Operations served so far.
    pub fn operations(&self) -> u64 {
        self.lock().ops
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner, i64) -> T) -> Result<T, Error> {
        let now = (self.clock)();
        let mut inner = self.lock();
        if inner.down {
            return Err(Error::Unavailable(
                "the memory store is switched off".into(),
            ));
        }
        inner.ops += 1;
        inner.values.retain(|_, (_, exp)| *exp > now);
        Ok(f(&mut inner, now))
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn get<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let v = self.with(|i, _| i.values.get(key.proof()).map(|(v, _)| v.clone()))?;
            match v {
                Some(v) if v.len() > crate::MAX_VALUE => Err(Error::TooLarge(v.len())),
                v => Ok(v),
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
            self.with(|i, now| match i.values.get(key.lease()) {
                Some((h, _)) => Lease::HeldBy(String::from_utf8_lossy(h).into_owned()),
                None => {
                    i.values.insert(
                        key.lease().to_owned(),
                        (holder.as_bytes().to_vec(), now.saturating_add(millis(ttl))),
                    );
                    Lease::Acquired
                }
            })
        })
    }

    fn release<'a>(&'a self, key: &'a StoreKey, holder: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.with(|i, _| {
                if i.values
                    .get(key.lease())
                    .is_some_and(|(h, _)| h == holder.as_bytes())
                {
                    i.values.remove(key.lease());
                }
            })
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
            self.with(|i, now| {
                // As on Redis: a value that cannot be a proof counts as nothing.
                let current = i
                    .values
                    .get(key.proof())
                    .filter(|(v, _)| v.len() <= crate::MAX_VALUE)
                    .map(|(v, _)| v.clone());
                if current.as_deref() != expected {
                    return Put::Conflict(current);
                }
                i.values.insert(
                    key.proof().to_owned(),
                    (proof.to_vec(), now.saturating_add(millis(ttl))),
                );
                let notice = Notice::Changed {
                    key: key.id().to_owned(),
                    node: node.to_owned(),
                };
                i.subscribers
                    .retain(|s| s.try_send(notice.clone()).is_ok() || !s.is_closed());
                Put::Written
            })
        })
    }

    fn subscribe(&self) -> Option<mpsc::Receiver<Notice>> {
        let (tx, rx) = mpsc::channel(1024);
        self.lock().subscribers.push(tx);
        Some(rx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    #[tokio::test]
    async fn leases_expire_and_puts_compare() {
        let t = Arc::new(AtomicI64::new(1_000));
        let clock = Arc::clone(&t);
        let s = MemoryStore::new(Arc::new(move || clock.load(Ordering::SeqCst)));
        let mut notices = s.subscribe().unwrap();
        let k = StoreKey::from_parts("p", &[1], &[2]);
        let ttl = Duration::from_secs(10);
        assert_eq!(s.try_lease(&k, "a", ttl).await, Ok(Lease::Acquired));
        assert_eq!(
            s.try_lease(&k, "b", ttl).await,
            Ok(Lease::HeldBy("a".into()))
        );
        s.release(&k, "b").await.unwrap();
        assert_eq!(
            s.try_lease(&k, "b", ttl).await,
            Ok(Lease::HeldBy("a".into()))
        );
        t.store(11_001, Ordering::SeqCst);
        assert_eq!(s.try_lease(&k, "b", ttl).await, Ok(Lease::Acquired));

        assert_eq!(s.put_if(&k, None, b"one", ttl, "b").await, Ok(Put::Written));
        assert_eq!(
            notices.recv().await,
            Some(Notice::Changed {
                key: k.id().into(),
                node: "b".into()
            })
        );
        assert_eq!(
            s.put_if(&k, None, b"two", ttl, "a").await,
            Ok(Put::Conflict(Some(b"one".to_vec())))
        );
        assert_eq!(
            s.put_if(&k, Some(b"one"), b"two", ttl, "a").await,
            Ok(Put::Written)
        );
        assert_eq!(s.get(&k).await, Ok(Some(b"two".to_vec())));
        t.store(40_000, Ordering::SeqCst);
        assert_eq!(s.get(&k).await, Ok(None));
        s.set_down(true);
        assert!(matches!(s.get(&k).await, Err(Error::Unavailable(_))));
        s.raw_set(k.proof(), vec![0; crate::MAX_VALUE + 1]);
        s.set_down(false);
        assert_eq!(s.get(&k).await, Err(Error::TooLarge(crate::MAX_VALUE + 1)));
    }
}
