// Package delivery moves life events from the store to the connected
// services and records what they did.
//
// Three loops run in every hub process:
//
//   - the relay publishes outbox messages to JetStream and deletes them
//     once the stream has stored them;
//   - one set of workers per service consumes that service's messages,
//     sends each delivery (a signed webhook or a NATS request), records the
//     outcome or the failure, and only then acknowledges the message;
//   - the scheduler fires deferred actions on their due date.
//
// A delivery's state lives in the store. A message redelivered after a
// crash finds its delivery already settled and is acknowledged without a
// second send; a delivery whose send reached the service but whose outcome
// was not recorded is sent again with the same webhook-id, which the
// service uses to answer with its first outcome rather than act twice.
// The attempt cut off is counted first, from its disclosure in the audit
// log, so that the attempt after it has a number of its own.
//
// Failed attempts are retried with exponential backoff and full jitter
// (delay drawn between half and all of base·2^(n−1), capped at MaxBackoff);
// after MaxAttempts the delivery is dead-lettered until an operator
// replays it.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/natsbus"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
)

// Config tunes the engine. Zero fields take the defaults noted.
type Config struct {
	// Source is the CloudEvents source of every event: the hub's base URL.
	Source string
	// MaxAttempts before a delivery is dead-lettered; 10 by default.
	MaxAttempts int
	// BaseBackoff is the delay after the first failure; 1s by default.
	BaseBackoff time.Duration
	// MaxBackoff caps the delay between attempts; DefaultMaxBackoff by
	// default.
	MaxBackoff time.Duration
	// AttemptTimeout bounds one send; 10s by default.
	AttemptTimeout time.Duration
	// Concurrency is the number of deliveries in flight per service; 16 by
	// default.
	Concurrency int
	// RelayInterval is how often the relay looks for outbox messages that
	// another node or an earlier run wrote; 250ms by default. Intake in
	// this process wakes it at once.
	RelayInterval time.Duration
	// ActionInterval is how often due deferred actions are fired; one
	// minute by default.
	ActionInterval time.Duration
	// Cluster is true when other processes may consume the same
	// deliveries, as on PostgreSQL and an external NATS. Each attempt is
	// then claimed in the store before it is sent, so that a delivery
	// that reaches two nodes in two messages is sent by one of them.
	Cluster bool
	// Now returns the time that decides which deferred actions are due;
	// time.Now by default. Tests control it. Signatures and retries always
	// use the real time.
	Now func() time.Time
}

// DefaultMaxBackoff is the default cap on the delay between attempts.
const DefaultMaxBackoff = 10 * time.Minute

func (c *Config) setDefaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = 10 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.RelayInterval <= 0 {
		c.RelayInterval = 250 * time.Millisecond
	}
	if c.ActionInterval <= 0 {
		c.ActionInterval = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Engine runs the relay, the workers and the scheduler, and implements
// joinedup.DeliveryService.
type Engine struct {
	// Audit, when set, receives an entry for every disclosure and every
	// consent withdrawal.
	Audit *audit.Log

	cfg     Config
	db      *store.DB
	bus     *natsbus.Bus
	sender  *sender
	logger  *slog.Logger
	metrics *Metrics

	wake        chan struct{}
	settleQueue chan settleRequest
	publishCost *publishCost

	// inFlight holds the deliveries being sent by this process. A second
	// message for one of them, published again after a crash, waits until
	// the first settles, so a service never gets the same attempt twice.
	inFlight sync.Map

	mu      sync.Mutex
	started map[joinedup.ServiceID]*serviceWorkers
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	running bool

	stopSettle context.CancelFunc
	settleDone chan struct{}

	// startedAt is when Start was called. A delivery queued before then
	// may have had an attempt cut off when an earlier run stopped.
	startedAt time.Time
}

var _ joinedup.DeliveryService = (*Engine)(nil)

// New returns an engine. Call Start to run it.
func New(cfg Config, db *store.DB, bus *natsbus.Bus, logger *slog.Logger) *Engine {
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		cfg:         cfg,
		db:          db,
		bus:         bus,
		sender:      newSender(cfg, bus),
		logger:      logger,
		metrics:     newMetrics(db, bus),
		wake:        make(chan struct{}, 1),
		publishCost: newPublishCost(),
		settleQueue: make(chan settleRequest),
		started:     map[joinedup.ServiceID]*serviceWorkers{},
	}
}

// Metrics returns the engine's Prometheus collectors.
func (e *Engine) Metrics() *Metrics { return e.metrics }

