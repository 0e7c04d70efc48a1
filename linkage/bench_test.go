package linkage

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchPairs returns the candidate pairs that blocking finds among
// synthetic people and their corrupted duplicates, which are the kind of
// pairs the scorer is given in use.
func benchPairs(b *testing.B) (*compiled, []prepared, [][2]int32) {
	b.Helper()
	g := newGenerator(7)
	var records []Record
	for i := range 20_000 {
		p := g.person(fmt.Sprint("p", i))
		records = append(records, p)
		if i%2 == 0 {
			records = append(records, g.corrupt(p, fmt.Sprint("d", i)))
		}
	}
	s, err := newSession(nil, records, nil)
	if err != nil {
		b.Fatal(err)
	}
	var pairs [][2]int32
	_ = s.candidates(context.Background(), nil, func(j int32, cands []int32) {
		for _, i := range cands {
			pairs = append(pairs, [2]int32{i, j})
		}
	})
	return s.model, s.left, pairs
}

// BenchmarkComparePairs measures candidate pairs scored per second on one
// goroutine: "model" is the full scorer (every comparator, both name
// orientations, weights, term frequencies and the decision), "bare" a
// plain loop over the same comparators and pairs.
func BenchmarkComparePairs(b *testing.B) {
	model, recs, pairs := benchPairs(b)
	terms := newTermCounts()
	for i := range recs {
		terms.add(&recs[i])
	}
	tfs := make([]termFrequency, len(recs))
	for i := range recs {
		tfs[i] = terms.weights(model, &recs[i])
	}

	b.Run("model", func(b *testing.B) {
		matches := 0
		n := 0
		for b.Loop() {
			p := pairs[n%len(pairs)]
			n++
			q, c := &recs[p[1]], &recs[p[0]]
			r := model.compare(q, c, &tfs[p[1]])
			if model.decide(q, c, &r) == Match {
				matches++
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pairs/s")
		if matches == 0 {
			b.Fatal("no pair decided match")
		}
	})
	b.Run("bare", func(b *testing.B) {
		sum := 0
		n := 0
		for b.Loop() {
			p := pairs[n%len(pairs)]
			n++
			q, c := &recs[p[1]], &recs[p[0]]
			sum += int(compareGiven(&q.given, &c.given)) + int(compareFamily(&q.family, &c.family)) +
				int(compareDate(&q.dob, &c.dob)) + int(compareSex(q.sex, c.sex)) + int(compareAddress(q, c)) +
				int(compareTown(q.town, c.town)) + int(comparePostcode(&q.postcode, &c.postcode)) +
				int(compareIdentifier(q.nino, c.nino)) + int(compareNHSNumber(q.nhs, c.nhs)) + int(compareEmail(q, c))
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pairs/s")
		if sum == 0 {
			b.Fatal("comparators returned nothing")
		}
	})
}

var (
	millionOnce  sync.Once
	millionIndex *Index
	millionQuery []Record
	millionBytes uint64
	millionBuild time.Duration
)

// BenchmarkMatchMillion matches one record at a time against an index of
// 1,000,000 synthetic people. Half the queries are corrupted duplicates
// of people in the index and half are new people. It reports the 50th and
// 99th percentile latency, the heap the index takes, the time to build
// it, the share of duplicates matched to their original and the share of
// new people matched to anyone. Run it alone, with -benchtime=2000x or more for a stable p99.
func BenchmarkMatchMillion(b *testing.B) {
	const people = 1_000_000
	millionOnce.Do(func() {
		g := newGenerator(11)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		ix := NewIndex(nil)
		originals := make([]Record, 0, 5000)
		for i := range people {
			r := g.person(fmt.Sprint("p", i))
			if err := ix.Add(r); err != nil {
				b.Fatal(err)
			}
			if i%200 == 0 {
				originals = append(originals, r)
			}
		}
		millionBuild = time.Since(start)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		millionBytes = after.HeapAlloc - before.HeapAlloc
		for i, r := range originals {
			millionQuery = append(millionQuery, g.corrupt(r, fmt.Sprint("q", i)))
			millionQuery = append(millionQuery, g.person(fmt.Sprint("new", i)))
		}
		millionIndex = ix
	})

	latencies := make([]time.Duration, 0, b.N)
	var found, duplicates, falseMatches, newPeople int
	n := 0
	for b.Loop() {
		i := n % len(millionQuery)
		q := millionQuery[i]
		n++
		start := time.Now()
		r := millionIndex.Match(q)
		latencies = append(latencies, time.Since(start))
		// Even queries are duplicates of people in the index, odd ones
		// new people.
		if i%2 == 0 {
			duplicates++
			if r.Decision == Match && r.CandidateID == fmt.Sprint("p", i/2*200) {
				found++
			}
		} else {
			newPeople++
			if r.Decision == Match {
				falseMatches++
			}
		}
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(millionBytes)/(1<<20), "MiB/million")
	b.ReportMetric(millionBuild.Seconds(), "build-s")
	b.ReportMetric(float64(found)/float64(max(duplicates, 1)), "dup-matched")
	b.ReportMetric(float64(falseMatches)/float64(max(newPeople, 1)), "new-matched")
}

// BenchmarkBlockingFEBRL4 reports, for linking FEBRL dataset4a with
// dataset4b, the share of all pairs that blocking compares and the share
// of true pairs among them.
func BenchmarkBlockingFEBRL4(b *testing.B) {
	a := readTestdata(b, "febrl", "dataset4a.csv")
	d := readTestdata(b, "febrl", "dataset4b.csv")
	s, err := newSession(nil, a.Records, d.Records)
	if err != nil {
		b.Fatal(err)
	}
	s.seed = maphash.MakeSeed()
	var candidates, covered int
	for b.Loop() {
		candidates, covered, err = s.blockingCoverage(context.Background(), a.Clusters, d.Clusters)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100*float64(candidates)/float64(len(a.Records)*len(d.Records)), "%compared")
	b.ReportMetric(100*float64(covered)/float64(len(d.Records)), "%true-kept")
}
