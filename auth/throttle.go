package auth

import (
	"net/netip"
	"sync"
	"time"
)

// Throttle slows repeated failures for one key, such as a user name or a
// client address. The first Free failures cost nothing. After that each
// failure makes the key wait Base, doubled for every further failure up to
// Max, before the next attempt. A key with no failure for Forget starts
// again from zero.
//
// The counts live in the memory of one process, so a cluster of n nodes
// allows up to n times as many attempts, and a restart clears them.
type Throttle struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
	// MaxKeys bounds the memory used. When it is reached, keys that have
	// been forgotten are removed first, then arbitrary ones.
	MaxKeys int

	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	count int
	last  time.Time // the latest failure
	until time.Time // no attempt before this instant
}

// Wait returns how long key must wait before its next attempt at now, or
// zero.
func (t *Throttle) Wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()

	f, ok := t.keys[key]
	if !ok || now.Sub(f.last) >= t.Forget {
		return 0
	}
	return max(f.until.Sub(now), 0)
}

// Fail records a failure for key at now and returns the number of
// failures in a row.
func (t *Throttle) Fail(key string, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()

	if t.keys == nil {
		t.keys = map[string]*failures{}
	}
	f, ok := t.keys[key]
	if !ok || now.Sub(f.last) >= t.Forget {
		if !ok && len(t.keys) >= t.MaxKeys {
			t.evict(now)
		}
		f = &failures{}
		t.keys[key] = f
	}
	f.count++
	f.last = now
	if over := f.count - t.Free; over > 0 {
		delay := t.Max
		// Shifting by 30 or more would overflow a Duration of seconds.
		if over <= 30 {
			delay = min(t.Base<<(over-1), t.Max)
		}
		f.until = now.Add(delay)
	}
	return f.count
}

// Reset deletes the failures of key, after a successful sign-in.
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

func (t *Throttle) evict(now time.Time) {
	for key, f := range t.keys {
		if now.Sub(f.last) >= t.Forget {
			delete(t.keys, key)
		}
	}
	for key := range t.keys {
		if len(t.keys) < t.MaxKeys {
			return
		}
		delete(t.keys, key)
	}
}

// AddressKey returns the throttling key of a client address: the IPv4
// address, or the /64 prefix of an IPv6 address, because one household or
// host usually holds a whole /64. An address that does not parse is its
// own key.
func AddressKey(address string) string {
	addr, err := netip.ParseAddr(address)
	if err != nil {
		addrPort, err := netip.ParseAddrPort(address)
		if err != nil {
			return address
		}
		addr = addrPort.Addr()
	}
	addr = addr.Unmap()
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}
