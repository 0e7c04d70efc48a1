// Package natsbus connects the hub to NATS JetStream: a server embedded in
// the process for the embedded default, or an external server or cluster.
//
// Subjects and streams. Every delivery is one message on the subject
// "joinedup.deliveries.<service id>" in the stream DELIVERIES. The body is
// the delivery id and the Nats-Msg-Id header is "<delivery id>.<generation>",
// so a message published twice within the duplicate window is stored once.
// The stream is a work queue: each service has one durable pull consumer
// filtered on its own subject, shared by every hub node, so each message is
// handled by one node and a slow service delays no other. A message is
// removed when a worker acknowledges it, after the store has recorded the
// result. The store, not the stream, holds each delivery's state; the
// stream only carries the work.
//
// Durability. The embedded server writes with SyncAlways, so a message
// acknowledged to the publisher is on disk. A server from version 2.12 on
// also takes atomic batches (PublishBatch), which it syncs once for the
// whole batch before acknowledging it. An external cluster should run
// the stream with three replicas (Config.Replicas), where an acknowledged
// message is held by a majority.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subject names.
const (
	StreamName      = "DELIVERIES"
	SubjectPrefix   = "joinedup.deliveries."
	DuplicateWindow = 10 * time.Minute
)

// ConsumerName returns the durable consumer of a service's deliveries.
func ConsumerName(service string) string { return "service_" + service }

// Config is the location and settings of the bus.
type Config struct {
	// URL of an external NATS server or cluster, such as
	// nats://127.0.0.1:4222. Empty starts a server inside the process.
	URL string
	// Dir is the embedded server's JetStream directory.
	Dir string
	// Replicas of the stream on an external cluster; 1 when zero. Open
	// creates a new stream with them, and rejects an existing stream with
	// another number with a *ReplicasError.
	Replicas int
	// Stream overrides StreamName, so tests sharing one external server
	// keep apart; the subjects are prefixed with it too.
	Stream string
	// StoreID is the identity of the store whose deliveries the stream
	// carries. Open records it on the stream, and fails with
	// ErrOtherStore when the stream records another. Empty skips the
	// check and keeps whatever identity the stream records.
	StoreID string
	Logger  *slog.Logger
}

// ErrOtherStore means the stream records the identity of another store,
// so its messages name deliveries that this hub's store does not have.
var ErrOtherStore = errors.New("the stream carries the deliveries of another store")

// ReplicasError is the error of opening an existing stream whose number
// of replicas differs from Config.Replicas. The hub does not change the
// replicas of an existing stream, so that nodes started with different
// settings do not change them back and forth.
type ReplicasError struct {
	Stream    string
	Replicas  int // of the stream
	Requested int // Config.Replicas
}

func (e *ReplicasError) Error() string {
	unit := "replicas"
	if e.Replicas == 1 {
		unit = "replica"
	}
	return fmt.Sprintf("stream %s has %d %s, not the %d requested", e.Stream, e.Replicas, unit, e.Requested)
}

// Bus is a connection to JetStream with the deliveries stream in place.
type Bus struct {
	Conn   *nats.Conn
	JS     jetstream.JetStream
	Stream jetstream.Stream
	// AtomicBatches is whether PublishBatch can be used: the server is
	// version 2.12 or later and the stream allows atomic publishing.
	AtomicBatches bool
	prefix        string
	name          string
	replicas      int
	server        *server.Server
	logger        *slog.Logger
}

// Open starts or connects to the bus and creates or updates the stream,
// which records cfg.StoreID.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	b, err := Connect(cfg)
	if err != nil {
		return nil, err
	}
	if err := b.OpenStream(ctx, cfg.StoreID); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Connect starts the embedded server or connects to the external one,
