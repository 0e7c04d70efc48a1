package connector_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/webhook"
)

// connectNATS connects to the server in JOINEDUP_TEST_NATS_URL, or to a
// NATS server started in the test process on a loopback port.
func connectNATS(t *testing.T) *nats.Conn {
	t.Helper()
	url := os.Getenv("JOINEDUP_TEST_NATS_URL")
	if url == "" {
		ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true})
		if err != nil {
			t.Fatalf("start NATS server: %v", err)
		}
		ns.Start()
		t.Cleanup(ns.Shutdown)
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("NATS server not ready after 10s")
		}
		url = ns.ClientURL()
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to NATS at %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func natsRequest(t *testing.T, nc *nats.Conn, subject string, signer *webhook.Signer, id string, at time.Time, body []byte) *nats.Msg {
	t.Helper()
	msg := nats.NewMsg(subject)
	msg.Data = body
	h := http.Header{}
	signer.SetHeaders(h, id, at, body)
	for key := range h {
		msg.Header.Set(key, h.Get(key))
	}
	reply, err := nc.RequestMsg(msg, 5*time.Second)
	if err != nil {
		t.Fatalf("NATS request: %v", err)
	}
	return reply
}

func TestSubscribe(t *testing.T) {
	nc := connectNATS(t)
	f := newFixture(t, actOnce)
	subject := "joinedup.test." + strconv.FormatInt(time.Now().UnixNano(), 10)
	sub, err := f.receiver.Subscribe(context.Background(), nc, subject)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Unsubscribe()
	body := eventBody(t, "dlv_1")
	forger, _ := webhook.NewSigner(webhook.NewSecret())

	reply := natsRequest(t, nc, subject, f.signer, "dlv_1", f.clock.Now(), body)
	if got := reply.Header.Get(connector.HeaderStatus); got != "200" {
		t.Fatalf("status = %q, want 200; data %s", got, reply.Data)
	}
	var o joinedup.Outcome
	if err := json.Unmarshal(reply.Data, &o); err != nil {
		t.Fatalf("decode outcome: %v", err)
	}
	if o.Status != joinedup.OutcomeActed {
		t.Errorf("outcome status = %q, want %q", o.Status, joinedup.OutcomeActed)
	}

	f.clock.Advance(time.Minute)
	again := natsRequest(t, nc, subject, f.signer, "dlv_1", f.clock.Now(), body)
	if string(again.Data) != string(reply.Data) {
		t.Errorf("redelivery outcome = %s, want %s", again.Data, reply.Data)
	}

	forged := natsRequest(t, nc, subject, forger, "dlv_2", f.clock.Now(), eventBody(t, "dlv_2"))
	if got := forged.Header.Get(connector.HeaderStatus); got != "401" {
		t.Errorf("forged: status = %q, want 401", got)
	}
	if n := f.effects(); n != 1 {
		t.Errorf("effects = %d, want 1", n)
	}
}
