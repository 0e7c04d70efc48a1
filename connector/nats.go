package connector

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/nats-io/nats.go"
)

// HeaderStatus is the NATS reply header that carries the HTTP status that a
// webhook response would have: 200 or 202 with an outcome body, or a
// 4xx or 5xx status with a problem document.
const HeaderStatus = "joinedup-status"

// Subscribe serves the NATS subject for services inside the cluster. Each
// request carries the event as its data and the Standard Webhooks headers
// as NATS headers. It is processed exactly as an HTTP delivery, and the
// reply is the outcome JSON (or a problem document) with HeaderStatus set.
// Messages are processed one at a time on the subscription's goroutine.
// Unsubscribe or drain the returned subscription to stop.
func (r *Receiver) Subscribe(ctx context.Context, nc *nats.Conn, subject string) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(subject, func(msg *nats.Msg) {
		r.receiveNATS(ctx, msg)
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", subject, err)
	}
	return sub, nil
}

func (r *Receiver) receiveNATS(ctx context.Context, msg *nats.Msg) {
	var resp response
	h := http.Header{}
	for key, values := range msg.Header {
		for _, v := range values {
			h.Add(key, v)
		}
	}

	switch {
	case msg.Reply == "":
		r.logger.Warn("nats message without reply subject ignored", "service", r.service, "subject", msg.Subject)
		return
	case len(msg.Data) > MaxBodyBytes:
		resp = problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is over %d bytes.", MaxBodyBytes))
	default:
		resp = r.receive(ctx, h, msg.Data)
	}

	reply := nats.NewMsg(msg.Reply)
	reply.Header.Set(HeaderStatus, strconv.Itoa(resp.status))
	reply.Data = resp.body
	if err := msg.RespondMsg(reply); err != nil {
		r.logger.Error("nats reply failed", "service", r.service, "subject", msg.Subject, "error", err)
	}
}
