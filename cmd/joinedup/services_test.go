package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/webhook"
)

// serviceJSON returns a registration of a webhook service at url.
func serviceJSON(t *testing.T, id joinedup.ServiceID, url string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": id, "organisation": "test-council", "name": "Service " + id, "purpose": "testing",
		"eventTypes": []string{joinedup.EventBirthRegistered}, "fields": []string{"child.name"},
		"endpoint": map[string]string{"kind": joinedup.EndpointWebhook, "url": url},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postService posts the registration of a webhook service at url with
// client, adding the API token when withToken is set, and returns the
// status and the body.
func postService(t *testing.T, h *Hub, client *http.Client, withToken bool, id joinedup.ServiceID, url string) (int, []byte) {
	t.Helper()
	return sendAPI(t, client, withToken, http.MethodPost, h.BaseURL+"/api/v1/services", serviceJSON(t, id, url))
}

// problemFields returns the field pointers of a problem document.
func problemFields(t *testing.T, body []byte) []string {
	t.Helper()
	var p joinedup.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode problem: %v; body %s", err, body)
	}
	var fields []string
	for _, fe := range p.Errors {
		fields = append(fields, fe.Field)
	}
	return fields
}

// listServiceIDs returns the ids of the hub's services, read with the API
// token.
func listServiceIDs(t *testing.T, h *Hub) []joinedup.ServiceID {
	t.Helper()
	resp, err := apiGet(h.BaseURL + "/api/v1/services")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Items []joinedup.Service `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list services: status %d, error %v", resp.StatusCode, err)
	}
	var ids []joinedup.ServiceID
	for _, s := range list.Items {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestServiceEndpointURLChecked(t *testing.T) {
	h := startHub(t, nil)
	if err := h.DB.UpsertOrganisation(context.Background(), joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}

	rejected := []struct{ name, url string }{
		{"ftp scheme", "ftp://files.example/drop"},
		{"file scheme", "file:///etc/passwd"},
		{"user and password", "http://user:secret@127.0.0.1:9/events"},
		{"user only", "https://user@services.example/events"},
		{"metadata address", "http://169.254.169.254/latest"},
		{"IPv4 link-local", "http://169.254.10.20:8080/events"},
		{"IPv6 link-local", "http://[fe80::1]/events"},
		{"IPv6 link-local with zone", "http://[fe80::1%25eth0]:8080/events"},
		{"IPv4-mapped link-local", "http://[::ffff:169.254.169.254]/latest"},
		{"IPv4 unspecified", "http://0.0.0.0:9/events"},
		{"IPv6 unspecified", "http://[::]:9/events"},
		{"IPv4 multicast", "http://224.0.0.1/events"},
		{"IPv6 multicast", "http://[ff02::1]/events"},
		{"broadcast", "http://255.255.255.255/events"},
		{"decimal IPv4", "http://2852039166/latest"},
		{"hexadecimal IPv4", "http://0xa9.0xfe.0xa9.0xfe/latest"},
		{"short IPv4", "http://169.254.43518/latest"},
		{"port above 65535", "http://127.0.0.1:99999/events"},
		{"port 0", "http://127.0.0.1:0/events"},
		{"port without a host", "http://:8080/events"},
		{"URL over 2048 characters", "https://services.example/" + strings.Repeat("a", 2048-24)},
	}
	for i, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postService(t, h, http.DefaultClient, true, joinedup.ServiceID(fmt.Sprintf("bad-%d", i)), tt.url)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422; body %s", status, body)
			}
			if fields := problemFields(t, body); !slices.Contains(fields, "/endpoint/url") {
				t.Errorf("fields = %q, want /endpoint/url", fields)
			}
		})
	}

	accepted := map[joinedup.ServiceID]string{
		"loopback":      "http://127.0.0.1:9/events",
		"loopback-ipv6": "http://[::1]:9/events",
		"private-10":    "http://10.20.30.40:8080/events",
		"private-192":   "https://192.168.1.20/events",
		"private-ipv6":  "https://[fd00::20]/events",
		"host-name":     "https://services.example/events",
		"long-url":      "https://services.example/" + strings.Repeat("a", 2048-25),
	}
	for id, url := range accepted {
		if status, body := postService(t, h, http.DefaultClient, true, id, url); status != http.StatusCreated {
			t.Errorf("%s: status = %d, want 201; body %s", url, status, body)
		}
	}

	var want []joinedup.ServiceID
	for id := range accepted {
		want = append(want, id)
	}
	slices.Sort(want)
	if got := listServiceIDs(t, h); !slices.Equal(got, want) {
		t.Errorf("services = %v, want only the accepted %v", got, want)
	}
}

func TestServicesFileRejectsLinkLocal(t *testing.T) {
	h := startHub(t, nil)
	for _, url := range []string{"http://169.254.169.254/latest", "http://[fe80::1%25eth0]:8080/events"} {
		t.Run(url, func(t *testing.T) {
			svc := &joinedup.Service{
				ID: "link-local", Organisation: "test-council", Name: "Link-local", Purpose: "testing",
				EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"},
				Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: url},
				Secret:   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			}

			err := loadServices(context.Background(), servicesFileFor(t, svc), h.DB, h.Directory)
			if err == nil || !strings.Contains(err.Error(), "/services/0/endpoint/url") {
				t.Fatalf("load services: error %v, want one naming /services/0/endpoint/url", err)
			}
			if !strings.Contains(err.Error(), "link-local address") {
				t.Errorf("error %q does not say the address is link-local", err)
			}
			if _, err := h.Directory.FindService(context.Background(), svc.ID); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
				t.Errorf("find service after the rejected file: error %v, want not found", err)
			}
		})
	}
}

func TestOnlyOperatorRegistersService(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true; c.APIToken = testToken })
	if err := h.DB.UpsertOrganisation(context.Background(), joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	before := listServiceIDs(t, h)

	for _, username := range []string{"officer-child-benefit", "social-worker", "registrar", "data-protection-officer", demoResidentName(0)} {
		t.Run(username, func(t *testing.T) {
			client := signedInClient(t, h, username)
			status, body := postService(t, h, client, false, "intruder", "http://127.0.0.1:9/events")
			if status != http.StatusForbidden {
				t.Fatalf("status = %d, want 403; body %s", status, body)
			}
			var p joinedup.Problem
			if err := json.Unmarshal(body, &p); err != nil || p.Type != joinedup.ProblemTypePrefix+joinedup.EFORBIDDEN {
				t.Errorf("body %s, want a forbidden problem document (decode error %v)", body, err)
			}
		})
	}
	if got := listServiceIDs(t, h); !slices.Equal(got, before) {
		t.Errorf("services after the denied requests = %v, want %v", got, before)
	}

	operator := signedInClient(t, h, "operator")
	if status, body := postService(t, h, operator, false, "by-operator", "http://127.0.0.1:9/events"); status != http.StatusCreated {
		t.Errorf("operator: status = %d, want 201; body %s", status, body)
	}

	if status, body := postService(t, h, http.DefaultClient, true, "by-token", "http://127.0.0.1:9/events"); status != http.StatusCreated {
		t.Errorf("API token: status = %d, want 201; body %s", status, body)
	}

	want := append(slices.Clone(before), "by-operator", "by-token")
	slices.Sort(want)
	if got := listServiceIDs(t, h); !slices.Equal(got, want) {
		t.Errorf("services = %v, want %v", got, want)
	}
}

// TestServiceMovedThroughAPI moves a service to a new endpoint with a new
// secret through the API, and checks that the next birth reaches the new
// endpoint, signed with the new secret, and not the old one.
func TestServiceMovedThroughAPI(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	var before, after recorder
	startService(t, h, "gp", []string{"child.name"}, &before)
	moved := serveRecorder(t, "gp", []string{"child.name"}, &after)
	stored, err := h.Directory.FindService(ctx, "gp")
	if err != nil {
		t.Fatal(err)
	}
	stored.Endpoint, stored.Secret = moved.Endpoint, moved.Secret
	var registration map[string]any
	b, _ := json.Marshal(stored)
	json.Unmarshal(b, &registration)
	delete(registration, "createdAt")
	body, _ := json.Marshal(registration)

	req, err := apiRequest(http.MethodPut, h.BaseURL+"/api/v1/services/gp", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("move service: status %d, want 200", resp.StatusCode)
	}

	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp"))
	ev := waitComplete(t, h, out.Event.ID, 10*time.Second)
	if ev.Deliveries[0].State != joinedup.StateActed {
		t.Errorf("delivery state %s, want acted at the new endpoint", ev.Deliveries[0].State)
	}
	if n := len(after.received()); n != 1 {
		t.Errorf("new endpoint received %d events, want 1", n)
	}
	if n := len(before.received()); n != 0 {
		t.Errorf("old endpoint received %d events, want 0", n)
	}
}

// TestWidenedFieldsSkipEarlierConsent registers a birth while the
// service is failing, widens the service's fields, and checks that the
// retry sends only the field the consent decision recorded.
func TestWidenedFieldsSkipEarlierConsent(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, func(c *Config) { c.Backoff = 200 * time.Millisecond })
	var gp recorder
	gp.fail = 1
	svc := startService(t, h, "gp", []string{"child.name"}, &gp)

	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp"))
	if fields := out.Receipt.Services[0].Fields; len(fields) != 1 || fields[0] != "child.name" {
		t.Fatalf("receipt lists fields %q, want child.name", fields)
	}
	gp.waitCalled(t)

	wider := *svc
	wider.Fields = []string{"child", "parents.name", "parents.nationalInsuranceNumber"}
	if err := h.Directory.UpdateService(ctx, &wider); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, h, out.Event.ID, 10*time.Second)

	events := gp.received()
	if len(events) != 1 {
		t.Fatalf("received %d events, want 1", len(events))
	}
	if want := `{"child":{"name":{"family":"O’Neill-Byrne","given":"Zoë Ann"}}}`; string(events[0].Data) != want {
		t.Errorf("the retry after the change sent %s\nwant only the consented field: %s", events[0].Data, want)
	}

	// A birth registered after the change is sent the wider fields.
	next := registerBirth(t, h, nthBirthJSON(t, 1, "2026-11-20", "gp"))
	waitComplete(t, h, next.Event.ID, 10*time.Second)
	if events := gp.received(); len(events) != 2 || !strings.Contains(string(events[1].Data), "nationalInsuranceNumber") {
		t.Errorf("a birth registered after the change was not sent the new fields: %d events", len(events))
	}
}

// TestServiceTextChecked registers services whose name or purpose is too
// long or holds an emoji or an invisible character: each gets 422 naming
// the field, and none is stored.
func TestServiceTextChecked(t *testing.T) {
	h := startHub(t, nil)
	if err := h.DB.UpsertOrganisation(context.Background(), joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, field, value, want string
	}{
		{"long name", "name", strings.Repeat("a", 101), "/name"},
		{"emoji in name", "name", "Bin collections 🗑", "/name"},
		{"zero-width space in name", "name", "Bin\u200bcollections", "/name"},
		{"long purpose", "purpose", strings.Repeat("To plan school places. ", 30), "/purpose"},
		{"control character in purpose", "purpose", "To plan\u0007 school places", "/purpose"},
		{"secret not base64", "secret", "whsec_not base64!", "/secret"},
		{"secret too short", "secret", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 10)), "/secret"},
		{"secret too long", "secret", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 100)), "/secret"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var registration map[string]any
			if err := json.Unmarshal(serviceJSON(t, joinedup.ServiceID(fmt.Sprintf("text-%d", i)), "http://127.0.0.1:9/events"), &registration); err != nil {
				t.Fatal(err)
			}
			registration[tt.field] = tt.value
			body, err := json.Marshal(registration)
			if err != nil {
				t.Fatal(err)
			}
			status, resp := sendAPI(t, http.DefaultClient, true, http.MethodPost, h.BaseURL+"/api/v1/services", body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422; body %s", status, resp)
			}
			if fields := problemFields(t, resp); !slices.Contains(fields, tt.want) {
				t.Errorf("fields = %q, want %s", fields, tt.want)
			}
			// A secret of the wrong length is base64, so its message gives
			// the sizes allowed.
			if strings.HasPrefix(tt.name, "secret too") && !strings.Contains(string(resp), "must be 24 to 64 bytes") {
				t.Errorf("problem does not give the sizes a secret may be: %s", resp)
			}
		})
	}
	if got := listServiceIDs(t, h); len(got) != 0 {
		t.Errorf("services = %v, want none", got)
	}
}

// TestServicesFileErrorsSayWhere loads services files with faults and
// checks that each message gives the line and column of the fault.
func TestServicesFileErrorsSayWhere(t *testing.T) {
	h := startHub(t, nil)
	tests := []struct {
		name, content, want string
	}{
		{"cut short", `{"services": [`, "the file ends before its JSON is complete"},
		{"syntax", "{\n  \"services\": [,]\n}", "at line 2, column 16: invalid JSON"},
		{"unknown field", "{\n  \"extra\": 1\n}", `at line 2, column 3: unknown field "extra"`},
		{"wrong type", "{\n  \"services\": 7\n}", "at line 2, column 15: services must be a list, not a number"},
		{"two values", `{"services": []} {"services": []}`, "at line 1, column 18: the file goes on after its JSON object"},
		{"list", `[]`, "the file must be an object, not a list"},
		{"null", " null\n", "at line 1, column 2: the file must be an object, not null"},
		{"list in a list", `{"services": [[]]}`, "each entry of services must be an object, not a list"},
		{"number in fields", `{"services": [{"fields": [7]}]}`, "each entry of services.fields must be text, not a number"},
		{"text for a field", `{"services": [{"name": 7}]}`, "services.name must be text, not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "services.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := loadServices(context.Background(), path, h.DB, h.Directory)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestServicesFileBounded loads a services file larger than the limit,
// and one whose service repeats a field thousands of times. Each must
// fail with an error of a length that a person can read.
func TestServicesFileBounded(t *testing.T) {
	h := startHub(t, nil)
	big := `{"services": [], "organisations": [], "x": "` + strings.Repeat("a", maxServicesFile) + `"}`
	fields := make([]string, 5000)
	for i := range fields {
		fields[i] = "child.name"
	}
	repeated := `{"organisations": [{"id": "test-council", "name": "Test Council"}], "services": [` +
		string(namedServiceJSON(t, "repeats", "Repeats", fields)) + `]}`
	for name, tt := range map[string]struct{ content, want string }{
		"too large":      {big, "is larger than 4 MiB"},
		"repeated field": {repeated, "and 4989 more"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "services.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := loadServices(context.Background(), path, h.DB, h.Directory)
			if err == nil || !strings.Contains(err.Error(), tt.want) || len(err.Error()) > 2000 {
				t.Errorf("error = %.3000v, want one of at most 2000 bytes containing %q", err, tt.want)
			}
		})
	}
	if got := listServiceIDs(t, h); len(got) != 0 {
		t.Errorf("services after the failed loads = %v, want none", got)
	}
}

// namedServiceJSON returns serviceJSON's registration with the name
// replaced, and fields replaced unless fields is nil.
func namedServiceJSON(t *testing.T, id joinedup.ServiceID, name string, fields []string) []byte {
	t.Helper()
	var registration map[string]any
	if err := json.Unmarshal(serviceJSON(t, id, "http://127.0.0.1:9/"+string(id)), &registration); err != nil {
		t.Fatal(err)
	}
	registration["name"] = name
	if fields != nil {
		registration["fields"] = fields
	}
	b, err := json.Marshal(registration)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestServiceNameUnique registers and changes services through the API
// with names that match another service's once trimmed, in NFC and
// compared without regard to case. Each must get 409 naming the service
// that has the name, and change nothing. A removed service's name is free
// again.
func TestServiceNameUnique(t *testing.T) {
	eachMode(t, func(t *testing.T, mode func(*Config)) {
		h := startHub(t, mode)
		if err := h.DB.UpsertOrganisation(context.Background(), joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
			t.Fatal(err)
		}
		services := h.BaseURL + "/api/v1/services"
		for _, s := range []struct {
			id   joinedup.ServiceID
			name string
		}{{"benefit", "Child Benefit"}, {"cafe", "Caf\u00e9 vouchers"}, {"library", "Library card"}} {
			if status, body := sendAPI(t, http.DefaultClient, true, http.MethodPost, services, namedServiceJSON(t, s.id, s.name, nil)); status != http.StatusCreated {
				t.Fatalf("register %s: status %d, want 201; body %s", s.id, status, body)
			}
		}

		rejected := []struct {
			name, method, target string
			body                 []byte
			existing             string // the id the message must name
		}{
			{"same name", http.MethodPost, services, namedServiceJSON(t, "benefit-2", "Child Benefit", nil), "benefit"},
			{"other case and spaces", http.MethodPost, services, namedServiceJSON(t, "benefit-3", "  CHILD benefit ", nil), "benefit"},
			{"decomposed accent", http.MethodPost, services, namedServiceJSON(t, "cafe-2", "Cafe\u0301 Vouchers", nil), "cafe"},
			{"change to another's name", http.MethodPut, services + "/library", namedServiceJSON(t, "library", "child benefit", nil), "benefit"},
		}
		for _, tt := range rejected {
			t.Run(tt.name, func(t *testing.T) {
				status, body := sendAPI(t, http.DefaultClient, true, tt.method, tt.target, tt.body)
				if status != http.StatusConflict {
					t.Fatalf("status %d, want 409; body %s", status, body)
				}
				p := decodeProblem(t, body)
				if !strings.Contains(p.Detail, `"`+tt.existing+`"`) {
					t.Errorf("detail %q, want it to name the service %q", p.Detail, tt.existing)
				}
				if fields := problemFields(t, body); !slices.Equal(fields, []string{"/name"}) {
					t.Errorf("fields = %q, want [/name]", fields)
				}
			})
		}
		if got := listServiceIDs(t, h); !slices.Equal(got, []joinedup.ServiceID{"benefit", "cafe", "library"}) {
			t.Errorf("services = %v, want only the three registered first", got)
		}
		library, err := h.Directory.FindService(context.Background(), "library")
		if err != nil {
			t.Fatal(err)
		}
		if library.Name != "Library card" {
			t.Errorf("library's name = %q after the rejected change, want Library card", library.Name)
		}

		// A service changed without a new name keeps its own.
		if status, body := sendAPI(t, http.DefaultClient, true, http.MethodPut, services+"/benefit", namedServiceJSON(t, "benefit", "Child Benefit", []string{"child.name", "child.dateOfBirth"})); status != http.StatusOK {
			t.Errorf("change benefit's fields: status %d, want 200; body %s", status, body)
		}

		if status, body := sendAPI(t, http.DefaultClient, true, http.MethodDelete, services+"/benefit", nil); status != http.StatusOK {
			t.Fatalf("remove benefit: status %d, want 200; body %s", status, body)
		}
		if status, body := sendAPI(t, http.DefaultClient, true, http.MethodPost, services, namedServiceJSON(t, "benefit-new", "Child Benefit", nil)); status != http.StatusCreated {
			t.Errorf("register the removed service's name again: status %d, want 201; body %s", status, body)
		}
	})
}

// TestServicesFileNameUnique loads a services file whose second service
// has the name of a service stored before. The load must fail naming the
// service that has the name, and must store neither service of the file.
func TestServicesFileNameUnique(t *testing.T) {
	h := startHub(t, nil)
	first := &joinedup.Service{
		ID: "benefit", Organisation: "test-council", Name: "Child Benefit", Purpose: "testing",
		EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"},
		Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/benefit"},
		Secret:   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
	second := *first
	second.ID, second.Name, second.Endpoint.URL = "benefit-2", "child benefit", "http://127.0.0.1:9/benefit-2"
	if err := loadServices(context.Background(), servicesFileFor(t, first), h.DB, h.Directory); err != nil {
		t.Fatalf("load the first service: %v", err)
	}

	other := *first
	other.ID, other.Name, other.Endpoint.URL = "gamma", "Gamma", "http://127.0.0.1:9/gamma"

	err := loadServices(context.Background(), servicesFileFor(t, &other, &second), h.DB, h.Directory)
	if err == nil || !strings.Contains(err.Error(), `The service "benefit" already has the name "Child Benefit"`) {
		t.Fatalf("load services: error %v, want one naming the service benefit", err)
	}
	if !strings.Contains(err.Error(), `service "benefit-2"`) {
		t.Errorf("error %q does not name the service in the file that was rejected", err)
	}
	if _, err := h.Directory.FindService(context.Background(), "benefit-2"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
		t.Errorf("find benefit-2 after the rejected file: error %v, want not found", err)
	}
	// The file is stored whole or not at all, so the valid service before
	// the rejected one is not stored either.
	if _, err := h.Directory.FindService(context.Background(), "gamma"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
		t.Errorf("find gamma after the rejected file: error %v, want not found", err)
	}
}

// TestServicesFileSwapsNames loads a services file that renames a stored
// service and gives its old name to another, in both orders. The names
// are compared once the whole file is stored, so either order is taken.
func TestServicesFileSwapsNames(t *testing.T) {
	for _, renamedFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("renamed service first %t", renamedFirst), func(t *testing.T) {
			ctx := context.Background()
			h := startHub(t, nil)
			old := &joinedup.Service{
				ID: "benefit", Organisation: "test-council", Name: "Child Benefit", Purpose: "testing",
				EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"},
				Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/benefit"},
				Secret:   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			}
			if err := loadServices(ctx, servicesFileFor(t, old), h.DB, h.Directory); err != nil {
				t.Fatalf("load the first file: %v", err)
			}
			renamed := *old
			renamed.Name = "Child Benefit (closed)"
			taker := *old
			taker.ID, taker.Endpoint.URL = "benefit-new", "http://127.0.0.1:9/benefit-new"
			services := []*joinedup.Service{&renamed, &taker}
			if !renamedFirst {
				services = []*joinedup.Service{&taker, &renamed}
			}

			if err := loadServices(ctx, servicesFileFor(t, services...), h.DB, h.Directory); err != nil {
				t.Fatalf("load the file that swaps the names: %v", err)
			}
			for id, want := range map[joinedup.ServiceID]string{"benefit": "Child Benefit (closed)", "benefit-new": "Child Benefit"} {
				if s, err := h.Directory.FindService(ctx, id); err != nil || s.Name != want {
					t.Errorf("service %s: %+v, error %v; want the name %q", id, s, err, want)
				}
			}
		})
	}
}

// TestServiceNeedsFields registers and changes services through the API
// and the services file with no fields. Each must be rejected naming
// /fields, because such a service would receive births with no data. A
// service that takes only notices, whose data is fixed, needs none.
func TestServiceNeedsFields(t *testing.T) {
	h := startHub(t, nil)
	if err := h.DB.UpsertOrganisation(context.Background(), joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	services := h.BaseURL + "/api/v1/services"
	if status, body := sendAPI(t, http.DefaultClient, true, http.MethodPost, services, namedServiceJSON(t, "gp", "GP", nil)); status != http.StatusCreated {
		t.Fatalf("register gp: status %d, want 201; body %s", status, body)
	}

	for _, tt := range []struct{ name, method, target string }{
		{"register", http.MethodPost, services},
		{"change", http.MethodPut, services + "/gp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := sendAPI(t, http.DefaultClient, true, tt.method, tt.target, namedServiceJSON(t, "gp", "GP", []string{}))
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", status, body)
			}
			if fields := problemFields(t, body); !slices.Equal(fields, []string{"/fields"}) {
				t.Errorf("fields = %q, want [/fields]", fields)
			}
		})
	}
	gp, err := h.Directory.FindService(context.Background(), "gp")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gp.Fields, []string{"child.name"}) {
		t.Errorf("gp's fields = %q after the rejected change, want [child.name]", gp.Fields)
	}

	t.Run("services file", func(t *testing.T) {
		svc := &joinedup.Service{
			ID: "no-fields", Organisation: "test-council", Name: "No fields", Purpose: "testing",
			EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{},
			Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/no-fields"},
			Secret:   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		}
		err := loadServices(context.Background(), servicesFileFor(t, svc), h.DB, h.Directory)
		if err == nil || !strings.Contains(err.Error(), "/services/0/fields") {
			t.Fatalf("load services: error %v, want one naming /services/0/fields", err)
		}
	})

	var notices map[string]any
	if err := json.Unmarshal(namedServiceJSON(t, "reminders", "Reminders", []string{}), &notices); err != nil {
		t.Fatal(err)
	}
	notices["eventTypes"] = []string{joinedup.EventActionDue}
	body, err := json.Marshal(notices)
	if err != nil {
		t.Fatal(err)
	}
	if status, resp := sendAPI(t, http.DefaultClient, true, http.MethodPost, services, body); status != http.StatusCreated {
		t.Errorf("register a service that takes only action.due: status %d, want 201; body %s", status, resp)
	}
}

// TestServiceTextErrorNamesCharacters registers services whose name or
// purpose holds a right-to-left override (U+202E), which is neither a
// control character nor a symbol, and checks that the message names the
// kind of character that was rejected.
func TestServiceTextErrorNamesCharacters(t *testing.T) {
	h := startHub(t, nil)
	if err := h.DB.UpsertOrganisation(context.Background(), joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	for i, field := range []string{"name", "purpose"} {
		var registration map[string]any
		if err := json.Unmarshal(serviceJSON(t, joinedup.ServiceID(fmt.Sprintf("direction-%d", i)), "http://127.0.0.1:9/events"), &registration); err != nil {
			t.Fatal(err)
		}
		registration[field] = "Bin \u202ecollections"
		body, err := json.Marshal(registration)
		if err != nil {
			t.Fatal(err)
		}

		status, resp := sendAPI(t, http.DefaultClient, true, http.MethodPost, h.BaseURL+"/api/v1/services", body)

		if status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status = %d, want 422; body %s", field, status, resp)
		}
		var p joinedup.Problem
		if err := json.Unmarshal(resp, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Errors) != 1 || p.Errors[0].Field != "/"+field || !strings.Contains(p.Errors[0].Message, "invisible or text-direction characters") {
			t.Errorf("%s: errors = %+v, want one on /%s that names text-direction characters", field, p.Errors, field)
		}
	}
}

// TestServiceNameMixingAlphabets registers a service whose name has a
// Cyrillic letter among Latin ones, which would read as another service's
// name on the birth form, and checks that the hub refuses it and stores
// nothing.
func TestServiceNameMixingAlphabets(t *testing.T) {
	h := startHub(t, nil)
	if err := h.DB.UpsertOrganisation(context.Background(), joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	status, resp := sendAPI(t, http.DefaultClient, true, http.MethodPost, h.BaseURL+"/api/v1/services",
		namedServiceJSON(t, "lookalike", "Child B\u0435nefit", nil))
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d, want 422; body %s", status, resp)
	}
	var p joinedup.Problem
	if err := json.Unmarshal(resp, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Errors) != 1 || p.Errors[0].Field != "/name" || !strings.Contains(p.Errors[0].Message, "in one alphabet") {
		t.Errorf("errors = %+v, want one on /name that asks for one alphabet", p.Errors)
	}
	if _, err := h.Directory.FindService(context.Background(), "lookalike"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
		t.Errorf("find the refused service: error %v, want not found", err)
	}
}

// TestServicesFileRejectsRepeats reads services files that list one
// organisation or service twice, or two services whose names read the
// same, and checks that each is rejected, naming both places, before
// anything is stored.
func TestServicesFileRejectsRepeats(t *testing.T) {
	service := func(id joinedup.ServiceID, name string) json.RawMessage {
		var registration map[string]any
		if err := json.Unmarshal(namedServiceJSON(t, id, name, nil), &registration); err != nil {
			t.Fatal(err)
		}
		registration["secret"] = webhook.NewSecret()
		b, err := json.Marshal(registration)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	org := joinedup.Organisation{ID: "test-council", Name: "Test Council"}
	tests := []struct {
		name          string
		organisations []joinedup.Organisation
		services      []json.RawMessage
		want          string
	}{
		{"organisation twice", []joinedup.Organisation{org, {ID: "test-council", Name: "Test Council 2"}}, nil,
			`/organisations/1: the id "test-council" is also at /organisations/0`},
		{"service id twice", []joinedup.Organisation{org}, []json.RawMessage{service("a1", "First"), service("a1", "Second")},
			`/services/1: the id "a1" is also at /services/0`},
		{"names that read the same", []joinedup.Organisation{org}, []json.RawMessage{service("a1", "Same"), service("a2", " same ")},
			`/services/1/name: " same " reads the same as the name at /services/0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := json.Marshal(map[string]any{"organisations": tt.organisations, "services": tt.services})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "services.json")
			if err := os.WriteFile(path, body, 0o600); err != nil {
				t.Fatal(err)
			}

			_, err = readServicesFile(path)

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestServiceRejectsRepeatedEntries registers services that list a field
// or an event type twice. Each must get 422 naming the second entry.
func TestServiceRejectsRepeatedEntries(t *testing.T) {
	h := startHub(t, nil)
	if err := h.DB.UpsertOrganisation(context.Background(), joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key string
		value     []string
		field     string
	}{
		{"field twice", "fields", []string{"child.name", "child.name"}, "/fields/1"},
		{"event type twice", "eventTypes", []string{joinedup.EventBirthRegistered, joinedup.EventBirthRegistered}, "/eventTypes/1"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var registration map[string]any
			if err := json.Unmarshal(namedServiceJSON(t, joinedup.ServiceID(fmt.Sprintf("repeats-%d", i)), fmt.Sprintf("Repeats %d", i), nil), &registration); err != nil {
				t.Fatal(err)
			}
			registration[tt.key] = tt.value
			body, err := json.Marshal(registration)
			if err != nil {
				t.Fatal(err)
			}

			status, resp := sendAPI(t, http.DefaultClient, true, http.MethodPost, h.BaseURL+"/api/v1/services", body)

			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", status, resp)
			}
			var p joinedup.Problem
			if err := json.Unmarshal(resp, &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Errors) != 1 || p.Errors[0].Field != tt.field || !strings.Contains(p.Errors[0].Message, "more than once") {
				t.Errorf("errors = %+v, want one on %s saying the entry is repeated", p.Errors, tt.field)
			}
		})
	}
}