// without creating or changing the stream. The bus is ready for use once
// OpenStream has returned.
func Connect(cfg Config) (*Bus, error) {
	if err := ValidateStreamName(cfg.Stream); err != nil {
		return nil, err
	}
	b := &Bus{name: StreamName, prefix: SubjectPrefix, replicas: max(cfg.Replicas, 1), logger: cfg.Logger}
	if cfg.Stream != "" {
		b.name = cfg.Stream
		b.prefix = "joinedup." + cfg.Stream + ".deliveries."
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}

	var err error
	if cfg.URL == "" {
		if b.server, err = startEmbedded(cfg.Dir); err != nil {
			return nil, err
		}
		b.Conn, err = nats.Connect("", nats.InProcessServer(b.server), nats.Name("joinedup"))
	} else {
		b.Conn, err = nats.Connect(cfg.URL, nats.Name("joinedup"),
			nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				// The error is nil when the hub closes the connection itself.
				if err != nil {
					b.logger.Warn("nats disconnected", "error", err)
				}
			}),
			nats.ReconnectHandler(func(*nats.Conn) { b.logger.Info("nats reconnected") }))
	}
	if err != nil {
		b.Close()
		if cfg.URL == "" {
			return nil, fmt.Errorf("connect to the embedded nats server: %w", err)
		}
		return nil, fmt.Errorf("connect to nats at %s: %w", RedactURLs(cfg.URL), err)
	}

	if b.JS, err = jetstream.New(b.Conn); err != nil {
		b.Close()
		return nil, fmt.Errorf("open jetstream: %w", err)
	}
	b.AtomicBatches = versionAtLeast(b.Conn.ConnectedServerVersion(), 2, 12)
	return b, nil
}

// OpenStream creates or updates the stream of a bus from Connect, which
// records storeID as Config.StoreID describes.
func (b *Bus) OpenStream(ctx context.Context, storeID string) error {
	if err := b.openStream(ctx, b.replicas, storeID); err != nil {
		return err
	}
	if b.server != nil {
		return b.offerUnacknowledged(ctx, b.logger)
	}
	return nil
}

// ValidateStreamName checks a name for Config.Stream, where empty means
// StreamName. The server keeps a stream in a directory of its name, and
// the name is a token of the stream's subjects, so it may not contain
// whitespace, control characters, '.', '*', '>', '/' or '\', and has at
// most 255 bytes.
func ValidateStreamName(name string) error {
	if len(name) > 255 {
		return fmt.Errorf("stream name has %d bytes, more than the 255 that NATS allows", len(name))
	}
	if strings.ContainsFunc(name, notInStreamName) {
		return fmt.Errorf("stream name %q contains a character that NATS does not allow in one: use letters, digits, - and _, such as DELIVERIES_TEST", name)
	}
	return nil
}

func notInStreamName(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(".*>/\\", r)
}

