package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/natsbus"
	"github.com/joinedup/joinedup/store/storetest"
)

// NATSURLVar names the environment variable that enables the tests on an
// external NATS JetStream server, such as nats://127.0.0.1:4222.
const NATSURLVar = "JOINEDUP_TEST_NATS_URL"

// clusterStream returns the NATS URL and a fresh stream name for one test,
// deleting the stream when the test ends, or skips the test when no server
// is configured.
func clusterStream(t *testing.T) (url, stream string) {
	t.Helper()
	url = os.Getenv(NATSURLVar)
	if url == "" {
		t.Skipf("NATS not configured: set %s=nats://127.0.0.1:4222 to run this test on an external JetStream", NATSURLVar)
	}
	var b [4]byte
	rand.Read(b[:])
	stream = "TEST_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Errorf("connect to nats: %v", err)
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		js.DeleteStream(ctx, stream)
	})
	return url, stream
}

// TestClusterDeliversOnce runs two serve processes on one PostgreSQL
// database and one external JetStream, registers births on both, and
// checks that between them they sent every delivery exactly once.
func TestClusterDeliversOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts joinedup serve as processes; skipped with -short")
	}
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)

	names := []joinedup.ServiceID{"child-benefit", "housing-benefit", "gp-practice", "school"}
	recs := make([]*recorder, len(names))
	var services []*joinedup.Service
	for i, id := range names {
		recs[i] = &recorder{delay: 5 * time.Millisecond}
		services = append(services, serveRecorder(t, id, []string{"child"}, recs[i]))
	}
	file := servicesFileFor(t, services...)
	keys := t.TempDir() // the nodes share the audit log's signing key
	node := func() *process {
		return startProcess(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--services", file, "--audit-key-dir", keys,
			"--database-url", dbURL, "--nats-url", natsURL, "--stream", stream)
	}
	nodes := []*process{node(), node()}

	const births = 30
	var ids []joinedup.EventID
	for i := range births {
		id, err := postBirth(t, nodes[i%2].BaseURL, nthBirthJSON(t, i, "2026-11-20", names...))
		if err != nil {
			t.Fatalf("register birth %d on node %d: %v", i, i%2, err)
		}
		ids = append(ids, id)
	}
	waitAllComplete(t, nodes[1].BaseURL, ids, 60*time.Second)
	for _, n := range nodes {
		n.stop(t)
	}

	for i, r := range recs {
		r.mu.Lock()
		requests := len(r.requests)
		for id, n := range r.requests {
			if n != 1 {
				t.Errorf("%s received delivery %s %d times, want once", names[i], id, n)
			}
		}
		r.mu.Unlock()
		if requests != births {
			t.Errorf("%s received %d deliveries, want %d", names[i], requests, births)
		}
		if got := len(r.received()); got != births {
			t.Errorf("%s acted %d times, want %d", names[i], got, births)
		}
	}
}

