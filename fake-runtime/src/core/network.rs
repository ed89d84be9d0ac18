//! Simulated pod networking: a unique IP per sandbox that has its own network
//! namespace, taken from a configurable range (what a CNI bridge plugin would hand out).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Mutex;

/// Hands out unique IPv4 addresses from a CIDR range.
#[derive(Debug)]
pub(crate) struct IpPool {
    base: u32,
    size: u32,
    used: Mutex<BTreeSet<u32>>,
}

impl IpPool {
    /// A pool over `cidr` (e.g. `10.88.0.0/16`). An unparsable range falls back to
    /// `10.88.0.0/16`. The network address, the gateway (`.1`) and the broadcast
    /// address are never handed out.
    pub(crate) fn new(cidr: &str) -> Self {
        let (base, prefix) =
            parse_cidr(cidr).unwrap_or((u32::from(Ipv4Addr::new(10, 88, 0, 0)), 16));
        let size = if prefix >= 31 {
            4
        } else {
            1u32 << (32 - prefix)
        };
        Self {
            base: base & !(size - 1),
            size,
            used: Mutex::new(BTreeSet::new()),
        }
    }

    /// The next free address, or `None` when the range is exhausted.
    pub(crate) fn allocate(&self) -> Option<String> {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let offset = (2..self.size.saturating_sub(1)).find(|o| !used.contains(o))?;
        used.insert(offset);
        Some(Ipv4Addr::from(self.base + offset).to_string())
    }

    /// Returns an address to the pool.
    pub(crate) fn release(&self, ip: &str) {
        if let Ok(addr) = ip.parse::<Ipv4Addr>() {
            let offset = u32::from(addr).wrapping_sub(self.base);
            self.used
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&offset);
        }
    }
}

fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (addr, prefix) = cidr.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let prefix: u32 = prefix.parse().ok()?;
    (prefix <= 32).then_some((u32::from(addr), prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_unique_skip_network_and_gateway_and_are_reused_after_release() {
        let pool = IpPool::new("10.1.2.0/30");
        assert_eq!(pool.allocate().as_deref(), Some("10.1.2.2"));
        assert_eq!(pool.allocate(), None);
        pool.release("10.1.2.2");
        assert_eq!(pool.allocate().as_deref(), Some("10.1.2.2"));
        let big = IpPool::new("10.88.0.0/16");
        assert_eq!(big.allocate().as_deref(), Some("10.88.0.2"));
        assert_eq!(big.allocate().as_deref(), Some("10.88.0.3"));
    }
}