// RedactURLs returns a comma-separated list of NATS URLs with the user
// name, password or token of each left out, for messages and logs.
func RedactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, part := range parts {
		u, err := url.Parse(strings.TrimSpace(part))
		switch {
		case err != nil:
			parts[i] = "(invalid URL)"
		case u.User != nil:
			u.User = nil
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// storeMetadataKey is the key of the stream's metadata that records the
// identity of the store whose deliveries the stream carries.
const storeMetadataKey = "joinedup_store_id"

// storeInDescription finds the store's identity in the stream's
// description. NATS servers before 2.10, such as 2.9.10, drop a stream's
// metadata without an error, so the identity is in the description too.
var storeInDescription = regexp.MustCompile(`^joinedup deliveries of store ([0-9a-f]+),`)

// openStream creates the deliveries stream, or updates an existing one to
// the current settings. An existing stream that records no store is
// adopted by storeID. One that records another store is left unchanged,
// and openStream returns ErrOtherStore. One whose number of replicas is
// not replicas is left unchanged too, and openStream returns a
// *ReplicasError.
func (b *Bus) openStream(ctx context.Context, replicas int, storeID string) error {
	want := jetstream.StreamConfig{
		Name:               b.name,
		AllowAtomicPublish: b.AtomicBatches,
		Subjects:           []string{b.prefix + ">"},
		Retention:          jetstream.WorkQueuePolicy,
		Storage:            jetstream.FileStorage,
		Replicas:           replicas,
		Duplicates:         DuplicateWindow,
		Discard:            jetstream.DiscardNew,
	}
	stream, err := b.JS.Stream(ctx, b.name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		b.Stream, err = b.JS.CreateStream(ctx, recordStore(want, nil, storeID))
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			if err != nil {
				return fmt.Errorf("create stream %s: %w", b.name, err)
			}
			return nil
		}
		// Another node created the stream after the lookup, perhaps for
		// another store, so it is checked like any existing stream.
		stream, err = b.JS.Stream(ctx, b.name)
	}
	if err != nil {
		return fmt.Errorf("read stream %s: %w", b.name, err)
	}

	existing := stream.CachedInfo().Config
	if storeID, err = b.checkStream(existing, replicas, storeID); err != nil {
		return err
	}
	// NOTE: two hubs on different stores that adopt one stream at the same
	// moment both succeed, and the later update decides which store the
	// stream records.
	if b.Stream, err = b.JS.UpdateStream(ctx, recordStore(want, existing.Metadata, storeID)); err != nil {
		return fmt.Errorf("update stream %s: %w", b.name, err)
	}
	return nil
}

// CheckStream returns the error that OpenStream would return for the
// stream's store or replicas, without creating or changing the stream. A
// stream that does not exist passes. created is the time the server
// created the stream, as StreamCreated describes, or the zero time when
// the stream does not exist.
func (b *Bus) CheckStream(ctx context.Context, storeID string) (created time.Time, err error) {
	stream, err := b.JS.Stream(ctx, b.name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("read stream %s: %w", b.name, err)
	}
	info := stream.CachedInfo()
	if _, err := b.checkStream(info.Config, b.replicas, storeID); err != nil {
		return time.Time{}, err
	}
	return info.Created, nil
}

// StreamCreated returns the time the server created the stream that
// OpenStream created or opened. The server stores it with the stream, so
// it survives restarts, and in a cluster every server reports the time of
// the stream's assignment (nats-server 2.15.3, server/stream.go). A
// stream deleted and created again under the same name has another time.
func (b *Bus) StreamCreated() time.Time {
	return b.Stream.CachedInfo().Created
}

// checkStream checks the configuration of an existing stream against
// storeID and replicas, as openStream describes, and returns the store
// identity to record on the stream: storeID, or when that is empty the
// identity that the stream records.
func (b *Bus) checkStream(existing jetstream.StreamConfig, replicas int, storeID string) (string, error) {
	recorded := recordedStore(existing)
	switch {
	case storeID == "":
		storeID = recorded
	case recorded != "" && recorded != storeID:
		return "", fmt.Errorf("stream %s records store %s, and this hub's store is %s: %w", b.name, recorded, storeID, ErrOtherStore)
	}
	// A stream created without replicas has one.
	if have := max(existing.Replicas, 1); have != replicas {
		return "", &ReplicasError{Stream: b.name, Replicas: have, Requested: replicas}
	}
	return storeID, nil
}

// recordStore returns cfg with storeID recorded in its metadata and its
// description, keeping the other entries of metadata. The server manages
// the entries whose keys start with "_nats.", so they are left out.
func recordStore(cfg jetstream.StreamConfig, metadata map[string]string, storeID string) jetstream.StreamConfig {
	cfg.Description = "joinedup deliveries, one subject per connected service"
	cfg.Metadata = map[string]string{}
	for k, v := range metadata {
		if !strings.HasPrefix(k, "_nats.") && k != storeMetadataKey {
			cfg.Metadata[k] = v
		}
	}
	if storeID != "" {
		cfg.Description = "joinedup deliveries of store " + storeID + ", one subject per connected service"
		cfg.Metadata[storeMetadataKey] = storeID
	}
	if len(cfg.Metadata) == 0 {
		cfg.Metadata = nil
	}
	return cfg
}

// StreamStore returns the identity of the store that the stream records,
// or "" when it records none.
func (b *Bus) StreamStore(ctx context.Context) (string, error) {
	info, err := b.Stream.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("read stream %s: %w", b.name, err)
	}
	return recordedStore(info.Config), nil
}

// recordedStore returns the identity of the store that a stream's
// configuration records, or "" when it records none.
func recordedStore(cfg jetstream.StreamConfig) string {
	if id := cfg.Metadata[storeMetadataKey]; id != "" {
		return id
	}
	if m := storeInDescription.FindStringSubmatch(cfg.Description); m != nil {
		return m[1]
	}
	return ""
}

