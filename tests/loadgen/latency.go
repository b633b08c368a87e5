package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Latencies are counted in logarithmic buckets rather than kept one by one: a run of 20 M
// operations would otherwise hold 160 MB of samples. Bucket i holds latencies up to
// histFloor * histGrowth^i, so a reported percentile is the upper bound of its bucket, at most
// 5% above the true value.
const (
	histFloor   = 10 * time.Microsecond
	histGrowth  = 1.05
	histBuckets = 340 // 10 µs * 1.05^340 ≈ 160 s, past any command timeout
)

var logGrowth = math.Log(histGrowth)

type histogram struct {
	counts [histBuckets]atomic.Int64
	total  atomic.Int64
	maxNs  atomic.Int64
}

func bucketOf(d time.Duration) int {
	if d <= histFloor {
		return 0
	}
	i := int(math.Ceil(math.Log(float64(d)/float64(histFloor)) / logGrowth))
	return min(i, histBuckets-1)
}

func bucketBound(i int) time.Duration {
	return time.Duration(float64(histFloor) * math.Pow(histGrowth, float64(i)))
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(d)].Add(1)
	h.total.Add(1)
	for {
		cur := h.maxNs.Load()
		if int64(d) <= cur || h.maxNs.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// quantile is the upper bound of the bucket holding the q-th latency (0 with no sample), capped
// by the largest latency seen, which is exact.
func (h *histogram) quantile(q float64) time.Duration {
	total := h.total.Load()
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(bucketBound(i), time.Duration(h.maxNs.Load()))
		}
	}
	return time.Duration(h.maxNs.Load())
}

func (h *histogram) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.total.Store(0)
	h.maxNs.Store(0)
}

// second is what the client saw in one second of the run, by completion time.
type second struct {
	latency   histogram
	failed    atomic.Int64
	redirects atomic.Int64 // MOVED and ASK replies followed
}

// seriesRing is 4 seconds of counters reused in turn: the writer emits second k once second
// k+2 has begun (so commands that completed in k have been recorded), then clears it for k+4.
const seriesRing = 4

// series writes one CSV row per second of the load phase:
// t_s,ops,failed,redirects,p50_ms,p99_ms,max_ms.
type series struct {
	start time.Time
	ring  [seriesRing]second
	mu    sync.Mutex // guards the file and next
	out   *bufio.Writer
	file  *os.File
	next  int64 // the next second to write
}

func newSeries(path string, start time.Time) (*series, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	s := &series{start: start, file: f, out: bufio.NewWriter(f)}
	fmt.Fprintln(s.out, "t_s,ops,failed,redirects,p50_ms,p99_ms,max_ms")
	return s, nil
}

func (s *series) now() *second {
	return &s.ring[int64(time.Since(s.start)/time.Second)%seriesRing]
}

func (s *series) record(d time.Duration, failed bool) {
	sec := s.now()
	sec.latency.record(d)
	if failed {
		sec.failed.Add(1)
	}
}

func (s *series) redirect() { s.now().redirects.Add(1) }

// flush writes every second that is complete at `upTo` (exclusive).
func (s *series) flush(upTo int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ; s.next < upTo; s.next++ {
		sec := &s.ring[s.next%seriesRing]
		ms := func(d time.Duration) float64 { return round3(float64(d) / 1e6) }
		fmt.Fprintf(s.out, "%d,%d,%d,%d,%.3f,%.3f,%.3f\n", s.next, sec.latency.total.Load(),
			sec.failed.Load(), sec.redirects.Load(), ms(sec.latency.quantile(0.50)),
			ms(sec.latency.quantile(0.99)), ms(time.Duration(sec.latency.maxNs.Load())))
		sec.latency.reset()
		sec.failed.Store(0)
		sec.redirects.Store(0)
	}
	_ = s.out.Flush()
}

// run flushes the seconds as they complete until done is closed.
func (s *series) run(done <-chan struct{}) {
	every(250*time.Millisecond, done, func() { s.flush(int64(time.Since(s.start)/time.Second) - 1) })
}

// every calls f at each tick of `interval` until done is closed.
func every(interval time.Duration, done <-chan struct{}, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			f()
		}
	}
}

// finish writes the seconds left, the last (partial) one included, and closes the file.
func (s *series) finish() error {
	s.flush(int64(time.Since(s.start)/time.Second) + 1)
	return s.file.Close()
}
