package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/internal/strictjson"
	"github.com/joinedup/joinedup/natsbus"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/webhook"
)

// maxResponse bounds the body read from a service's response.
const maxResponse = 64 << 10

// A delivery message names one or more deliveries to one service, one
// per line, each by its outbox message id: "<delivery id>.<generation>".
// A message carries several when the relay found several of the
// service's outbox rows waiting together. The stream then stores,
// syncs and removes one message for all of them, and removing a message
// costs a disk sync of its own when it is acknowledged. A message in the
// earlier form holds a bare delivery id, and its generation is in its
// Nats-Msg-Id header.

// maxPerMessage bounds the deliveries that one message carries.
const maxPerMessage = 32

// outboxIDPattern matches an outbox message id, "<delivery id>.<generation>",
// or a bare delivery id. Every delivery id is "dlv_" and 26 characters of
// the base32 alphabet of joinedup.NewID, which has no i, l, o or u, so a
// line of other text, such as a name, matches neither and is never logged.
var outboxIDPattern = regexp.MustCompile(`^dlv_[0-9a-hjkmnp-tv-z]{26}(\.[0-9]{1,9})?$`)

// messageEntry is one delivery that a message names.
type messageEntry struct {
	id         joinedup.DeliveryID
	generation int
	// known is false for a bare delivery id whose message has no
	// Nats-Msg-Id header, which any generation of the delivery matches.
	known bool
}

// messageBody returns the body of a message that names the given
// outbox message ids, each "<delivery id>.<generation>".
func messageBody(msgIDs []string) []byte {
	return []byte(strings.Join(msgIDs, "\n"))
}

// parseMessage returns the deliveries that a message names, or nil if its
// body names none or has a line that is not an outbox message id, as a
// message that something other than the hub published on its subject
// may. Such a body is not logged, because it may hold personal data.
func parseMessage(body []byte, header string) []messageEntry {
	var entries []messageEntry
	for line := range strings.SplitSeq(string(body), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !outboxIDPattern.MatchString(line) {
			return nil
		}
		if i := strings.LastIndexByte(line, '.'); i > 0 {
			if g, err := strconv.Atoi(line[i+1:]); err == nil && g >= 0 {
				entries = append(entries, messageEntry{id: joinedup.DeliveryID(line[:i]), generation: g, known: true})
				continue
			}
		}
		e := messageEntry{id: joinedup.DeliveryID(line)}
		if rest, ok := strings.CutPrefix(header, line+"."); ok {
			if g, err := strconv.Atoi(rest); err == nil && g >= 0 {
				e.generation, e.known = g, true
			}
		}
		entries = append(entries, e)
	}
	return latestEntries(entries)
}

// latestEntries returns entries with one entry a delivery, the one of its
// latest generation. The hub's own messages name a delivery twice only
// for two generations of it, of which the earlier is passed over anyway.
// A second entry would find the first one's claim in this process, and
// its message would be offered again for ever.
func latestEntries(entries []messageEntry) []messageEntry {
	at := make(map[joinedup.DeliveryID]int, len(entries))
	out := entries[:0]
	for _, e := range entries {
		i, seen := at[e.id]
		switch {
		case !seen:
			at[e.id] = len(out)
			out = append(out, e)
		case e.known && (!out[i].known || e.generation > out[i].generation):
			out[i] = e
		}
	}
	return out
}

// verdict is the result of handling one delivery: what its message needs.
type verdict struct {
	// retry, when above zero, is the delay after which the message is to
	// be offered again, because the delivery is to be attempted again.
	retry time.Duration
	// term is true when the delivery can never be sent, because it is
	// not found or was dead-lettered.
	term bool
}

