package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/joinedup/joinedup"
)

// serviceWorkers are the workers that consume one service's messages in
// this process.
type serviceWorkers struct {
	consume jetstream.ConsumeContext
	// handling counts the service's messages being handled, so that
	// stopping the workers can wait for attempts in progress.
	handling sync.WaitGroup
}

// consumerLoop starts workers for services registered after Start and
// stops those of services retired since.
func (e *Engine) consumerLoop(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := e.syncConsumers(ctx); err != nil && ctx.Err() == nil {
				e.logger.Error("start or stop service workers", "error", err)
			}
		}
	}
}

// SyncConsumers starts workers for every service in use that has none
// yet, and stops the workers of every retired service. The web layer
// calls it after registering or retiring a service, so that the change
// takes effect at once in this process. Other processes of a cluster
// follow on their next tick, within 5 seconds.
func (e *Engine) SyncConsumers(ctx context.Context) error { return e.syncConsumers(ctx) }

func (e *Engine) syncConsumers(ctx context.Context) error {
	services, err := e.db.ListAllServices(ctx)
	if err != nil {
		return err
	}
	retired := map[joinedup.ServiceID]bool{}
	for _, s := range services {
		if s.Retired() {
			retired[s.ID] = true
		}
	}

	stopping, err := e.startAndUnlist(ctx, services, retired)
	for id, w := range stopping {
		e.stopWorkers(ctx, id, w)
	}
	if err != nil {
		return err
	}
	e.discardRetiredMessages(ctx, retired)
	return nil
}

// startAndUnlist starts workers for the services in use that have none,
// and removes the workers of retired services from e.started and returns
// them, for the caller to stop outside the lock.
func (e *Engine) startAndUnlist(ctx context.Context, services []*joinedup.Service, retired map[joinedup.ServiceID]bool) (map[joinedup.ServiceID]*serviceWorkers, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running {
		return nil, nil
	}
	stopping := map[joinedup.ServiceID]*serviceWorkers{}
	for id, w := range e.started {
		if retired[id] {
			stopping[id] = w
			delete(e.started, id)
		}
	}
	for _, s := range services {
		if _, ok := e.started[s.ID]; ok || retired[s.ID] {
			continue
		}
		w, err := e.startWorkers(ctx, s.ID)
		if err != nil {
			return stopping, err
		}
		e.started[s.ID] = w
	}
	return stopping, nil
}

// maxAckPending bounds the messages of one service that JetStream has
// handed out and not yet had acknowledged. A message whose deliveries
// wait for a retry stays unacknowledged until it is offered again, so
// the bound must leave room for the retries of a service that is down
// and for the new deliveries that arrive meanwhile. With a bound near the
// concurrency, retries waiting out their backoff would hold back every
// first attempt. Concurrency, not this bound, limits the deliveries sent
// at once.
const maxAckPending = 10000

func (e *Engine) startWorkers(ctx context.Context, service joinedup.ServiceID) (*serviceWorkers, error) {
	// A message not acknowledged within ackWait, because its node died,
	// is offered to another worker. An attempt lasts at most
	// AttemptTimeout, so a live worker always settles first.
	ackWait := e.cfg.AttemptTimeout + 5*time.Second
	c, err := e.bus.Consumer(ctx, string(service), ackWait, maxAckPending)
	if err != nil {
		return nil, err
	}
	w := &serviceWorkers{}
	// Concurrency bounds both the messages being handled and, since a
	// message may name several deliveries, the deliveries being sent.
	messages := make(chan struct{}, e.cfg.Concurrency)
	deliveries := make(chan struct{}, e.cfg.Concurrency)
	w.consume, err = c.Consume(func(msg jetstream.Msg) {
		messages <- struct{}{}
		e.wg.Add(1)
		w.handling.Add(1)
		go func() {
			defer func() { <-messages; w.handling.Done(); e.wg.Done() }()
			e.handle(context.WithoutCancel(ctx), msg, deliveries)
		}()
	}, jetstream.PullMaxMessages(e.cfg.Concurrency))
	if err != nil {
		return nil, err
	}
	return w, nil
}

// stopWorkers stops the workers of a retired service and waits for the
// attempts in progress. Messages already fetched are handled first, and
// each is acknowledged without a send, because the service's deliveries
// are no longer pending or retrying. Then the service's durable consumer
// is deleted and any message left for it is purged from the stream.
func (e *Engine) stopWorkers(ctx context.Context, id joinedup.ServiceID, w *serviceWorkers) {
	w.consume.Drain()
	<-w.consume.Closed()
	w.handling.Wait()
	e.discardMessages(ctx, id)
	e.logger.Info("service workers stopped, because the service was retired", "service_id", id)
}

// discardRetiredMessages purges the messages that the stream still holds
// for retired services. Such a message is left when a relay published it
// after the service's workers stopped, or when a process stopped between
// retiring a service and purging its messages.
func (e *Engine) discardRetiredMessages(ctx context.Context, retired map[joinedup.ServiceID]bool) {
	if len(retired) == 0 {
		return
	}
	queued, err := e.bus.QueuedByService(ctx)
	if err != nil {
		e.logger.Error("count messages of retired services", "error", err)
		return
	}
	for service, n := range queued {
		id := joinedup.ServiceID(service)
		if retired[id] && n > 0 {
			e.discardMessages(ctx, id)
			e.logger.Info("messages for a retired service purged", "service_id", id, "messages", n)
		}
	}
}

// discardMessages deletes the durable consumer of a retired service and
// purges its messages. The store ended the service's queued deliveries
// when it retired the service, so no purged message carries work still to
// do.
func (e *Engine) discardMessages(ctx context.Context, id joinedup.ServiceID) {
	if err := e.bus.DeleteConsumer(ctx, string(id)); err != nil {
		e.logger.Error("delete consumer of retired service", "service_id", id, "error", err)
	}
	if err := e.bus.PurgeService(ctx, string(id)); err != nil {
		e.logger.Error("purge messages of retired service", "service_id", id, "error", err)
	}
}
