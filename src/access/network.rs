//! The address or network an access hash is bound to.
//!
//! Written as a plain address (`127.0.0.1`, `::1`), which means that one
//! address, or as a network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`).
//! A network's host bits must be zero, so that every network has exactly one
//! spelling. An IPv4-mapped IPv6 network (`::ffff:192.0.2.0/120`) is the IPv4
//! network it maps, and IPv4-mapped client addresses (`::ffff:127.0.0.1`, as a
//! dual-stack listener reports IPv4 peers) match IPv4 networks.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why a text is not an address or network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an IP address or network: {reason}")]
pub struct NetworkError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// An IPv4 or IPv6 network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AllowedNetwork {
    address: IpAddr,
    prefix: u8,
}

impl AllowedNetwork {
    /// The network of exactly one address (`/32` or `/128`).
    pub fn single(address: IpAddr) -> AllowedNetwork {
        let address = address.to_canonical();
        AllowedNetwork {
            address,
            prefix: full_prefix(address),
        }
    }

    /// The network's first address.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The prefix length: 0 to 32 for IPv4, 0 to 128 for IPv6.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `client` is inside the network. An IPv4-mapped IPv6 client
    /// address counts as the IPv4 address it maps.
    pub fn contains(&self, client: IpAddr) -> bool {
        let client = client.to_canonical();
        client.is_ipv4() == self.address.is_ipv4() && masked(client, self.prefix) == self.address
    }
}

/// `address` with every bit after the first `prefix` cleared; `prefix` is at
/// most the address's length.
fn masked(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(address) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(address) & mask))
        }
        IpAddr::V6(address) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(address) & mask))
        }
    }
}

/// 32 for IPv4, 128 for IPv6.
fn full_prefix(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl FromStr for AllowedNetwork {
    type Err = NetworkError;

    fn from_str(text: &str) -> Result<AllowedNetwork, NetworkError> {
        let refuse = |reason: String| NetworkError {
            text: text.to_string(),
            reason,
        };

        let (address_text, prefix_text) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address_text
            .parse()
            .map_err(|_| refuse(format!("`{address_text}` is not an IP address")))?;
        let full = full_prefix(address);

        // Only plain decimal digits: `u8::from_str` would also take `+8`.
        let prefix = match prefix_text {
            None => full,
            Some(digits) => {
                let number = digits
                    .bytes()
                    .all(|byte| byte.is_ascii_digit())
                    .then(|| digits.parse::<u8>().ok())
                    .flatten()
                    .filter(|prefix| *prefix <= full);
                number.ok_or_else(|| {
                    refuse(format!(
                        "the prefix length must be a number from 0 to {full}"
                    ))
                })?
            }
        };

        // A mapped network is the IPv4 network it maps; below /96 it also
        // spans addresses that map nothing, so it stays IPv6.
        let (address, prefix) = match address {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (address, prefix),
            },
            _ => (address, prefix),
        };

        let first = masked(address, prefix);
        if first != address {
            return Err(refuse(format!(
                "its host bits are set: the network is `{}`",
                AllowedNetwork {
                    address: first,
                    prefix
                }
            )));
        }
        Ok(AllowedNetwork { address, prefix })
    }
}

impl fmt::Display for AllowedNetwork {
    /// A single address prints without a prefix, a network with one; the
    /// text parses back to the same value.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == full_prefix(self.address) {
            write!(formatter, "{}", self.address)
        } else {
            write!(formatter, "{}/{}", self.address, self.prefix)
        }
    }
}

impl serde::Serialize for AllowedNetwork {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for AllowedNetwork {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(text: &str) -> AllowedNetwork {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// A plain IPv4 address is a /32 that holds only itself.
    #[test]
    fn plain_ipv4_address_is_one_address() {
        let loopback = network("127.0.0.1");
        assert_eq!(loopback.prefix(), 32);
        assert!(loopback.contains(ip("127.0.0.1")));
        assert!(!loopback.contains(ip("127.0.0.2")));
        assert!(!loopback.contains(ip("::1")));
    }