// handle sends the deliveries that msg names and settles msg. slots
// bounds the deliveries of msg's service that this process sends at once.
// msg is acknowledged when every delivery it names is settled. Otherwise
// it is offered again when the earliest retry is due, and the deliveries
// already settled are then passed over.
func (e *Engine) handle(ctx context.Context, msg jetstream.Msg, slots chan struct{}) {
	entries := parseMessage(msg.Data(), msg.Headers().Get(jetstream.MsgIDHeader))
	if len(entries) == 0 {
		e.logger.Error("message on a delivery subject names no delivery and is discarded: only the hub may publish there",
			"subject", msg.Subject(), "bytes", len(msg.Data()))
		_ = msg.Term()
		return
	}
	// A message whose deliveries wait for slots, or take more than one
	// attempt's time between them, is marked in progress every half
	// attempt timeout, so that JetStream does not offer it to another
	// worker meanwhile.
	stopKeepAlive := e.keepAlive(msg)
	// A message offered before, as after a crash, may name deliveries
	// whose last attempt was cut off.
	again := false
	if meta, err := msg.Metadata(); err == nil {
		again = meta.NumDelivered > 1
	}
	verdicts := make([]verdict, len(entries))
	var wg sync.WaitGroup
	for next := 0; next < len(entries); {
		// The deliveries handled next are as many as there are slots free
		// once one is: they are loaded in one query, and each is sent
		// straight after, as when it is loaded alone.
		slots <- struct{}{}
		n := 1
	take:
		for n < len(entries)-next {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break take
			}
		}
		first := next
		next += n
		e.startHandling(ctx, entries[first:next], verdicts[first:next], again, slots, &wg)
	}
	wg.Wait()
	stopKeepAlive()

	var retry time.Duration
	terms := 0
	for _, v := range verdicts {
		if v.retry > 0 && (retry == 0 || v.retry < retry) {
			retry = v.retry
		}
		if v.term {
			terms++
		}
	}
	var err error
	switch {
	case retry > 0:
		err = msg.NakWithDelay(retry)
	case terms == len(verdicts):
		err = msg.Term()
	default:
		err = msg.Ack()
	}
	if err != nil {
		e.logger.Warn("acknowledge delivery message failed", "subject", msg.Subject(), "deliveries", len(entries), "error", err)
	}
}

// startHandling starts handling entries in goroutines of wg, each in a
// slot taken for it, and sets the verdict at the same index of verdicts.
// The deliveries are claimed in this process and then loaded in one
// query. A delivery claimed already is in flight: its entry is offered
// again later, and its slot is given back at once.
func (e *Engine) startHandling(ctx context.Context, entries []messageEntry, verdicts []verdict, again bool, slots chan struct{}, wg *sync.WaitGroup) {
	ids := make([]joinedup.DeliveryID, 0, len(entries))
	claimed := make([]bool, len(entries))
	for i, entry := range entries {
		if _, busy := e.inFlight.LoadOrStore(entry.id, struct{}{}); !busy {
			ids, claimed[i] = append(ids, entry.id), true
		}
	}
	tasks, err := e.db.LoadTasks(ctx, ids)
	if err != nil {
		e.logger.Error("load deliveries", "deliveries", len(ids), "error", err)
	}
	for i, entry := range entries {
		if !claimed[i] || err != nil {
			if claimed[i] {
				e.inFlight.Delete(entry.id)
			}
			verdicts[i] = verdict{retry: e.cfg.BaseBackoff}
			<-slots
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			defer e.inFlight.Delete(entry.id)
			verdicts[i] = e.handleOne(ctx, entry, tasks[entry.id], again)
		})
	}
}

