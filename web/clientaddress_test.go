package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddress(t *testing.T) {
	s := &Server{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	}}
	tests := []struct {
		name      string
		peer      string
		forwarded []string
		want      string
	}{
		{"no proxy", "203.0.113.9:4000", nil, "203.0.113.9"},
		{"header from an untrusted peer", "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted proxy", "10.0.0.5:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged entry left of the client", "10.0.0.5:4000", []string{"192.0.2.66, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", "10.0.0.5:4000", []string{"198.51.100.1, 10.0.0.9"}, "198.51.100.1"},
		{"headers repeated", "10.0.0.5:4000", []string{"192.0.2.66", "198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy without header", "10.0.0.5:4000", nil, "10.0.0.5"},
		{"garbage in header", "10.0.0.5:4000", []string{"not-an-address"}, "10.0.0.5"},
		{"IPv6 proxy", "[::1]:4000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped client", "10.0.0.5:4000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.forwarded {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientAddress(r); got != tt.want {
				t.Errorf("clientAddress = %q, want %q", got, tt.want)
			}
		})
	}
}
