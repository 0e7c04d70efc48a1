package main

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/natsbus"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/storetest"
)

// startNATSServer starts a NATS server with JetStream on a loopback port
// that the OS chooses, to stand for a server other than the cluster's,
// and returns its URL.
func startNATSServer(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		t.Fatal("the test's NATS server is not ready for connections after 10 s")
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns.ClientURL()
}

// jetStreamAt connects to the NATS server at url for the test's own
// reads and changes of streams.
func jetStreamAt(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// recreateStream deletes the stream on the NATS server at url and creates
// one of the same name, as an operator might, and returns the new
// stream's creation time.
func recreateStream(t *testing.T, url, stream string) time.Time {
	t.Helper()
	if err := jetStreamAt(t, url).DeleteStream(context.Background(), stream); err != nil {
		t.Fatalf("delete stream %s: %v", stream, err)
	}
	b, err := natsbus.Open(context.Background(), natsbus.Config{URL: url, Stream: stream})
	if err != nil {
		t.Fatalf("create stream %s again: %v", stream, err)
	}
	defer b.Close()
	return b.StreamCreated()
}

// openPostgres opens the PostgreSQL store at url for the test's own reads.
func openPostgres(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// eventBusSettings returns the settings rows in which db records its
// event bus and the creation time of the bus's stream, "" for a row that
// is missing.
func eventBusSettings(t *testing.T, db *store.DB) (bus, created string) {
	t.Helper()
	read := func(name string) string {
		var value string
		err := db.SQL().QueryRowContext(context.Background(), `SELECT value FROM settings WHERE name = $1`, name).Scan(&value)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		return value
	}
	return read("event_bus"), read("event_bus_stream_created")
}

// leaveInStream registers a birth with a delivery to service on h while
// h's delivery engine is stopped, and publishes the delivery's outbox
// message into h's stream as the relay does. The delivery then waits in
// the stream, unsent, and leaveInStream closes h. It returns the birth's
// and the delivery's ids.
func leaveInStream(t *testing.T, h *Hub, service joinedup.ServiceID) (joinedup.EventID, joinedup.DeliveryID) {
	t.Helper()
	ctx := context.Background()
	h.Engine.Stop()
	id, err := postBirth(t, h.BaseURL, nthBirthJSON(t, 0, "2026-11-20", service))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := h.LifeEvents.FindLifeEvent(ctx, id)
	if err != nil {
		t.Fatal(err)
	}

	_, err = h.DB.RelayOutbox(ctx, 100, func(msgs []store.OutboxMessage) []string {
		var published []string
		for _, m := range msgs {
			msg := &nats.Msg{Subject: h.Bus.Subject(string(m.Service)), Data: []byte(m.MsgID),
				Header: nats.Header{jetstream.MsgIDHeader: []string{m.MsgID}}}
			if _, err := h.Bus.JS.PublishMsg(ctx, msg); err != nil {
				t.Errorf("publish %s: %v", m.MsgID, err)
				continue
			}
			published = append(published, m.MsgID)
		}
		return published
	})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := h.Bus.QueuedByService(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if queued[string(service)] != 1 {
		t.Fatalf("stream contains %d messages for %s, want 1", queued[string(service)], service)
	}
	h.Close()
	return id, ev.Deliveries[0].ID
}

// waitStreamEmpty waits until h's stream contains no message for service,
// so that every message that named a delivery has been handled.
func waitStreamEmpty(t *testing.T, h *Hub, service string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		queued, err := h.Bus.QueuedByService(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if queued[service] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages still queued after 30 s: %v", queued)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSentOnce checks that rec received the delivery once and acted on
// one event in all.
func checkSentOnce(t *testing.T, rec *recorder, delivery joinedup.DeliveryID) {
	t.Helper()
	rec.mu.Lock()
	requests := rec.requests[string(delivery)]
	rec.mu.Unlock()
	if requests != 1 {
		t.Errorf("the service received delivery %s %d times, want once", delivery, requests)
	}
	if got := len(rec.received()); got != 1 {
		t.Errorf("the service acted %d times, want once", got)
	}
}

// checkContainsAll checks that text contains each of wants. label names
// the text in failures, such as "error" or "log".
func checkContainsAll(t *testing.T, label, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s = %q, want it to contain %q", label, text, want)
		}
	}
}

// TestNodeOnOtherServerRejected runs a node on PostgreSQL and the
// cluster's stream with a delivery waiting in the stream, then starts a
// node on the same store and stream name but another NATS server, which
// has no such stream. That node stops at start with an error that names
// the recorded stream and what to do, and changes nothing: the other
// server gets no stream, and the store's records and outbox stay as they
// were.
func TestNodeOnOtherServerRejected(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	otherURL := startNATSServer(t)
	file := servicesFileFor(t, serveRecorder(t, "gp-practice", []string{"child"}, &recorder{}))
	keys := t.TempDir()
	config := func(url string) func(*Config) {
		return func(c *Config) {
			c.DatabaseURL, c.NATSURL, c.Stream, c.ServicesFile, c.AuditKeyDir = dbURL, url, stream, file, keys
		}
	}
	first := startHub(t, config(natsURL))
	created := store.FormatStreamCreated(first.Bus.StreamCreated())
	leaveInStream(t, first, "gp-practice")
	db := openPostgres(t, dbURL)
	busBefore, createdBefore := eventBusSettings(t, db)
	if createdBefore != created {
		t.Errorf("store records the stream created at %q, want %q", createdBefore, created)
	}

	err := openHubError(t, config(otherURL))
	checkContainsAll(t, "error", err.Error(),
		"the store's deliveries go through stream "+stream+" created at "+created,
		"the NATS server at -nats-url has no stream "+stream,
		"1 delivery waits to be sent in the stream created at "+created,
		"Start this node with the -nats-url of the nodes that share the store",
		"start this one once with -move-event-bus")

	if _, err := jetStreamAt(t, otherURL).Stream(ctx, stream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("reading stream %s on the other server after the rejected start returned %v, want ErrStreamNotFound", stream, err)
	}
	if bus, created := eventBusSettings(t, db); bus != busBefore || created != createdBefore {
		t.Errorf("store records bus %q created at %q after the rejected start, want %q created at %q", bus, created, busBefore, createdBefore)
	}
	if n, err := db.OutboxDepth(ctx); err != nil || n != 0 {
		t.Errorf("outbox depth after the rejected start = %d, %v; want 0", n, err)
	}
}

// TestRecreatedStreamRejected starts a node on the cluster's stream,
// deletes the stream and creates one of the same name, then starts a
// node again. The new stream is not the one the store records, so the
// node stops with an error that gives both creation times, and leaves
// the new stream as it found it.
func TestRecreatedStreamRejected(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	keys := t.TempDir()
	config := func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream, c.AuditKeyDir = dbURL, natsURL, stream, keys }
	first := startHub(t, config)
	storeID, err := first.DB.StoreID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	created := store.FormatStreamCreated(first.Bus.StreamCreated())
	first.Close()
	recreated := store.FormatStreamCreated(recreateStream(t, natsURL, stream))

	err = openHubError(t, config)
	checkContainsAll(t, "error", err.Error(),
		"the store's deliveries go through stream "+stream+" created at "+created,
		"stream "+stream+" on the NATS server at -nats-url was created at "+recreated+", so it is another stream of the same name",
		"No delivery waits to be sent in the stream created at "+created,
		"to move the store to the stream created at "+recreated,
		"-move-event-bus")

	// A start that opened the stream would have recorded the store on it.
	s, err := jetStreamAt(t, natsURL).Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if description := s.CachedInfo().Config.Description; strings.Contains(description, storeID) {
		t.Errorf("stream description after the rejected start = %q, want it to name no store", description)
	}
	if _, got := eventBusSettings(t, openPostgres(t, dbURL)); got != created {
		t.Errorf("store records the stream created at %q after the rejected start, want %q", got, created)
	}
}

// clusterNode returns the settings of a node on the PostgreSQL database
// at dbURL and the stream on the NATS server at natsURL, with the services
// file and the audit key directory that every node of the cluster shares.
func clusterNode(dbURL, natsURL, stream, file, keys string, move bool) func(*Config) {
	return func(c *Config) {
		c.DatabaseURL, c.NATSURL, c.Stream, c.ServicesFile, c.AuditKeyDir = dbURL, natsURL, stream, file, keys
		c.MoveEventBus = move
	}
}

// TestMoveEventBusSendsWaitingOnce leaves a delivery waiting in the
// cluster's stream, then starts a node with -move-event-bus on a stream
// of the same name on another server, or on the stream created again.
// The move queues the delivery again, and between them the moved node
// and a second node on the new stream send it once. A node on the old
// stream is then rejected.
func TestMoveEventBusSendsWaitingOnce(t *testing.T) {
	tests := []struct {
		name string
		// newBus returns the URL of the server of the stream to move to.
		newBus func(t *testing.T, natsURL, stream string) string
	}{
		{"another server", func(t *testing.T, _, _ string) string { return startNATSServer(t) }},
		{"stream created again", func(t *testing.T, natsURL, stream string) string {
			recreateStream(t, natsURL, stream)
			return natsURL
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbURL := storetest.PostgresURL(t)
			natsURL, stream := clusterStream(t)
			rec := &recorder{}
			file := servicesFileFor(t, serveRecorder(t, "gp-practice", []string{"child"}, rec))
			keys := t.TempDir()
			config := func(url string, move bool) func(*Config) {
				return clusterNode(dbURL, url, stream, file, keys, move)
			}
			first := startHub(t, config(natsURL, false))
			oldCreated := store.FormatStreamCreated(first.Bus.StreamCreated())
			event, delivery := leaveInStream(t, first, "gp-practice")
			url := tt.newBus(t, natsURL, stream)

			var logs lockedBuffer
			moved := startHubLogging(t, config(url, true), slog.New(slog.NewTextHandler(&logs, nil)))
			second := startHub(t, config(url, false))
			waitComplete(t, second, event, 30*time.Second)
			waitStreamEmpty(t, moved, "gp-practice")
			checkSentOnce(t, rec, delivery)

			newCreated := store.FormatStreamCreated(moved.Bus.StreamCreated())
			checkContainsAll(t, "log", logs.String(), "the store's deliveries now go through this node's event bus", "waiting=1", "queued_again=1",
				"stream_created="+newCreated, "stream_created_before="+oldCreated)
			if _, got := eventBusSettings(t, moved.DB); got != newCreated {
				t.Errorf("store records the stream created at %q after the move, want %q", got, newCreated)
			}

			if url != natsURL {
				err := openHubError(t, config(natsURL, false))
				checkContainsAll(t, "error", err.Error(), "go through stream "+stream+" created at "+newCreated, "was created at "+oldCreated)
			}
		})
	}
}

// TestStoreWithoutStreamCreatedAdopted starts a node on a store that
// records its bus without a stream creation time, as versions before the
// time was recorded left it. The node starts and records its stream's
// time. Once the stream is gone, a node on such a store is rejected,
// because the store's deliveries were in a stream that exists no more.
func TestStoreWithoutStreamCreatedAdopted(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	keys := t.TempDir()
	config := func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream, c.AuditKeyDir = dbURL, natsURL, stream, keys }
	first := startHub(t, config)
	created := store.FormatStreamCreated(first.Bus.StreamCreated())
	first.Close()
	db := openPostgres(t, dbURL)
	forget := func() {
		t.Helper()
		if _, err := db.SQL().ExecContext(ctx, `DELETE FROM settings WHERE name = 'event_bus_stream_created'`); err != nil {
			t.Fatal(err)
		}
	}

	forget()
	second := startHub(t, config)
	if _, got := eventBusSettings(t, db); got != created {
		t.Errorf("store records the stream created at %q after the node adopted it, want %q", got, created)
	}
	second.Close()

	forget()
	if err := jetStreamAt(t, natsURL).DeleteStream(ctx, stream); err != nil {
		t.Fatal(err)
	}
	err := openHubError(t, config)
	checkContainsAll(t, "error", err.Error(),
		"the store's deliveries go through stream "+stream+", but the NATS server at -nats-url has no stream "+stream,
		"No delivery waits to be sent in that stream",
		"-move-event-bus")
}

// TestNodeStartsBeforeStreamCreated claims a new store's bus as a node
// does that started a moment earlier and has not yet created the stream,
// then starts a node on that bus. It starts, and records the time of the
// stream it creates.
func TestNodeStartsBeforeStreamCreated(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.PostgresURL(t)
	natsURL, stream := clusterStream(t)
	db := openPostgres(t, dbURL)
	rec, err := db.ClaimEventBus(ctx, store.EventBusClaim{Bus: "stream " + stream + " on the NATS server at -nats-url"})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Claimed {
		t.Fatal("claim of a new store's bus: not claimed")
	}

	node := startHub(t, func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream = dbURL, natsURL, stream })
	if _, got := eventBusSettings(t, db); got != store.FormatStreamCreated(node.Bus.StreamCreated()) {
		t.Errorf("store records the stream created at %q, want %q", got, store.FormatStreamCreated(node.Bus.StreamCreated()))
	}
}

