package main

import (
	"testing"
	"time"
)

// fakeTime is a clock the test moves: sleeping advances it by what was asked plus `overshoot`.
type fakeTime struct {
	t         time.Time
	overshoot time.Duration
	slept     []time.Duration
}

func (f *fakeTime) pacer(perSecond float64) *pacer {
	p := newPacer(perSecond, f.t)
	p.now = func() time.Time { return f.t }
	p.sleep = func(d time.Duration) {
		f.slept = append(f.slept, d)
		f.t = f.t.Add(d + f.overshoot)
	}
	return p
}

func TestPacerSleepsUntilEachOperationIsDue(t *testing.T) {
	clock := &fakeTime{t: time.Unix(1000, 0)}
	p := clock.pacer(1000) // one operation per ms
	start := clock.t
	for i := 0; i < 3; i++ {
		if got, want := p.wait(), start.Add(time.Duration(i)*time.Millisecond); !got.Equal(want) {
			t.Fatalf("operation %d timed from %v, want %v", i, got, want)
		}
		clock.t = clock.t.Add(200 * time.Microsecond) // the command's own latency
	}
	if len(clock.slept) != 2 || clock.slept[0] != 800*time.Microsecond {
		t.Errorf("slept %v, want twice 800µs", clock.slept)
	}
}

func TestPacerTimesOperationsDelayedByAStallFromWhenTheyWereDue(t *testing.T) {
	clock := &fakeTime{t: time.Unix(1000, 0)}
	p := clock.pacer(1000)
	start := clock.t
	p.wait()
	clock.t = clock.t.Add(5 * time.Millisecond) // the first command stalls for 5 ms
	for i := 1; i <= 4; i++ {
		due := p.wait()
		if want := start.Add(time.Duration(i) * time.Millisecond); !due.Equal(want) {
			t.Fatalf("operation %d timed from %v, want its due time %v", i, due, want)
		}
		if lateness := clock.t.Sub(due); lateness <= 0 {
			t.Fatalf("operation %d: the stall's backlog is not counted (%v)", i, lateness)
		}
		clock.t = clock.t.Add(100 * time.Microsecond)
	}
	if len(clock.slept) != 0 {
		t.Errorf("slept %v while behind schedule", clock.slept)
	}
}

func TestPacerDoesNotCountItsOwnTimerOvershootNorLetItSlowTheSchedule(t *testing.T) {
	clock := &fakeTime{t: time.Unix(1000, 0), overshoot: 700 * time.Microsecond}
	p := clock.pacer(1000)
	start := clock.t
	p.wait()
	clock.t = clock.t.Add(100 * time.Microsecond)
	woke := p.wait() // sleeps 900µs and wakes 700µs late
	if !woke.Equal(clock.t) {
		t.Fatalf("timed from %v, want the wake-up %v", woke, clock.t)
	}
	clock.t = clock.t.Add(100 * time.Microsecond)
	clock.overshoot = 0
	if next := p.wait(); !next.Equal(start.Add(2 * time.Millisecond)) {
		t.Errorf("third operation timed from %v, want its place on the schedule %v", next,
			start.Add(2*time.Millisecond))
	}
}