// keepAlive marks msg in progress every half attempt timeout until the
// returned function is called, which returns once the marking stopped.
func (e *Engine) keepAlive(msg jetstream.Msg) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(e.cfg.AttemptTimeout / 2)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// handleOne sends one delivery, claimed in this process, unless it is
// settled or not yet due, and records what happened. task is the
// delivery as loaded after the claim, nil when it does not exist. again
// is true when the delivery's message was offered before.
func (e *Engine) handleOne(ctx context.Context, entry messageEntry, task *store.Task, again bool) verdict {
	id := entry.id
	if task == nil {
		e.logger.Error("delivery message names no delivery", "delivery_id", id)
		return verdict{term: true}
	}

	// A message of an earlier generation, or for a delivery already
	// settled, was handled before a crash or replaced by a replay. A
	// delivery whose service was retired is dead-lettered by then, so its
	// message is acknowledged here without a send.
	if entry.known && entry.generation != task.Generation {
		return verdict{}
	}
	// A delivery whose message was offered before, or that was queued
	// before this engine started, may have had an attempt cut off by a
	// crash. Only those are looked up in the audit log, since a lookup
	// costs a query.
	mayBeCutOff := e.Audit != nil && (again || task.Delivery.CreatedAt.Before(e.startedAt))
	if task.Delivery.State != joinedup.StatePending && task.Delivery.State != joinedup.StateRetrying {
		// A delivery withdrawn after an attempt that a crash cut off gets
		// the withdrawal notice that the withdrawal did not queue.
		if mayBeCutOff && task.Delivery.State == joinedup.StateWithdrawn {
			if _, _, err := e.countCutOffAttempts(ctx, task); err != nil {
				e.logger.Error("count cut-off attempts", "delivery_id", id, "error", err)
				return verdict{retry: e.cfg.BaseBackoff}
			}
		}
		return verdict{}
	}
	// A message that names several deliveries is offered again when the
	// earliest of its retries is due, which may be before this one's.
	if wait := time.Until(task.Delivery.NextAttempt); task.Delivery.State == joinedup.StateRetrying && wait > retryTolerance {
		return verdict{retry: wait}
	}

	if e.cfg.Cluster {
		// The claim outlasts a send that times out and its settling, so
		// that no other node sends while this one still may.
		until := time.Now().Add(2*e.cfg.AttemptTimeout + 5*time.Second)
		claimed, err := e.db.ClaimDelivery(ctx, id, task.Generation, task.Delivery.Attempts, until)
		if err != nil {
			e.logger.Error("claim delivery", "delivery_id", id, "error", err)
			return verdict{retry: e.cfg.BaseBackoff}
		}
		if !claimed {
			// Another node is sending it, or has settled it since it was
			// loaded. The message is offered again and then finds it settled.
			return verdict{retry: e.cfg.BaseBackoff}
		}
	}

	// In a cluster this runs only once the claim is held, so that no
	// other node's attempt is in flight.
	if mayBeCutOff {
		counted, dead, err := e.countCutOffAttempts(ctx, task)
		if err != nil {
			e.logger.Error("count cut-off attempts", "delivery_id", id, "error", err)
			return verdict{retry: e.cfg.BaseBackoff}
		}
		if dead {
			return verdict{term: true}
		}
		if !counted {
			// The delivery changed since it was loaded, as when its consent
			// was withdrawn. The message is offered again and finds it as
			// it now is.
			return verdict{retry: e.cfg.BaseBackoff}
		}
	}

	if err := e.recordDisclosure(ctx, task); err != nil {
		// Nothing is sent that the audit log does not show.
		e.logger.Error("record disclosure in audit log", "delivery_id", id, "error", err)
		return verdict{retry: e.cfg.BaseBackoff}
	}

	start := time.Now()
	outcome, err := e.sender.send(ctx, task)
	e.metrics.attempt(task.Service.ID, err == nil, time.Since(start))
	if err != nil {
		return e.fail(ctx, task, err)
	}

	res, err := e.settle(ctx, store.OutcomeRecord{Delivery: id, Outcome: *outcome, Attempt: true, AttemptsBefore: task.Delivery.Attempts})
	if err != nil {
		// The service has the delivery; the message is offered again and the
		// service returns the same outcome for the repeat.
		e.logger.Error("record outcome", "delivery_id", id, "error", err)
		return verdict{retry: e.cfg.BaseBackoff}
	}
	if res.Changed {
		e.metrics.settled(task.Service.ID, outcome.Status, task.Delivery.CreatedAt, time.Now())
		e.logger.Debug("delivery settled", "delivery_id", id, "service_id", task.Service.ID, "status", outcome.Status)
	}
	return verdict{}
}

// retryTolerance is the margin by which a retrying delivery may be
// attempted before its next attempt time. A message that names only this
// delivery is offered again after the delay it was given, which starts
// after that time was recorded, so such a message is never early.
const retryTolerance = 50 * time.Millisecond