// TestEmbeddedStreamIdentity runs a hub with the JetStream inside its
// process, on SQLite and on PostgreSQL. It starts and restarts on the
// same stream. Once the data directory's JetStream files are removed
// with a delivery waiting, the hub stops at start, and with
// -move-event-bus it starts on a new stream and sends the delivery once.
func TestEmbeddedStreamIdentity(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	}
	for name, databaseURL := range stores {
		t.Run(name, func(t *testing.T) {
			dbURL := databaseURL(t)
			data := t.TempDir()
			rec := &recorder{}
			file := servicesFileFor(t, serveRecorder(t, "gp-practice", []string{"child"}, rec))
			config := func(move bool) func(*Config) {
				return func(c *Config) { c.Data, c.DatabaseURL, c.ServicesFile, c.MoveEventBus = data, dbURL, file, move }
			}

			first := startHub(t, config(false))
			created := first.Bus.StreamCreated()
			first.Close()
			second := startHub(t, config(false))
			if got := second.Bus.StreamCreated(); !got.Equal(created) {
				t.Errorf("stream created at %v after a restart, want %v", got, created)
			}
			if _, got := eventBusSettings(t, second.DB); got != store.FormatStreamCreated(created) {
				t.Errorf("store records the stream created at %q, want %q", got, store.FormatStreamCreated(created))
			}
			event, delivery := leaveInStream(t, second, "gp-practice")

			jetstreamDir := filepath.Join(data, "jetstream")
			if err := os.RemoveAll(jetstreamDir); err != nil {
				t.Fatal(err)
			}
			err := openHubError(t, config(false))
			checkContainsAll(t, "error", err.Error(),
				"the JetStream in "+jetstreamDir+" has no stream "+natsbus.StreamName,
				"1 delivery waits to be sent in the stream created at "+store.FormatStreamCreated(created),
				"Restore "+jetstreamDir,
				"-move-event-bus")

			moved := startHub(t, config(true))
			waitComplete(t, moved, event, 30*time.Second)
			waitStreamEmpty(t, moved, "gp-practice")
			checkSentOnce(t, rec, delivery)
			moved.Close()
			startHub(t, config(false))
		})
	}
}