// Wake signals the relay that new outbox messages are waiting.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Start runs the loops until Stop is called or ctx ends.
func (e *Engine) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.cancel = cancel
	e.running = true
	e.startedAt = time.Now()
	e.mu.Unlock()

	// The settle loop outlives the others, so that deliveries in flight
	// when Stop is called can still record their outcomes.
	settleCtx, stopSettle := context.WithCancel(context.WithoutCancel(ctx))
	e.stopSettle = stopSettle
	e.settleDone = make(chan struct{})
	go func() {
		defer close(e.settleDone)
		e.settleLoop(settleCtx)
	}()
	if err := e.syncConsumers(ctx); err != nil {
		cancel()
		stopSettle()
		return err
	}
	e.goLoop(func() { e.relayLoop(ctx) })
	e.goLoop(func() { e.consumerLoop(ctx) })
	e.goLoop(func() { e.actionLoop(ctx) })
	return nil
}

func (e *Engine) goLoop(fn func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn()
	}()
}

// Stop ends the loops, waits for deliveries in flight to settle and
// returns. Messages not yet acknowledged are offered again after a restart.
func (e *Engine) Stop() {
	e.mu.Lock()
	if !e.running {
		e.mu.Unlock()
		return
	}
	e.running = false
	e.cancel()
	for _, w := range e.started {
		w.consume.Drain()
	}
	e.mu.Unlock()
	e.wg.Wait()
	for _, w := range e.started {
		<-w.consume.Closed()
	}
	e.stopSettle()
	<-e.settleDone
}

// relayLoop publishes outbox messages whenever it is woken and on every
// RelayInterval. After a pass that fails or publishes none of the
// messages it read, the relay waits for the next tick or wake-up. After
// repeated failures it waits longer, up to maxRelayPause, so that a node
// that cannot reach the bus does not hold outbox rows that another node
// could publish. Repeated failures are logged once a minute.
func (e *Engine) relayLoop(ctx context.Context) {
	tick := time.NewTicker(e.cfg.RelayInterval)
	defer tick.Stop()
	var failures int
	var lastLog time.Time
	for {
		for {
			read, published, err := e.relay(ctx)
			if err != nil && ctx.Err() == nil {
				failures++
				if now := time.Now(); now.Sub(lastLog) >= time.Minute {
					e.logger.Error("relay outbox", "error", err, "failures", failures)
					lastLog = now
				}
				break
			}
			if read > 0 && published == 0 {
				// Nothing was published, as when the bus sent no
				// acknowledgement within relayPublishTimeout. The rows stay
				// in the outbox.
				failures++
				break
			}
			if failures > 0 {
				// A pass that read nothing, as when another node holds the
				// rows, ends the pauses without a sign that publishing works.
				if published > 0 {
					e.logger.Info("relay outbox recovered", "failures", failures)
				}
				failures, lastLog = 0, time.Time{}
			}
			if read == 0 {
				break
			}
		}
		if failures > 1 {
			pause := min(e.cfg.RelayInterval<<min(failures-1, 10), maxRelayPause)
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-tick.C:
		}
	}
}

// relayPublishTimeout bounds how long one pass of the relay waits for the
// bus to store what it published. On PostgreSQL the outbox rows stay
// locked while it waits, and no other node can publish them.
const relayPublishTimeout = 10 * time.Second

// maxRelayPause is the longest wait between relay passes after repeated
// failures.
const maxRelayPause = 5 * time.Second

// errBusNotConnected is the error of a relay pass while the connection to
// NATS is down.
var errBusNotConnected = errors.New("the event bus is not connected, so the outbox is left for a node that is")

// relay publishes one batch of outbox messages and returns how many it
// read and how many of those the bus stored. While the connection to NATS
// is down it reads none.
func (e *Engine) relay(ctx context.Context) (read, published int, err error) {
	if !e.bus.Connected() {
		return 0, 0, errBusNotConnected
	}
	read, err = e.db.RelayOutbox(ctx, 256, func(msgs []store.OutboxMessage) []string {
		publishCtx, cancel := context.WithTimeout(ctx, relayPublishTimeout)
		defer cancel()
		ids := e.publish(publishCtx, msgs)
		published = len(ids)
		return ids
	})
	return read, published, err
}