// recordDisclosure appends the disclosure that an attempt at task makes to
// the audit log, before the attempt, so that no data leaves the hub
// unrecorded. An attempt that fails is still recorded: the service may
// have read the data before the failure. A replay starts the delivery's
// next generation with its attempts counted from zero again, so each
// entry names the generation beside the attempt.
// An attempt cut off by a crash before its outcome or failure was
// recorded is counted when the delivery is next handled, from this
// entry, so the next attempt has a number of its own.
func (e *Engine) recordDisclosure(ctx context.Context, t *store.Task) error {
	if e.Audit == nil {
		return nil
	}
	detail, err := json.Marshal(map[string]any{
		"delivery": t.Delivery.ID, "service": t.Service.ID, "organisation": t.Service.Organisation,
		"kind": t.Delivery.Kind, "fields": t.SentFields(), "attempt": t.Delivery.Attempts + 1, "generation": t.Generation,
		"reference": t.Reference,
	})
	if err != nil {
		return err
	}
	reason := audit.ConsentGivenReason(string(t.Service.ID))
	switch {
	case t.Delivery.Kind == joinedup.EventConsentWithdrawn:
		reason = audit.WithdrawalNoticeReason(string(t.Service.ID))
	case t.Delivery.Kind == joinedup.EventActionDue:
		reason = audit.ActionDueReason(string(t.Service.ID))
	case t.Service.LawfulBasis != "":
		reason = audit.LawfulBasisReason(t.Service.LawfulBasis)
	}
	_, err = e.Audit.Append(ctx, audit.Entry{
		Actor: "hub", Action: audit.ActionDisclosure, Subject: string(t.Delivery.EventID),
		Purpose: t.Purpose, Reasons: []string{reason}, Detail: detail,
	})
	return err
}

// countCutOffAttempts counts the attempts at task that the audit log
// shows were disclosed but whose outcome or failure was never recorded,
// as when the hub stopped during an attempt, and updates task to match.
// A delivery whose count then reaches MaxAttempts is dead-lettered, and
// dead is true. counted is false when the delivery was no longer pending
// or retrying in the store. A withdrawn delivery still has the attempts
// counted and gets its withdrawal notice. A task with no such attempt is
// left as it is, and counted is true.
func (e *Engine) countCutOffAttempts(ctx context.Context, task *store.Task) (counted, dead bool, err error) {
	d := task.Delivery
	attempted, err := e.db.DisclosedAttempt(ctx, d.EventID, d.ID, task.Generation)
	if err != nil || attempted <= d.Attempts {
		return err == nil, false, err
	}
	dead = attempted >= e.cfg.MaxAttempts
	counted, err = e.db.RecordCutOffAttempts(ctx, d.ID, task.Generation, attempted, dead)
	if err != nil {
		return false, false, err
	}
	e.logger.Warn("delivery attempt cut off before its result was recorded, as when a hub stopped", "delivery_id", d.ID, "service_id", task.Service.ID,
		"attempt", attempted, "state", d.State, "dead_lettered", counted && dead)
	if !counted {
		return false, false, nil
	}
	if dead {
		e.metrics.transition(task.Service.ID, joinedup.StateDeadLettered)
		return true, true, nil
	}
	e.metrics.transition(task.Service.ID, joinedup.StateRetrying)
	d.Attempts, d.State, d.LastError = attempted, joinedup.StateRetrying, store.CutOffError
	return true, false, nil
}

// fail records a failed attempt and schedules the next or dead-letters the
// delivery.
func (e *Engine) fail(ctx context.Context, task *store.Task, cause error) verdict {
	id := task.Delivery.ID
	attempt := task.Delivery.Attempts + 1
	dead := attempt >= e.cfg.MaxAttempts
	delay := e.backoff(attempt)
	next := time.Now().Add(delay)
	if dead {
		next = time.Time{}
	}
	var unsent *notSent
	reached := !errors.As(cause, &unsent)
	if err := e.db.RecordFailure(ctx, id, task.Generation, truncate(cause.Error(), 500), next, dead, reached); err != nil {
		e.logger.Error("record failed attempt", "delivery_id", id, "error", err)
		return verdict{retry: delay}
	}
	if dead {
		e.metrics.transition(task.Service.ID, joinedup.StateDeadLettered)
		e.logger.Warn("delivery dead-lettered", "delivery_id", id, "service_id", task.Service.ID, "attempts", attempt, "error", cause)
		return verdict{term: true}
	}
	e.metrics.transition(task.Service.ID, joinedup.StateRetrying)
	e.logger.Warn("delivery attempt failed", "delivery_id", id, "service_id", task.Service.ID,
		"attempt", attempt, "retry_in", delay.String(), "error", cause)
	return verdict{retry: delay}
}

// backoff returns the delay after the given failed attempt: full jitter
// between half and all of BaseBackoff·2^(attempt−1), capped at MaxBackoff.
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.BaseBackoff
	for i := 1; i < attempt && d < e.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, e.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// notSent is the error of an attempt that sent the service nothing: it
// failed before its request was made, or could not connect. Such an
// attempt disclosed nothing, so a withdrawal of consent after it calls
// for no notice.
type notSent struct{ err error }