// TestEmbeddedStreamOfAnotherHub starts a hub on the embedded default
// whose jetstream directory came from another hub's data directory, and
// one on an SQLite store with -nats-url. Each stops at start with advice
// for a single hub rather than for a cluster's nodes.
func TestEmbeddedStreamOfAnotherHub(t *testing.T) {
	ours, theirs := t.TempDir(), t.TempDir()
	startHub(t, func(c *Config) { c.Data = ours }).Close()
	startHub(t, func(c *Config) { c.Data = theirs }).Close()
	if err := os.RemoveAll(filepath.Join(ours, "jetstream")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(theirs, "jetstream"), filepath.Join(ours, "jetstream")); err != nil {
		t.Fatal(err)
	}
	err := openHubError(t, func(c *Config) { c.Data = ours })
	checkContainsAll(t, "error", err.Error(),
		filepath.Join(ours, "jetstream")+" contains another hub's stream",
		"start the hub once with -move-event-bus")

	natsURL, stream := clusterStream(t)
	sqlite := t.TempDir()
	startHub(t, func(c *Config) { c.Data = sqlite }).Close()
	err = openHubError(t, func(c *Config) { c.Data, c.NATSURL, c.Stream = sqlite, natsURL, stream })
	checkContainsAll(t, "error", err.Error(), "Start the hub with the -nats-url and -stream that it used before")
	if strings.Contains(err.Error(), "nodes that share the store") {
		t.Errorf("error = %q, want no advice about other nodes for an SQLite store", err)
	}
}

