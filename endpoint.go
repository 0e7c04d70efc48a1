package joinedup

import (
	"fmt"
	"net/netip"
)

// EndpointAddressError reports an address that CheckEndpointAddress
// rejects.
type EndpointAddressError struct {
	Addr netip.Addr
	Kind string // "link-local", "unspecified", "multicast" or "broadcast"
}

// addressDescriptions name each kind of rejected address in a sentence.
var addressDescriptions = map[string]string{
	"link-local":  "a link-local address",
	"unspecified": "the unspecified address",
	"multicast":   "a multicast address",
	"broadcast":   "the broadcast address",
}

func (e *EndpointAddressError) Error() string {
	return fmt.Sprintf("%s is %s, and the hub sends nothing to link-local, unspecified, multicast or broadcast addresses", e.Addr, addressDescriptions[e.Kind])
}

// ipv4Broadcast is the IPv4 limited broadcast address.
var ipv4Broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// CheckEndpointAddress returns an *EndpointAddressError when addr is an
// address that the hub must not send deliveries to: link-local
// (169.254.0.0/16 and fe80::/10, where cloud metadata services listen),
// unspecified, multicast or the IPv4 broadcast address 255.255.255.255.
// An IPv4-mapped IPv6 address is checked as the IPv4 address it carries.
// Loopback and private addresses are allowed, because the reference
// services run on 127.0.0.1 and council services sit on private networks.
func CheckEndpointAddress(addr netip.Addr) error {
	addr = addr.Unmap().WithZone("")
	var kind string
	switch {
	case addr.IsLinkLocalUnicast():
		kind = "link-local"
	case addr.IsUnspecified():
		kind = "unspecified"
	case addr.IsMulticast():
		kind = "multicast"
	case addr == ipv4Broadcast:
		kind = "broadcast"
	default:
		return nil
	}
	return &EndpointAddressError{Addr: addr, Kind: kind}
}
