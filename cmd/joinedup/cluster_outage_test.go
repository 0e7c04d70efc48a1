package main

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joinedup/joinedup/store/storetest"
)

// tcpRelay forwards loopback connections to target until it is cut, so
// that a test can take a node's connection to NATS away.
type tcpRelay struct {
	listener net.Listener
	target   string

	mu    sync.Mutex
	conns []net.Conn
}

func startTCPRelay(t *testing.T, target string) *tcpRelay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &tcpRelay{listener: l, target: target}
	go r.accept()
	t.Cleanup(r.cut)
	return r
}

func (r *tcpRelay) accept() {
	for {
		in, err := r.listener.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", r.target)
		if err != nil {
			in.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, in, out)
		r.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// cut stops listening and closes every connection, as when the network
// to the server fails.
func (r *tcpRelay) cut() {
	r.listener.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// TestNodeWithoutNATSLeavesOutbox runs two nodes on one store and one
// stream and cuts one node's connection to NATS. A birth registered on
// that node must still be sent, by the other node: the cut-off node may
// not hold the outbox rows while it cannot publish them.
func TestNodeWithoutNATSLeavesOutbox(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	u, err := url.Parse(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	relay := startTCPRelay(t, u.Host)

	rec := &recorder{}
	file := servicesFileFor(t, serveRecorder(t, "gp-practice", []string{"child"}, rec))
	keys := t.TempDir()
	node := func(nats string) *Hub {
		return startHub(t, func(c *Config) {
			c.DatabaseURL, c.NATSURL, c.Stream, c.ServicesFile, c.AuditKeyDir = dbURL, nats, stream, file, keys
		})
	}
	connected := node(natsURL)
	cutOff := node("nats://" + relay.listener.Addr().String())

	relay.cut()
	deadline := time.Now().Add(10 * time.Second)
	for cutOff.Bus.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the node's connection to NATS is still up 10 s after it was cut")
		}
		time.Sleep(10 * time.Millisecond)
	}

	id, err := postBirth(t, cutOff.BaseURL, nthBirthJSON(t, 0, "2026-11-20", "gp-practice"))
	if err != nil {
		t.Fatalf("register a birth on the node without NATS: %v", err)
	}
	waitComplete(t, connected, id, 30*time.Second)
	if got := len(rec.received()); got != 1 {
		t.Errorf("the service acted %d times, want once", got)
	}
}

// TestNodeOnOtherBusRejected runs a node on PostgreSQL and an external
// stream while a delivery waits to be sent, then starts nodes on the same
// store with a JetStream inside their process or with another stream.
// Each would take births into a stream the other nodes cannot read, so
// each stops at start with an error that names both buses, the waiting
// delivery and -move-event-bus.
func TestNodeOnOtherBusRejected(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	_, otherStream := clusterStream(t)
	rec := &recorder{fail: 1 << 30}
	file := servicesFileFor(t, serveRecorder(t, "gp-practice", []string{"child"}, rec))
	keys := t.TempDir()
	first := startHub(t, func(c *Config) {
		c.DatabaseURL, c.NATSURL, c.Stream, c.ServicesFile, c.AuditKeyDir = dbURL, natsURL, stream, file, keys
	})
	if _, err := postBirth(t, first.BaseURL, nthBirthJSON(t, 0, "2026-11-20", "gp-practice")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"JetStream inside the process", func(c *Config) {}, "inside the process of the node"},
		{"another stream", func(c *Config) { c.NATSURL, c.Stream = natsURL, otherStream }, "stream " + otherStream + " on the NATS server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Addr, cfg.Data, cfg.DatabaseURL, cfg.AuditKeyDir = "127.0.0.1:0", t.TempDir(), dbURL, keys
			tt.edit(&cfg)
			h, err := OpenHub(context.Background(), cfg, testLogger(t))
			if err == nil {
				h.Close()
				t.Fatal("node started on another event bus while a delivery waits, want an error")
			}
			for _, want := range []string{"stream " + stream + " on the NATS server", tt.want, "1 delivery waits to be sent", "-move-event-bus"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %v, want one containing %q", err, want)
				}
			}
		})
	}
}
