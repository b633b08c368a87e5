package main

import "time"

// pacer spaces one worker's operations on a fixed schedule (an open-loop load): a server stall
// does not slow what is offered, so operations queue behind it as an application's requests
// would, and each operation's latency is counted from when it was due, not from when a worker
// that was stuck behind the stall got round to sending it. A closed loop, which sends the next
// command only when the last one answered, hides most of a stall: the commands that would have
// waited in it are never sent.
type pacer struct {
	interval time.Duration
	due      time.Time
	now      func() time.Time
	sleep    func(time.Duration)
}

// newPacer schedules `perSecond` operations a second from `first` on.
func newPacer(perSecond float64, first time.Time) *pacer {
	return &pacer{
		interval: time.Duration(float64(time.Second) / perSecond),
		due:      first,
		now:      time.Now,
		sleep:    time.Sleep,
	}
}

// wait blocks until the next operation is due and returns the time to count its latency from.
// An operation already late, because the ones before it took long, starts at once and is timed
// from when it was due. One the worker slept for is timed from when the worker woke: Go's timer
// overshoots by up to about a millisecond, which is the load generator's doing, not the
// server's. The schedule itself stays fixed, so the offered rate is kept.
func (p *pacer) wait() time.Time {
	due := p.due
	p.due = due.Add(p.interval)
	now := p.now()
	if !now.Before(due) {
		return due
	}
	p.sleep(due.Sub(now))
	if woke := p.now(); woke.After(due) {
		return woke
	}
	return due
}
