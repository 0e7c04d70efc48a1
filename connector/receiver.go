package connector

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/webhook"
)

// MaxBodyBytes is the largest event body a Receiver reads.
const MaxBodyBytes = 1 << 20

// Handler acts on one event for a service. It makes every change it needs
// through tx, which also stores the returned outcome, so either both the
// changes and the outcome are kept or neither is. A Handler must not cause
// effects outside tx, because a redelivery after an error or a failed
// outcome calls it again.
//
// It returns the outcome to report: acted, failed (with a Summary saying
// why), or accepted when the outcome will follow by [Client.ReportOutcome].
// An error means the event could not be processed now. The transaction is
// rolled back, the response has a 5xx status (400 for an EINVALID error)
// and the hub retries later.
type Handler interface {
	HandleEvent(ctx context.Context, tx *sql.Tx, e *Event) (joinedup.Outcome, error)
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(ctx context.Context, tx *sql.Tx, e *Event) (joinedup.Outcome, error)

// HandleEvent calls f.
func (f HandlerFunc) HandleEvent(ctx context.Context, tx *sql.Tx, e *Event) (joinedup.Outcome, error) {
	return f(ctx, tx, e)
}

// Config configures a Receiver.
type Config struct {
	// Service is the service's id, used in logs.
	Service joinedup.ServiceID
	// Secrets are the service's Standard Webhooks secrets. A message signed
	// with any of them is accepted; give two while rotating.
	Secrets []string
	// DB is the service's database (SQLite or PostgreSQL). The Receiver
	// keeps processed webhook-ids and their outcomes in it and runs the
	// Handler in one of its transactions. With SQLite, open it with
	// immediate transactions and a busy timeout so that concurrent
	// deliveries wait for each other instead of failing.
	DB      *sql.DB
	Handler Handler
	Logger  *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// GroupCommit runs deliveries that arrive together in one transaction,
	// each in a savepoint of its own, so that many share one disk sync. Use
	// it with a database that allows one writer at a time, such as SQLite,
	// where each delivery would otherwise wait for the one before to
	// commit. The Handler then shares its transaction with other
	// deliveries: it must neither commit nor roll back, and an error it
	// returns undoes only its own changes.
	GroupCommit bool
}

// Receiver verifies and processes the hub's signed events. It is an
// http.Handler and can also serve a NATS subject with [Receiver.Subscribe].
type Receiver struct {
	service joinedup.ServiceID
	signers []*webhook.Signer
	db      *sql.DB
	handler Handler
	logger  *slog.Logger
	now     func() time.Time
	stmts   *statements
	group   *groupCommitter // nil unless Config.GroupCommit
}

// New returns a Receiver for cfg and creates the connector's tables in
// cfg.DB if they do not exist.
func New(ctx context.Context, cfg Config) (*Receiver, error) {
	if len(cfg.Secrets) == 0 {
		return nil, errors.New("connector: no secret configured: give the service's whsec_ secret")
	}
	if cfg.DB == nil || cfg.Handler == nil || cfg.Logger == nil {
		return nil, errors.New("connector: Config needs DB, Handler and Logger")
	}

	r := &Receiver{
		service: cfg.Service,
		db:      cfg.DB,
		handler: cfg.Handler,
		logger:  cfg.Logger,
		now:     cfg.Now,
	}
	if r.now == nil {
		r.now = time.Now
	}
	for i, secret := range cfg.Secrets {
		s, err := webhook.NewSigner(secret)
		if err != nil {
			return nil, fmt.Errorf("connector: secret %d: %w", i+1, err)
		}
		r.signers = append(r.signers, s)
	}

	if err := createSchema(ctx, cfg.DB); err != nil {
		return nil, fmt.Errorf("connector: %w", err)
	}
	stmts, err := prepareStatements(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("connector: %w", err)
	}
	r.stmts = stmts
	if cfg.GroupCommit {
		r.group = &groupCommitter{r: r}
	}
	return r, nil
}

// Close releases the Receiver's prepared statements. It leaves the
// database open. A Receiver must not be used after Close.
func (r *Receiver) Close() error {
	r.stmts.close()
	return nil
}

// response is what a Receiver returns for one message, in HTTP terms. A
// NATS reply carries the same status in a header.
type response struct {
	status int
	body   []byte // an outcome, or a problem document when status >= 400
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.writeResponse(w, problem(http.StatusMethodNotAllowed, "Send events with POST."))
		return
	}
	if ct := req.Header.Get("Content-Type"); !isContentType(ct, ContentType) {
		r.writeResponse(w, problem(http.StatusUnsupportedMediaType,
			fmt.Sprintf("The content type %q is not supported: send %s.", ct, ContentType)))
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		r.writeResponse(w, problem(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("The body is over %d bytes.", MaxBodyBytes)))
		return
	} else if err != nil {
		r.logger.Warn("request body read failed", "service", r.service, "error", err)
		r.writeResponse(w, problem(http.StatusBadRequest, "The request body could not be read."))
		return
	}
	r.writeResponse(w, r.receive(req.Context(), req.Header, body))
}