// publish sends msgs to JetStream and returns the ids the stream stored.
// The rows of each service go in messages of up to maxPerMessage
// deliveries. Where the server takes atomic batches and one batch is
// expected to cost less than publishing each message alone, the messages
// go in one batch, which the stream syncs to disk once. Otherwise, or when
// the batch is rejected, each message is published on its own.
func (e *Engine) publish(ctx context.Context, msgs []store.OutboxMessage) []string {
	groups := groupOutbox(msgs, maxPerMessage)
	if e.bus.AtomicBatches && e.publishCost.batch(len(groups)) {
		start := time.Now()
		err := e.publishBatch(ctx, groups)
		if err == nil {
			e.publishCost.batched(time.Since(start))
			published := make([]string, len(msgs))
			for i, m := range msgs {
				published[i] = m.MsgID
			}
			return published
		}
		// The relay is stopping, and the rows stay in the outbox for the
		// next start.
		if ctx.Err() != nil {
			return nil
		}
		// A batch holding a message that the stream stored before, as when
		// the relay stopped between publishing and deleting its outbox
		// rows, is rejected whole. Published one at a time, that message
		// is taken for a duplicate and the rest are stored.
		e.logger.Info("batch publish rejected; publishing one message at a time", "messages", len(groups), "error", err)
	}
	start := time.Now()
	defer func() { e.publishCost.single(len(groups), time.Since(start)) }()
	futures := make([]jetstream.PubAckFuture, len(groups))
	for i, g := range groups {
		f, err := e.bus.JS.PublishAsync(e.bus.Subject(string(g.service)), g.body(), jetstream.WithMsgID(g.msgID()))
		if err != nil {
			e.logger.Error("publish delivery message failed", "delivery_id", g.msgs[0].Delivery, "deliveries", len(g.msgs), "error", err)
			continue
		}
		futures[i] = f
	}
	var published []string
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
			for _, m := range groups[i].msgs {
				published = append(published, m.MsgID)
			}
		case err := <-f.Err():
			e.logger.Error("publish delivery message failed", "delivery_id", groups[i].msgs[0].Delivery, "deliveries", len(groups[i].msgs), "error", err)
		case <-ctx.Done():
			return published
		}
	}
	return published
}

func (e *Engine) publishBatch(ctx context.Context, groups []outboxGroup) error {
	batch := make([]*nats.Msg, len(groups))
	for i, g := range groups {
		batch[i] = &nats.Msg{
			Subject: e.bus.Subject(string(g.service)),
			Data:    g.body(),
			Header:  nats.Header{jetstream.MsgIDHeader: []string{g.msgID()}},
		}
	}
	return e.bus.PublishBatch(ctx, batch)
}

// outboxGroup is the outbox rows of one service that one message carries.
type outboxGroup struct {
	service joinedup.ServiceID
	msgs    []store.OutboxMessage
}

// groupOutbox splits msgs into groups of one service's rows, each of at
// most limit rows, in the order of each group's first row.
func groupOutbox(msgs []store.OutboxMessage, limit int) []outboxGroup {
	var groups []outboxGroup
	open := map[joinedup.ServiceID]int{} // the index of each service's last group
	for _, m := range msgs {
		i, ok := open[m.Service]
		if !ok || len(groups[i].msgs) == limit {
			i = len(groups)
			groups = append(groups, outboxGroup{service: m.Service})
			open[m.Service] = i
		}
		groups[i].msgs = append(groups[i].msgs, m)
	}
	return groups
}

func (g outboxGroup) body() []byte {
	ids := make([]string, len(g.msgs))
	for i, m := range g.msgs {
		ids[i] = m.MsgID
	}
	return messageBody(ids)
}

// msgID is the message's Nats-Msg-Id. A message of one row has the row's
// id, and a message of several has its first row's id and the number of
// rows. The relay reads the outbox in the same
// order each time, so a set published again after a crash, before its
// rows were deleted, is grouped alike and dropped as a duplicate. A set
// grouped otherwise reaches the workers twice, and they pass over the
// deliveries already settled.
func (g outboxGroup) msgID() string {
	if len(g.msgs) == 1 {
		return g.msgs[0].MsgID
	}
	return g.msgs[0].MsgID + "+" + strconv.Itoa(len(g.msgs))
}

