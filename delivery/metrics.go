package delivery

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/natsbus"
	"github.com/joinedup/joinedup/store"
)

// Metrics are the engine's Prometheus collectors. The delivery counts by
// service and state and the queue depths are read from the store and the
// stream when scraped, so every node reports the cluster's totals.
type Metrics struct {
	db  *store.DB
	bus *natsbus.Bus

	attempts    *prometheus.CounterVec
	transitions *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	attemptTime *prometheus.HistogramVec

	deliveriesDesc *prometheus.Desc
	outboxDesc     *prometheus.Desc
	pendingDesc    *prometheus.Desc
}

func newMetrics(db *store.DB, bus *natsbus.Bus) *Metrics {
	return &Metrics{
		db:  db,
		bus: bus,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joinedup_delivery_attempts_total",
			Help: "Attempts to send a delivery, by service and result (ok or error), made by this node.",
		}, []string{"service", "result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joinedup_delivery_transitions_total",
			Help: "Deliveries that entered a state, by service and state, on this node.",
		}, []string{"service", "state"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "joinedup_delivery_latency_seconds",
			Help:    "Time from a life event's registration to a service confirming its delivery.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 16),
		}, []string{"service"}),
		attemptTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "joinedup_delivery_attempt_seconds",
			Help:    "Duration of one attempt to send a delivery.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"service"}),
		deliveriesDesc: prometheus.NewDesc("joinedup_deliveries",
			"Deliveries by service and state, read from the store.", []string{"service", "state"}, nil),
		outboxDesc: prometheus.NewDesc("joinedup_outbox_depth",
			"Deliveries accepted but not yet published to the event bus.", nil, nil),
		pendingDesc: prometheus.NewDesc("joinedup_queue_depth",
			"Messages waiting in a service's queue or being handled, read from JetStream. A message names one or more of the service's deliveries.", []string{"service"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.attempts.Describe(ch)
	m.transitions.Describe(ch)
	m.latency.Describe(ch)
	m.attemptTime.Describe(ch)
	ch <- m.deliveriesDesc
	ch <- m.outboxDesc
	ch <- m.pendingDesc
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.attempts.Collect(ch)
	m.transitions.Collect(ch)
	m.latency.Collect(ch)
	m.attemptTime.Collect(ch)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if counts, err := m.db.CountDeliveries(ctx); err == nil {
		for service, states := range counts {
			for state, n := range states {
				ch <- prometheus.MustNewConstMetric(m.deliveriesDesc, prometheus.GaugeValue, float64(n), string(service), string(state))
			}
		}
	}
	if n, err := m.db.OutboxDepth(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(m.outboxDesc, prometheus.GaugeValue, float64(n))
	}
	if m.bus == nil {
		return
	}
	consumers := m.bus.Stream.ListConsumers(ctx)
	for info := range consumers.Info() {
		service := info.Config.FilterSubject[len(m.bus.Subject("")):]
		depth := float64(info.NumPending) + float64(info.NumAckPending)
		ch <- prometheus.MustNewConstMetric(m.pendingDesc, prometheus.GaugeValue, depth, service)
	}
}

func (m *Metrics) attempt(service joinedup.ServiceID, ok bool, d time.Duration) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.attempts.WithLabelValues(string(service), result).Inc()
	m.attemptTime.WithLabelValues(string(service)).Observe(d.Seconds())
}

func (m *Metrics) transition(service joinedup.ServiceID, state joinedup.DeliveryState) {
	m.transitions.WithLabelValues(string(service), string(state)).Inc()
}

// settled counts the state an outcome moved a delivery to and, for a
// confirmation, observes the latency since the delivery was created. A
// life event's own deliveries are created when it is registered.
func (m *Metrics) settled(service joinedup.ServiceID, status string, created, now time.Time) {
	var state joinedup.DeliveryState
	switch status {
	case joinedup.OutcomeAccepted:
		m.transition(service, joinedup.StateDelivered)
		return
	case joinedup.OutcomeActed:
		state = joinedup.StateActed
	default:
		state = joinedup.StateFailed
	}
	m.transition(service, state)
	m.latency.WithLabelValues(string(service)).Observe(now.Sub(created).Seconds())
}
