package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/joinedup/joinedup/natsbus"
	"github.com/joinedup/joinedup/store"
)

// claimEventBus records in the store which event bus carries its
// deliveries, with the creation time of the bus's stream, and rejects a
// node whose bus differs, or whose stream is missing or was created at
// another time. A node with a JetStream inside its process on a shared
// PostgreSQL store would otherwise take births that other nodes accepted
// into a stream that only it can read. A node on another server with a
// stream of the same name, or on a stream deleted and created again,
// would take them into a stream that the other nodes do not read. It
// would also never send the deliveries waiting in the recorded one. With
// -move-event-bus the node's bus and stream take over, and the store
// queues the waiting deliveries again for the new stream.
//
// NOTE: a store whose bus an earlier version recorded without a creation
// time, or whose claim a node left before creating the stream, takes the
// time of the stream that the next node to start finds. If that node is
// on another server that has a stream of the same name, the store
// records that stream.
func (h *Hub) claimEventBus(ctx context.Context, cfg Config, logger *slog.Logger) (store.EventBusRecord, error) {
	bus := h.eventBus(cfg)
	rec, err := h.DB.ClaimEventBus(ctx, store.EventBusClaim{Bus: bus, StreamCreated: h.streamCreated, Move: cfg.MoveEventBus})
	switch {
	case err != nil:
		return rec, fmt.Errorf("open event bus: %w", err)
	case !rec.Claimed && rec.Bus != bus:
		same := "Start this node with the -nats-url and -stream of the nodes that share the store"
		if cfg.DatabaseURL == "" {
			// Only one hub uses an SQLite store.
			same = "Start the hub with the -nats-url and -stream that it used before"
		}
		return rec, fmt.Errorf("open event bus: the store's deliveries go through the %s, and this node would use the %s. %s in the recorded bus. %s, or, to move the store to this bus, %s, which queues the waiting deliveries again in this node's stream",
			rec.Bus, bus, waitingSentence(rec.Waiting), same, moveAdvice(cfg))
	case !rec.Claimed:
		return rec, h.otherStreamError(cfg, rec)
	}
	if cfg.DatabaseURL != "" && h.Bus.Embedded() {
		// Other nodes on the store cannot reach this JetStream, so if this
		// node stops, the deliveries it holds wait until it starts again.
		logger.Warn("the store is PostgreSQL but -nats-url is not set, so this node delivers from the JetStream inside its process, and no other node may share the store. A cluster needs -nats-url on every node")
	}
	return rec, nil
}

// logMove logs the move of the store's deliveries to this node's event
// bus, which rec describes. It runs once the node has opened the bus's
// stream, whose creation time it logs.
func (h *Hub) logMove(cfg Config, rec store.EventBusRecord) {
	h.logger.Info("the store's deliveries now go through this node's event bus",
		"bus", h.eventBus(cfg), "stream_created", formatCreated(h.Bus.StreamCreated()),
		"before", rec.Bus, "stream_created_before", formatCreated(rec.StreamCreated),
		"waiting", rec.Waiting, "queued_again", rec.Requeued)
}

// moveAdvice returns how to move the store with -move-event-bus: once,
// on one node, with every other node of the store stopped.
func moveAdvice(cfg Config) string {
	if cfg.DatabaseURL == "" && cfg.NATSURL == "" {
		return "start the hub once with " + cfg.setting("move-event-bus")
	}
	return "stop every node and start this one once with " + cfg.setting("move-event-bus")
}

