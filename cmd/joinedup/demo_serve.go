package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/reference"
)

// demoOrganisations are the fictional organisations of the demo council.
var demoOrganisations = []joinedup.Organisation{
	{ID: "council", Name: "Riverside Borough Council"},
	{ID: "hmrc", Name: "HM Revenue and Customs"},
	{ID: "riverside-surgery", Name: "Riverside Surgery"},
	{ID: "riverside-primary", Name: "Riverside Primary School"},
}

// startDemo loads the demo council into the hub: its organisations and the
// reference services, which run inside this process and are served under
// /reference/ on the hub's own address. It returns their handler.
func startDemo(ctx context.Context, cfg Config, h *Hub) (http.Handler, error) {
	set, err := reference.New(reference.Config{
		DataDir: filepath.Join(cfg.Data, "reference"),
		HubURL:  h.BaseURL,
		Seed:    uint64(cfg.Seed),
		Logger:  h.logger.With("component", "reference"),
	})
	if err != nil {
		return nil, fmt.Errorf("start reference services: %w", err)
	}
	h.closers = append(h.closers, set.Close)

	for _, o := range demoOrganisations {
		if err := h.DB.UpsertOrganisation(ctx, o); err != nil {
			return nil, fmt.Errorf("register demo organisation %s: %w", o.ID, err)
		}
	}
	for _, s := range set.Services(h.BaseURL) {
		if err := h.Directory.PutService(ctx, &s); err != nil {
			return nil, fmt.Errorf("register reference service %s: %w", s.ID, err)
		}
	}
	return set.Handler(), nil
}
