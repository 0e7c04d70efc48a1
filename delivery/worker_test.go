package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/webhook"
)

func TestCheckDialAddress(t *testing.T) {
	tests := []struct {
		address string
		kind    string // "" when the connection is allowed
	}{
		{"169.254.169.254:80", "link-local"},
		{"169.254.0.1:443", "link-local"},
		{"[fe80::1]:80", "link-local"},
		{"[fe80::1%lo]:80", "link-local"},
		{"[::ffff:169.254.169.254]:80", "link-local"},
		{"0.0.0.0:80", "unspecified"},
		{"[::]:80", "unspecified"},
		{"224.0.0.1:80", "multicast"},
		{"[ff02::1]:80", "multicast"},
		{"255.255.255.255:80", "broadcast"},
		{"127.0.0.1:8080", ""},
		{"[::1]:8080", ""},
		{"10.1.2.3:443", ""},
		{"172.16.0.1:443", ""},
		{"192.168.1.20:80", ""},
		{"[fd00::1]:443", ""},
		{"203.0.113.7:443", ""},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			err := checkDialAddress("tcp", tt.address, nil)
			if tt.kind == "" {
				if err != nil {
					t.Fatalf("error = %v, want the connection allowed", err)
				}
				return
			}
			var addrErr *joinedup.EndpointAddressError
			if !errors.As(err, &addrErr) {
				t.Fatalf("error = %v, want an EndpointAddressError", err)
			}
			if addrErr.Kind != tt.kind {
				t.Errorf("kind = %q, want %q", addrErr.Kind, tt.kind)
			}
		})
	}
}

func TestCheckDialAddressRejectsHostName(t *testing.T) {
	if err := checkDialAddress("tcp", "example.org:80", nil); err == nil {
		t.Error("error = nil for a host name, want the unresolved address rejected")
	}
}

// TestSenderRefusesLinkLocal dials through the sender's own transport. The
// address is link-local on the loopback interface, so nothing could leave
// the machine even if the guard were missing.
func TestSenderRefusesLinkLocal(t *testing.T) {
	s := newSender(Config{AttemptTimeout: 5 * time.Second}, nil)
	transport := s.client.Transport.(*http.Transport)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := transport.DialContext(ctx, "tcp", "[fe80::1%lo]:9")
	if err == nil {
		conn.Close()
		t.Fatal("dial to fe80::1 succeeded, want it rejected")
	}
	var addrErr *joinedup.EndpointAddressError
	if !errors.As(err, &addrErr) || addrErr.Kind != "link-local" {
		t.Errorf("dial error = %v, want a link-local EndpointAddressError", err)
	}
}

func TestSenderReachesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	s := newSender(Config{AttemptTimeout: 5 * time.Second}, nil)
	resp, err := s.client.Get(srv.URL)
	if err != nil {
		t.Fatalf("get %s: %v", srv.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status = %d, want 204", resp.StatusCode)
	}
}

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name, body, header string
		want               []messageEntry
	}{
		{"one", "dlv_a.0", "dlv_a.0", []messageEntry{{"dlv_a", 0, true}}},
		{"several", "dlv_a.0\ndlv_b.3\n", "dlv_a.0+2", []messageEntry{{"dlv_a", 0, true}, {"dlv_b", 3, true}}},
		{"bare id with header", "dlv_a", "dlv_a.2", []messageEntry{{"dlv_a", 2, true}}},
		{"bare id without header", "dlv_a", "", []messageEntry{{"dlv_a", 0, false}}},
		{"bare id with another's header", "dlv_a", "dlv_b.1", []messageEntry{{"dlv_a", 0, false}}},
		{"negative generation", "dlv_a.-1", "", nil},
		{"empty", " \n", "", nil},
		// A message that something else published on the subject names
		// no delivery, even where one of its lines looks like an id.
		{"event", `{"id":"dlv_a","data":{"child":{}}}`, "", nil},
		{"id then other text", "dlv_a.0\nChild Benefit", "", nil},
		{"long line", "dlv_" + strings.Repeat("a", 65), "", nil},
		{"word", "Brennan", "", nil},
		{"NI number", "AB123456C", "", nil},
		{"word and number", "Surname.1", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseMessage([]byte(tt.body), tt.header)
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseMessage(%q, %q) = %v, want %v", tt.body, tt.header, got, tt.want)
			}
		})
	}
}