// eventBus describes the node's event bus as the store records it. A bus
// on an external server is recorded by its stream's name alone, because
// the nodes of one NATS cluster reach it at different URLs. The store
// also records the stream's creation time, which distinguishes it from a
// stream of the same name on another server.
func (h *Hub) eventBus(cfg Config) string {
	if !h.Bus.Embedded() {
		return fmt.Sprintf("stream %s on the NATS server at -nats-url", h.Bus.Name())
	}
	if cfg.DatabaseURL == "" {
		return fmt.Sprintf("stream %s inside the hub's process", h.Bus.Name())
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("stream %s inside the process of the node on host %s with data directory %s", h.Bus.Name(), host, absDir(cfg.Data))
}

// absDir returns dir as an absolute path, or as it is when it has none.
func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// otherStreamError returns the error of a start on the event bus that the
// store records, rec.Bus, whose stream is missing or was created at
// another time than rec.StreamCreated. That stream does not contain the
// messages of the store's waiting deliveries.
func (h *Hub) otherStreamError(cfg Config, rec store.EventBusRecord) error {
	name := h.Bus.Name()
	server, on := "the NATS server at "+cfg.setting("nats-url"), "on"
	restore := fmt.Sprintf("Start this node with the %s of the nodes that share the store", cfg.setting("nats-url"))
	if h.Bus.Embedded() {
		dir := filepath.Join(absDir(cfg.Data), "jetstream")
		server, on = "the JetStream in "+dir, "in"
		restore = fmt.Sprintf("Restore %s from the backup that holds that stream", dir)
	}

	recorded, where := "stream "+name, "that stream"
	if !rec.StreamCreated.IsZero() {
		recorded = fmt.Sprintf("stream %s created at %s", name, formatCreated(rec.StreamCreated))
		where = "the stream created at " + formatCreated(rec.StreamCreated)
	}
	found := fmt.Sprintf("%s has no stream %s", server, name)
	target := "a new stream " + name + " there"
	if !h.streamCreated.IsZero() {
		found = fmt.Sprintf("stream %s %s %s was created at %s, so it is another stream of the same name", name, on, server, formatCreated(h.streamCreated))
		target = "the stream created at " + formatCreated(h.streamCreated)
	}
	return fmt.Errorf("open event bus: the store's deliveries go through %s, but %s. %s in %s. %s, or, to move the store to %s on purpose, %s, which queues the waiting deliveries again in it",
		recorded, found, waitingSentence(rec.Waiting), where, restore, target, moveAdvice(cfg))
}

// waitingSentence returns a sentence on how many deliveries wait to be
// sent, without its place and full stop.
func waitingSentence(n int) string {
	switch n {
	case 0:
		return "No delivery waits to be sent"
	case 1:
		return "1 delivery waits to be sent"
	}
	return fmt.Sprintf("%d deliveries wait to be sent", n)
}

// formatCreated returns a stream's creation time as the store records
// it, or "none" for the zero time.
func formatCreated(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return store.FormatStreamCreated(t)
}

// openStream creates the bus's stream, or brings its settings into line,
// for the store, and records the stream's creation time in the store if
// the claim could not, because the stream did not exist yet.
func (h *Hub) openStream(ctx context.Context, cfg Config) error {
	storeID, err := h.DB.StoreID(ctx)
	if err != nil {
		return fmt.Errorf("read the store's identity: %w", err)
	}
	if err := streamError(cfg, h.Bus.OpenStream(ctx, storeID)); err != nil {
		return err
	}
	created := h.Bus.StreamCreated()
	recorded, err := h.DB.RecordStreamCreated(ctx, h.eventBus(cfg), created)
	if err != nil {
		return fmt.Errorf("open event bus: %w", err)
	}
	if formatCreated(recorded) != formatCreated(created) {
		return fmt.Errorf("open event bus: stream %s was deleted and created again while this node started: the store records the stream created at %s, and this node opened the one created at %s. Start the node again to see what to do",
			h.Bus.Name(), formatCreated(recorded), formatCreated(created))
	}
	return nil
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
	case errors.Is(err, natsbus.ErrOtherStore) && cfg.NATSURL == "":
		// The JetStream inside the hub keeps its files in the data
		// directory, so they came from another one.
		dir := filepath.Join(absDir(cfg.Data), "jetstream")
		return fmt.Errorf("open event bus: %w: %s contains another hub's stream. Put back the one from this data directory's backup, or move it away and start the hub once with %s, which queues the waiting deliveries again in a new stream",
			err, dir, cfg.setting("move-event-bus"))
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

// eventBusCheck is how often a node of a cluster checks that the store
// still records its event bus.
const eventBusCheck = 5 * time.Second

// watchEventBus checks every eventBusCheck, until the hub closes, that the
// store still records the node's event bus and stream. Once another node
// has moved the store with -move-event-bus, this node stops with an
// error: the deliveries it accepts would otherwise go into a stream that
// no node reads once it stops. Its relay publishes nothing meanwhile.
func (h *Hub) watchEventBus(cfg Config) {
	bus, created := h.eventBus(cfg), h.Bus.StreamCreated()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	h.closers = append(h.closers, func() error { cancel(); <-done; return nil })
	go func() {
		defer close(done)
		tick := time.NewTicker(eventBusCheck)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			recorded, at, err := h.DB.EventBus(ctx)
			if err != nil {
				// The store being out of reach shows in every request and in
				// /readyz; the check tries again at the next tick.
				continue
			}
			if err := store.MovedError(bus, created, recorded, at); err != nil {
				err = fmt.Errorf("%w. This node's bus is the %s, so it stops. Start it again with the -nats-url and -stream of the nodes that now share the store", err, bus)
				h.logger.Error("event bus moved", "error", err)
				h.fatal <- err
				return
			}
		}
	}()
}