func (e *notSent) Error() string { return e.err.Error() }
func (e *notSent) Unwrap() error { return e.err }

// connectFailed reports whether err is a failure to connect, which
// sent nothing: a refused or unreachable address, a name not found, or
// an address the dialer does not allow.
func connectFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// sender turns a task into a CloudEvent and sends it to the service.
type sender struct {
	cfg    Config
	bus    *natsbus.Bus
	client *http.Client
}

func newSender(cfg Config, bus *natsbus.Bus) *sender {
	// Several services may share a host, as the reference services do, and
	// each may have Concurrency deliveries in flight. A connection beyond
	// the idle limit is closed after its request, and the next request
	// opens a new one, so the limit is set well above that.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = guardedDialer().DialContext
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 1024
	return &sender{cfg: cfg, bus: bus, client: &http.Client{
		Timeout:   cfg.AttemptTimeout,
		Transport: transport,
		// A redirect would send personal data to an address the service did
		// not register.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// guardedDialer returns a dialer with the timeouts of
// http.DefaultTransport's dialer that connects only to addresses that
// joinedup.CheckEndpointAddress allows. Registration rejects such
// addresses written as IP literals, and the dialer also catches a host
// name that resolves to one.
//
// NOTE: with HTTP_PROXY or HTTPS_PROXY set, the dialer connects to the
// proxy, so the proxy resolves the service's host and must apply its own
// rule.
func guardedDialer() *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: checkDialAddress}
}

// checkDialAddress is a net.Dialer Control function. It runs after name
// resolution and before the connection is opened, with address as
// "IP:port", so an error here stops the attempt before any packet is sent.
func checkDialAddress(network, address string, _ syscall.RawConn) error {
	addrPort, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("connection to %s rejected: the address is not an IP address and port: %w", address, err)
	}
	if err := joinedup.CheckEndpointAddress(addrPort.Addr()); err != nil {
		return fmt.Errorf("connection to %s rejected: %w", address, err)
	}
	return nil
}

// Event builds the CloudEvent for a task. The data of a life event is
// reduced to the fields the service declared that the consent decision
// also recorded and, for a service told on the informant's consent, to the
// people that consent covers.
func Event(source string, t *store.Task, now time.Time) (*connector.Event, error) {
	data := t.Data
	if t.Delivery.Kind == t.EventType {
		// A service that declared more fields after the decision was made
		// gets only those the decision recorded.
		fields := t.SentFields()
		var err error
		if t.Decision == joinedup.ConsentNotRequired {
			data, err = joinedup.Project(t.Payload, fields)
		} else {
			data, err = joinedup.ProjectCovered(t.Payload, fields, t.OnBehalf)
		}
		if err != nil {
			return nil, err
		}
	}
	return &connector.Event{
		SpecVersion:     "1.0",
		ID:              string(t.Delivery.ID),
		Source:          source,
		Type:            joinedup.EventTypePrefix + t.Delivery.Kind,
		Subject:         t.Reference,
		Time:            now.UTC(),
		DataContentType: "application/json",
		Data:            data,
		Event:           t.Delivery.EventID,
		Delivery:        t.Delivery.ID,
	}, nil
}

// send makes one attempt and returns the outcome the service reported.
// An attempt that sent nothing returns a *notSent error.
func (s *sender) send(ctx context.Context, t *store.Task) (*joinedup.Outcome, error) {
	ev, err := Event(s.cfg.Source, t, time.Now())
	if err != nil {
		return nil, &notSent{err}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, &notSent{err}
	}
	signer, err := webhook.NewSigner(t.Service.Secret)
	if err != nil {
		return nil, &notSent{fmt.Errorf("service %s secret: %w", t.Service.ID, err)}
	}

	switch t.Service.Endpoint.Kind {
	case joinedup.EndpointWebhook:
		return s.sendWebhook(ctx, t, signer, body)
	case joinedup.EndpointNATS:
		return s.sendNATS(ctx, t, signer, body)
	}
	return nil, &notSent{fmt.Errorf("service %s has unknown endpoint kind %q", t.Service.ID, t.Service.Endpoint.Kind)}
}