// TestServicesFileFollowsAPIRules reads services files that the API would
// reject as request bodies: a repeated name, a byte order mark, bytes
// that are not UTF-8, and organisation names with characters that hide or
// reorder text. Each must be rejected with the place of the fault.
func TestServicesFileFollowsAPIRules(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"repeated name", `{"organisations": [], "organisations": []}`,
			`/organisations at line 1, column 23: the name "organisations" appears more than once in this object`},
		{"repeated name in an organisation", "{\"organisations\": [\n  {\"id\": \"a\", \"name\": \"A\", \"id\": \"b\"}\n]}",
			`/organisations/0/id at line 2, column 28: the name "id" appears more than once`},
		{"repeated name in other letter cases", `{"organisations": [], "Organisations": []}`,
			`/Organisations at line 1, column 23: the name "Organisations" gives "organisations" again in other letter cases; give it once, as "organisations"`},
		{"byte order mark", "\uFEFF{\"organisations\": []}",
			"at line 1, column 1: the file starts with a byte order mark (U+FEFF), which JSON does not allow"},
		{"byte order mark after spaces", "\n  \uFEFF{}",
			"at line 2, column 3: the file starts with a byte order mark"},
		{"not UTF-8", "{\"organisations\": [{\"id\": \"a\", \"name\": \"\xff\"}]}",
			"at line 1, column 41: the file is not valid UTF-8"},
		{"right-to-left override in a name", `{"organisations": [{"id": "a", "name": "O\u202eX"}]}`,
			`organisation "a" has errors: /organisations/0/name: The organisation’s name must not contain control, invisible or text-direction characters`},
		{"zero-width space in a name", `{"organisations": [{"id": "a", "name": "Council\u200b"}]}`,
			`/organisations/0/name: The organisation’s name must not contain control, invisible`},
		{"control character in a name", `{"organisations": [{"id": "a", "name": "Council\u0007"}]}`,
			`/organisations/0/name: The organisation’s name must not contain control`},
		{"Cyrillic letter among Latin ones in a name", `{"organisations": [{"id": "a", "name": "Riverside \u0421ouncil"}]}`,
			`/organisations/0/name: Each word of the organisation’s name must be in one alphabet`},
		{"two organisations with one name", `{"organisations": [{"id": "a", "name": "Riverside Council"}, {"id": "b", "name": "RIVERSIDE  council"}]}`,
			`/organisations/1/name: "RIVERSIDE  council" reads the same as the name at /organisations/0`},
		{"name of spaces", `{"organisations": [{"id": "a", "name": "   "}]}`,
			`/organisations/0/name: Enter the organisation’s name`},
		{"no id", `{"organisations": [{"name": "Council"}]}`,
			`/organisations/0/id: Enter the organisation’s id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "services.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}

			_, err := readServicesFile(path)

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "services file "+path+": ") {
				t.Errorf("error = %v, want it to name the file", err)
			}
		})
	}
}

// TestDemoServicesFileExtendsCouncil starts a demo hub with a services
// file that adds a service to the demo's council without listing the
// council. The file may rely on the demo's organisations, but still stops
// the start for an organisation that neither has, storing nothing, and a
// hub without the demo still needs the file to list the council. The demo
// keeps its names for its organisations.
func TestDemoServicesFileExtendsCouncil(t *testing.T) {
	ctx := context.Background()
	service := func(org joinedup.OrgID) *joinedup.Service {
		return &joinedup.Service{
			ID: "housing-register", Organisation: org, Name: "Housing register", Purpose: "To update the household on the housing register.",
			EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"},
			Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/housing-register"},
			Secret:   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		}
	}
	openHub := func(t *testing.T, demo bool, svc *joinedup.Service) (data string, err error) {
		cfg := DefaultConfig()
		cfg.Addr, cfg.Data, cfg.Demo = "127.0.0.1:0", t.TempDir(), demo
		cfg.ServicesFile = writeServicesFile(t, servicesFile{Services: []*joinedup.Service{svc}})
		h, err := OpenHub(ctx, cfg, testLogger(t))
		if err == nil {
			t.Cleanup(func() { h.Close() })
		}
		return cfg.Data, err
	}

	t.Run("demo council", func(t *testing.T) {
		// The file renames another of the demo's organisations, and the
		// demo keeps its own name for it.
		renamed := joinedup.Organisation{ID: "hmrc", Name: "Revenue Office"}
		h := startHub(t, func(c *Config) {
			c.Demo = true
			c.ServicesFile = writeServicesFile(t, servicesFile{
				Organisations: []joinedup.Organisation{renamed},
				Services:      []*joinedup.Service{service(demoOrganisation)},
			})
		})
		stored, err := h.Directory.FindService(ctx, "housing-register")
		if err != nil {
			t.Fatalf("find the file's service: %v", err)
		}
		if stored.Organisation != demoOrganisation {
			t.Errorf("organisation = %q, want %q", stored.Organisation, demoOrganisation)
		}
		council, err := h.DB.FindOrganisation(ctx, demoOrganisation)
		if err != nil {
			t.Fatalf("find the demo council: %v", err)
		}
		if council.Name != "Riverside Borough Council" {
			t.Errorf("council name = %q, want the demo's", council.Name)
		}
		hmrc, err := h.DB.FindOrganisation(ctx, renamed.ID)
		if err != nil {
			t.Fatalf("find the demo's hmrc: %v", err)
		}
		if hmrc.Name != "HM Revenue and Customs" {
			t.Errorf("hmrc name = %q, want the demo's, not the file's %q", hmrc.Name, renamed.Name)
		}
	})

	t.Run("demo with unknown organisation", func(t *testing.T) {
		data, err := openHub(t, true, service("nowhere"))
		want := `/services/0/organisation: the hub has no organisation "nowhere": add it to the file's organisations`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("open hub: error %v, want one containing %q", err, want)
		}
		db, err := sqlite.Open(ctx, filepath.Join(data, "joinedup.db"))
		if err != nil {
			t.Fatalf("open the store: %v", err)
		}
		defer db.Close()
		orgs, err := db.ListOrganisations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(orgs) != 0 {
			t.Errorf("organisations stored = %v, want none after the rejected file", orgs)
		}
	})

	t.Run("council without demo", func(t *testing.T) {
		_, err := openHub(t, false, service(demoOrganisation))
		want := `/services/0/organisation: the hub has no organisation "council": add it to the file's organisations`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("open hub: error %v, want one containing %q", err, want)
		}
	})
}
