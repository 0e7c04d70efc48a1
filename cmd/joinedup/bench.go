package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/natsbus"
	"github.com/joinedup/joinedup/reference/population"
)

// Limits on the benchmark's sizes.
const (
	maxBenchMessages = 1_000_000
	maxBenchBirths   = 100_000
	maxBenchRounds   = 20
	maxBenchClients  = 1024
	maxHalfLoad      = 10 * time.Minute
)

const benchUsage = `Usage:
  joinedup bench [flags]

Measures, on this machine, the raw JetStream and loopback webhook rates,
then joinedup end to end with the reference services, at saturation and
at half the saturating rate. BENCHMARKS.md explains the output.

Flags:
`

// runBench measures, in one run on this machine, the raw durable JetStream
// rate, the raw loopback webhook rate, and joinedup end to end with the four
// reference services as webhook receivers, first at saturation and then at
// half the saturating rate.
//
// The rates of a shared machine drift from minute to minute, so the raw
// rates and the saturating run are measured in rounds, one after another
// in each round. Each round's ratio compares rates measured within the
// same half minute, and the headline is the median of the rounds'.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("joinedup bench", flag.ContinueOnError)
	messages := fs.Int("messages", 20000, "messages for the raw JetStream and webhook rates")
	births := fs.Int("births", 2000, "births registered at saturation in each round")
	rounds := fs.Int("rounds", 3, "rounds of the raw rates and the saturating run")
	duration := fs.Duration("half-load-for", 20*time.Second, "how long to register births at half the saturating rate")
	halfRate := fs.Float64("half-load-rate", 0, "births a second for the half load, instead of half the saturating rate; 0 derives it")
	workers := fs.Int("concurrency", 32, "concurrent clients for the raw webhook rate and the saturating load")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the first saturating run to this file")
	memProfile := fs.String("memprofile", "", "write the allocation profile after the first saturating run to this file, and the one before it to the same name with .before added; go tool pprof -base compares them")
	bare := fs.Bool("bare-receivers", false, "receive with four bare webhook handlers instead of the reference services, to measure the hub alone")
	deliveryConcurrency := fs.Int("delivery-concurrency", DefaultConfig().Concurrency, "deliveries in flight to each service at once, as serve's -delivery-concurrency")
	if err := parseFlags(fs, args, benchUsage, stderr); err != nil {
		return err
	}
	// The upper bounds keep the registrations, which are built before
	// the first round, to a few hundred megabytes.
	switch {
	case *messages < 1 || *messages > maxBenchMessages:
		return fmt.Errorf("-messages must be from 1 to %d, not %d", maxBenchMessages, *messages)
	case *births < 1 || *births > maxBenchBirths:
		return fmt.Errorf("-births must be from 1 to %d, not %d", maxBenchBirths, *births)
	case *rounds < 1 || *rounds > maxBenchRounds:
		return fmt.Errorf("-rounds must be from 1 to %d, not %d", maxBenchRounds, *rounds)
	case *workers < 1 || *workers > maxBenchClients:
		return fmt.Errorf("-concurrency must be from 1 to %d, not %d", maxBenchClients, *workers)
	case *halfRate < 0 || *halfRate > 10000 || math.IsNaN(*halfRate):
		return fmt.Errorf("-half-load-rate must be between 0 and 10000 births a second, not %g", *halfRate)
	case *duration <= 0 || *duration > maxHalfLoad:
		return fmt.Errorf("-half-load-for must be more than 0 and at most %s, not %s", maxHalfLoad, *duration)
	}
	check := DefaultConfig()
	check.Concurrency = *deliveryConcurrency
	if err := check.Validate(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "joinedup-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintf(stdout, "machine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())

	cfg := DefaultConfig()
	cfg.Addr, cfg.Data, cfg.Demo = "127.0.0.1:0", dir+"/hub", !*bare
	cfg.APIToken = joinedup.NewID("bench")
	cfg.Concurrency = *deliveryConcurrency
	if *bare {
		// Without the demo council, the API token registers births for an
		// organisation of the benchmark's own, which must exist at start.
		file := filepath.Join(dir, "services.json")
		if err := os.WriteFile(file, []byte(`{"organisations": [{"id": "bench", "name": "Benchmark"}], "services": []}`), 0o600); err != nil {
			return err
		}
		cfg.ServicesFile, cfg.APITokenOrganisation = file, "bench"
	}
	hub, err := OpenHub(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer hub.Close()
	if *bare {
		stop, err := bareReceivers(ctx, hub)
		if err != nil {
			return err
		}
		defer stop()
	}
	regs, err := demoBirths(ctx, hub, 0, *rounds**births)
	if err != nil {
		return err
	}

	body := sampleEvent()
	var js, batched, hooks, accepts, confirms, ratios, batchedRatios []float64
	var jsCPUs, hookCPUs, hubCPUs []float64 // microseconds per message or delivery
	var sat loadResult
	var peak int64
	for round := range *rounds {
		jsRate, jsCPU, err := rawRate(ctx, rawJetStream, *messages, *workers)
		if err != nil {
			return fmt.Errorf("raw jetstream: %w", err)
		}
		batchRate, _, err := rawRate(ctx, rawJetStreamBatched, *messages, *workers)
		if err != nil {
			return fmt.Errorf("raw jetstream in atomic batches: %w", err)
		}
		hookRate, hookCPU, err := rawRate(ctx, rawWebhook, *messages, *workers)
		if err != nil {
			return fmt.Errorf("raw webhook: %w", err)
		}

		sampler := startRSSSampler()
		if *cpuProfile != "" && round == 0 {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		if *memProfile != "" && round == 0 {
			if err := writeAllocs(*memProfile + ".before"); err != nil {
				return err
			}
		}
		res, err := loadHub(ctx, hub, cfg.APIToken, regs[round**births:(round+1)**births], *births, *workers, 0)
		if *cpuProfile != "" && round == 0 {
			pprof.StopCPUProfile()
		}
		if *memProfile != "" && round == 0 {
			if err := writeAllocs(*memProfile); err != nil {
				return err
			}
		}
		peak = max(peak, sampler.stop())
		if err != nil {
			return err
		}

		slower := min(jsRate, hookRate)
		js, batched, hooks = append(js, jsRate), append(batched, batchRate), append(hooks, hookRate)
		accepts, confirms = append(accepts, res.acceptRate), append(confirms, res.confirmRate)
		ratios = append(ratios, res.confirmRate/slower)
		batchedRatios = append(batchedRatios, res.confirmRate/min(batchRate, hookRate))
		jsCPUs, hookCPUs = append(jsCPUs, float64(jsCPU.Microseconds())), append(hookCPUs, float64(hookCPU.Microseconds()))
		hubCPUs = append(hubCPUs, float64(res.cpu.Microseconds()))
		sat = res
		fmt.Fprintf(stdout, "round %d: raw JetStream %.0f messages/s one at a time, %.0f in atomic batches of %d; raw webhook %.0f requests/s; "+
			"joinedup %.0f births accepted/s, %.0f deliveries confirmed/s in %.1f deliveries a JetStream message, last confirmation p50 %s p99 %s: %.2f of the slower raw rate; "+
			"CPU time per message: raw JetStream %s, raw webhook %s, joinedup %s per confirmed delivery\n",
			round+1, jsRate, batchRate, rawBatch, hookRate, res.acceptRate, res.confirmRate, perMessage(res), res.p50, res.p99, res.confirmRate/slower,
			jsCPU, hookCPU, res.cpu)
	}

	across, ratioAcross := "median of "+strconv.Itoa(*rounds)+" rounds", "median of the rounds' ratios"
	if *rounds == 1 {
		across, ratioAcross = "one round", "one round"
	}
	fmt.Fprintf(stdout, "raw JetStream, durable publish and consume, one message at a time: %.0f messages/s (%s)\n", median(js), across)
	fmt.Fprintf(stdout, "raw JetStream, durable publish in atomic batches of %d and consume: %.0f messages/s (%s)\n", rawBatch, median(batched), across)
	fmt.Fprintf(stdout, "raw loopback webhook, %d-byte POST, %d clients: %.0f requests/s (%s)\n", len(body), *workers, median(hooks), across)
	fmt.Fprintf(stdout, "joinedup at saturation, %d births, %d clients: %.0f births accepted/s, %.0f deliveries confirmed/s (%s), "+
		"%.2f of the slower raw rate and %.2f of the raw rate in atomic batches (%s)\n",
		*births, *workers, median(accepts), median(confirms), across, median(ratios), median(batchedRatios), ratioAcross)
	// CPU time per message does not move with the disk's sync latency,
	// which sets the raw JetStream rate, so it compares the two sides of
	// the ratio on a steadier footing.
	fmt.Fprintf(stdout, "CPU time per message (%s): raw JetStream %s, raw webhook %s (each process, start-up included); "+
		"joinedup %s per confirmed delivery (the whole process: hub, reference services and load clients)\n",
		across, micros(median(jsCPUs)), micros(median(hookCPUs)), micros(median(hubCPUs)))

	// The saturating load is the rate at which births are carried through
	// to every service's confirmation, not the faster rate at which intake
	// alone accepts them.
	perBirth := float64(sat.deliveries) / float64(*births)
	half := median(confirms) / perBirth / 2
	if *halfRate > 0 {
		half = *halfRate
	}
	halfRegs, err := demoBirths(ctx, hub, len(regs), max(1, int(half*duration.Seconds())))
	if err != nil {
		return err
	}
	sampler := startRSSSampler()
	load, err := loadHub(ctx, hub, cfg.APIToken, halfRegs, len(halfRegs), *workers, half)
	peak = max(peak, sampler.stop())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "joinedup at half load, %.0f births/s for %s: %.0f births accepted/s, %.0f deliveries confirmed/s in %.1f deliveries a JetStream message, acceptance to last confirmation p50 %s p99 %s\n",
		half, *duration, load.acceptRate, load.confirmRate, perMessage(load), load.p50, load.p99)
	parts := make([]string, len(load.byService))
	for i, l := range load.byService {
		parts[i] = l.format(len(halfRegs))
	}
	fmt.Fprintf(stdout, "joinedup at half load, from acceptance to each service's confirmation: %s\n", strings.Join(parts, "; "))
	fmt.Fprintf(stdout, "peak memory during the joinedup runs (resident set of the whole process, hub and reference services): %.0f MiB\n", float64(peak)/(1<<20))
	return nil
}