func (s *sender) sendWebhook(ctx context.Context, t *store.Task, signer *webhook.Signer, body []byte) (*joinedup.Outcome, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Service.Endpoint.URL, bytes.NewReader(body))
	if err != nil {
		return nil, &notSent{fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", connector.ContentType)
	req.Header.Set("User-Agent", "joinedup-hub")
	signer.SetHeaders(req.Header, string(t.Delivery.ID), time.Now(), body)

	resp, err := s.client.Do(req)
	if err != nil {
		var timeout net.Error
		switch {
		case connectFailed(err):
			return nil, &notSent{fmt.Errorf("post webhook: %w", err)}
		case errors.As(err, &timeout) && timeout.Timeout():
			return nil, fmt.Errorf("timed out: the service did not respond within %s: %w", s.cfg.AttemptTimeout, err)
		}
		return nil, fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("read webhook response: %w", err)
	}
	if len(respBody) > maxResponse {
		return nil, fmt.Errorf("webhook response is larger than the limit of %d KiB: respond with one JSON outcome", maxResponse>>10)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("webhook returned status %s", resp.Status)
	}
	if len(bytes.TrimSpace(respBody)) == 0 {
		if resp.StatusCode == http.StatusAccepted {
			return &joinedup.Outcome{Status: joinedup.OutcomeAccepted}, nil
		}
		return nil, noOutcome(resp.Status)
	}
	return parseOutcome(respBody)
}

// noOutcome is the error of an attempt whose response, with the given
// status, carried no outcome. Only 202 Accepted with an empty body means
// that the outcome follows by callback. Any other empty response would
// leave the delivery waiting for a callback that the service never
// promised, so the attempt fails and is retried, and in the end
// dead-lettered where an operator sees it.
func noOutcome(status string) error {
	return fmt.Errorf("the service responded %s with no outcome: respond 202 Accepted with an empty body to report the outcome later by callback, or respond with a JSON outcome such as {\"status\": \"acted\", \"summary\": \"…\"}", status)
}

func (s *sender) sendNATS(ctx context.Context, t *store.Task, signer *webhook.Signer, body []byte) (*joinedup.Outcome, error) {
	msg := nats.NewMsg(t.Service.Endpoint.Subject)
	msg.Data = body
	h := http.Header{}
	signer.SetHeaders(h, string(t.Delivery.ID), time.Now(), body)
	for k, v := range h {
		msg.Header[k] = v
	}
	msg.Header.Set("Content-Type", connector.ContentType)

	ctx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
	defer cancel()
	reply, err := s.bus.Conn.RequestMsgWithContext(ctx, msg)
	if errors.Is(err, nats.ErrNoResponders) {
		// No subscriber listened on the subject, so none received it.
		return nil, &notSent{fmt.Errorf("nats request: %w", err)}
	} else if err != nil {
		return nil, fmt.Errorf("nats request: %w", err)
	}
	switch status := reply.Header.Get(connector.HeaderStatus); status {
	case "200":
		if len(bytes.TrimSpace(reply.Data)) == 0 {
			return nil, noOutcome("status 200")
		}
		return parseOutcome(reply.Data)
	case "202":
		if len(bytes.TrimSpace(reply.Data)) == 0 {
			return &joinedup.Outcome{Status: joinedup.OutcomeAccepted}, nil
		}
		return parseOutcome(reply.Data)
	default:
		return nil, fmt.Errorf("nats reply status %q", status)
	}
}

// parseOutcome decodes a service's outcome from a response body that is
// not empty.
func parseOutcome(body []byte) (*joinedup.Outcome, error) {
	var o joinedup.Outcome
	if err := json.Unmarshal(body, &o); err != nil {
		return nil, fmt.Errorf("the service's response is not a JSON outcome (%w): respond with an object such as {\"status\": \"acted\", \"summary\": \"…\"}", err)
	}
	// encoding/json keeps the last of a repeated name, compared without
	// regard to case, so a response that gives two statuses would be read
	// as its last.
	if r, found := strictjson.FindRepeatedFoldedName(body); found {
		return nil, fmt.Errorf("the service's response gives %q more than once, at %s: give each name once", r.Name, r.Pointer)
	}
	if err := validateOutcome(&o); err != nil {
		return nil, errors.New("service returned an invalid outcome: " + describeFields(joinedup.ErrorFields(err)))
	}
	return &o, nil
}

// describeFields formats field errors as one line for a delivery's last
// error, each as its JSON Pointer and message, such as "/summary: The
// summary must not contain control characters".
func describeFields(fields []joinedup.FieldError) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}