// TestClusterSendsRepeatedMessageOnce runs two nodes on one store and one
// stream and registers a birth. While its delivery is being sent, the test
// publishes more messages naming it, as a relay does that crashed after
// publishing and then grouped the delivery with others. Each node may take
// one of the messages at once, and the service must still receive the
// delivery once.
func TestClusterSendsRepeatedMessageOnce(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	rec := &recorder{delay: 500 * time.Millisecond}
	file := servicesFileFor(t, serveRecorder(t, "gp-practice", []string{"child"}, rec))
	keys := t.TempDir()
	node := func() *Hub {
		return startHub(t, func(c *Config) {
			c.DatabaseURL, c.NATSURL, c.Stream, c.ServicesFile, c.AuditKeyDir = dbURL, natsURL, stream, file, keys
		})
	}
	nodes := []*Hub{node(), node()}

	id, err := postBirth(t, nodes[0].BaseURL, nthBirthJSON(t, 0, "2026-11-20", "gp-practice"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := nodes[0].LifeEvents.FindLifeEvent(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	delivery := ev.Deliveries[0].ID
	for i := range 4 {
		msg := &nats.Msg{Subject: nodes[0].Bus.Subject("gp-practice"), Data: []byte(string(delivery) + ".0"),
			Header: nats.Header{jetstream.MsgIDHeader: []string{fmt.Sprintf("repeat-%d-%s", i, delivery)}}}
		if _, err := nodes[0].Bus.JS.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}

	waitComplete(t, nodes[1], id, 30*time.Second)
	// Every message is handled once the stream holds none for the service.
	deadline := time.Now().Add(30 * time.Second)
	for {
		queued, err := nodes[0].Bus.QueuedByService(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if queued["gp-practice"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages still queued after 30 s: %v", queued)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if n := rec.requests[string(delivery)]; n != 1 {
		t.Errorf("the service received delivery %s %d times, want once", delivery, n)
	}
}

// TestStreamOfAnotherStoreRejected starts a node on PostgreSQL and the
// cluster's stream, then a node on the same stream with an SQLite store of
// its own. The second node would discard the messages of deliveries its
// store does not have, so it stops at start, and the first node's stream
// still records the first store.
func TestStreamOfAnotherStoreRejected(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	first := startHub(t, func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream = dbURL, natsURL, stream })
	firstStore, err := first.DB.StoreID(ctx)
	if err != nil {
		t.Fatal(err)
	}

	cfg := DefaultConfig()
	cfg.Addr, cfg.Data, cfg.APIToken = "127.0.0.1:0", t.TempDir(), testToken
	cfg.NATSURL, cfg.Stream = natsURL, stream
	h, err := OpenHub(ctx, cfg, testLogger(t))
	if err == nil {
		h.Close()
		t.Fatal("a node on another store opened the cluster's stream, want an error")
	}
	for _, want := range []string{"stream " + stream + " records store " + firstStore, "-database-url", "-stream"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}

	if got := streamStore(t, first); got != firstStore {
		t.Errorf("stream records store %q after the rejected node, want %q", got, firstStore)
	}
}

// TestStreamWithoutStoreAdopted opens a stream as a hub without a store
// identity did, then starts a node on it: the node adopts the stream, and
// a node on another store is then rejected.
func TestStreamWithoutStoreAdopted(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	old, err := natsbus.Open(ctx, natsbus.Config{URL: natsURL, Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	old.Close()

	// The nodes of one store share its audit key.
	keys := t.TempDir()
	node := startHub(t, func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream, c.AuditKeyDir = dbURL, natsURL, stream, keys })
	nodeStore, err := node.DB.StoreID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := streamStore(t, node); got != nodeStore {
		t.Errorf("stream records store %q, want the node's store %q", got, nodeStore)
	}
	// A second node on the same store opens the stream too.
	startHub(t, func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream, c.AuditKeyDir = dbURL, natsURL, stream, keys })

	cfg := DefaultConfig()
	cfg.Addr, cfg.Data, cfg.APIToken = "127.0.0.1:0", t.TempDir(), testToken
	cfg.NATSURL, cfg.Stream = natsURL, stream
	if h, err := OpenHub(ctx, cfg, testLogger(t)); !errors.Is(err, natsbus.ErrOtherStore) {
		if err == nil {
			h.Close()
		}
		t.Errorf("node on another store: error = %v, want ErrOtherStore", err)
	}
}

// streamStore returns the store identity that h's stream records.
func streamStore(t *testing.T, h *Hub) string {
	t.Helper()
	id, err := h.Bus.StreamStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestNodeWithOtherReplicasRejected starts a node on the cluster's stream
// with one replica, then a node that requests three. The second node
// stops with an error that names both numbers and how to change the
// stream, and the stream keeps one replica.
func TestNodeWithOtherReplicasRejected(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	keys := t.TempDir()
	first := startHub(t, func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream, c.AuditKeyDir = dbURL, natsURL, stream, keys })

	err := openHubError(t, func(c *Config) {
		c.DatabaseURL, c.NATSURL, c.Stream, c.AuditKeyDir, c.NATSReplicas = dbURL, natsURL, stream, keys, 3
	})
	for _, want := range []string{
		"stream " + stream + " has 1 replica, not the 3 requested",
		"set -nats-replicas to 1",
		"nats stream edit " + stream + " --replicas 3",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}

	info, err := first.Bus.Stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 1 {
		t.Errorf("stream has %d replicas after the rejected node, want 1", info.Config.Replicas)
	}
}

// openHubError opens a hub configured as startHub configures one, after
// edit, and returns the error that stopped it, failing t if it started.
func openHubError(t *testing.T, edit func(*Config)) error {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr, cfg.Data, cfg.APIToken = "127.0.0.1:0", t.TempDir(), testToken
	edit(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h, err := OpenHub(context.Background(), cfg, testLogger(t))
	if err == nil {
		h.Close()
		t.Fatal("the hub started, want an error")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error = %q, want one line", err)
	}
	return err
}