// micros returns us microseconds as a duration.
func micros(us float64) time.Duration { return time.Duration(us * float64(time.Microsecond)) }

// median returns the median of xs, or the mean of the middle two when
// there is an even number of them.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// The raw rates that rawRate measures.
const (
	rawJetStream        = "jetstream"
	rawJetStreamBatched = "jetstream-batched"
	rawWebhook          = "webhook"
)

// rawRate measures one raw rate with n messages in a process of its own,
// so that the hub's heap and goroutines in this process do not slow it.
// The process is this program run as "joinedup bench-raw". It returns the
// rate and the CPU time the process used per message, start-up included.
func rawRate(ctx context.Context, kind string, n, concurrency int) (float64, time.Duration, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, fmt.Errorf("find this program to run the raw rate: %w", err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "bench-raw", kind, strconv.Itoa(n), strconv.Itoa(concurrency))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%s printed %q, not a rate", strings.Join(cmd.Args, " "), out)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return rate, (cpu / time.Duration(n)).Round(time.Microsecond), nil
}

const benchRawUsage = `Usage:
  joinedup bench-raw jetstream|jetstream-batched|webhook MESSAGES CLIENTS

Measures one raw rate and prints it in messages or requests per second.
CLIENTS is used by the webhook rate; the JetStream rates keep 256
messages in flight. joinedup bench runs it; it is not meant to be run by
hand.
`