func TestGroupOutbox(t *testing.T) {
	row := func(id string, service joinedup.ServiceID) store.OutboxMessage {
		return store.OutboxMessage{MsgID: id + ".0", Delivery: joinedup.DeliveryID(id), Service: service}
	}
	msgs := []store.OutboxMessage{row("dlv_a1", "a"), row("dlv_b1", "b"), row("dlv_a2", "a"), row("dlv_a3", "a"), row("dlv_b2", "b"), row("dlv_a4", "a")}
	groups := groupOutbox(msgs, 3)
	var got []string
	for _, g := range groups {
		got = append(got, string(g.service)+":"+string(g.body())+":"+g.msgID())
	}
	want := []string{"a:dlv_a1.0\ndlv_a2.0\ndlv_a3.0:dlv_a1.0+3", "b:dlv_b1.0\ndlv_b2.0:dlv_b1.0+2", "a:dlv_a4.0:dlv_a4.0"}
	if !slices.Equal(got, want) {
		t.Errorf("groupOutbox = %q, want %q", got, want)
	}
	for _, g := range groups {
		entries := parseMessage(g.body(), g.msgID())
		if len(entries) != len(g.msgs) {
			t.Fatalf("message %q names %d deliveries, want %d", g.body(), len(entries), len(g.msgs))
		}
		for i, e := range entries {
			if e.id != g.msgs[i].Delivery || e.generation != 0 || !e.known {
				t.Errorf("entry %d of %q = %+v, want %s generation 0", i, g.body(), e, g.msgs[i].Delivery)
			}
		}
	}
}

// TestSendWebhookErrors sends a task to services that respond badly, and
// checks that each error names what went wrong and whether anything
// reached the service.
func TestSendWebhookErrors(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String() + "/events"
	closed.Close()

	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL + "/events"
	}
	tests := []struct {
		name    string
		url     string
		want    string
		notSent bool
	}{
		{"oversized answer", serve(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Write([]byte(`{"status":"acted","summary":"` + strings.Repeat("x", 100<<10) + `"}`))
		}), "larger than the limit of 64 KiB", false},
		{"answer not JSON", serve(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Write([]byte(`ok`))
		}), "not a JSON outcome", false},
		{"status given twice", serve(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Write([]byte(`{"status":"acted","summary":"ok","status":"failed"}`))
		}), `gives "status" more than once, at /status`, false},
		{"acted without a summary", serve(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Write([]byte(`{"status":"acted"}`))
		}), `/summary: An outcome of "acted" or "failed" needs a summary`, false},
		{"200 with no outcome", serve(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
		}), "responded 200 OK with no outcome", false},
		{"204 with no outcome", serve(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		}), "responded 204 No Content with no outcome", false},
		{"no answer in time", serve(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}), "did not respond within 200ms", false},
		{"nothing listening", refused, "connection refused", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSender(Config{AttemptTimeout: 200 * time.Millisecond}, nil)
			task := &store.Task{
				Delivery: &joinedup.Delivery{ID: "dlv_1", EventID: "evt_1", Kind: joinedup.EventConsentWithdrawn},
				Service: &joinedup.Service{ID: "gp", Secret: webhook.NewSecret(),
					Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: tt.url}},
				Data: json.RawMessage(`{}`),
			}

			_, err := s.send(context.Background(), task)

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			var unsent *notSent
			if got := errors.As(err, &unsent); got != tt.notSent {
				t.Errorf("error marks nothing sent: %t, want %t", got, tt.notSent)
			}
		})
	}
}