// TestMovedNodeStops moves the store to another stream while a node on
// the old stream runs. A birth that the old node accepts after the move
// goes into the new stream rather than the old, and is sent once. The
// old node then stops with an error that names the new bus.
func TestMovedNodeStops(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.PostgresURL(t)
	natsURL, oldStream := clusterStream(t)
	_, newStream := clusterStream(t)
	rec := &recorder{}
	file := servicesFileFor(t, serveRecorder(t, "gp-practice", []string{"child"}, rec))
	keys := t.TempDir()
	config := func(stream string, move bool) func(*Config) {
		return clusterNode(dbURL, natsURL, stream, file, keys, move)
	}
	old := startHub(t, config(oldStream, false))
	startHub(t, config(newStream, true))

	lastSeq := func() uint64 {
		t.Helper()
		s, err := jetStreamAt(t, natsURL).Stream(ctx, oldStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	before := lastSeq()
	id, err := postBirth(t, old.BaseURL, nthBirthJSON(t, 0, "2026-11-20", "gp-practice"))
	if err != nil {
		t.Fatal(err)
	}
	ev := waitComplete(t, old, id, 30*time.Second)
	checkSentOnce(t, rec, ev.Deliveries[0].ID)
	if after := lastSeq(); after != before {
		t.Errorf("the old stream took %d messages after the move, want none", after-before)
	}

	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = old.Wait(waitCtx)
	if !errors.Is(err, store.ErrEventBusMoved) {
		t.Fatalf("the old node's Wait = %v, want an error that the store moved", err)
	}
	checkContainsAll(t, "error", err.Error(), "stream "+newStream, "stream "+oldStream, "so it stops")
}