// runBenchRaw measures the raw rate that args name and prints it in
// messages or requests per second. The bench command runs it; it is not
// meant to be run by hand.
func runBenchRaw(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// bench-raw defines no flags, but -h prints its usage and any other
	// flag is rejected.
	flags := flag.NewFlagSet("joinedup bench-raw", flag.ContinueOnError)
	args, err := newFlagParser(flags, benchRawUsage, stderr).parse(args)
	if err != nil {
		return err
	}
	if len(args) != 3 {
		return fmt.Errorf("bench-raw: want 3 arguments, got %d: run joinedup bench-raw -h for its usage", len(args))
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 || n > maxBenchMessages {
		return fmt.Errorf("bench-raw: MESSAGES must be a whole number from 1 to %d, not %q", maxBenchMessages, args[1])
	}
	concurrency, err := strconv.Atoi(args[2])
	if err != nil || concurrency < 1 || concurrency > maxBenchClients {
		return fmt.Errorf("bench-raw: CLIENTS must be a whole number from 1 to %d, not %q", maxBenchClients, args[2])
	}
	dir, err := os.MkdirTemp("", "joinedup-bench-raw")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// Every raw rate carries the body of a delivery to a reference
	// service, so each moves the same payload per delivery. The hub's
	// saturating run leaves data waiting to be written back, so each raw
	// rate starts from a synced disk, as the first round's does.
	body := sampleEvent()
	syncDisks()
	var rate float64
	switch args[0] {
	case rawJetStream:
		rate, err = benchJetStream(ctx, dir, n, false, body)
	case rawJetStreamBatched:
		rate, err = benchJetStream(ctx, dir, n, true, body)
	case rawWebhook:
		rate, err = benchWebhook(ctx, n, concurrency, body)
	default:
		return fmt.Errorf("bench-raw: unknown rate %q; use jetstream, jetstream-batched or webhook", args[0])
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%.1f\n", rate)
	return err
}

// sampleEvent returns a CloudEvent body of the size a reference service
// receives.
func sampleEvent() []byte {
	reg := population.Births(1, 1, joinedup.Today(time.Now()))[0]
	data, _ := json.Marshal(reg)
	ev := map[string]any{
		"specversion": "1.0", "id": joinedup.NewID("dlv"), "source": "http://127.0.0.1:8080",
		"type": "uk.gov.joinedup.birth.registered", "subject": joinedup.NewReference(),
		"time": time.Now().UTC(), "datacontenttype": "application/json", "data": json.RawMessage(data),
		"joinedupevent": joinedup.NewID("evt"), "joinedupdelivery": joinedup.NewID("dlv"),
	}
	b, _ := json.Marshal(ev)
	return b
}

// rawBatch is the size of the atomic batches in the batched raw JetStream
// rate: the maximum number of outbox messages the hub's relay reads at
// once.
const rawBatch = 256

// benchJetStream publishes n messages carrying payload to an embedded
// JetStream with the hub's durability, each with a message id. It
// consumes and acknowledges them and returns messages per second.
// Unbatched, each message is published on its own, with up to rawBatch in
// flight. Batched, the messages go in atomic batches of rawBatch, as the
// hub's relay sends them under load.
func benchJetStream(ctx context.Context, dir string, n int, batched bool, payload []byte) (float64, error) {
	bus, err := natsbus.Open(ctx, natsbus.Config{Dir: dir})
	if err != nil {
		return 0, err
	}
	defer bus.Close()
	if batched && !bus.AtomicBatches {
		return 0, errors.New("the embedded server does not take atomic batches")
	}
	c, err := bus.Consumer(ctx, "bench", 30*time.Second, 1024)
	if err != nil {
		return 0, err
	}
	var consumed atomic.Int64
	done := make(chan struct{})
	cc, err := c.Consume(func(m jetstream.Msg) {
		m.Ack()
		if consumed.Add(1) == int64(n) {
			close(done)
		}
	})
	if err != nil {
		return 0, err
	}
	defer cc.Stop()

	start := time.Now()
	subject := bus.Subject("bench")
	for i := 0; i < n; i += rawBatch {
		if batched {
			var msgs []*nats.Msg
			for range min(rawBatch, n-i) {
				id := joinedup.NewID("dlv")
				msgs = append(msgs, &nats.Msg{Subject: subject, Data: payload,
					Header: nats.Header{jetstream.MsgIDHeader: []string{id + ".0"}}})
			}
			if err := bus.PublishBatch(ctx, msgs); err != nil {
				return 0, err
			}
			continue
		}
		var futures []jetstream.PubAckFuture
		for range min(rawBatch, n-i) {
			id := joinedup.NewID("dlv")
			f, err := bus.JS.PublishAsync(subject, payload, jetstream.WithMsgID(id+".0"))
			if err != nil {
				return 0, err
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return 0, err
			}
		}
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		return 0, errors.New("messages not consumed within 2 minutes")
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// benchWebhook POSTs body n times with the given concurrency to a bare
// handler on loopback and returns requests per second.
func benchWebhook(ctx context.Context, n, concurrency int, body []byte) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"acted","summary":"Recorded"}`))
	})}
	go srv.Serve(ln)
	defer srv.Close()

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = concurrency
	client := &http.Client{Transport: transport}
	url := "http://" + ln.Addr().String() + "/events"
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				resp, err := client.Post(url, "application/cloudevents+json", bytes.NewReader(body))
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// bareReceivers registers four services whose webhook handler returns
// "acted" at once without checking the signature, and returns a function
// that stops them.
func bareReceivers(ctx context.Context, hub *Hub) (func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"acted","summary":"Recorded"}`))
	})}
	go srv.Serve(ln)
	for _, id := range []joinedup.ServiceID{"bare-1", "bare-2", "bare-3", "bare-4"} {
		s := &joinedup.Service{ID: id, Organisation: "bench", Name: string(id), Purpose: "benchmark",
			EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child", "parents"},
			Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://" + ln.Addr().String() + "/" + string(id)}}
		if err := hub.Directory.CreateService(ctx, s); err != nil {
			return nil, err
		}
	}
	return func() { srv.Close() }, nil
}