    /// A plain IPv6 address is a /128 that holds only itself.
    #[test]
    fn plain_ipv6_address_is_one_address() {
        let loopback = network("::1");
        assert_eq!(loopback.prefix(), 128);
        assert!(loopback.contains(ip("::1")));
        assert!(!loopback.contains(ip("::2")));
        assert!(!loopback.contains(ip("127.0.0.1")));
    }

    /// An IPv4 network holds the addresses under its prefix, and no others.
    #[test]
    fn ipv4_network_holds_its_range() {
        let private = network("10.0.0.0/8");
        assert!(private.contains(ip("10.0.0.0")));
        assert!(private.contains(ip("10.255.255.255")));
        assert!(!private.contains(ip("11.0.0.0")));
        assert!(!private.contains(ip("9.255.255.255")));

        let odd = network("192.168.4.0/22");
        assert!(odd.contains(ip("192.168.7.255")));
        assert!(!odd.contains(ip("192.168.8.0")));
    }

    /// An IPv6 network holds the addresses under its prefix, and no others.
    #[test]
    fn ipv6_network_holds_its_range() {
        let documentation = network("2001:db8::/32");
        assert!(documentation.contains(ip("2001:db8::1")));
        assert!(documentation.contains(ip("2001:db8:ffff:ffff::")));
        assert!(!documentation.contains(ip("2001:db9::")));
        assert!(!documentation.contains(ip("10.0.0.1")));
    }

    /// A /0 network holds every address of its family, only that family.
    #[test]
    fn zero_prefix_holds_the_whole_family() {
        assert!(network("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!network("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(network("::/0").contains(ip("2001:db8::1")));
    }

    /// A client reported as an IPv4-mapped IPv6 address matches IPv4
    /// networks, as its IPv4 address would.
    #[test]
    fn mapped_client_matches_ipv4_network() {
        assert!(network("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
        assert!(network("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(!network("127.0.0.1").contains(ip("::ffff:127.0.0.2")));
    }

    /// A mapped IPv6 network is the IPv4 network it maps, and matches IPv4
    /// clients.
    #[test]
    fn mapped_network_is_ipv4() {
        assert_eq!(network("::ffff:127.0.0.1"), network("127.0.0.1"));
        assert_eq!(network("::ffff:10.0.0.0/104"), network("10.0.0.0/8"));
        assert!(network("::ffff:10.0.0.0/104").contains(ip("10.9.9.9")));
    }

    /// Display prints a single address bare and a network with its prefix,
    /// and the text parses back to the same network.
    #[test]
    fn display_round_trips() {
        for text in [
            "127.0.0.1",
            "::1",
            "10.0.0.0/8",
            "2001:db8::/32",
            "0.0.0.0/0",
        ] {
            let parsed = network(text);
            assert_eq!(parsed.to_string(), text);
            assert_eq!(network(&parsed.to_string()), parsed);
        }
        assert_eq!(network("127.0.0.1/32").to_string(), "127.0.0.1");
    }

    /// Texts that are not an address or a canonical network are refused
    /// with the text in the message.
    #[test]
    fn bad_input_is_refused() {
        for text in [
            "",
            "localhost",
            "127.0.0",
            "127.0.0.1/33",
            "::1/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.0/8/8",
            " 10.0.0.1",
            "10.0.0.1 ",
            "fe80::1%eth0",
            "[::1]",
        ] {
            let error = text.parse::<AllowedNetwork>().unwrap_err();
            assert!(
                error.to_string().contains(&format!("`{text}`")),
                "{text:?}: {error}"
            );
        }
    }

    /// A network written with host bits set is refused, and the message
    /// names the network that was probably meant.
    #[test]
    fn host_bits_are_refused() {
        let error = "10.1.2.3/8".parse::<AllowedNetwork>().unwrap_err();
        assert!(error.to_string().contains("`10.0.0.0/8`"), "{error}");
        assert!("2001:db8::1/32".parse::<AllowedNetwork>().is_err());
    }
}
