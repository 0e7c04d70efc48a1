package connector

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/webhook"
)

// HeaderService names the service that sends a callback to the hub.
const HeaderService = "joinedup-service"

// Client sends a service's signed outcome callbacks to the hub.
type Client struct {
	hub     string
	service joinedup.ServiceID
	signer  *webhook.Signer
	http    *http.Client
	now     func() time.Time
}

// NewClient returns a Client that reports outcomes for service to the hub
// at hubURL (such as "http://127.0.0.1:8080"), signed with the service's
// secret. A nil hc means http.DefaultClient.
func NewClient(hubURL string, service joinedup.ServiceID, secret string, hc *http.Client) (*Client, error) {
	if _, err := url.ParseRequestURI(hubURL); err != nil {
		return nil, fmt.Errorf("connector: invalid hub URL %q: %w", hubURL, err)
	}
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		return nil, fmt.Errorf("connector: %w", err)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{
		hub:     strings.TrimSuffix(hubURL, "/"),
		service: service,
		signer:  signer,
		http:    hc,
		now:     time.Now,
	}, nil
}

// ReportOutcome sends o as the outcome of the service's delivery id, for a
// delivery it responded to with "accepted". The hub returns 204. Any other
// response is returned as a *joinedup.Error with the code for its status,
// and EUNAVAILABLE means the caller may retry. Sending the same outcome
// twice is safe.
func (c *Client) ReportOutcome(ctx context.Context, id joinedup.DeliveryID, o joinedup.Outcome) error {
	body, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode outcome: %w", err)
	}
	endpoint := c.hub + "/api/v1/deliveries/" + url.PathEscape(string(id)) + "/outcome"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("report outcome: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderService, string(c.service))
	c.signer.SetHeaders(req.Header, "cb_"+rand.Text(), c.now(), body)

	resp, err := c.http.Do(req)
	if err != nil {
		return &joinedup.Error{Code: joinedup.EUNAVAILABLE, Message: "The hub could not be reached.", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("report outcome: %w", errorFromProblem(resp))
	}
	return nil
}

// registration is the body of POST /api/v1/services and of PUT
// /api/v1/services/{id}: the OpenAPI document's ServiceRegistration.
type registration struct {
	ID           joinedup.ServiceID `json:"id"`
	Organisation joinedup.OrgID     `json:"organisation"`
	Name         string             `json:"name"`
	EventTypes   []string           `json:"eventTypes"`
	Fields       []string           `json:"fields"`
	Purpose      string             `json:"purpose"`
	LawfulBasis  string             `json:"lawfulBasis,omitempty"`
	Endpoint     joinedup.Endpoint  `json:"endpoint"`
	Secret       string             `json:"secret,omitempty"`
}

// Register adds s to the hub's services, authorised by the bearer token,
// and returns the service as stored. When s.Secret is empty the hub
// generates one and returns it in this response only.
func Register(ctx context.Context, hc *http.Client, hubURL, token string, s joinedup.Service) (*joinedup.Service, error) {
	endpoint := strings.TrimSuffix(hubURL, "/") + "/api/v1/services"
	return sendRegistration(ctx, hc, http.MethodPost, endpoint, http.StatusCreated, token, s)
}

// Update replaces the registration of the hub's service s.ID with s, as
// when the service moved to another address or has a new secret, and
// returns the service as stored. When s.Secret is empty the hub keeps
// the secret it has.
func Update(ctx context.Context, hc *http.Client, hubURL, token string, s joinedup.Service) (*joinedup.Service, error) {
	endpoint := strings.TrimSuffix(hubURL, "/") + "/api/v1/services/" + url.PathEscape(string(s.ID))
	return sendRegistration(ctx, hc, http.MethodPut, endpoint, http.StatusOK, token, s)
}

// sendRegistration sends s's registration to endpoint with method and
// returns the service from a response with the status want.
func sendRegistration(ctx context.Context, hc *http.Client, method, endpoint string, want int, token string, s joinedup.Service) (*joinedup.Service, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	// The hub takes only the fields a registration sets, so the stored
	// service's own fields, such as createdAt, are left out.
	body, err := json.Marshal(registration{
		ID: s.ID, Organisation: s.Organisation, Name: s.Name, EventTypes: s.EventTypes,
		Fields: s.Fields, Purpose: s.Purpose, LawfulBasis: s.LawfulBasis, Endpoint: s.Endpoint, Secret: s.Secret,
	})
	if err != nil {
		return nil, fmt.Errorf("encode service: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("register service: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)

	resp, err := hc.Do(req)
	if err != nil {
		return nil, &joinedup.Error{Code: joinedup.EUNAVAILABLE, Message: "The hub could not be reached.", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return nil, fmt.Errorf("register service %s: %w", s.ID, errorFromProblem(resp))
	}

	var created joinedup.Service
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		return nil, fmt.Errorf("register service %s: decode response: %w", s.ID, err)
	}
	return &created, nil
}
