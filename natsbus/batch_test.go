package natsbus

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func openEmbedded(t *testing.T) *Bus {
	t.Helper()
	return openEmbeddedAt(t, t.TempDir())
}

func deliveryMsg(b *Bus, service, id string) *nats.Msg {
	return &nats.Msg{Subject: b.Subject(service), Data: []byte(id),
		Header: nats.Header{jetstream.MsgIDHeader: []string{id + ".0"}}}
}

// consume returns the bodies of the messages on a service's subject,
// waiting up to a few seconds for want of them.
func consume(t *testing.T, b *Bus, service string, want int) []string {
	t.Helper()
	c, err := b.Consumer(context.Background(), service, 30*time.Second, 100)
	if err != nil {
		t.Fatalf("Consumer: %v", err)
	}
	batch, err := c.Fetch(want+1, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	var out []string
	for m := range batch.Messages() {
		out = append(out, string(m.Data()))
		m.Ack()
	}
	return out
}

func TestPublishBatchStoresEveryMessage(t *testing.T) {
	b := openEmbedded(t)
	if !b.AtomicBatches {
		t.Fatalf("AtomicBatches = false on the embedded server, want true")
	}

	msgs := []*nats.Msg{deliveryMsg(b, "gp", "dlv_1"), deliveryMsg(b, "school", "dlv_2"), deliveryMsg(b, "gp", "dlv_3")}
	if err := b.PublishBatch(context.Background(), msgs); err != nil {
		t.Fatalf("PublishBatch: %v", err)
	}

	if got := consume(t, b, "gp", 2); len(got) != 2 || got[0] != "dlv_1" || got[1] != "dlv_3" {
		t.Errorf("gp messages = %v, want [dlv_1 dlv_3]", got)
	}
	if got := consume(t, b, "school", 1); len(got) != 1 || got[0] != "dlv_2" {
		t.Errorf("school messages = %v, want [dlv_2]", got)
	}
}

func TestPublishBatchRejectsDuplicateWhole(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	if _, err := b.JS.PublishMsg(ctx, deliveryMsg(b, "gp", "dlv_1")); err != nil {
		t.Fatalf("publish first copy: %v", err)
	}

	err := b.PublishBatch(ctx, []*nats.Msg{deliveryMsg(b, "gp", "dlv_2"), deliveryMsg(b, "gp", "dlv_1")})
	if err == nil {
		t.Fatalf("PublishBatch with a duplicate succeeded, want an error")
	}
	if got := consume(t, b, "gp", 1); len(got) != 1 || got[0] != "dlv_1" {
		t.Errorf("gp messages = %v, want only the first copy [dlv_1]: a rejected batch stores nothing", got)
	}
}

func TestPublishBatchRejectsBadSize(t *testing.T) {
	b := openEmbedded(t)
	if err := b.PublishBatch(context.Background(), nil); err == nil {
		t.Errorf("PublishBatch of no messages succeeded, want an error")
	}
	msgs := make([]*nats.Msg, MaxBatch+1)
	for i := range msgs {
		msgs[i] = deliveryMsg(b, "gp", "dlv")
	}
	if err := b.PublishBatch(context.Background(), msgs); err == nil {
		t.Errorf("PublishBatch of %d messages succeeded, want an error", len(msgs))
	}
}

// TestPublishBatchOnExternalServer checks that the bus offers batches only
// where the server takes them. It runs against JOINEDUP_TEST_NATS_URL.
func TestPublishBatchOnExternalServer(t *testing.T) {
	url := os.Getenv("JOINEDUP_TEST_NATS_URL")
	if url == "" {
		t.Skip("JOINEDUP_TEST_NATS_URL is not set; skipping the external NATS server")
	}
	b, err := Open(context.Background(), Config{URL: url, Stream: "BATCHTEST" + time.Now().Format("150405")})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		_ = b.JS.DeleteStream(context.Background(), b.name)
		b.Close()
	})

	want := versionAtLeast(b.Conn.ConnectedServerVersion(), 2, 12)
	if b.AtomicBatches != want {
		t.Fatalf("AtomicBatches = %v on server %s, want %v", b.AtomicBatches, b.Conn.ConnectedServerVersion(), want)
	}
	err = b.PublishBatch(context.Background(), []*nats.Msg{deliveryMsg(b, "gp", "dlv_1"), deliveryMsg(b, "gp", "dlv_2")})
	if !want && !errors.Is(err, ErrBatchUnsupported) {
		t.Errorf("PublishBatch on server %s: err = %v, want ErrBatchUnsupported", b.Conn.ConnectedServerVersion(), err)
	}
	if want && err != nil {
		t.Errorf("PublishBatch on server %s: %v", b.Conn.ConnectedServerVersion(), err)
	}
}

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		version string
		want    bool
	}{
		{"2.12.0", true},
		{"2.15.3", true},
		{"3.0.0", true},
		{"2.11.9", false},
		{"2.9.10", false},
		{"1.20.0", false},
		{"", false},
		{"unknown", false},
	}
	for _, tt := range tests {
		if got := versionAtLeast(tt.version, 2, 12); got != tt.want {
			t.Errorf("versionAtLeast(%q, 2, 12) = %v, want %v", tt.version, got, tt.want)
		}
	}
}

// BenchmarkPublish compares storing n messages as one atomic batch with
// publishing them asynchronously one at a time and waiting for every
// acknowledgement, on the embedded server.
func BenchmarkPublish(b *testing.B) {
	bus, err := Open(context.Background(), Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer bus.Close()
	next := 0
	messages := func(n int) []*nats.Msg {
		msgs := make([]*nats.Msg, n)
		for i := range msgs {
			next++
			msgs[i] = deliveryMsg(bus, "gp", "dlv_"+strconv.Itoa(next))
		}
		return msgs
	}
	for _, n := range []int{4, 16, 32, 64, 256} {
		b.Run("batch/"+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if err := bus.PublishBatch(context.Background(), messages(n)); err != nil {
					b.Fatalf("PublishBatch: %v", err)
				}
			}
		})
		b.Run("single/"+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				futures := make([]jetstream.PubAckFuture, 0, n)
				for _, m := range messages(n) {
					f, err := bus.JS.PublishMsgAsync(m)
					if err != nil {
						b.Fatalf("PublishMsgAsync: %v", err)
					}
					futures = append(futures, f)
				}
				for _, f := range futures {
					select {
					case <-f.Ok():
					case err := <-f.Err():
						b.Fatalf("publish: %v", err)
					}
				}
			}
		})
	}
}

// TestOpenAllowsBatchesOnOlderStream reopens a data directory whose stream
// was created before atomic batches were allowed, as after an upgrade,
// and checks that Open allows them.
func TestOpenAllowsBatchesOnOlderStream(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	b, err := Open(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	info, err := b.Stream.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	cfg := info.Config
	cfg.AllowAtomicPublish = false
	if _, err := b.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("turn atomic batches off: %v", err)
	}
	b.Close()

	b = openEmbeddedAt(t, dir)
	info, err = b.Stream.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	if !info.Config.AllowAtomicPublish {
		t.Errorf("stream config after Open: AllowAtomicPublish = false, want true")
	}
	if err := b.PublishBatch(ctx, []*nats.Msg{deliveryMsg(b, "gp", "dlv_1"), deliveryMsg(b, "gp", "dlv_2")}); err != nil {
		t.Errorf("PublishBatch after reopening: %v", err)
	}
}

func openEmbeddedAt(t *testing.T, dir string) *Bus {
	t.Helper()
	b, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}