func (r *Receiver) writeResponse(w http.ResponseWriter, resp response) {
	if resp.status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

// receive verifies, deduplicates and processes one message.
func (r *Receiver) receive(ctx context.Context, h http.Header, body []byte) response {
	now := r.now()
	id := h.Get(webhook.HeaderID)
	log := r.logger.With("service", r.service, "webhook_id", id)

	if err := r.verify(h, body, now); err != nil {
		log.Warn("webhook rejected", "error", err)
		return problem(http.StatusUnauthorized, "The webhook signature or timestamp is invalid.")
	}
	// Verify succeeded, so the timestamp parses.
	timestamp, _ := strconv.ParseInt(h.Get(webhook.HeaderTimestamp), 10, 64)

	e, err := parseEvent(body)
	if err != nil {
		log.Warn("event invalid", "error", err)
		return problemFor(err)
	}
	if e.ID != id {
		log.Warn("event id differs from webhook-id", "event_id", e.ID)
		return problem(http.StatusBadRequest, "The event id must equal the webhook-id header.")
	}
	log = log.With("event_type", e.Type, "delivery_id", e.Delivery)

	o, replayed, err := r.process(ctx, e, timestamp, now)
	switch {
	case errors.Is(err, errReplay):
		log.Warn("webhook replay rejected")
		return problem(http.StatusUnauthorized, "This message was already received.")
	case err != nil:
		log.Error("event processing failed", "error", err)
		return problemFor(err)
	}

	if replayed {
		log.Info("event already processed", "status", o.Status)
	} else {
		log.Info("event processed", "status", o.Status)
	}
	return outcomeResponse(o)
}

func (r *Receiver) verify(h http.Header, body []byte, now time.Time) error {
	var err error
	for _, s := range r.signers {
		err = s.Verify(h, body, now)
		if !errors.Is(err, webhook.ErrNoMatch) {
			return err
		}
	}
	return err
}

// process runs the handler for e in a transaction, unless e.ID has an
// outcome already, and returns the outcome and whether it was stored
// before. It returns errReplay if this exact message was received before.
// Nothing is returned before the transaction has committed.
func (r *Receiver) process(ctx context.Context, e *Event, timestamp int64, now time.Time) (joinedup.Outcome, bool, error) {
	if r.group != nil {
		return r.group.process(ctx, e, timestamp, now)
	}
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return joinedup.Outcome{}, false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	if err := r.stmts.forgetOld(ctx, tx, now); err != nil {
		return joinedup.Outcome{}, false, err
	}
	o, replayed, err := r.apply(ctx, tx, e, timestamp, now)
	if errors.Is(err, errOutcomeExists) {
		// Another delivery of the same event committed first. Rolling back
		// undoes this handler's changes, and the first outcome is returned.
		tx.Rollback()
		o, found, err := r.stmts.findOutcome(ctx, nil, e.ID)
		if err != nil {
			return joinedup.Outcome{}, false, fmt.Errorf("find concurrent outcome: %w", err)
		}
		if !found {
			return joinedup.Outcome{}, false, errors.New("find concurrent outcome: no outcome stored after a conflict")
		}
		return o, true, nil
	} else if err != nil {
		return joinedup.Outcome{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return joinedup.Outcome{}, false, fmt.Errorf("commit: %w", err)
	}
	return o, replayed, nil
}

// errOutcomeExists means another transaction stored an outcome for the
// event after this one looked for it.
var errOutcomeExists = errors.New("outcome stored by another transaction")

// apply records the message and runs the handler for e in tx, or returns
// the outcome stored for e.ID before, with true. It returns errReplay if
// this exact message was received before. It returns errOutcomeExists if
// another transaction stored an outcome for e.ID meanwhile, and the caller
// must then undo what apply did.
func (r *Receiver) apply(ctx context.Context, tx *sql.Tx, e *Event, timestamp int64, now time.Time) (joinedup.Outcome, bool, error) {
	if err := r.stmts.markReceived(ctx, tx, e.ID, timestamp, now); err != nil {
		return joinedup.Outcome{}, false, err
	}
	o, found, err := r.stmts.findOutcome(ctx, tx, e.ID)
	if err != nil {
		return joinedup.Outcome{}, false, err
	}
	if found && o.Status != joinedup.OutcomeFailed {
		return o, true, nil
	}
	if found {
		// A failed outcome means the service did not act, so the event is
		// handled again. The hub sends it again when an operator replays the
		// delivery, perhaps after the service's records were put right.
		if err := r.stmts.forgetOutcome(ctx, tx, e.ID); err != nil {
			return joinedup.Outcome{}, false, err
		}
	}

	o, err = r.handler.HandleEvent(ctx, tx, e)
	if err != nil {
		return joinedup.Outcome{}, false, fmt.Errorf("handle %s: %w", e.ShortType(), err)
	}
	if err := checkOutcome(o); err != nil {
		return joinedup.Outcome{}, false, fmt.Errorf("handle %s: %w", e.ShortType(), err)
	}
	if o.ReportedAt.IsZero() {
		o.ReportedAt = now.UTC()
	}
	stored, err := r.stmts.storeOutcome(ctx, tx, e.ID, e.Type, o, now)
	if err != nil {
		return joinedup.Outcome{}, false, err
	}
	if !stored {
		return joinedup.Outcome{}, false, errOutcomeExists
	}
	return o, false, nil
}

// checkOutcome rejects an outcome the hub would not accept, so a fault in
// a handler shows as an error here and not as a delivery stuck at the hub.
func checkOutcome(o joinedup.Outcome) error {
	switch o.Status {
	case joinedup.OutcomeActed, joinedup.OutcomeFailed, joinedup.OutcomeAccepted:
	default:
		return fmt.Errorf("invalid outcome status %q: want acted, failed or accepted", o.Status)
	}
	if o.MissingSummary() {
		return fmt.Errorf("invalid outcome: an outcome of %q needs a summary for the informant", o.Status)
	}
	if len(o.Detail) > 0 && !json.Valid(o.Detail) {
		return errors.New("invalid outcome: detail is not valid JSON")
	}
	for _, d := range o.Deferred {
		if d.Action == "" || d.Due.IsZero() {
			return fmt.Errorf("invalid deferred action %q: action and due date are required", d.Action)
		}
	}
	if fields := o.TextErrors(); len(fields) > 0 {
		return fmt.Errorf("invalid outcome: %s: %s", fields[0].Field, fields[0].Message)
	}
	return nil
}

func outcomeResponse(o joinedup.Outcome) response {
	body, err := json.Marshal(o)
	if err != nil {
		// checkOutcome has validated Detail, the only field that can fail.
		return problem(http.StatusInternalServerError, "The outcome could not be encoded.")
	}
	status := http.StatusOK
	if o.Status == joinedup.OutcomeAccepted {
		status = http.StatusAccepted
	}
	return response{status: status, body: body}
}
