package natsbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestReopenOffersUnacknowledged delivers a message without acknowledging
// it, closes the embedded server as a crash would leave it, and checks
// that the reopened server offers the message again at once, not after
// its hour-long acknowledgement timeout. An acknowledged message is not
// offered again.
func TestReopenOffersUnacknowledged(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	b := openEmbeddedAt(t, dir)
	for _, id := range []string{"d1", "d2"} {
		if _, err := b.JS.PublishMsg(ctx, deliveryMsg(b, "svc", id)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := b.Consumer(ctx, "svc", time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
		if string(m.Data()) == "d1" {
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != 2 {
		t.Fatalf("first run fetched %q, want both messages", got)
	}
	b.Close()

	b = openEmbeddedAt(t, dir)
	c, err = b.Consumer(ctx, "svc", time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	batch, err = c.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
	}
	if len(got) != 1 || got[0] != "d2" {
		t.Errorf("after the restart the consumer was offered %q, want only the unacknowledged d2", got)
	}
}

// TestOpenRecordsStore opens one embedded stream for a store, then again
// for the same store, for no store and for another store. The stream
// keeps the first store and the metadata an operator added, and the other
// store is ErrOtherStore.
func TestOpenRecordsStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	editStream(t, dir, "aaaa", func(cfg *jetstream.StreamConfig) {
		if got := cfg.Metadata[storeMetadataKey]; got != "aaaa" {
			t.Errorf("metadata %s = %q, want aaaa", storeMetadataKey, got)
		}
		cfg.Metadata["owner"] = "operations"
	})

	for _, storeID := range []string{"aaaa", ""} {
		b, err := Open(ctx, Config{Dir: dir, StoreID: storeID})
		if err != nil {
			t.Fatalf("Open for store %q: %v", storeID, err)
		}
		cfg := streamConfig(t, b)
		b.Close()
		if got := cfg.Metadata[storeMetadataKey]; got != "aaaa" {
			t.Errorf("after Open for store %q: metadata %s = %q, want aaaa", storeID, storeMetadataKey, got)
		}
		if got := cfg.Metadata["owner"]; got != "operations" {
			t.Errorf("after Open for store %q: metadata owner = %q, want operations", storeID, got)
		}
	}

	_, err := Open(ctx, Config{Dir: dir, StoreID: "bbbb"})
	if !errors.Is(err, ErrOtherStore) {
		t.Fatalf("Open for another store: error = %v, want ErrOtherStore", err)
	}
	if !strings.Contains(err.Error(), "stream DELIVERIES records store aaaa") {
		t.Errorf("error = %q, want it to name the stream and its store", err)
	}
}

// TestOpenReadsStoreFromDescription opens a stream whose metadata was
// dropped, as servers before 2.10 drop it, and checks that the store in
// its description still decides.
func TestOpenReadsStoreFromDescription(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	editStream(t, dir, "aaaa", func(cfg *jetstream.StreamConfig) { cfg.Metadata = nil })

	if _, err := Open(ctx, Config{Dir: dir, StoreID: "bbbb"}); !errors.Is(err, ErrOtherStore) {
		t.Errorf("Open for another store: error = %v, want ErrOtherStore", err)
	}
	b := openEmbeddedAt(t, dir)
	if got, err := b.StreamStore(ctx); err != nil || got != "aaaa" {
		t.Errorf("StreamStore = %q, %v; want aaaa", got, err)
	}
}

// TestStreamCreatedSurvivesRestart opens an embedded stream, then checks
// and opens it again after a restart of the server: both report the time
// the stream was created. A stream deleted and created again under the
// same name reports another time.
func TestStreamCreatedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	b := openEmbeddedAt(t, dir)
	created := b.StreamCreated()
	if created.IsZero() {
		t.Fatal("StreamCreated of a new stream is the zero time")
	}
	b.Close()

	b, err := Connect(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checked, err := b.CheckStream(ctx, "")
	if err != nil {
		t.Fatalf("CheckStream after a restart: %v", err)
	}
	if !checked.Equal(created) {
		t.Errorf("CheckStream after a restart = %v, want the creation time %v", checked, created)
	}
	if err := b.OpenStream(ctx, ""); err != nil {
		t.Fatalf("OpenStream after a restart: %v", err)
	}
	if got := b.StreamCreated(); !got.Equal(created) {
		t.Errorf("StreamCreated after a restart = %v, want %v", got, created)
	}

	if err := b.JS.DeleteStream(ctx, StreamName); err != nil {
		t.Fatal(err)
	}
	if err := b.OpenStream(ctx, ""); err != nil {
		t.Fatalf("OpenStream of a deleted stream: %v", err)
	}
	if got := b.StreamCreated(); got.Equal(created) {
		t.Errorf("StreamCreated of the stream created again = %v, the time of the deleted stream", got)
	}
}

// TestExternalStreamCreated opens a stream on the server at
// JOINEDUP_TEST_NATS_URL and checks it from a second connection, as
// another node would: both report the same creation time.
func TestExternalStreamCreated(t *testing.T) {
	url := os.Getenv("JOINEDUP_TEST_NATS_URL")
	if url == "" {
		t.Skip("JOINEDUP_TEST_NATS_URL is not set; skipping the external NATS server")
	}
	ctx := context.Background()
	var suffix [4]byte
	rand.Read(suffix[:])
	stream := "CREATEDTEST_" + hex.EncodeToString(suffix[:])
	first, err := Open(ctx, Config{URL: url, Stream: stream, StoreID: "aaaa"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		_ = first.JS.DeleteStream(context.Background(), stream)
		first.Close()
	})

	second, err := Connect(Config{URL: url, Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	checked, err := second.CheckStream(ctx, "aaaa")
	if err != nil {
		t.Fatalf("CheckStream: %v", err)
	}
	if created := first.StreamCreated(); checked.IsZero() || !checked.Equal(created) {
		t.Errorf("CheckStream from a second connection = %v, want the creation time %v", checked, created)
	}
}

// editStream opens the embedded stream in dir for storeID, changes its
// configuration with edit and closes it.
func editStream(t *testing.T, dir, storeID string, edit func(*jetstream.StreamConfig)) {
	t.Helper()
	b, err := Open(context.Background(), Config{Dir: dir, StoreID: storeID})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	cfg := streamConfig(t, b)
	edit(&cfg)
	if _, err := b.JS.UpdateStream(context.Background(), cfg); err != nil {
		t.Fatalf("update stream: %v", err)
	}
}

func streamConfig(t *testing.T, b *Bus) jetstream.StreamConfig {
	t.Helper()
	info, err := b.Stream.Info(context.Background())
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	return info.Config
}

func TestRedactURLs(t *testing.T) {
	tests := []struct{ urls, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://joinedup:s3cret@127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://t0ken@nats-1:4222, tls://joinedup:s3cret@nats-2:4222", "nats://nats-1:4222,tls://nats-2:4222"},
		{"nats://joinedup:s3cret@127.0.0.1:port", "(invalid URL)"},
	}
	for _, tt := range tests {
		if got := RedactURLs(tt.urls); got != tt.want {
			t.Errorf("RedactURLs(%q) = %q, want %q", tt.urls, got, tt.want)
		}
	}
}

// TestOpenKeepsStreamReplicas opens an embedded stream, which has one
// replica, with three requested: Open fails with a *ReplicasError and
// leaves the stream as it was. Opened with one replica again, it brings
// the settings the hub needs, here the duplicate window, back into line.
func TestOpenKeepsStreamReplicas(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	editStream(t, dir, "aaaa", func(cfg *jetstream.StreamConfig) { cfg.Duplicates = time.Minute })

	_, err := Open(ctx, Config{Dir: dir, StoreID: "aaaa", Replicas: 3})
	var replicas *ReplicasError
	if !errors.As(err, &replicas) {
		t.Fatalf("Open with 3 replicas: error = %v, want a *ReplicasError", err)
	}
	if replicas.Stream != StreamName || replicas.Replicas != 1 || replicas.Requested != 3 {
		t.Errorf("ReplicasError = %+v, want stream %s with 1 replica, 3 requested", *replicas, StreamName)
	}
	if want := "stream DELIVERIES has 1 replica, not the 3 requested"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}

	b := openEmbeddedAt(t, dir)
	cfg := streamConfig(t, b)
	if cfg.Replicas != 1 {
		t.Errorf("stream has %d replicas after the rejected Open, want 1", cfg.Replicas)
	}
	if cfg.Duplicates != DuplicateWindow {
		t.Errorf("duplicate window = %v after Open, want %v", cfg.Duplicates, DuplicateWindow)
	}
}

// TestExternalStreamReplicasStay gives a stream on the server at
// JOINEDUP_TEST_NATS_URL three replicas, then opens it with one requested,
// as a node started with other settings would: Open fails and the stream
// keeps three replicas.
func TestExternalStreamReplicasStay(t *testing.T) {
	url := os.Getenv("JOINEDUP_TEST_NATS_URL")
	if url == "" {
		t.Skip("JOINEDUP_TEST_NATS_URL is not set; skipping the external NATS server")
	}
	ctx := context.Background()
	stream := "REPLICASTEST" + time.Now().Format("150405")
	first, err := Open(ctx, Config{URL: url, Stream: stream, StoreID: "aaaa"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		_ = first.JS.DeleteStream(context.Background(), stream)
		first.Close()
	})
	// NATS 2.9.10 outside a cluster rejects a new stream with 3 replicas
	// but takes an update to them.
	cfg := streamConfig(t, first)
	cfg.Replicas = 3
	if _, err := first.JS.UpdateStream(ctx, cfg); err != nil {
		t.Skipf("the server cannot give a stream 3 replicas: %v", err)
	}

	second, err := Open(ctx, Config{URL: url, Stream: stream, StoreID: "aaaa", Replicas: 1})
	var replicas *ReplicasError
	if !errors.As(err, &replicas) {
		if err == nil {
			second.Close()
		}
		t.Fatalf("Open with 1 replica: error = %v, want a *ReplicasError", err)
	}
	if replicas.Replicas != 3 || replicas.Requested != 1 {
		t.Errorf("ReplicasError = %+v, want 3 replicas, 1 requested", *replicas)
	}
	if got := streamConfig(t, first).Replicas; got != 3 {
		t.Errorf("stream has %d replicas after the rejected Open, want 3", got)
	}
}

// TestCheckStreamChangesNothing checks a stream that does not exist, which
// passes and is not created, then one of another store and one with other
// replicas, which fail as Open would and are left as they were.
func TestCheckStreamChangesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	b, err := Connect(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if created, err := b.CheckStream(ctx, "aaaa"); err != nil || !created.IsZero() {
		t.Errorf("CheckStream of no stream = %v, %v; want the zero time and no error", created, err)
	}
	if _, err := b.JS.Stream(ctx, StreamName); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("after CheckStream, reading the stream returned %v, want ErrStreamNotFound", err)
	}
	b.Close()

	editStream(t, dir, "aaaa", func(cfg *jetstream.StreamConfig) { cfg.Duplicates = time.Minute })
	for _, tt := range []struct {
		name    string
		cfg     Config
		storeID string
		want    func(error) bool
	}{
		{"other store", Config{Dir: dir}, "bbbb", func(err error) bool { return errors.Is(err, ErrOtherStore) }},
		{"other replicas", Config{Dir: dir, Replicas: 3}, "aaaa", func(err error) bool { var r *ReplicasError; return errors.As(err, &r) }},
	} {
		b, err := Connect(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.CheckStream(ctx, tt.storeID); !tt.want(err) {
			t.Errorf("%s: CheckStream error = %v", tt.name, err)
		}
		stream, err := b.JS.Stream(ctx, StreamName)
		if err != nil {
			t.Fatal(err)
		}
		if got := stream.CachedInfo().Config.Duplicates; got != time.Minute {
			t.Errorf("%s: duplicate window = %v after CheckStream, want 1m0s", tt.name, got)
		}
		b.Close()
	}
}