// offerUnacknowledged deletes each consumer that has messages delivered
// but not acknowledged, which the embedded server's last run left behind
// when it stopped without a clean shutdown. The delivery engine creates
// the consumer again, and a new consumer is offered every message still
// in the stream at once: in a work queue that is every message not yet
// acknowledged. Without this, those messages would wait for their
// acknowledgement timeout. Only the embedded server may do it, because
// no other process consumes from it; on an external cluster another node
// may be handling them.
func (b *Bus) offerUnacknowledged(ctx context.Context, logger *slog.Logger) error {
	consumers := b.Stream.ListConsumers(ctx)
	var stale []*jetstream.ConsumerInfo
	for info := range consumers.Info() {
		if info.NumAckPending > 0 {
			stale = append(stale, info)
		}
	}
	if err := consumers.Err(); err != nil {
		return fmt.Errorf("list consumers of stream %s: %w", b.name, err)
	}
	for _, info := range stale {
		if err := b.Stream.DeleteConsumer(ctx, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("delete consumer %s: %w", info.Name, err)
		}
		logger.Info("messages left unacknowledged by the last run are offered again now", "consumer", info.Name, "messages", info.NumAckPending)
	}
	return nil
}

func startEmbedded(dir string) (*server.Server, error) {
	if dir == "" {
		return nil, errors.New("start embedded nats: no JetStream directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create jetstream directory: %w", err)
	}
	opts := &server.Options{
		ServerName: "joinedup-embedded",
		DontListen: true, // reachable only from inside this process
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      true,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("create embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("start embedded nats: not ready after 30s")
	}
	return ns, nil
}

// versionAtLeast reports whether the server version v, such as "2.12.1",
// is major.minor or later.
func versionAtLeast(v string, major, minor int) bool {
	var gotMajor, gotMinor int
	if _, err := fmt.Sscanf(v, "%d.%d", &gotMajor, &gotMinor); err != nil {
		return false
	}
	return gotMajor > major || gotMajor == major && gotMinor >= minor
}

// Subject returns the subject of deliveries to a service on this bus.
func (b *Bus) Subject(service string) string { return b.prefix + service }

// Consumer creates or updates the durable consumer of a service's
// deliveries. ackWait bounds how long a worker may hold a message before
// it is offered again; it must exceed the longest attempt.
func (b *Bus) Consumer(ctx context.Context, service string, ackWait time.Duration, maxAckPending int) (jetstream.Consumer, error) {
	c, err := b.Stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       ConsumerName(service),
		FilterSubject: b.Subject(service),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: maxAckPending,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer for service %s: %w", service, err)
	}
	return c, nil
}

// DeleteConsumer deletes the durable consumer of a service's deliveries.
// A consumer that does not exist is not an error.
func (b *Bus) DeleteConsumer(ctx context.Context, service string) error {
	err := b.Stream.DeleteConsumer(ctx, ConsumerName(service))
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer for service %s: %w", service, err)
	}
	return nil
}

// PurgeService removes every message of a service's subject from the
// stream without delivering it.
func (b *Bus) PurgeService(ctx context.Context, service string) error {
	if err := b.Stream.Purge(ctx, jetstream.WithPurgeSubject(b.Subject(service))); err != nil {
		return fmt.Errorf("purge messages for service %s: %w", service, err)
	}
	return nil
}

// QueuedByService returns the number of messages in the stream for each
// service that has any, by service id.
func (b *Bus) QueuedByService(ctx context.Context) (map[string]uint64, error) {
	info, err := b.Stream.Info(ctx, jetstream.WithSubjectFilter(b.prefix+">"))
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", b.name, err)
	}
	out := make(map[string]uint64, len(info.State.Subjects))
	for subject, n := range info.State.Subjects {
		out[strings.TrimPrefix(subject, b.prefix)] = n
	}
	return out, nil
}

// Name returns the name of the deliveries stream.
func (b *Bus) Name() string { return b.name }

// Embedded reports whether the NATS server runs inside this process.
func (b *Bus) Embedded() bool { return b.server != nil }

// Connected reports whether the connection to the NATS server is up.
func (b *Bus) Connected() bool {
	return b.Conn != nil && b.Conn.IsConnected()
}

// Ping checks that the connection is up.
func (b *Bus) Ping(ctx context.Context) error {
	if !b.Connected() {
		return errors.New("nats: not connected")
	}
	_, err := b.Stream.Info(ctx)
	return err
}

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() {
	if b.Conn != nil {
		b.Conn.Close()
	}
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
}