// demoBirths returns n registration bodies for children of the demo
// families, each consenting to every service that takes births. The hub
// refuses the same birth twice, so each child has a middle name of its
// own: its number, counted from first, written in syllables.
func demoBirths(ctx context.Context, hub *Hub, first, n int) ([][]byte, error) {
	services, err := hub.Directory.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	families := population.Births(1, population.DemoFamilies, joinedup.Today(time.Now()))
	syllables := []string{"ba", "de", "fi", "go", "lu", "ma", "ne", "ri", "so", "ta", "vi", "zo",
		"ka", "le", "mi", "no", "pa", "ra", "se", "ti", "wa", "ye", "xo", "qu", "jo", "hu"}
	var out [][]byte
	for i := first; i < first+n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := families[i%len(families)]
		var middle string
		for k, j := i/len(families), 0; j < 2 || k > 0; j++ {
			middle += syllables[k%len(syllables)]
			k /= len(syllables)
		}
		r.Child.Name.Given += " " + strings.ToUpper(middle[:1]) + middle[1:]
		r.Consent.Services = nil
		for _, s := range services {
			if s.Takes(joinedup.EventBirthRegistered) {
				r.Consent.Services = append(r.Consent.Services, s.ID)
			}
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// loadResult is the measurements of one load run.
type loadResult struct {
	acceptRate, confirmRate float64
	deliveries              int
	// messages is how many JetStream messages carried the deliveries.
	messages uint64
	p50, p99 time.Duration
	// byService gives, for each service, p99 from acceptance to its
	// confirmation and how often it was the last of a birth's to confirm.
	byService []serviceLatency
	// cpu is the CPU time the whole process used per confirmed delivery:
	// the hub, the reference services and the load's own clients.
	cpu time.Duration
}

// serviceLatency is one service's share of the latency of a load run.
type serviceLatency struct {
	service joinedup.ServiceID
	p99     time.Duration
	last    int // births whose last confirmation was this service's
}

// format returns l as "housing-benefit p99 80.1ms, last in 75%", the
// share being of total births.
func (l serviceLatency) format(total int) string {
	return fmt.Sprintf("%s p99 %s, last in %.0f%%", l.service, l.p99, 100*float64(l.last)/float64(max(total, 1)))
}

// perMessage returns the deliveries that each JetStream message carried.
func perMessage(r loadResult) float64 {
	if r.messages == 0 {
		return 0
	}
	return float64(r.deliveries) / float64(r.messages)
}

// streamLastSeq returns the sequence of the last message published to the
// hub's deliveries stream.
func streamLastSeq(ctx context.Context, hub *Hub) (uint64, error) {
	info, err := hub.Bus.Stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the deliveries stream: %w", err)
	}
	return info.State.LastSeq, nil
}

// loadHub registers n births through the API, closed-loop with the given
// concurrency when rate is 0 and open-loop at rate births per second
// otherwise, waits for every delivery to be confirmed and measures.
func loadHub(ctx context.Context, hub *Hub, token string, regs [][]byte, n, concurrency int, rate float64) (loadResult, error) {
	var res loadResult
	client := &http.Client{Timeout: 30 * time.Second}
	var ids sync.Map
	var next atomic.Int64
	var failed atomic.Value
	post := func(i int) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, hub.BaseURL+"/api/v1/births", bytes.NewReader(regs[i%len(regs)]))
		if err != nil {
			failed.CompareAndSwap(nil, err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			failed.CompareAndSwap(nil, err)
			return
		}
		defer resp.Body.Close()
		var out birthResponse
		if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil {
			failed.CompareAndSwap(nil, fmt.Errorf("register birth: status %d", resp.StatusCode))
			return
		}
		ids.Store(out.Event.ID, true)
	}

	firstSeq, err := streamLastSeq(ctx, hub)
	if err != nil {
		return res, err
	}
	start, startCPU := time.Now(), processCPU()
	var wg sync.WaitGroup
	if rate == 0 {
		for range concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= int64(n); i = next.Add(1) {
					post(int(i))
				}
			}()
		}
	} else {
		interval := time.Duration(float64(time.Second) / rate)
		for i := range n {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			wg.Add(1)
			go func() { defer wg.Done(); post(i) }()
		}
	}
	wg.Wait()
	accepted := time.Since(start)
	if err, ok := failed.Load().(error); ok {
		return res, err
	}
	res.acceptRate = float64(n) / accepted.Seconds()

	// Wait until every delivery of these births is confirmed. The poll is
	// a cheap count every 100ms, so that it takes little of the CPU the
	// hub is being measured on. The times measured are those the hub
	// stored, so the poll interval does not change them.
	var list []string
	ids.Range(func(k, _ any) bool { list = append(list, string(k.(joinedup.EventID))); return true })
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var open int
		if err := hub.DB.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE confirmed_at = 0 AND created_at >= $1`,
			start.UnixMicro()).Scan(&open); err != nil {
			return res, err
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d deliveries not confirmed after 5 minutes", open)
		}
		time.Sleep(100 * time.Millisecond)
	}

	usedCPU := processCPU() - startCPU
	lastSeq, err := streamLastSeq(ctx, hub)
	if err != nil {
		return res, err
	}
	res.messages = lastSeq - firstSeq

	rows, err := hub.DB.SQL().QueryContext(ctx, `
		SELECT MAX(d.confirmed_at) - e.registered_at, MAX(d.confirmed_at), COUNT(*)
		FROM deliveries d JOIN life_events e ON e.id = d.event_id
		WHERE e.id IN ('`+strings.Join(list, "','")+`') GROUP BY e.id, e.registered_at`)
	if err != nil {
		return res, err
	}
	defer rows.Close()
	var latencies []time.Duration
	var last int64
	deliveries := 0
	for rows.Next() {
		var us, confirmed int64
		var count int
		if err := rows.Scan(&us, &confirmed, &count); err != nil {
			return res, err
		}
		latencies = append(latencies, time.Duration(us)*time.Microsecond)
		last = max(last, confirmed)
		deliveries += count
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	if res.byService, err = latencyByService(ctx, hub, list); err != nil {
		return res, err
	}
	slices.Sort(latencies)
	res.p50 = latencies[len(latencies)/2].Round(100 * time.Microsecond)
	res.p99 = latencies[len(latencies)*99/100].Round(100 * time.Microsecond)
	res.deliveries = deliveries
	if deliveries > 0 {
		res.cpu = (usedCPU / time.Duration(deliveries)).Round(time.Microsecond)
	}
	res.confirmRate = float64(deliveries) / time.UnixMicro(last).Sub(start).Seconds()
	return res, rows.Err()
}

// latencyByService returns each service's p99 from a birth's acceptance
// to that service's confirmation, over the births with the given ids, and
// how many of those births it confirmed last.
func latencyByService(ctx context.Context, hub *Hub, ids []string) ([]serviceLatency, error) {
	rows, err := hub.DB.SQL().QueryContext(ctx, `
		SELECT d.event_id, d.service_id, d.confirmed_at - e.registered_at
		FROM deliveries d JOIN life_events e ON e.id = d.event_id
		WHERE e.id IN ('`+strings.Join(ids, "','")+`')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byService := map[joinedup.ServiceID][]time.Duration{}
	type confirmation struct {
		service joinedup.ServiceID
		after   time.Duration
	}
	lastOf := map[string]confirmation{}
	for rows.Next() {
		var event string
		var service joinedup.ServiceID
		var us int64
		if err := rows.Scan(&event, &service, &us); err != nil {
			return nil, err
		}
		after := time.Duration(us) * time.Microsecond
		byService[service] = append(byService[service], after)
		if c, ok := lastOf[event]; !ok || after > c.after {
			lastOf[event] = confirmation{service, after}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []serviceLatency
	for _, service := range slices.Sorted(maps.Keys(byService)) {
		latencies := byService[service]
		slices.Sort(latencies)
		l := serviceLatency{service: service, p99: latencies[len(latencies)*99/100].Round(100 * time.Microsecond)}
		for _, c := range lastOf {
			if c.service == service {
				l.last++
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// rssSampler records the largest resident set size of the process seen
// every 50ms, so that the peak of a run excludes what start-up used.
type rssSampler struct {
	done chan struct{}
	peak atomic.Int64
	wg   sync.WaitGroup
}

func startRSSSampler() *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	s.wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss := currentRSS(); rss > s.peak.Load() {
				s.peak.Store(rss)
			}
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	})
	return s
}

// stop ends sampling and returns the peak in bytes.
func (s *rssSampler) stop() int64 {
	close(s.done)
	s.wg.Wait()
	return s.peak.Load()
}

// currentRSS returns the process's resident set size in bytes from /proc,
// or 0 where /proc is not available.
func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10
		}
	}
	return 0
}

// writeAllocs writes the allocation profile, which counts every
// allocation since the process started, to path.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	return errors.Join(err, f.Close())
}
