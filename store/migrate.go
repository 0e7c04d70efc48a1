package store

import (
	"context"
	"fmt"
	"log/slog"
	"path"

	"github.com/pressly/goose/v3"
)

// An OpenOption sets how postgres.Open and sqlite.Open open a store.
type OpenOption func(*OpenOptions)

// OpenOptions are the settings that OpenOption values set.
type OpenOptions struct {
	// Logger receives one info record for each migration applied. Nil
	// discards them.
	Logger *slog.Logger
}

// WithLogger makes Open log each migration it applies to logger.
func WithLogger(logger *slog.Logger) OpenOption {
	return func(o *OpenOptions) { o.Logger = logger }
}

// Migrate applies the pending migrations of p. It first checks that no
// newer joinedup has migrated the database, because a node whose code
// predates the schema would fail on columns it does not fill. It checks
// again after applying, because another node may have migrated the
// database meanwhile.
func Migrate(ctx context.Context, p *goose.Provider, opts ...OpenOption) error {
	var o OpenOptions
	for _, opt := range opts {
		opt(&o)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	if err := checkSchemaVersion(ctx, p); err != nil {
		return err
	}
	results, err := p.Up(ctx)
	// Up returns the migrations it applied before one failed too.
	for _, r := range results {
		if r.Error == nil {
			logger.Info("applied migration", "version", r.Source.Version, "name", path.Base(r.Source.Path), "duration", r.Duration)
		}
	}
	if err != nil {
		return err
	}
	return checkSchemaVersion(ctx, p)
}

// checkSchemaVersion returns an error when the database records a
// migration with a higher version than any that p embeds.
func checkSchemaVersion(ctx context.Context, p *goose.Provider) error {
	applied, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	sources := p.ListSources()
	if len(sources) == 0 {
		return nil
	}
	known := sources[len(sources)-1].Version
	if applied > known {
		return fmt.Errorf("the database has schema version %d, but the latest migration of this joinedup is version %d: a newer joinedup has migrated the database, so upgrade this node to that joinedup or later", applied, known)
	}
	return nil
}
