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
	// Delivery ids in the form joinedup.NewID makes them.
	const a, b = "dlv_06h4js713vsz02vpxjq24pj6xw", "dlv_06h4js715zt6q78hra1vmawq34"
	tests := []struct {
		name, body, header string
		want               []messageEntry
	}{
		{"one", a + ".0", a + ".0", []messageEntry{{a, 0, true}}},
		{"several", a + ".0\n" + b + ".3\n", a + ".0+2", []messageEntry{{a, 0, true}, {b, 3, true}}},
		{"bare id with header", a, a + ".2", []messageEntry{{a, 2, true}}},
		{"bare id without header", a, "", []messageEntry{{a, 0, false}}},
		{"bare id with another's header", a, b + ".1", []messageEntry{{a, 0, false}}},
		{"negative generation", a + ".-1", "", nil},
		{"one delivery twice", a + ".0\n" + b + ".0\n" + a + ".0", "", []messageEntry{{a, 0, true}, {b, 0, true}}},
		{"two generations", a + ".0\n" + a + ".2\n" + a + ".1", "", []messageEntry{{a, 2, true}}},
		{"bare id and a generation", a + "\n" + a + ".1", "", []messageEntry{{a, 1, true}}},
		{"empty", " \n", "", nil},
		// A message that something else published on the subject names
		// no delivery, even where one of its lines looks like an id.
		{"event", `{"id":"` + a + `","data":{"child":{}}}`, "", nil},
		{"id then other text", a + ".0\nChild Benefit", "", nil},
		{"id too long", a + "a", "", nil},
		{"word", "Brennan", "", nil},
		{"NI number", "AB123456C", "", nil},
		{"word and number", "Surname.1", "", nil},
		{"word after the prefix", "dlv_brennan", "", nil},
		{"letters outside the alphabet", "dlv_06h4js713vsz02vpxjq24pj6xi", "", nil},
		{"upper case", strings.ToUpper(a), "", nil},
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
	// Each id is in the form joinedup.NewID makes, ending in its name.
	id := func(name string) string { return "dlv_06h4js713vsz02vpxjq24p" + name }
	row := func(name string, service joinedup.ServiceID) store.OutboxMessage {
		return store.OutboxMessage{MsgID: id(name) + ".0", Delivery: joinedup.DeliveryID(id(name)), Service: service}
	}
	msgs := []store.OutboxMessage{row("aaa1", "a"), row("bbb1", "b"), row("aaa2", "a"), row("aaa3", "a"), row("bbb2", "b"), row("aaa4", "a")}
	groups := groupOutbox(msgs, 3)
	var got []string
	for _, g := range groups {
		got = append(got, string(g.service)+":"+string(g.body())+":"+g.msgID())
	}
	want := []string{
		"a:" + id("aaa1") + ".0\n" + id("aaa2") + ".0\n" + id("aaa3") + ".0:" + id("aaa1") + ".0+3",
		"b:" + id("bbb1") + ".0\n" + id("bbb2") + ".0:" + id("bbb1") + ".0+2",
		"a:" + id("aaa4") + ".0:" + id("aaa4") + ".0",
	}
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
