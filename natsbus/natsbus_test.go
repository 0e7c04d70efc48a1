package natsbus

import (
	"context"
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
