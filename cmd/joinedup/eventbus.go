package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/joinedup/joinedup/natsbus"
)

// claimEventBus records in the store which event bus carries its
// deliveries, and refuses a node whose bus differs. With -move-event-bus
// the node's bus takes over, but only when no delivery waits in the
// recorded bus, because only the nodes on that bus can send those. A node with a JetStream inside its
// process on a shared PostgreSQL store would otherwise take births that
// other nodes accepted into a stream that only it can read.
//
// NOTE: a bus on an external server is recorded by its stream's name
// alone, because the nodes of one NATS cluster reach it at different
// URLs. A node on another server with a stream of the same name passes
// as the same bus.
func (h *Hub) claimEventBus(ctx context.Context, cfg Config, logger *slog.Logger) error {
	bus := fmt.Sprintf("stream %s on the NATS server at -nats-url", h.Bus.Name())
	if h.Bus.Embedded() {
		bus = fmt.Sprintf("stream %s inside the hub's process", h.Bus.Name())
		if cfg.DatabaseURL != "" {
			host, _ := os.Hostname()
			dir, err := filepath.Abs(cfg.Data)
			if err != nil {
				dir = cfg.Data
			}
			bus = fmt.Sprintf("stream %s inside the process of the node on host %s with data directory %s", h.Bus.Name(), host, dir)
		}
	}
	recorded, waiting, err := h.DB.ClaimEventBus(ctx, bus, cfg.MoveEventBus)
	switch {
	case err != nil:
		return fmt.Errorf("open event bus: %w", err)
	case recorded == "" || recorded == bus:
	case waiting > 0:
		return fmt.Errorf("open event bus: the store's deliveries go through the %s, where %d wait to be sent, so this node cannot move them to the %s: let the nodes on that bus send them first",
			recorded, waiting, bus)
	case !cfg.MoveEventBus:
		return fmt.Errorf("open event bus: the store's deliveries go through the %s, and this node would use the %s: start it with the -nats-url and -stream of the nodes that share the store, or, to move the store to this bus, stop every node and start this one once with %s",
			recorded, bus, cfg.setting("move-event-bus"))
	default:
		logger.Info("the store's deliveries now go through this node's event bus", "bus", bus, "before", recorded)
	}
	if cfg.DatabaseURL != "" && h.Bus.Embedded() {
		// Other nodes on the store cannot reach this JetStream, so if this
		// node stops, the deliveries it holds wait until it starts again.
		logger.Warn("the store is PostgreSQL but -nats-url is not set, so this node delivers from the JetStream inside its process, and no other node may share the store. A cluster needs -nats-url on every node")
	}
	return nil
}

// openStream creates the bus's stream, or brings its settings into line,
// for the store.
func (h *Hub) openStream(ctx context.Context, cfg Config) error {
	storeID, err := h.DB.StoreID(ctx)
	if err != nil {
		return fmt.Errorf("read the store's identity: %w", err)
	}
	return streamError(cfg, h.Bus.OpenStream(ctx, storeID))
}

// streamError returns err, from checking or opening the bus's stream, with
// what to do next, or nil when err is nil.
func streamError(cfg Config, err error) error {
	var replicas *natsbus.ReplicasError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &replicas):
		return replicasError(cfg, replicas)
	case errors.Is(err, natsbus.ErrOtherStore):
		// Consuming the stream would find deliveries this store does not
		// have and discard their messages, so the other store's hubs
		// would never send them.
		return fmt.Errorf("open event bus: %w: start this node with the -database-url of the cluster that uses the stream, or give it its own -stream", err)
	}
	return fmt.Errorf("open event bus: %w", err)
}

// replicasError returns the error of a start on a stream whose replicas
// differ from cfg's. Every node must request the stream's replicas, and
// changing them is an operator's deliberate step.
func replicasError(cfg Config, e *natsbus.ReplicasError) error {
	setting := cfg.setting("nats-replicas")
	return fmt.Errorf("open event bus: %w: set %s to %d, as the stream has, or change the stream on purpose with the nats CLI (nats stream edit %s --replicas %d) and set %s to %d on every node",
		e, setting, e.Replicas, e.Stream, e.Requested, setting, e.Requested)
}