// actionLoop fires due deferred actions on every ActionInterval.
func (e *Engine) actionLoop(ctx context.Context) {
	tick := time.NewTicker(e.cfg.ActionInterval)
	defer tick.Stop()
	for {
		if _, err := e.FireDueActions(ctx); err != nil && ctx.Err() == nil {
			e.logger.Error("fire deferred actions", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// FireDueActions fires every deferred action due on or before today in
// Europe/London, by the engine's clock, and returns how many fired.
func (e *Engine) FireDueActions(ctx context.Context) (int, error) {
	today := joinedup.Today(e.cfg.Now())
	total := 0
	for {
		fired, err := e.db.FireDueActions(ctx, today, 100)
		if err != nil {
			return total, err
		}
		for _, a := range fired {
			e.logger.Info("deferred action fired", "action_id", a.ID, "service_id", a.Service, "event_id", a.EventID)
		}
		total += len(fired)
		if len(fired) > 0 {
			e.Wake()
		}
		if len(fired) < 100 {
			return total, nil
		}
	}
}

// ReportOutcome records an outcome a service sent by callback, and
// refuses the same message sent again.
func (e *Engine) ReportOutcome(ctx context.Context, service joinedup.ServiceID, id joinedup.DeliveryID, o joinedup.Outcome, msg joinedup.CallbackMessage) error {
	if err := validateOutcome(&o); err != nil {
		return err
	}
	res, err := e.db.RecordCallback(ctx, service, id, o, msg)
	if err != nil {
		return err
	}
	if res.Changed {
		e.metrics.settled(service, o.Status, res.Created, time.Now())
	}
	return nil
}

// ReplayDelivery sends a dead-lettered or failed delivery again.
func (e *Engine) ReplayDelivery(ctx context.Context, id joinedup.DeliveryID) error {
	if err := e.db.ReplayDelivery(ctx, id); err != nil {
		return err
	}
	e.logger.Info("delivery replayed", "delivery_id", id)
	e.Wake()
	return nil
}

// ListDeliveries implements joinedup.DeliveryService.
func (e *Engine) ListDeliveries(ctx context.Context, f joinedup.DeliveryFilter) (joinedup.DeliveryPage, error) {
	return e.db.ListDeliveries(ctx, f)
}

// WithdrawConsent withdraws consent for one service on one life event and
// queues the notices that follow.
// actor names who withdrew it, for the audit log.
func (e *Engine) WithdrawConsent(ctx context.Context, event joinedup.EventID, service joinedup.ServiceID, actor string) (*store.WithdrawnConsent, error) {
	// The withdrawal's transaction queues its audit entry, so the entry
	// is appended if and only if the withdrawal commits.
	var also []func(*store.Tx, *store.WithdrawnConsent) error
	if e.Audit != nil {
		also = append(also, func(tx *store.Tx, w *store.WithdrawnConsent) error {
			detail, err := json.Marshal(map[string]any{"service": service, "cancelled": w.Cancelled, "notices": w.Notices, "underway": w.Underway, "actionsCancelled": w.Actions})
			if err != nil {
				return fmt.Errorf("encode audit detail of withdrawal: %w", err)
			}
			return tx.QueueAudit(ctx, audit.Entry{Actor: actor, Action: audit.ActionConsentWithdrawn, Purpose: policy.PurposeConsent,
				Subject: string(event), Reasons: []string{audit.ConsentWithdrawnReason(string(service))}, Detail: detail})
		})
	}
	w, err := e.db.WithdrawConsent(ctx, event, service, also...)
	if err != nil {
		return nil, err
	}
	e.logger.Info("consent withdrawn", "event_id", event, "service_id", service,
		"cancelled", len(w.Cancelled), "notices", len(w.Notices), "underway", len(w.Underway), "actions_cancelled", len(w.Actions))
	if e.Audit != nil {
		if err := e.Audit.AppendQueued(ctx); err != nil {
			// The entry stays queued with the withdrawal, and the log's next
			// commit appends it.
			e.logger.Error("append consent withdrawal to audit log", "event_id", event, "error", err)
		}
	}
	e.Wake()
	return w, nil
}

// validateOutcome returns an EINVALID error that names every invalid field
// of o, or nil.
func validateOutcome(o *joinedup.Outcome) error {
	var fields []joinedup.FieldError
	switch o.Status {
	case joinedup.OutcomeAccepted, joinedup.OutcomeActed, joinedup.OutcomeFailed:
	default:
		fields = append(fields, joinedup.FieldError{Field: "/status", Message: `status must be "accepted", "acted" or "failed"`})
	}
	if o.MissingSummary() {
		fields = append(fields, joinedup.FieldError{Field: "/summary", Message: `An outcome of "acted" or "failed" needs a summary: one sentence for the informant, such as "Child Benefit claim started"`})
	}
	if len(o.Summary) > 500 {
		fields = append(fields, joinedup.FieldError{Field: "/summary", Message: "summary must be 500 bytes or fewer in UTF-8"})
	}
	for i, d := range o.Deferred {
		if d.Action == "" || d.Due.IsZero() {
			fields = append(fields, joinedup.FieldError{Field: "/deferred/" + strconv.Itoa(i), Message: "each deferred action needs action and due"})
		}
	}
	fields = append(fields, o.TextErrors()...)
	if len(fields) > 0 {
		return joinedup.Invalid("The outcome is invalid.", fields...)
	}
	return nil
}
