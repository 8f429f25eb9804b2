//! The prefix structure behind compiled address items.
//!
//! A run of consecutive address and CIDR items is compiled into one [`AddrBlock`]. For each family
//! the block holds sorted, disjoint address ranges, each labelled with the smallest item number
//! (that is, the first item in list order) whose network covers the range. CIDR networks are
//! either nested or disjoint, so the ranges come from one sweep over the networks sorted by start
//! address (outer before inner). A lookup is a binary search: `O(log n)` and no allocation.

use std::net::IpAddr;

use crate::ip::{self, Net};

/// An unsigned address type: `u32` for IPv4, `u128` for IPv6.
pub(crate) trait Addr: Copy + Ord {
    /// The smallest value.
    const MIN: Self;
    /// `self + 1`, or `None` at the maximum.
    fn succ(self) -> Option<Self>;
    /// `self - 1`, or `None` at zero.
    fn pred(self) -> Option<Self>;
}

impl Addr for u32 {
    const MIN: u32 = 0;
    fn succ(self) -> Option<u32> {
        self.checked_add(1)
    }
    fn pred(self) -> Option<u32> {
        self.checked_sub(1)
    }
}

impl Addr for u128 {
    const MIN: u128 = 0;
    fn succ(self) -> Option<u128> {
        self.checked_add(1)
    }
    fn pred(self) -> Option<u128> {
        self.checked_sub(1)
    }
}

/// Disjoint inclusive ranges, sorted, each with a label.
#[derive(Debug, Clone, Default)]
pub(crate) struct RangeMap<A> {
    starts: Vec<A>,
    ends: Vec<A>,
    labels: Vec<u32>,
}

impl<A: Addr> RangeMap<A> {
    /// Builds the map from inclusive ranges that are pairwise nested or disjoint (true of CIDR
    /// networks). Where ranges overlap, the smallest label wins.
    pub(crate) fn build(mut ranges: Vec<(A, A, u32)>) -> RangeMap<A> {
        ranges.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        ranges.dedup_by(|later, first| later.0 == first.0 && later.1 == first.1);
        let mut map = RangeMap {
            starts: Vec::new(),
            ends: Vec::new(),
            labels: Vec::new(),
        };
        // Open ranges, outermost first: (end, effective label).
        let mut stack: Vec<(A, u32)> = Vec::new();
        // First address not yet emitted; `None` once the maximum address has been emitted.
        let mut cursor: Option<A> = Some(A::MIN);
        for (start, end, label) in ranges {
            while let Some(&(top_end, top_label)) = stack.last() {
                if top_end >= start {
                    break;
                }
                map.emit(cursor, top_end, top_label);
                cursor = top_end.succ();
                stack.pop();
            }
            let parent = stack.last().map(|&(_, l)| l);
            if let (Some(parent_label), Some(before)) = (parent, start.pred()) {
                map.emit(cursor, before, parent_label);
            }
            cursor = Some(start);
            stack.push((end, parent.map_or(label, |p| p.min(label))));
        }
        while let Some((top_end, top_label)) = stack.pop() {
            map.emit(cursor, top_end, top_label);
            cursor = top_end.succ();
        }
        map
    }

    fn emit(&mut self, from: Option<A>, to: A, label: u32) {
        let Some(from) = from else { return };
        if from > to {
            return;
        }
        if let (Some(last_end), Some(&last_label)) = (self.ends.last_mut(), self.labels.last())
            && last_label == label
            && last_end.succ() == Some(from)
        {
            *last_end = to;
            return;
        }
        self.starts.push(from);
        self.ends.push(to);
        self.labels.push(label);
    }

    /// The label of the range containing `addr`, if any.
    pub(crate) fn get(&self, addr: A) -> Option<u32> {
        let i = self.starts.partition_point(|&s| s <= addr).checked_sub(1)?;
        match (self.ends.get(i), self.labels.get(i)) {
            (Some(&end), Some(&label)) if addr <= end => Some(label),
            _ => None,
        }
    }

    /// Number of ranges.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }
}

/// One address item of a block: its list index and whether it is negated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) index: usize,
    pub(crate) negated: bool,
}

/// A compiled run of consecutive address and CIDR items.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddrBlock {
    v4: RangeMap<u32>,
    v6: RangeMap<u128>,
    pub(crate) entries: Vec<Entry>,
}

impl AddrBlock {
    /// Compiles the items, given in list order.
    pub(crate) fn build(items: &[(Entry, Net)]) -> AddrBlock {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (label, (_, net)) in items.iter().enumerate() {
            let label = u32::try_from(label).unwrap_or(u32::MAX);
            match *net {
                Net::V4 { addr, len } => v4.push((addr, addr | !ip::mask32(len), label)),
                Net::V6 { addr, len } => v6.push((addr, addr | !ip::mask128(len), label)),
            }
        }
        AddrBlock {
            v4: RangeMap::build(v4),
            v6: RangeMap::build(v6),
            entries: items.iter().map(|(e, _)| *e).collect(),
        }
    }

    /// The first item (in list order) whose network contains `subject`, which must already be in
    /// canonical form (IPv4-mapped converted to IPv4).
    pub(crate) fn first_match(&self, subject: IpAddr) -> Option<Entry> {
        let label = match subject {
            IpAddr::V4(a) => self.v4.get(u32::from(a)),
            IpAddr::V6(a) => self.v6.get(u128::from(a)),
        }?;
        self.entries.get(usize::try_from(label).ok()?).copied()
    }

    /// The last entry, whose negation decides the end-of-list result.
    pub(crate) fn last(&self) -> Option<Entry> {
        self.entries.last().copied()
    }

    /// Total number of ranges (for tests and sizing).
    #[cfg(test)]
    pub(crate) fn ranges(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}
